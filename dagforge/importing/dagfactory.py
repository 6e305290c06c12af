"""`dagforge import --from dag-factory`: read dag-factory 1.x YAML the way its `load_yaml_dags` does
and write one dagforge spec per DAG.

read (dagforge's own loader: every value keeps its line and column) -> merge the defaults as
dag-factory does (defaults.yml files, the file's `default` block, the DAG's keys) -> convert each DAG
into spec data, noting at its source position whatever a spec says differently -> write the specs.
Verification against dag-factory's own DAG is `importing.verify` (the only part that imports Airflow).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Diagnostic
from ..load import Document, LoadError, load
from ..operators import SHORT
from ..schemas import default_settings, task_settings
from .result import At, Converted, ImportResult, ImportUsageError, _Merged
from .values import (
    _CALLBACKS,
    _DURATION_ARGS,
    _assets,
    _callbacks_of,
    _date,
    _duration,
    _file_reference,
    _object,
    _reference,
    _schedule,
    _seconds,
    seconds_keys,
)
from .writer import check_ids, write_specs

DEFAULTS_FILES = ("defaults.yml", "defaults.yaml")  # dag-factory's order: yml first
_SYSTEM = ("default", "task_groups")  # top-level keys of a dag-factory file that are no DAG
# Import paths of the classes dagforge has a short name for: each class's Airflow 3 home, its
# Airflow 2 spelling (dag-factory files written for Airflow 2 still name them, and Airflow 3 resolves
# them to the same classes), and the older aliases.
_STD = "airflow.providers.standard"
_HOME = {name: f"{s.module}.{s.name}" for name, s in SHORT.items()}
_SHORT_BY_PATH = {
    **{path: name for name, path in _HOME.items()},
    **{
        "airflow." + path.removeprefix(f"{_STD}."): name
        for name, path in _HOME.items()
        if path.startswith(f"{_STD}.")
    },
    "airflow.operators.bash_operator.BashOperator": "bash",
    "airflow.operators.python_operator.PythonOperator": "python",
    "airflow.operators.dummy.DummyOperator": "empty",
    "airflow.operators.dummy_operator.DummyOperator": "empty",
    "airflow.sensors.external_task_sensor.ExternalTaskSensor": "external_task_sensor",
    "airflow.operators.email.EmailOperator": "email",
    "airflow.providers.http.operators.http.SimpleHttpOperator": "http",
}
# BaseOperator's arguments (Airflow 3): a TaskFlow task's other keys are its function's arguments.
_BASE_OPERATOR_ARGS = frozenset(
    """owner email email_on_retry email_on_failure retries retry_delay retry_exponential_backoff
    max_retry_delay start_date end_date depends_on_past ignore_first_depends_on_past
    wait_for_past_depends_before_skipping wait_for_downstream params default_args priority_weight
    weight_rule queue pool pool_slots sla execution_timeout on_execute_callback on_failure_callback
    on_success_callback on_retry_callback on_skipped_callback pre_execute post_execute trigger_rule
    resources run_as_user map_index_template max_active_tis_per_dag max_active_tis_per_dagrun
    executor executor_config do_xcom_push multiple_outputs inlets outlets task_group doc doc_md
    doc_json doc_yaml doc_rst task_display_name logger_name allow_nested_operators""".split()
)
_XCOM = re.compile(r"^(?P<task>[\w.-]+)\.output$|^XcomArg\((?P<task2>[\w.-]+)\)$", re.I)
# The import paths of Airflow's `@task` (dag-factory imports the `decorator:` path as given).
_TASK_DECORATORS = {
    "airflow.decorators.task",
    "airflow.sdk.task",
    "airflow.sdk.definitions.decorators.task",
}
_PLUS = re.compile(r"^\+(?P<task>\w*)(\[['\"](?P<key>.*)['\"]\])?$")


# ---------------------------------------------------------------------------------------------
# Finding and reading the files


def find_sources(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The dag-factory files named or below the folders named; defaults files are no DAG files."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(
                f
                for f in p.rglob("*")
                if f.suffix in (".yml", ".yaml") and f.is_file() and f.name not in DEFAULTS_FILES
            )
        elif p.is_file():
            found.append(p)
        else:
            raise ImportUsageError(f"{p.as_posix()}: no such file or folder")
    return found


def defaults_files(source: Path, defaults_dir: Path) -> list[Path]:
    """The defaults.yml files that apply to `source`, lowest priority first, found as dag-factory's
    `_retrieve_default_yaml_filepaths` finds them (`defaults_dir` is its `defaults_config_path`)."""
    parents = list(source.resolve().parents)
    root = defaults_dir.resolve()
    dirs = parents[: parents.index(root) + 1] if root in parents else [parents[0], root]
    found = []
    for d in dirs:
        for name in DEFAULTS_FILES:
            if (d / name).is_file():
                found.append(d / name)
                break
    return list(reversed(found))


def _expand_env(value: Any) -> Any:
    """dag-factory runs os.path.expandvars over the whole file before reading it."""
    if isinstance(value, str):
        return os.path.expandvars(value)
    if isinstance(value, list):
        return [_expand_env(v) for v in value]
    if isinstance(value, dict):
        return {k: _expand_env(v) for k, v in value.items()}
    return value


def _read(path: Path) -> Document:
    doc = load(path)
    doc.data = _expand_env(doc.data)
    return doc


# ---------------------------------------------------------------------------------------------
# Merging the defaults as dag-factory does (_DagFactory.build_dags + DagBuilder.get_dag_params)


def _merge(dag_at: At, defaults: list[Document], default_block: At | None) -> _Merged:
    values: dict[str, Any] = {}
    where: dict[str, At] = {}
    args: dict[str, Any] = {}
    args_where: dict[str, At] = {}
    # defaults.yml files: default_args merged key by key, other keys replace, tags are united
    for d in defaults:
        for key, value in d.data.items():
            if key == "default_args" and isinstance(value, dict):
                for k, v in value.items():
                    args[k], args_where[k] = v, At(d, (key, k))
            elif key == "tags" and isinstance(value, list):
                values[key] = sorted(set(values.get("tags", [])) | set(value))
                where[key] = At(d, (key,))
            else:
                values[key], where[key] = value, At(d, (key,))
    layers: list[At] = [default_block] if default_block else []
    layers.append(dag_at)
    for layer in layers:  # the file's `default` block, then the DAG: the later wins
        data = _value(layer)
        if not isinstance(data, dict):
            continue
        for key, value in data.items():
            if key == "default_args" and isinstance(value, dict):
                for k, v in value.items():
                    args[k], args_where[k] = v, layer / key / k
            elif isinstance(value, dict) and isinstance(values.get(key), dict):
                values[key] = {**values[key], **value}  # merge_configs: mappings merge
                where[key] = layer / key
            else:
                values[key], where[key] = value, layer / key
    if args:
        values["default_args"] = args
    return _Merged(values, where, args_where)


def _value(at: At) -> Any:
    value: Any = at.doc.data
    for p in at.path:
        value = value[p]
    return value


# ---------------------------------------------------------------------------------------------
# Tasks


def _short_fits(short: str, keys: Iterable[str]) -> bool:
    """Whether a short name's argument schema (if it is closed) takes all of `keys`."""
    if not SHORT[short].schema:
        return True
    return set(keys) <= set(SHORT[short].arguments) | set(task_settings())


