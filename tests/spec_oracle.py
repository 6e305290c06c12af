"""The example tests' oracle: what a loaded DAG must show, read from the spec's YAML itself (never from
dagforge's model), on Airflow 3 (tests/test_examples.py) and Airflow 2.10 (tests/airflow2/).
"""

import functools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import yaml

PRESETS = {"@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@hourly": "0 * * * *"}
# Task arguments compared one to one when a spec gives them.
ARGUMENTS = (
    "bash_command",
    "to",
    "cc",
    "subject",
    "html_content",
    "files",
    "trigger_rule",
    "pool",
    "queue",
    "pool_slots",
    "priority_weight",
    "max_active_tis_per_dag",
    "sql",
    "conn_id",
    "trigger_dag_id",
    "conf",
    "filepath",
    "mode",
    "multiple_outputs",
    "doc_md",
    "requirements",
    "system_site_packages",
)


def duration(text) -> timedelta:
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def callbacks(value) -> list:
    """Airflow 3 keeps a task's callbacks as a list, Airflow 2.10 as it was given."""
    return value if isinstance(value, list) else [value] if value else []


def callback_names(value) -> list:
    """Callbacks as the spec writes them: `module:function` (with its bound keywords), or the class
    of an object by its import path."""
    out = []
    for cb in callbacks(value):
        if isinstance(cb, functools.partial):
            out.append((f"{cb.func.__module__}:{cb.func.__name__}", cb.keywords))
        elif hasattr(cb, "__qualname__"):
            out.append((f"{cb.__module__}:{cb.__qualname__}", {}))
        else:
            out.append((f"{type(cb).__module__}.{type(cb).__name__}", {}))
    return out


def spec_callback_names(given: list) -> list:
    """What callback_names shows for the callbacks of one event in the spec."""
    out = []
    for cb in given:
        if isinstance(cb, str):
            out.append((cb, {}))
        else:
            kind = "function" if "function" in cb else "object"
            out.append(
                (cb[kind], {} if kind == "object" else {k: v for k, v in cb.items() if k != kind})
            )
    return out


