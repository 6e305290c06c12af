"""The Airflow versions dagforge writes for: the facts that differ between them, in one table.

The model is the same for every target; `render` and `verify` look up here where a class lives on
the chosen version and which timetable a schedule becomes. Knows no Jinja and imports no Airflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from . import values
from .operators import SHORT

if TYPE_CHECKING:  # model imports this module
    from .model import Pipeline

DEFAULT = "3"


@dataclass(frozen=True)
class Target:
    airflow: str  # the major version: "2" or "3"
    label: str  # how messages name it
    dag: tuple[str, str]  # (module, class) of DAG
    cron: tuple[str, str]  # the timetable a cron schedule (or a preset other than @once) becomes
    duration: tuple[str, str]  # the timetable a duration schedule becomes
    interval: tuple[str, str]  # the timetable a cron schedule becomes with `timetable: interval`
    param: tuple[str, str]  # (module, class) of Param, for `params:`
    task_group: tuple[str, str]  # (module, class) of TaskGroup
    asset: tuple[str, str]  # (module, class) of an asset: Asset on Airflow 3, Dataset on 2.10
    asset_all: tuple[str, str]
    asset_any: tuple[str, str]
    asset_timetable: str  # the timetable class a DAG scheduled on assets gets
    asset_alias: tuple[str, str]  # (module, class) of an asset alias
    asset_or_time: tuple[str, str]  # the timetable of a schedule on a time or assets
    asset_or_time_assets: str  # its keyword argument for the assets
    fail_fast: str  # the DAG's keyword argument for `fail_fast`
    dagbag: tuple[str, str]  # where verify finds DagBag on this version
    dagbag_args: dict[str, bool] = field(default_factory=dict)  # keyword arguments of DagBag
    task: tuple[str, str] = ("airflow.sdk", "task")  # the `@task` decorator (operator: task)
    # (module, class) of BaseOperator, which every operator class derives from
    base_operator: tuple[str, str] = ("airflow.sdk", "BaseOperator")
    # spec keys this version has no equivalent of -> why (a located error names the version)
    unsupported: dict[str, str] = field(default_factory=dict)
    duration_note: str = (
        ""  # how a duration schedule differs from its Airflow 3 meaning, if it does
    )
    # short operator name -> (what differs on this version, how to deal with it)
    operator_notes: dict[str, tuple[str, str]] = field(default_factory=dict)
    # task settings (schemas.task_settings) this version's BaseOperator does not take: name -> why
    missing_settings: dict[str, str] = field(default_factory=dict)
    # task settings this version takes only as true or false (another version also takes a number)
    flag_settings: tuple[str, ...] = ()

    def home(self, module: str, name: str) -> tuple[str, str]:
        """Where the operator class `module.name` lives on this version."""
        return _home(self.airflow, module, name)

    def timetable(self, p: Pipeline) -> tuple[str, str] | None:
        """(module, class) of the timetable a Pipeline's schedule is written as; None: no schedule, @once.

        Every cron schedule (and every cron preset) is a CronTriggerTimetable on every version, a run at
        each cron time, or with `timetable: interval` a CronDataIntervalTimetable: written out, so that
        its meaning does not depend on the version.
        """
        if p.schedule_kind == values.ScheduleKind.DURATION:
            return self.duration
        if p.schedule_kind != values.ScheduleKind.TIMETABLE and values.cron_like(p.schedule):
            return self.interval if p.timetable == values.Timetable.INTERVAL else self.cron
        return None  # none, @once, @continuous, a timetable object: as given; assets: see `assets`


@cache  # asked for every task of every spec, about a handful of classes
def _home(airflow: str, module: str, name: str) -> tuple[str, str]:
    """Target.home on the target for Airflow `airflow`."""
    path = f"{module}.{name}"
    # A short name's class, named by its home on either version (a short name, or an import
    # path of either version's: one spec serves both), is written as its home on this one.
    for short in SHORT.values():
        homes = {"3": f"{short.module}.{short.name}", "2": short.airflow2 or ""}
        if short.airflow2 and path in homes.values():
            home_module, home_name = homes[airflow].rsplit(".", 1)
            return home_module, home_name
    return module, name


TARGETS = {
    "3": Target(
        airflow="3",
        label="Airflow 3",
        dag=("airflow.sdk", "DAG"),
        cron=("airflow.sdk", "CronTriggerTimetable"),
        duration=("airflow.sdk", "DeltaTriggerTimetable"),
        interval=("airflow.sdk", "CronDataIntervalTimetable"),
        param=("airflow.sdk", "Param"),
        task_group=("airflow.sdk", "TaskGroup"),
        asset=("airflow.sdk", "Asset"),
        asset_all=("airflow.sdk", "AssetAll"),
        asset_any=("airflow.sdk", "AssetAny"),
        asset_timetable="AssetTriggeredTimetable",
        asset_alias=("airflow.sdk", "AssetAlias"),
        asset_or_time=("airflow.sdk", "AssetOrTimeSchedule"),
        asset_or_time_assets="assets",
        fail_fast="fail_fast",
        unsupported={
            "access_control": "Airflow 3 deprecates DAG-level permissions (loading the DAG warns "
            "RemovedInAirflow4Warning): the auth manager grants access",
        },
        dagbag=("airflow.dag_processing.dagbag", "DagBag"),
        missing_settings={
            "sla": "Airflow 3 removed SLAs: use an `execution_timeout`, or build for Airflow 2"
        },
    ),
    "2": Target(
        airflow="2",
        label="Airflow 2.10",
        dag=("airflow", "DAG"),
        cron=("airflow.timetables.trigger", "CronTriggerTimetable"),
        # Airflow 2.10 has no DeltaTriggerTimetable: this is the closest one it has.
        duration=("airflow.timetables.interval", "DeltaDataIntervalTimetable"),
        interval=("airflow.timetables.interval", "CronDataIntervalTimetable"),
        param=("airflow.models.param", "Param"),
        task_group=("airflow.utils.task_group", "TaskGroup"),
        task=("airflow.decorators", "task"),
        asset=("airflow.datasets", "Dataset"),
        asset_all=("airflow.datasets", "DatasetAll"),
        asset_any=("airflow.datasets", "DatasetAny"),
        asset_timetable="DatasetTriggeredTimetable",
        asset_alias=("airflow.datasets", "DatasetAlias"),
        asset_or_time=("airflow.timetables.datasets", "DatasetOrTimeSchedule"),
        asset_or_time_assets="datasets",
        fail_fast="fail_stop",  # the same setting's name in 2.10
        unsupported={
            "deadline": "deadline alerts came with Airflow 3.1",
            "an asset alias in a schedule": "Airflow 2.10 looks an alias up in its metadata "
            "database as it parses the DAG file, which does not load without that database "
            "(and dagforge cannot verify it)",
            "an asset's name or group": "a Dataset (and a DatasetAlias) has neither before "
            "Airflow 3: give an asset its `uri` (and `extra`), an alias its name alone",
        },
        dagbag=("airflow.models.dagbag", "DagBag"),
        dagbag_args={"include_examples": False},
        base_operator=("airflow.models.baseoperator", "BaseOperator"),
        missing_settings={
            "render_template_as_native_obj": "on Airflow 2.10 it is a setting of the whole DAG "
            "only; build for Airflow 3 to give it to a task",
        },
        flag_settings=("retry_exponential_backoff",),
        duration_note=(
            "Airflow 2.10 has no DeltaTriggerTimetable: a duration schedule runs there with "
            "DeltaDataIntervalTimetable, whose first run comes one duration after start_date and whose "
            "logical date ({{ ds }}) is one duration before the run (on Airflow 3 it is the run's own time)"
        ),
        operator_notes={
            "virtualenv": (
                "Airflow 2.10's PythonVirtualenvOperator needs the `virtualenv` package where "
                "Airflow parses the DAG: without it the DAG file fails to import",
                "`pip install virtualenv` where Airflow runs (and here, to verify the file)",
            ),
        },
    ),
}

# Every class name a generated module may import from the table: no task or callable may take one.
NAMES = frozenset(
    name
    for t in TARGETS.values()
    for _, name in (
        t.dag,
        t.cron,
        t.duration,
        t.interval,
        t.param,
        t.task_group,
        t.task,
        t.asset,
        t.asset_all,
        t.asset_any,
        t.asset_alias,
        t.asset_or_time,
    )
) | {"os", "DeadlineAlert", "DeadlineReference", "SyncCallback"}


def target(airflow: Target | str | int) -> Target:
    """The Target of `airflow` ("2", "3", 2 or 3; a Target is its own). Raises ValueError for
    anything else."""
    if isinstance(airflow, Target):
        return airflow
    key = str(airflow).strip()
    if key not in TARGETS:
        raise ValueError(
            f"unknown Airflow version {airflow!r}: dagforge writes for Airflow 2 (2.10) or 3"
        )
    return TARGETS[key]