@dataclass
class _Context:
    dag_at: At
    dags_folder: Path
    notes: list[Diagnostic]
    full_ids: dict[str, str]  # dag-factory task/group name -> dagforge full id (GROUP.TASK)
    group_of: dict[str, str]  # dag-factory task/group name -> its group name ("" at the top)


def _convert_task(name: str, conf: dict[str, Any], at: At, ctx: _Context) -> dict[str, Any]:
    notes = ctx.notes
    conf = seconds_keys(conf, at, notes)
    for key in ("task_group_name", "task_id"):
        conf.pop(key, None)
    out: dict[str, Any] = {}
    deps = conf.pop("dependencies", None) or []
    callbacks = _callbacks_of(conf, at, ctx.dags_folder, notes, _CALLBACKS)
    decorator = conf.pop("decorator", None)
    operator = conf.pop("operator", None)
    if decorator is not None and str(decorator) in _TASK_DECORATORS:
        operator = "task"
    elif decorator is not None:
        operator = "python"
        notes.append(
            (at / "decorator").warn(
                f"a TaskFlow task of the decorator {decorator} written as a `python` task "
                "(PythonOperator) with its arguments in op_kwargs: the same function and "
                "arguments, another operator class",
                "a spec's `operator: task` is Airflow's `@task`; for another decorator, "
                "write its operator class",
            )
        )
    if "python_callable_name" in conf and "python_callable_file" in conf:
        conf["python_callable"] = _file_reference(
            conf.pop("python_callable_name"),
            conf.pop("python_callable_file"),
            ctx.dags_folder,
            at / "python_callable_file",
            notes,
        )
    elif isinstance(conf.get("python_callable"), str):
        conf["python_callable"] = _reference(conf["python_callable"])
    short = _SHORT_BY_PATH.get(str(operator), operator if decorator else None)
    expand = conf.pop("expand", None)
    partial = conf.pop("partial", None) or {}
    if operator == "task":
        conf, partial, expand = _taskflow(conf, partial, expand, at, notes)
    elif decorator is not None:
        conf, partial, expand = _taskflow_as_python(conf, partial, expand, at, notes)
    args: dict[str, Any] = {}
    for key, value in {**conf, **partial}.items():
        args[key] = _argument(key, value, at / key, ctx, short)
    headers = conf.get("headers")
    json_type = (
        isinstance(headers, dict)
        and "application/json" in str(headers.get("Content-Type", "")).lower()
    )
    if short == "http" and "data" in conf and json_type:
        notes.append(
            (at / "data").warn(
                "dag-factory passes an HttpOperator's `data` with a JSON Content-Type as a "
                "function returning its JSON text; the spec passes `data` as written",
                "to send the same body, write `data` as the JSON text",
            )
        )
    if "variables_as_arguments" in args:
        args.pop("variables_as_arguments")
        notes.append(
            (at / "variables_as_arguments").warn(
                "variables_as_arguments reads Airflow Variables when the file is parsed; dropped",
                "use a template instead: `{{ var.value.NAME }}` in the argument",
            )
        )
    short = _fitting_short(short, str(operator), args)
    home = _HOME.get(_SHORT_BY_PATH.get(str(operator), ""), str(operator))
    out["operator"] = short or _modern(home)
    if "python_callable" in args:  # what a person names first
        args = {"python_callable": args.pop("python_callable"), **args}
    out.update(args)
    if expand:
        out["expand"] = {
            k: _expand_value(v, at / "expand" / k, ctx) for k, v in dict(expand).items()
        }
    if callbacks:
        out["callbacks"] = callbacks
    if deps:
        out["dependencies"] = [_dependency(d, name, ctx) for d in deps]
    return _full_outputs(out, ctx)