def xcom_sources(value) -> set:
    """The tasks whose XCom a value takes (`{output_of: TASK}` at any depth)."""
    if isinstance(value, dict):
        found = {value["output_of"]} if "output_of" in value else set()
        return found.union(*(xcom_sources(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(xcom_sources(v) for v in value))
    return set()


def timetable_facts(timetable) -> tuple:
    """(class name, cron expression or seconds, time zone name) of a loaded timetable. Airflow 3's SDK
    timetables show public attributes (expression, delta, timezone), Airflow 2.10's private ones."""

    def attr(name):
        value = getattr(timetable, name, None)
        return getattr(timetable, f"_{name}", None) if value is None else value

    delta, tz = attr("delta"), attr("timezone")
    return (
        type(timetable).__name__,
        attr("expression") or (delta and delta.total_seconds()),
        getattr(tz, "name", tz),
    )


def loaded_example(out, bag, spec, foreign=()) -> tuple:
    """(the DAG, the YAML) of the example `spec`, from `bag`, a DagBag over the folder `out` that loaded it
    without an import error or a warning (but those raised inside the third-party packages `foreign`)."""
    data = yaml.safe_load(spec.read_text())
    dag_id = data.get("dag_id", spec.stem)
    assert not bag.import_errors
    warned = [str(w) for w in bag.captured_warnings.get(str(out / f"{dag_id}.py"), ())]
    assert not [
        w for w in warned if not any(f"/site-packages/{package}/" in w for package in foreign)
    ], warned
    return bag.dags[dag_id], data


def _over(defaults: dict, given: dict) -> dict:
    """`given` over `defaults`, callbacks event by event (as Airflow merges default_args)."""
    merged = {**defaults, **given}
    if "callbacks" in defaults or "callbacks" in given:
        merged["callbacks"] = {**defaults.get("callbacks", {}), **given.get("callbacks", {})}
    return merged


def flat_tasks(tasks: dict, prefix: str = "", defaults: dict | None = None) -> dict:
    """Every task of a spec by its Airflow id (a group's tasks as GROUP.TASK), with its group's (and
    the spec's) defaults under its own keys, and its dependencies as full ids (a name of the same group
    first), those that `{output_of: TASK}` adds included."""
    out = {}
    for name, t in tasks.items():
        if "tasks" in t:
            out.update(
                flat_tasks(
                    t["tasks"], f"{prefix}{name}.", _over(defaults or {}, t.get("defaults", {}))
                )
            )
        else:
            deps = [
                f"{prefix}{d}" if f"{prefix}{d}" in {f"{prefix}{n}" for n in tasks} else d
                for d in t.get("dependencies", []) + sorted(xcom_sources(t))
            ]
            out[prefix + name] = {**_over(defaults or {}, t), "dependencies": deps}
    return out


def assert_dag_means_spec(dag, data: dict, timetables: dict, homes: dict) -> None:
    """`dag` as loaded by Airflow means what the spec `data` says. `timetables` names the timetable
    class of a "cron", a "duration" and an "assets" schedule, `homes` the loaded class of each operator name."""
    tz = data.get("timezone", "UTC")
    assert dag.timezone.name == tz
    start = data["start_date"]
    start = (
        datetime.combine(start, datetime.min.time()) if not isinstance(start, datetime) else start
    )
    assert dag.start_date == start.replace(tzinfo=ZoneInfo(tz))
    assert dag.catchup is data.get("catchup", False)
    assert set(dag.tags) == set(data.get("tags", []))
    assert dag.description == data.get("description")
    assert dag.doc_md == data.get("doc_md")
    assert dag.params.dump() == {k: v["default"] for k, v in data.get("params", {}).items()}
    schedule = data.get("schedule")
    if isinstance(schedule, (list, dict)):
        assert type(dag.timetable).__name__ == timetables["assets"]
    elif (
        isinstance(schedule, str) and " " in schedule
    ) or schedule in PRESETS:  # a run at each cron time
        assert timetable_facts(dag.timetable) == (
            timetables["cron"],
            PRESETS.get(schedule, schedule),
            tz,
        )
    elif schedule:
        assert timetable_facts(dag.timetable)[:2] == (
            timetables["duration"],
            duration(schedule).total_seconds(),
        )
    alerts = data.get("alerts", {})
    success_to = alerts["emails"] if alerts.get("on_success") else None
    assert getattr((callbacks(dag.on_success_callback) or [None])[0], "to", None) == success_to
    for event in ("on_success", "on_failure"):
        loaded = callback_names(getattr(dag, f"{event}_callback"))[
            bool(success_to and event == "on_success") :
        ]
        assert loaded == spec_callback_names(data.get("callbacks", {}).get(event, []))
    defaults = {k: data[k] for k in ("owner", "retries", "retry_delay") if k in data}
    tasks = flat_tasks(data["tasks"], "", {**defaults, **data.get("defaults", {})})
    assert set(dag.task_dict) == set(tasks)
    for task_id, t in tasks.items():
        task = dag.task_dict[task_id]
        cls = getattr(task, "operator_class", None) or type(
            task
        )  # a mapped task: its operator's class
        assert (
            f"{cls.__module__}.{cls.__name__}"
            == homes["external_task_sensor" if "wait_for" in t else t["operator"]]
        )
        if "expand" in t:
            assert task.expand_input.value == t["expand"]
        arguments = getattr(task, "partial_kwargs", None) or {}
        assert task.upstream_task_ids >= set(d for d in t["dependencies"] if d in tasks), task_id
        if task_id.count(".") == 0 and all(d in tasks for d in t["dependencies"]):
            assert task.upstream_task_ids == set(t["dependencies"])
        assert task.owner == t.get("owner", "airflow")
        assert task.retries == t.get("retries", 0)
        assert task.retry_delay == duration(t.get("retry_delay", "5m"))
        timeout = t.get("execution_timeout")
        assert task.execution_timeout == (duration(timeout) if timeout else None)
        for key in ARGUMENTS:
            if key in t:
                assert (arguments[key] if key in arguments else getattr(task, key)) == t[key], (
                    task_id,
                    key,
                )
        if "outlets" in t:
            assert [getattr(a, "name", None) or a.uri for a in task.outlets] == t["outlets"]
        mail = {**alerts, **t.get("alerts", {})}
        mailed = {
            "on_failure": bool(mail.get("emails") and mail.get("on_failure", True)),
            "on_retry": bool(mail.get("emails") and mail.get("on_retry")),
        }
        for event, expected in mailed.items():
            first = callbacks(getattr(task, f"{event}_callback"))[:1]
            # the alert mail comes first, then the task's own callbacks (checked below)
            assert [cb.to for cb in first if expected] == ([mail["emails"]] if expected else [])
            if expected:
                assert (
                    f"{type(first[0]).__module__}.{type(first[0]).__name__}"
                    == "airflow.providers.smtp.notifications.smtp.SmtpNotifier"
                )
        for event in ("on_execute", "on_success", "on_failure", "on_retry", "on_skipped"):
            loaded = callback_names(getattr(task, f"{event}_callback"))[mailed.get(event, False) :]
            assert loaded == spec_callback_names(t.get("callbacks", {}).get(event, [])), (
                task_id,
                event,
            )