def _full_outputs(value: Any, ctx: _Context) -> Any:
    """`{output_of: NAME}` with the producer's full id (GROUP.TASK): a `+task` names it bare."""
    if isinstance(value, dict):
        out = {k: _full_outputs(v, ctx) for k, v in value.items()}
        if isinstance(out.get("output_of"), str):
            out["output_of"] = ctx.full_ids.get(out["output_of"], out["output_of"])
        return out
    if isinstance(value, list):
        return [_full_outputs(v, ctx) for v in value]
    return value


def _taskflow(
    conf: dict[str, Any],
    partial: dict[str, Any],
    expand: dict[str, Any] | None,
    at: At,
    notes: list[Diagnostic],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A `@task` task's keys as the spec's `operator: task` says them: its function's arguments
    (the keys that are no BaseOperator argument) in op_kwargs, `+task` references as
    `{output_of:}`; mapped, `expand` over the function's arguments and `partial` in op_kwargs,
    as dag-factory calls `task(...).partial(**partial).expand(**expand)`."""
    conf, kwargs = _function_arguments(conf, at, notes)
    if expand:
        if kwargs and not partial:
            notes.append(
                (at / "expand").warn(
                    f"dag-factory maps this task without its arguments {', '.join(kwargs)} "
                    "(it passes them only with `partial`); dropped",
                    "move them under `partial:`",
                )
            )
        fixed = {k: _xcom_ref(v, at / "partial" / k, notes) for k, v in partial.items()}
        if fixed:
            conf["op_kwargs"] = fixed
        return conf, {}, {k: _xcom_ref(v, at / "expand" / k, notes) for k, v in expand.items()}
    if kwargs:
        conf["op_kwargs"] = kwargs
    return conf, partial, expand


def _function_arguments(
    conf: dict[str, Any], at: At, notes: list[Diagnostic]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A TaskFlow task's keys split: (python_callable first, then its task settings and
    BaseOperator arguments; the other keys, its function's arguments, with `+task` references as
    `{output_of:}`)."""
    callable_ = conf.pop("python_callable", None)
    kwargs = {}
    for k in list(conf):
        if k not in task_settings() and k not in _BASE_OPERATOR_ARGS:
            kwargs[k] = _xcom_ref(conf.pop(k), at / k, notes)
    return {"python_callable": callable_, **conf}, kwargs


def _taskflow_as_python(
    conf: dict[str, Any],
    partial: dict[str, Any],
    expand: dict[str, Any] | None,
    at: At,
    notes: list[Diagnostic],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A TaskFlow task's keys as a python task's: its function's arguments (the keys that are no
    BaseOperator argument) into op_kwargs, `+task` references as `{output_of:}`."""
    conf, kwargs = _function_arguments(conf, at, notes)
    if kwargs:
        conf["op_kwargs"] = kwargs
    if expand:
        fixed = {k: _xcom_ref(v, at / "partial" / k, notes) for k, v in partial.items()}
        return conf, {}, _taskflow_expand(expand, fixed, at / "expand", notes)
    return conf, partial, expand


def _fitting_short(short: str | None, operator: str, args: dict[str, Any]) -> str | None:
    """The short name to write, None when the import path must stay: its argument schema lacks
    one of the task's arguments."""
    if short and short != operator and not _short_fits(short, [*args, "operator"]):
        return None
    return short


def _modern(operator: str) -> str:
    """An Airflow 2 import path dagforge has no short name for, as Airflow 3 spells it."""
    for old, new in (
        ("airflow.operators.", f"{_STD}.operators."),
        ("airflow.sensors.", f"{_STD}.sensors."),
    ):
        if operator.startswith(old):
            return new + operator.removeprefix(old)
    return operator


def _argument(key: str, value: Any, at: At, ctx: _Context, short: str | None) -> Any:
    notes = ctx.notes
    if key in _DURATION_ARGS or key in ("execution_delta", "poke_interval", "timeout", "delta"):
        d = _duration(value)
        if d is not None and (key in _DURATION_ARGS or key in _short_durations(short)):
            return d
        if d is not None and isinstance(value, dict):
            return {"object": "datetime.timedelta", "seconds": _seconds(value)}
    if key in ("inlets", "outlets"):
        return _assets(value, at, notes)
    if key == "execution_date_fn" and isinstance(value, str):
        return {"function": _reference(value)}
    return _object(value, at, notes)


def _short_durations(short: str | None) -> tuple[str, ...]:
    """The arguments a short name takes as durations (`5m`): a sensor's poke_interval, ..."""
    return SHORT[short].durations if short is not None and short in SHORT else ()


def _xcom_ref(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """A TaskFlow argument `+task` or `+task['key']` as `{output_of: task[, key: K]}`."""
    if isinstance(value, str):
        m = _PLUS.match(value)
        if m:
            ref: dict[str, Any] = {"output_of": m.group("task")}
            if m.group("key"):
                ref["key"] = m.group("key")
            return ref
    return _object(value, at, notes)


def _taskflow_expand(
    expand: dict[str, Any], fixed: dict[str, Any], at: At, notes: list[Diagnostic]
) -> dict[str, Any]:
    """A TaskFlow task mapped over its arguments. Over one argument's literal list, mapping
    `op_kwargs` over `[{arg: item, **fixed}, ...]` makes the same instances. Over another task's
    output the items are no mappings: written as op_args (each item the function's first argument
    list), with a warning."""
    if len(expand) == 1:
        ((arg, items),) = expand.items()
        if isinstance(items, list):
            return {"op_kwargs": [{arg: item, **fixed} for item in items]}
    notes.append(
        at.warn(
            "a TaskFlow task mapped over another task's output (or over several arguments at "
            "once) has no spec equivalent; written as `expand: {op_args: ...}` over the first "
            "of them",
            "make the upstream task return the argument mappings and map with `expand_kwargs`",
        )
    )
    first = next(iter(expand.values()))
    return {"op_args": _xcom_ref(first, at, notes)}


def _expand_value(value: Any, at: At, ctx: _Context) -> Any:
    if isinstance(value, dict) and "output_of" in value:
        return value
    if isinstance(value, str):
        m = _XCOM.match(value.strip())
        if m:
            return {"output_of": ctx.full_ids.get(m.group("task") or m.group("task2"), "")}
    return _object(value, at, ctx.notes)


def _dependency(dep: str, name: str, ctx: _Context) -> str:
    """A dag-factory dependency (a bare task or group name) as a spec dependency: the bare name
    within the same group, else the full id."""
    if ctx.group_of.get(dep, "") == ctx.group_of.get(name, ""):
        return dep
    return ctx.full_ids.get(dep, dep)


# ---------------------------------------------------------------------------------------------
# A whole DAG


@dataclass
class _Dag:
    """One DAG while it is converted: dag-factory's merged configuration (its keys are taken out as
    they are converted) and the spec being written."""

    dag_id: str
    merged: _Merged
    dag_at: At
    dags_folder: Path
    conv: Converted
    values: dict[str, Any]
    args: dict[str, Any]  # default_args
    spec: dict[str, Any] = field(default_factory=dict)

    @property
    def notes(self) -> list[Diagnostic]:
        return self.conv.notes

    def where(self, key: str) -> At:
        return self.merged.where.get(key, self.dag_at)

    def arg_at(self, key: str) -> At:
        return self.merged.args_where.get(key, self.dag_at)


def convert_dag(dag_id: str, merged: _Merged, dag_at: At, dags_folder: Path) -> Converted:
    values = dict(merged.values)
    conv = Converted(dag_id, dag_at.doc.path, {})
    args = seconds_keys(
        dict(values.pop("default_args", None) or {}), dag_at / "default_args", conv.notes
    )
    d = _Dag(dag_id, merged, dag_at, dags_folder, conv, values, args)
    _describe(d)
    _dates(d)
    _settings(d)
    _dag_settings(d)
    _task_defaults(d)
    d.spec["tasks"] = _tasks(values, dag_at, d.where, dags_folder, d.notes, conv)
    for key in values:
        if key not in _KNOWN:
            d.notes.append(d.where(key).warn(f"`{key}` is no DAG setting dagforge knows; dropped"))
    conv.spec = {k: d.spec[k] for k in _ORDER if k in d.spec} | d.spec
    return conv


_KNOWN = {
    "description", "doc_md", "doc_md_file_path", "schedule", "schedule_interval", "timetable",
    "start_date", "end_date", "timezone", "catchup", "tags", "max_active_runs",
    "max_active_tasks", "concurrency", "dagrun_timeout", "params", "tasks", "task_groups",
    "dag_display_name", "render_template_as_native_obj", "template_searchpath",
    "is_paused_upon_creation", "access_control", "owner_links", "fail_fast",
    "user_defined_macros", "default_view", "orientation", "on_execute_callback",
    "on_retry_callback", "on_skipped_callback", "sla_miss_callback",
    "on_execute_callback_name", "on_execute_callback_file", "sla_miss_callback_name",
    "sla_miss_callback_file", "user_defined_filters",
}  # fmt: skip


def _describe(d: _Dag) -> None:
    values, spec = d.values, d.spec
    if values.get("description") is not None:
        spec["description"] = values["description"]
    if values.get("doc_md") is not None:
        spec["doc_md"] = values["doc_md"]
    if values.get("doc_md_file_path"):
        try:
            spec["doc_md"] = Path(values["doc_md_file_path"]).read_text(encoding="utf-8")
        except OSError as e:
            d.notes.append(d.where("doc_md_file_path").warn(f"cannot read doc_md_file_path: {e}"))
    owner = d.args.pop("owner", None)
    if owner is not None:
        spec["owner"] = owner


def _dates(d: _Dag) -> None:
    """Schedule, timezone, start and end date. dag-factory reads a DAG-level start_date in the
    DAG's `timezone`, one in default_args in default_args' `timezone` (get_dag_params); the DAG's
    zone is then the start date's."""
    values, args, spec = d.values, d.args, d.spec
    if "start_date" in values:
        start, start_at = values["start_date"], d.merged.where.get("start_date")
        timezone = values.get("timezone") or "UTC"
    else:
        start, start_at = args.get("start_date"), d.merged.args_where.get("start_date")
        timezone = args.get("timezone") or "UTC"
    args.pop("start_date", None)
    args.pop("timezone", None)
    if not isinstance(timezone, str):
        timezone = "UTC"
    if timezone != "UTC":
        spec["timezone"] = timezone
    _schedule(d.merged, spec, d.notes, timezone)
    timezone = spec.get("timezone", timezone)
    if start is not None and start_at is not None:
        date = _date(start, timezone, start_at, d.notes)
        if date is not None:
            spec["start_date"] = date
    else:
        d.conv.failed = (
            "no start_date (dag-factory needs one in the DAG, its default or default_args)"
        )
    end = values.get("end_date", args.pop("end_date", None))
    if end is not None:
        end_at = d.merged.where.get("end_date") or d.merged.args_where.get("end_date") or d.dag_at
        date = _date(end, timezone, end_at, d.notes)
        if date is not None:
            spec["end_date"] = date


def _settings(d: _Dag) -> None:
    """The DAG settings of spec language v1."""
    values, args, spec = d.values, d.args, d.spec
    catchup = values.get("catchup")
    if catchup is True:
        spec["catchup"] = True
    elif catchup not in (None, False):
        d.notes.append(
            d.where("catchup").warn(f"catchup {catchup!r} is not true or false; written as false")
        )
    tags = values.get("tags")
    if tags:
        spec["tags"] = list(dict.fromkeys(str(t) for t in tags if t != "dagfactory"))
    for key in ("max_active_runs", "max_active_tasks"):
        if values.get(key) is not None:
            spec[key] = values[key]
    if values.get("concurrency") is not None and "max_active_tasks" not in spec:
        spec["max_active_tasks"] = values["concurrency"]
    timeout = _duration(values.get("dagrun_timeout"))
    if timeout:
        spec["dagrun_timeout"] = timeout
    if "retries" in args:
        spec["retries"] = args.pop("retries")
    if "retry_delay" in args:
        spec["retry_delay"] = _duration(args.pop("retry_delay"))
    alerts = _alerts(args)
    if alerts:
        spec["alerts"] = alerts
        d.notes.append(
            d.arg_at("email").warn(
                "email settings written as `alerts:`: the same mails, sent by SmtpNotifier "
                "callbacks instead of Airflow's deprecated email_on_failure"
            )
        )
    if values.get("params"):
        spec["params"] = {k: {"default": v} for k, v in values["params"].items()}


# DAG settings dag-factory passes to the DAG that a spec writes as they are.
_DAG_SETTINGS = ("dag_display_name", "render_template_as_native_obj", "is_paused_upon_creation")


def _dag_settings(d: _Dag) -> None:
    """The DAG settings beside schedule and dates, and the DAG's callbacks."""
    values = d.values
    for key in _DAG_SETTINGS:
        value = values.get(key)
        if value is None or (key == "dag_display_name" and value == d.dag_id):
            continue
        if key == "render_template_as_native_obj" and value is False:
            continue
        d.spec[key] = value
    macros = _macros(values.get("user_defined_macros"), d.where("user_defined_macros"), d.notes)
    if macros:
        d.spec["user_defined_macros"] = macros
    for key, why in (
        ("owner_links", "dag-factory 1.1 does not pass it to the DAG"),
        ("fail_fast", "dag-factory 1.1 does not pass it to the DAG"),
        ("user_defined_filters", "dag-factory 1.1 does not pass it to the DAG"),
        ("access_control", "Airflow 3 deprecates DAG-level permissions (the auth manager grants "
         "access), and a spec for Airflow 3 refuses it"),
        ("template_searchpath", "a spec names template folders inside its own folder, relative "
         "to it: copy the templates next to the spec and give them there"),
    ):  # fmt: skip
        if values.get(key) is not None:
            d.notes.append(d.where(key).warn(f"`{key}`: {why}; dropped"))
    events = ("on_success_callback", "on_failure_callback")
    callbacks = _callbacks_of(values, d.dag_at, d.dags_folder, d.notes, events)
    for key in ("on_execute_callback", "on_retry_callback", "on_skipped_callback"):
        if values.get(key) or values.get(f"{key}_name"):
            d.notes.append(
                d.where(key).warn(
                    f"{key} at the DAG level: Airflow's DAG takes no such callback; dropped"
                )
            )
    if values.get("sla_miss_callback") or values.get("sla_miss_callback_name"):
        d.notes.append(
            d.where("sla_miss_callback").warn(
                "sla_miss_callback: Airflow 3.1 removed SLAs (dag-factory ignores it too); dropped"
            )
        )
    if callbacks:
        d.spec["callbacks"] = callbacks


def _task_defaults(d: _Dag) -> None:
    """The rest of default_args as the spec's `defaults:` (the DAG's default_args, as there): the
    task settings and the callbacks. Another operator argument (Airflow hands default_args to
    every operator that takes it) has no place in a spec's `defaults`."""
    args = d.args
    callbacks = _callbacks_of(args, At(d.dag_at.doc, ()), d.dags_folder, d.notes, _CALLBACKS)
    for key in ("email", "email_on_failure", "email_on_retry", "catchup", "schedule"):
        args.pop(key, None)  # alerts (above), and DAG settings put where they have no effect
    defaults: dict[str, Any] = {}
    for key, value in args.items():
        at = d.arg_at(key)
        if key not in default_settings():
            d.notes.append(
                at.warn(
                    f"default_args `{key}` has no place in a spec's `defaults:` (the task "
                    "settings but alerts, inlets, outlets and params); dropped",
                    "give it on each task whose operator takes it",
                )
            )
            continue
        defaults[key] = _setting(key, value, at, d.notes)
    if callbacks:
        defaults["callbacks"] = callbacks
    if defaults:
        d.spec["defaults"] = defaults


def _setting(key: str, value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """A task setting's value as a spec writes it: durations as `5m`, the rest as values."""
    if key in _DURATION_ARGS:
        return _duration(value)
    return _object(value, at, notes)


# The order a person writes a spec's keys in (as in README's examples); the rest follow.
_ORDER = (
    "description", "doc_md", "owner", "schedule", "timetable", "start_date", "end_date",
    "timezone", "catchup", "tags", "max_active_runs", "max_active_tasks", "dagrun_timeout",
    "retries", "retry_delay", "alerts", "params",
)  # fmt: skip


def _macros(value: Any, at: At, notes: list[Diagnostic]) -> dict[str, Any]:
    """user_defined_macros: dag-factory imports each text value, through nested mappings; a spec
    names it `module:name`, nested the same way."""
    out: dict[str, Any] = {}
    for name, target in (value or {}).items() if isinstance(value, dict) else ():
        if isinstance(target, str):
            out[str(name)] = _reference(target)
        elif isinstance(target, dict) and (inner := _macros(target, at / name, notes)):
            out[str(name)] = inner
        elif not isinstance(target, dict):
            notes.append(
                (at / name).warn(
                    f"user_defined_macros `{name}`: a spec's macro names a Python object "
                    "(`module:name`), not a value; dropped",
                    "define it in a module and name it there",
                )
            )
    return out


def _alerts(args: dict[str, Any]) -> dict[str, Any] | None:
    emails = args.get("email")
    if not emails:
        return None
    emails = [emails] if isinstance(emails, str) else list(emails)
    alerts: dict[str, Any] = {"emails": emails}
    if args.get("email_on_failure") is False:
        alerts["on_failure"] = False
    if args.get("email_on_retry"):
        alerts["on_retry"] = True
    return alerts


def _tasks(
    values: dict[str, Any],
    dag_at: At,
    where: Any,
    dags_folder: Path,
    notes: list[Diagnostic],
    conv: Converted,
) -> dict[str, Any]:
    tasks = dict(_entries(values.get("tasks"), "task_id", where("tasks")))
    groups = dict(_entries(values.get("task_groups"), "group_name", where("task_groups")))
    parent = {g: (conf.get("parent_group_name") or "") for g, (conf, _) in groups.items()}
    group_of = {t: (conf.get("task_group_name") or "") for t, (conf, _) in tasks.items()}
    group_of.update(parent)

    def path(g: str) -> list[str]:
        seen: list[str] = []
        while g and g not in seen:
            seen.insert(0, g)
            g = parent.get(g, "")
        return seen

    full_ids = {n: ".".join([*path(group_of[n]), n]) for n in [*tasks, *groups]}
    ctx = _Context(dag_at, dags_folder, notes, full_ids, group_of)
    root: dict[str, Any] = {}
    holders: dict[str, dict[str, Any]] = {"": root}
    entries: dict[str, dict[str, Any]] = {}
    for g in groups:
        entries[g] = _group_entry(g, *groups[g], ctx)

    def place(g: str) -> None:
        """Put group g (and the groups around it) into the spec, where its first task comes."""
        if g in holders or g not in entries:
            return
        holders[g] = {}  # marks it placed (a parent cycle ends here)
        place(parent.get(g, ""))
        holders[parent.get(g, "") if parent.get(g, "") in holders else ""][g] = entries[g]
        holders[g] = entries[g]["tasks"]

    for name in _topological(tasks):  # dagforge wants a mapped task's source written before it
        conf, at = tasks[name]
        if not isinstance(conf, dict):
            conv.failed = f"task {name} is not a mapping"
            continue
        if "operator" not in conf and "decorator" not in conf:
            conv.failed = f"task {name} has no operator (dag-factory needs operator or decorator)"
        task = _convert_task(name, conf, at, ctx)
        place(group_of[name])
        holders[group_of[name] if group_of[name] in holders else ""][name] = task
    for g in groups:  # an empty group: dag-factory makes it, a spec cannot say it
        if g not in holders:
            notes.append(groups[g][1].warn(f"task group {g} has no tasks; dropped"))
    return root


def _group_entry(g: str, conf: dict[str, Any], at: At, ctx: _Context) -> dict[str, Any]:
    """A dag-factory task group as a spec group: tooltip, dependencies, default_args as `defaults`."""
    entry: dict[str, Any] = {}
    conf = dict(conf)
    conf.pop("parent_group_name", None)
    if conf.get("tooltip"):
        entry["tooltip"] = conf["tooltip"]
    conf.pop("tooltip", None)
    deps = conf.pop("dependencies", None) or []
    if deps:
        entry["dependencies"] = [_dependency(d, g, ctx) for d in deps]
    gargs = seconds_keys(dict(conf.pop("default_args", None) or {}), at / "default_args", ctx.notes)
    cbs = _callbacks_of(gargs, at / "default_args", ctx.dags_folder, ctx.notes, _CALLBACKS)
    defaults = {}
    for k, v in gargs.items():
        if k in default_settings():
            defaults[k] = _setting(k, v, at / "default_args" / k, ctx.notes)
        else:
            ctx.notes.append(
                (at / "default_args" / k).warn(
                    f"group default `{k}` has no place in a group's `defaults` (the task "
                    "settings but alerts, inlets, outlets and params); dropped",
                    "give it on each task of the group whose operator takes it",
                )
            )
    if cbs:
        defaults["callbacks"] = cbs
    if defaults:
        entry["defaults"] = defaults
    for k in conf:
        ctx.notes.append((at / k).warn(f"task group `{k}` cannot be written in a spec; dropped"))
    entry["tasks"] = {}
    return entry


def _topological(tasks: dict[str, tuple[dict[str, Any], At]]) -> list[str]:
    """Task names in file order, except that a task comes after the tasks it depends on (dagforge
    wants the task an `output_of` names written first; dag-factory sorts them itself)."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.add(name)  # before its upstreams: a cycle (dag-factory refuses it) ends here
        for dep in tasks[name][0].get("dependencies") or []:
            if isinstance(dep, str) and dep in tasks:
                visit(dep)
        order.append(name)

    for name in tasks:
        visit(name)
    return order


def _entries(value: Any, id_key: str, at: At) -> Iterator[tuple[str, tuple[dict[str, Any], At]]]:
    """Tasks or groups in either of dag-factory's forms: a list with ids, or a mapping."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k), (v if isinstance(v, dict) else {}, at / k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            if isinstance(v, dict) and id_key in v:
                yield str(v[id_key]), ({k: x for k, x in v.items() if k != id_key}, at / i)


# ---------------------------------------------------------------------------------------------
# Whole files


def convert_file(path: Path, defaults_dir: Path, dags_folder: Path) -> list[Converted]:
    """Every DAG of one dag-factory file. Raises LoadError when the file cannot be read."""
    doc = _read(path)
    defaults = [_read(p) for p in defaults_files(path, defaults_dir)]
    default_block = At(doc, ("default",)) if isinstance(doc.data.get("default"), dict) else None
    out = []
    for name, conf in doc.data.items():
        if name in _SYSTEM:
            continue
        dag_at = At(doc, (name,))
        if not isinstance(conf, dict):
            conv = Converted(name, path, {})
            conv.failed = "a DAG's configuration must be a mapping"
            out.append(conv)
            continue
        try:
            merged = _merge(dag_at, defaults, default_block)
            out.append(convert_dag(name, merged, dag_at, dags_folder))
        except (TypeError, AttributeError, ValueError, KeyError, IndexError) as e:
            # A value of a type dag-factory would fail on too (a number where a mapping belongs):
            # that DAG is not converted, the others are.
            conv = Converted(name, path, {})
            conv.failed = f"a value of an unexpected type ({type(e).__name__}: {e})"
            out.append(conv)
    return out


def import_dag_factory(
    paths: Iterable[str | os.PathLike[str]],
    out: str | os.PathLike[str] = "specs",
    defaults_dir: str | os.PathLike[str] | None = None,
    dags_folder: str | os.PathLike[str] = ".",
    force: bool = False,
    verify: bool | None = None,
) -> ImportResult:
    """Convert dag-factory files into specs in `out`; verify them against dag-factory's DAGs
    (default: when dag-factory and Airflow are installed)."""
    folder = Path(dags_folder)
    result = ImportResult()
    sources = find_sources(paths)
    if not sources:
        raise ImportUsageError("no dag-factory YAML files (*.yml, *.yaml) found")
    for source in sources:
        try:
            result.dags += convert_file(
                source, Path(defaults_dir) if defaults_dir else folder, folder
            )
        except LoadError as e:
            result.problems.append(e.diagnostic)
    check_ids(result.dags)
    out_dir = Path(out)
    result.written, problems = write_specs(result.dags, out_dir, force)
    result.problems += problems
    if problems:
        return result
    if verify is None:
        from .verify import can_verify

        verify = can_verify()
        if not verify:
            result.not_verified = "dag-factory is not installed"
    if verify and result.written:
        from .verify import verify_import

        verify_import(result, Path(defaults_dir) if defaults_dir else folder, folder)
        result.verified = True
    return result
