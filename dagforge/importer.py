"""`dagforge import --from dag-factory`: read dag-factory 1.x YAML the way its `load_yaml_dags` does
and write one dagforge spec per DAG.

read (dagforge's own loader: every value keeps its line and column) -> merge the defaults as
dag-factory does (defaults.yml files, the file's `default` block, the DAG's keys) -> convert each DAG
into spec data, noting at its source position whatever a spec says differently -> write the specs.
Verification against dag-factory's own DAG is `import_verify` (the only part that imports Airflow).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .diagnostics import Code, Diagnostic, Severity
from .load import Document, LoadError, SpecPath, load
from .values import parse_duration

DEFAULTS_FILES = ("defaults.yml", "defaults.yaml")  # dag-factory's order: yml first
_SYSTEM = ("default", "task_groups")  # top-level keys of a dag-factory file that are no DAG
_CALLBACKS = {
    "on_execute_callback": "on_execute",
    "on_success_callback": "on_success",
    "on_failure_callback": "on_failure",
    "on_retry_callback": "on_retry",
    "on_skipped_callback": "on_skipped",
}
# Task settings a v1 spec takes on each task (and in a group's `defaults`).
_TASK_SETTINGS = (
    "retries",
    "retry_delay",
    "execution_timeout",
    "trigger_rule",
    "pool",
    "pool_slots",
    "queue",
    "priority_weight",
    "max_active_tis_per_dag",
    "executor_config",
)
_DURATION_ARGS = {"retry_delay", "execution_timeout", "max_retry_delay", "dagrun_timeout"}
# Import paths of the classes dagforge has a short name for (Airflow 2 spellings included: dag-factory
# files written for Airflow 2 still name them, and Airflow 3 resolves them to the same classes).
_STD = "airflow.providers.standard"
_SHORT_BY_PATH = {
    **dict.fromkeys(
        (
            "airflow.operators.bash.BashOperator",
            "airflow.operators.bash_operator.BashOperator",
            f"{_STD}.operators.bash.BashOperator",
        ),
        "bash",
    ),
    **dict.fromkeys(
        (
            "airflow.operators.python.PythonOperator",
            "airflow.operators.python_operator.PythonOperator",
            f"{_STD}.operators.python.PythonOperator",
        ),
        "python",
    ),
    **dict.fromkeys(
        (
            "airflow.operators.empty.EmptyOperator",
            "airflow.operators.dummy.DummyOperator",
            "airflow.operators.dummy_operator.DummyOperator",
            f"{_STD}.operators.empty.EmptyOperator",
        ),
        "empty",
    ),
    **dict.fromkeys(
        (
            "airflow.sensors.external_task.ExternalTaskSensor",
            "airflow.sensors.external_task_sensor.ExternalTaskSensor",
            f"{_STD}.sensors.external_task.ExternalTaskSensor",
        ),
        "external_task_sensor",
    ),
    **dict.fromkeys(
        ("airflow.sensors.filesystem.FileSensor", f"{_STD}.sensors.filesystem.FileSensor"),
        "file_sensor",
    ),
    **dict.fromkeys(
        (
            "airflow.operators.trigger_dagrun.TriggerDagRunOperator",
            f"{_STD}.operators.trigger_dagrun.TriggerDagRunOperator",
        ),
        "trigger_dag",
    ),
    "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator": "sql",
    "airflow.providers.cncf.kubernetes.operators.pod.KubernetesPodOperator": "kubernetes_pod",
    # v2 short names (issue 12)
    **dict.fromkeys(
        (
            "airflow.operators.python.BranchPythonOperator",
            f"{_STD}.operators.python.BranchPythonOperator",
        ),
        "branch",
    ),
    **dict.fromkeys(
        ("airflow.sensors.python.PythonSensor", f"{_STD}.sensors.python.PythonSensor"),
        "python_sensor",
    ),
}
# The Airflow 3 home of a class whose short name does not fit a task (an argument its schema
# lacks): the import path written instead, so the spec still builds the same class.
_HOME = {
    "bash": f"{_STD}.operators.bash.BashOperator",
    "python": f"{_STD}.operators.python.PythonOperator",
    "empty": f"{_STD}.operators.empty.EmptyOperator",
    "external_task_sensor": f"{_STD}.sensors.external_task.ExternalTaskSensor",
    "file_sensor": f"{_STD}.sensors.filesystem.FileSensor",
    "trigger_dag": f"{_STD}.operators.trigger_dagrun.TriggerDagRunOperator",
    "branch": f"{_STD}.operators.python.BranchPythonOperator",
    "python_sensor": f"{_STD}.sensors.python.PythonSensor",
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
_V2_SHORT = {"branch", "python_sensor"}  # short names the current spec language lacks (issue 12)
_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@continuous"}
_CRON = re.compile(r"^\S+( \S+){4}$")
_XCOM = re.compile(r"^(?P<task>[\w.-]+)\.output$|^XcomArg\((?P<task2>[\w.-]+)\)$", re.I)
_PLUS = re.compile(r"^\+(?P<task>\w*)(\[['\"](?P<key>.*)['\"]\])?$")
_RELATIVE = re.compile(r"^\s*(\d+)\s+(day|hour|minute|second)s?\b", re.I)


class ImportUsageError(Exception):
    """A path or option that cannot be used (exit 2)."""


@dataclass
class Converted:
    """One DAG of a dag-factory file, as a spec."""

    dag_id: str
    source: Path  # the dag-factory file
    spec: dict[str, Any]
    notes: list[Diagnostic] = field(default_factory=list)  # warnings: what is approximated
    failed: str = ""  # why no spec could be written
    written: Path | None = None

    @property
    def exact(self) -> bool:
        return not self.failed and not self.notes


@dataclass
class ImportResult:
    dags: list[Converted] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # files that could not be read
    written: list[Path] = field(default_factory=list)
    verified: bool = False
    not_verified: str = ""

    def counts(self) -> tuple[int, int, int]:
        exact = sum(1 for d in self.dags if d.exact)
        failed = sum(1 for d in self.dags if d.failed)
        return exact, len(self.dags) - exact - failed, failed


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


# A value together with where it stands: the document and the path inside it.
@dataclass(frozen=True)
class At:
    doc: Document
    path: SpecPath

    def warn(self, message: str, hint: str = "") -> Diagnostic:
        line, col = self.doc.where(self.path)
        return Diagnostic(self.doc.display, line, col, message, hint, Code.SPEC, Severity.WARNING)

    def __truediv__(self, key: str | int) -> At:
        return At(self.doc, (*self.path, key))


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


@dataclass
class _Merged:
    """One DAG's configuration after dag-factory's merge, each key with where it came from."""

    values: dict[str, Any]
    where: dict[str, At]  # top-level key -> origin
    args_where: dict[str, At]  # default_args key -> origin


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
# Values: dag-factory's `__type__` objects, durations, dates


def _duration(value: Any) -> str | None:
    """A timedelta-like value as a spec duration (`5m`), None when it is not one."""
    if isinstance(value, dict) and value.get("__type__") == "datetime.timedelta":
        kwargs = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
        try:
            delta = dt.timedelta(*value.get("__args__", []), **kwargs)
        except (TypeError, ValueError):
            return None
    elif isinstance(value, bool):
        return None
    elif isinstance(value, int | float):
        delta = dt.timedelta(seconds=value)
    elif isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+)\s+(day|hour|minute|second)s?\s*,?\s*", value, re.I)
        if m:
            delta = dt.timedelta(**{m.group(2).lower() + "s": int(m.group(1))})
        else:
            try:
                delta = parse_duration(value)
            except ValueError:
                return None
    else:
        return None
    return format_duration(delta)


def format_duration(delta: dt.timedelta) -> str:
    seconds = delta.total_seconds()
    if seconds != int(seconds) or seconds <= 0:
        return str(int(seconds)) if seconds == int(seconds) else f"{seconds}s"
    out, rest = "", int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if rest >= size:
            out += f"{rest // size}{unit}"
            rest %= size
    return out


def _object(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """A dag-factory value with `__type__` objects, `__join__` and typed lists as a spec value:
    `{object: module.Class, kwargs}` (the spec language's v2 object form)."""
    if isinstance(value, list):
        return [_object(v, at / i, notes) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    if "__join__" in value and isinstance(value["__join__"], list):
        return "".join(str(_object(v, at, notes)) for v in value["__join__"])
    kind = value.get("__type__")
    if kind == "builtins.list":
        return [_object(v, at / "items" / i, notes) for i, v in enumerate(value.get("items", []))]
    if kind == "datetime.timedelta" and _duration(value):
        return {"object": "datetime.timedelta", "seconds": _seconds(value)}
    converted = {
        k: _object(v, at / k, notes) for k, v in value.items() if k not in ("__type__", "__args__")
    }
    if kind is None:
        return converted
    if value.get("__args__"):
        notes.append(
            (at / "__args__").warn(
                f"positional arguments of {kind} cannot be written in a spec's object form; "
                "written as `args:`",
                "give them by keyword in the spec",
            )
        )
        converted["args"] = _object(value["__args__"], at / "__args__", notes)
    return {"object": kind, **converted}


def _seconds(value: dict[str, Any]) -> float:
    kwargs = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
    return dt.timedelta(*value.get("__args__", []), **kwargs).total_seconds()


def _has_v2(value: Any) -> bool:
    """Whether a converted value uses the v2 object/function/output_of forms."""
    if isinstance(value, list):
        return any(_has_v2(v) for v in value)
    if isinstance(value, dict):
        return bool({"object", "function", "output_of"} & set(value)) or any(
            _has_v2(v) for v in value.values()
        )
    return False


def _date(value: Any, timezone: str, at: At, notes: list[Diagnostic]) -> Any:
    """A start or end date as the spec writes it (a date, or a datetime without zone: the spec's
    `timezone` applies, as dag-factory's `get_datetime` replaces the zone with the DAG's)."""
    if isinstance(value, dict) and value.get("__type__") in ("datetime.datetime", "datetime.date"):
        kw = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
        kind = dt.datetime if value["__type__"] == "datetime.datetime" else dt.date
        value = kind(*value.get("__args__", []), **kw)
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    if isinstance(value, dt.date):
        value = value.isoformat()
    text = str(value).strip()
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        m = _RELATIVE.match(text)
        if not m:
            notes.append(at.warn(f"'{text}' is no date dagforge can read; not converted"))
            return None
        from zoneinfo import ZoneInfo

        today = dt.datetime.now(ZoneInfo(timezone)).date()
        delta = dt.timedelta(**{m.group(2).lower() + "s": int(m.group(1))})
        moment = dt.datetime.combine(today, dt.time()) - delta
        written = moment.date() if moment.time() == dt.time() else moment
        notes.append(
            at.warn(
                f"relative date '{text}' (dag-factory counts it back from the day the file is "
                f"parsed) written as the fixed date {written.isoformat()}",
                "a spec's start_date is a fixed date: set the one you mean",
            )
        )
        return written
    moment = moment.replace(tzinfo=None)
    return moment.date() if moment.time() == dt.time() else moment


# ---------------------------------------------------------------------------------------------
# Callbacks (v2 `callbacks:`)


def _callback(value: Any, at: At, dags_folder: Path) -> Any:
    """One dag-factory callback as a v2 spec callback: `module:function`, `{function: ..., kwargs}`
    or, for a notifier class (a `callback:` naming a class), `{object: ..., kwargs}`."""
    if isinstance(value, str):
        return _reference(value)
    if isinstance(value, dict) and isinstance(value.get("callback"), str):
        kwargs = {k: v for k, v in value.items() if k != "callback"}
        target = value["callback"]
        last = target.rsplit(".", 1)[-1]
        if last[:1].isupper():  # a class: dag-factory instantiates notifiers (they have .notify)
            return {"object": target, **kwargs}
        return {"function": _reference(target), **kwargs}
    return None


def _reference(dotted: str) -> str:
    """`package.module.function` -> `package.module:function`."""
    if ":" in dotted:
        return dotted
    module, _, name = dotted.rpartition(".")
    return f"{module}:{name}" if module else dotted


def _file_reference(
    name: str, file: str, dags_folder: Path, at: At, notes: list[Diagnostic]
) -> str:
    """`*_name` + `*_file` (a function in a Python file) as `module:function`, the module named
    relative to the folder Airflow puts on sys.path (--dags-folder)."""
    path = Path(file)
    try:
        rel = path.resolve().relative_to(dags_folder.resolve())
    except ValueError:
        notes.append(
            at.warn(
                f"{file} is not inside the dags folder {dags_folder.as_posix()}; written as module "
                f"'{path.stem}'",
                "pass --dags-folder DIR, the folder Airflow puts on sys.path",
            )
        )
        rel = Path(path.name)
    module = ".".join(rel.with_suffix("").parts)
    return f"{module}:{name}"


def _callbacks_of(
    conf: dict[str, Any], at: At, dags_folder: Path, notes: list[Diagnostic], events: Iterable[str]
) -> dict[str, list[Any]]:
    """Pop every callback of `conf` (any of dag-factory's spellings) into {event: [callback]}."""
    out: dict[str, list[Any]] = {}
    for key in events:
        event = _CALLBACKS.get(key, key.removesuffix("_callback"))
        name, file = conf.pop(f"{key}_name", None), conf.pop(f"{key}_file", None)
        if name and file:
            out[event] = [_file_reference(name, file, dags_folder, at / f"{key}_file", notes)]
        if key in conf:
            value = conf.pop(key)
            if value is None:
                continue
            converted = _callback(value, at / key, dags_folder)
            if converted is None:
                notes.append((at / key).warn(f"{key}: a form dagforge cannot read; dropped"))
            else:
                out[event] = converted if isinstance(converted, list) else [converted]
    return out


# ---------------------------------------------------------------------------------------------
# Schedules and assets


def _condition(value: Any, at: At, notes: list[Diagnostic], named: dict[str, str]) -> Any:
    """A dag-factory dataset condition (a list: all; `__and__`/`__or__`; a string expression with
    & and |) as a spec asset condition ({all: [...]}, {any: [...]}, or a list)."""
    if isinstance(value, list):
        return [_condition(v, at / i, notes, named) for i, v in enumerate(value)]
    if isinstance(value, dict):
        for key, word in (("__and__", "all"), ("__or__", "any")):
            if key in value:
                return {
                    word: [
                        _condition(v, at / key / i, notes, named) for i, v in enumerate(value[key])
                    ]
                }
    if isinstance(value, str):
        if "&" in value or "|" in value:
            return _expression(value, named)
        return named.get(value.strip(), value.strip())
    notes.append(at.warn("an asset condition dagforge cannot read; dropped"))
    return None


def _expression(text: str, named: dict[str, str]) -> Any:
    """`(a & b) | c` as {any: [{all: [a, b]}, c]} (& binds tighter, as in Python)."""
    tokens = re.findall(r"\(|\)|&|\||[^\s()&|]+", text)
    pos = 0

    def atom() -> Any:
        nonlocal pos
        tok = tokens[pos]
        pos += 1
        if tok == "(":
            inner = either()
            pos += 1  # ")"
            return inner
        return named.get(tok, tok)

    def both() -> Any:
        nonlocal pos
        items = [atom()]
        while pos < len(tokens) and tokens[pos] == "&":
            pos += 1
            items.append(atom())
        return items[0] if len(items) == 1 else {"all": items}

    def either() -> Any:
        nonlocal pos
        items = [both()]
        while pos < len(tokens) and tokens[pos] == "|":
            pos += 1
            items.append(both())
        return items[0] if len(items) == 1 else {"any": items}

    return either()


def _datasets_file(file: str) -> dict[str, str]:
    """The name -> uri table of a dag-factory datasets file (`datasets: [{name, uri}]`)."""
    with open(file, encoding="utf-8") as f:
        data = yaml.safe_load(f) or {}
    return {d["name"]: d["uri"] for d in data.get("datasets", []) if "name" in d and "uri" in d}


def _schedule(
    merged: _Merged, spec: dict[str, Any], notes: list[Diagnostic], timezone: str
) -> None:
    values = merged.values
    if "schedule_interval" in values:
        at = merged.where["schedule_interval"]
        notes.append(
            at.warn(
                "schedule_interval (removed in Airflow 3; dag-factory refuses it there) written "
                "as schedule"
            )
        )
        values.setdefault("schedule", values["schedule_interval"])
        merged.where.setdefault("schedule", at)
    if "timetable" in values:
        values.setdefault("schedule", values["timetable"])
        merged.where.setdefault("schedule", merged.where["timetable"])
    if "schedule" not in values:
        spec["schedule"] = None  # dag-factory passes no schedule: Airflow 3's default is None
        return
    value, at = values["schedule"], merged.where["schedule"]
    if value is None or (isinstance(value, str) and value.strip().lower() == "none"):
        spec["schedule"] = None
    elif isinstance(value, str) and (value in _PRESETS or _CRON.match(value.strip())):
        spec["schedule"] = value.strip()
    elif isinstance(value, list):
        spec["schedule"] = [
            v.strip() if isinstance(v, str) else _asset(v, at / i, notes)
            for i, v in enumerate(value)
            if v is not None and (not isinstance(v, str) or v.strip())
        ]
    elif isinstance(value, dict) and value.get("__type__") == "datetime.timedelta":
        spec["schedule"] = _duration(value)
    elif isinstance(value, dict) and "datasets" in value:
        named = _datasets_file(value["file"]) if value.get("file") else {}
        condition = _condition(value["datasets"], at / "datasets", notes, named)
        if isinstance(condition, list) and len(condition) == 1:
            condition = condition
        if value.get("timetable") is not None:
            timetable = _object(value["timetable"], at / "timetable", notes)
            spec["schedule"] = {"assets": condition, "timetable": timetable}
            notes.append(
                at.warn(
                    "an asset-or-time schedule (AssetOrTimeSchedule) is spec language v2 (issue 12); "
                    "written as {assets: ..., timetable: ...}"
                )
            )
        else:
            spec["schedule"] = condition
    elif isinstance(value, dict) and isinstance(value.get("__type__"), str):
        _timetable(value, at, spec, notes, timezone)
    else:
        notes.append(at.warn(f"a schedule dagforge cannot read ({value!r}); written as none"))
        spec["schedule"] = None


_TIMETABLES = {
    "airflow.timetables.trigger.CronTriggerTimetable": "trigger",
    "airflow.timetables.interval.CronDataIntervalTimetable": "interval",
}


def _timetable(
    value: dict[str, Any], at: At, spec: dict[str, Any], notes: list[Diagnostic], timezone: str
) -> None:
    kind = value["__type__"]
    args = value.get("__args__") or []
    extra = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
    cron = args[0] if args else extra.pop("cron", None)
    tz = extra.pop("timezone", timezone)
    if kind in _TIMETABLES and isinstance(cron, str) and not extra and len(args) <= 1:
        spec["schedule"] = cron
        if _TIMETABLES[kind] != "trigger":
            spec["timetable"] = _TIMETABLES[kind]
        if tz != timezone:
            spec["timezone"] = tz
            notes.append(
                at.warn(
                    f"the timetable's timezone {tz} differs from the DAG's {timezone}; a spec has "
                    f"one timezone: {tz} written, which also reads the start and end dates"
                )
            )
        return
    spec["schedule"] = _object(value, at, notes)
    notes.append(
        at.warn(
            f"a timetable object ({kind}) is spec language v2 (issue 12): written as "
            "`{object: ...}`",
        )
    )


# ---------------------------------------------------------------------------------------------
# Tasks


@cache
def _schema_defs() -> dict[str, Any]:
    text = resources.files("dagforge.schemas").joinpath("pipeline.schema.json").read_text("utf-8")
    defs: dict[str, Any] = json.loads(text)["$defs"]
    return defs


def _short_fits(short: str, keys: Iterable[str]) -> bool:
    """Whether a short name's argument schema (if it has one) takes all of `keys`."""
    defs = _schema_defs()
    own = {"bash": "bash", "python": "python", "empty": "empty"}.get(short)
    if own is None:
        return True
    allowed = set(defs[own].get("properties", {})) | set(defs["task"]["properties"])
    return set(keys) <= allowed


@dataclass
class _Context:
    dag_at: At
    dags_folder: Path
    notes: list[Diagnostic]
    full_ids: dict[str, str]  # dag-factory task/group name -> dagforge full id (GROUP.TASK)
    group_of: dict[str, str]  # dag-factory task/group name -> its group name ("" at the top)


def _convert_task(name: str, conf: dict[str, Any], at: At, ctx: _Context) -> dict[str, Any]:
    notes = ctx.notes
    conf = dict(conf)
    for key in ("task_group_name", "task_id"):
        conf.pop(key, None)
    out: dict[str, Any] = {}
    deps = conf.pop("dependencies", None) or []
    callbacks = _callbacks_of(conf, at, ctx.dags_folder, notes, _CALLBACKS)
    decorator = conf.pop("decorator", None)
    operator = conf.pop("operator", None)
    if decorator is not None:
        operator = "python"
        notes.append(
            (at / "decorator").warn(
                "a TaskFlow task (decorator) written as a `python` task (PythonOperator) with its "
                "arguments in op_kwargs: the same function and arguments, another operator class",
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
    if decorator is not None:
        conf, partial, expand = _taskflow(conf, partial, expand, at, notes)
    args: dict[str, Any] = {}
    for key, value in {**conf, **partial}.items():
        args[key] = _argument(key, value, at / key, ctx, short)
    if "variables_as_arguments" in args:
        args.pop("variables_as_arguments")
        notes.append(
            (at / "variables_as_arguments").warn(
                "variables_as_arguments reads Airflow Variables when the file is parsed; dropped",
                "use a template instead: `{{ var.value.NAME }}` in the argument",
            )
        )
    short = _fitting_short(short, str(operator), args, at, notes)
    home = _HOME.get(_SHORT_BY_PATH.get(str(operator), ""), str(operator))
    out["operator"] = short or _modern(home)
    if "python_callable" in args:  # what a person names first
        args = {"python_callable": args.pop("python_callable"), **args}
    if not short and isinstance(args.get("python_callable"), str):
        notes.append(
            (at / "python_callable").warn(
                "python_callable given to an import-path operator is spec language v2 (issue 12)"
            )
        )
    out.update(args)
    if expand:
        out["expand"] = {
            k: _expand_value(v, at / "expand" / k, ctx) for k, v in dict(expand).items()
        }
    if callbacks:
        out["callbacks"] = callbacks
        notes.append(
            at.warn(
                "task callbacks are spec language v2 (issue 12): written as `callbacks:`",
            )
        )
    if deps:
        out["dependencies"] = [_dependency(d, name, ctx) for d in deps]
    for key, value in out.items():
        if key not in ("expand", "callbacks", "operator", "dependencies") and _has_v2(value):
            notes.append(
                (at / key).warn(f"`{key}`: an object value is spec language v2 (issue 12)")
            )
    return out


def _taskflow(
    conf: dict[str, Any],
    partial: dict[str, Any],
    expand: dict[str, Any] | None,
    at: At,
    notes: list[Diagnostic],
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
    """A TaskFlow task's keys as a python task's: its function's arguments (the keys that are no
    BaseOperator argument) into op_kwargs, `+task` references as `{output_of:}`."""
    callable_ = conf.pop("python_callable", None)
    kwargs = {}
    for k in list(conf):
        if k not in _TASK_SETTINGS and k not in _BASE_OPERATOR_ARGS:
            kwargs[k] = _xcom_ref(conf.pop(k), at / k, notes)
    conf = {"python_callable": callable_, **conf}
    if kwargs:
        conf["op_kwargs"] = kwargs
    if expand:
        fixed = {k: _xcom_ref(v, at / "partial" / k, notes) for k, v in partial.items()}
        return conf, {}, _taskflow_expand(expand, fixed, at / "expand", notes)
    return conf, partial, expand


def _fitting_short(
    short: str | None, operator: str, args: dict[str, Any], at: At, notes: list[Diagnostic]
) -> str | None:
    """The short name to write, None when the import path must stay: its argument schema lacks
    one of the task's arguments, or it is a short name of v2."""
    if short and short != operator and not _short_fits(short, [*args, "operator"]):
        return None
    if short in _V2_SHORT:
        notes.append(
            (at / "operator").warn(
                f"short name `{short}` is spec language v2 (issue 12); the import path is "
                "written until it lands"
            )
        )
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
    if key in _DURATION_ARGS or key in ("execution_delta", "poke_interval", "timeout"):
        d = _duration(value)
        if d is not None and (
            key in _DURATION_ARGS or short in ("external_task_sensor", "file_sensor")
        ):
            return d
        if d is not None and isinstance(value, dict):
            return {"object": "datetime.timedelta", "seconds": _seconds(value)}
    if key in ("inlets", "outlets"):
        return _assets(value, at, notes)
    if key == "execution_date_fn" and isinstance(value, str):
        return {"function": _reference(value)}
    return _object(value, at, notes)


def _assets(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """inlets/outlets: URIs, `__type__` assets, or dag-factory's `{file, datasets}` lookup."""
    if isinstance(value, dict) and value.get("file") and value.get("datasets"):
        named = _datasets_file(value["file"])
        return [named[n] for n in value["datasets"] if n in named]
    if isinstance(value, list):
        return [_asset(v, at / i, notes) for i, v in enumerate(value)]
    return _object(value, at, notes)


_ASSET_CLASSES = {
    "airflow.sdk.Asset",
    "airflow.sdk.definitions.asset.Asset",
    "airflow.datasets.Dataset",
    "airflow.Dataset",
}


def _asset(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """One asset: a URI stays text; an Asset object of a URI alone is that URI (its name is the
    URI too); one with its own name is `{name:, uri:}` (spec language v2, issue 12)."""
    if isinstance(value, dict) and value.get("__type__") in _ASSET_CLASSES:
        args = list(value.get("__args__") or [])
        fields = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
        if args:
            fields.setdefault("name", args[0])
        if len(args) > 1:
            fields.setdefault("uri", args[1])
        uri, name = fields.get("uri"), fields.get("name")
        if set(fields) <= {"uri", "name"} and (name is None or uri is None or name == uri):
            return uri or name
        notes.append(
            at.warn(
                "an asset with its own name (or group, extra) is spec language v2 (issue 12): written as a mapping"
            )
        )
        return fields
    return _object(value, at, notes)


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
            "map over a task that returns the argument mappings (expand_kwargs, issue 12)",
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
    args = dict(values.pop("default_args", None) or {})
    conv = Converted(dag_id, dag_at.doc.path, {})
    d = _Dag(dag_id, merged, dag_at, dags_folder, conv, values, args)
    _describe(d)
    _dates(d)
    _settings(d)
    _v2_settings(d)
    pushed = _task_defaults(d)
    d.spec["tasks"] = _tasks(values, dag_at, d.where, dags_folder, d.notes, pushed, conv)
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
    "sla_miss_callback_file",
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


_V2_DAG_SETTINGS = (
    "dag_display_name",
    "render_template_as_native_obj",
    "template_searchpath",
    "is_paused_upon_creation",
    "access_control",
    "owner_links",
    "fail_fast",
    "user_defined_macros",
)


def _v2_settings(d: _Dag) -> None:
    """DAG settings and callbacks that are spec language v2 (issue 12): written in its spelling."""
    values = d.values
    for key in _V2_DAG_SETTINGS:
        value = values.get(key)
        if value is None or (key == "dag_display_name" and value == d.dag_id):
            continue
        if key == "render_template_as_native_obj" and value is False:
            continue
        d.spec[key] = _macros(value) if key == "user_defined_macros" else value
        d.notes.append(d.where(key).warn(f"`{key}` is spec language v2 (issue 12)"))
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
        d.notes.append(
            d.dag_at.warn("DAG callbacks are spec language v2 (issue 12): written as `callbacks:`")
        )


def _task_defaults(d: _Dag) -> dict[str, Any]:
    """The rest of default_args: the task settings of v1 are returned to be written on each task;
    any other (and the callbacks) go to the spec-level `defaults:` of v2."""
    args = d.args
    callbacks = _callbacks_of(args, At(d.dag_at.doc, ()), d.dags_folder, d.notes, _CALLBACKS)
    for key in ("email", "email_on_failure", "email_on_retry", "catchup", "schedule"):
        args.pop(key, None)  # alerts (above), and DAG settings put where they have no effect
    pushed = {k: args.pop(k) for k in list(args) if k in _TASK_SETTINGS}
    defaults: dict[str, Any] = {}
    for key, value in args.items():
        at = d.arg_at(key)
        defaults[key] = _duration(value) if key in _DURATION_ARGS else _object(value, at, d.notes)
        d.notes.append(
            at.warn(
                f"default_args `{key}`: a spec-level `defaults:` is spec language v2 (issue 12)"
            )
        )
    if callbacks:
        defaults["callbacks"] = callbacks
        d.notes.append(
            d.dag_at.warn(
                "task callbacks in default_args are spec language v2 (issue 12): written under "
                "`defaults: callbacks:`"
            )
        )
    if defaults:
        d.spec["defaults"] = defaults
    return pushed


# The order a person writes a spec's keys in (as in README's examples); the rest follow.
_ORDER = (
    "description", "doc_md", "owner", "schedule", "timetable", "start_date", "end_date",
    "timezone", "catchup", "tags", "max_active_runs", "max_active_tasks", "dagrun_timeout",
    "retries", "retry_delay", "alerts", "params",
)  # fmt: skip


def _macros(value: Any) -> Any:
    if isinstance(value, str):
        return _reference(value)
    if isinstance(value, dict):
        return {k: _macros(v) for k, v in value.items()}
    return value


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
    pushed: dict[str, Any],
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
        for k, v in pushed.items():
            task.setdefault(k, _duration(v) if k in _DURATION_ARGS else v)
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
    gargs = dict(conf.pop("default_args", None) or {})
    cbs = _callbacks_of(gargs, at / "default_args", ctx.dags_folder, ctx.notes, _CALLBACKS)
    defaults = {k: (_duration(v) if k in _DURATION_ARGS else v) for k, v in gargs.items()}
    for k in gargs:
        if k not in _TASK_SETTINGS:
            ctx.notes.append(
                (at / "default_args" / k).warn(
                    f"group default `{k}` is spec language v2 (issue 12)"
                )
            )
    if cbs:
        defaults["callbacks"] = cbs
        ctx.notes.append(
            (at / "default_args").warn("group callbacks are spec language v2 (issue 12)")
        )
    if defaults:
        entry["defaults"] = defaults
    for k in conf:
        ctx.notes.append((at / k).warn(f"task group `{k}` cannot be written in a spec; dropped"))
    entry["tasks"] = {}
    return entry


def _topological(tasks: dict[str, tuple[dict[str, Any], At]]) -> list[str]:
    """Task names in dag-factory's order (Kahn's algorithm over task dependencies); a cycle leaves
    the rest in file order."""
    downstream: dict[str, list[str]] = {t: [] for t in tasks}
    count = dict.fromkeys(tasks, 0)
    for name, (conf, _) in tasks.items():
        for dep in conf.get("dependencies") or []:
            if dep in tasks:
                downstream[dep].append(name)
                count[name] += 1
    ready = [t for t in tasks if not count[t]]
    order: list[str] = []
    while ready:
        current = ready.pop(0)
        order.append(current)
        for child in downstream[current]:
            count[child] -= 1
            if not count[child]:
                ready.append(child)
    return order + [t for t in tasks if t not in order]


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


# ---------------------------------------------------------------------------------------------
# Writing the specs


class _Dumper(yaml.SafeDumper):
    """Block mappings, flow lists of plain values (`dependencies: [a, b]`), `|` for multi-line text."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if "\n" in text:
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", text)


def _list(dumper: yaml.SafeDumper, items: list[Any]) -> yaml.SequenceNode:
    flow = all(isinstance(i, str | int | float | bool) and "\n" not in str(i) for i in items)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=flow)


_Dumper.add_representer(str, _str)
_Dumper.add_representer(list, _list)
_LIFT = (
    "owner",
    "start_date",
    "end_date",
    "timezone",
    "catchup",
    "tags",
    "retries",
    "retry_delay",
    "alerts",
    "max_active_runs",
    "dagrun_timeout",
)


def dump(spec: dict[str, Any], header: str) -> str:
    # long commands stay on one line (a folded `{{\n ds }}` is valid YAML, but no one writes it)
    body = yaml.dump(spec, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=1 << 16)
    return header + body


def lift_defaults(convs: list[Converted]) -> dict[str, Any]:
    """The settings every converted DAG shares (two or more DAGs): a person writes them once, in
    the output folder's defaults.yaml. They are taken out of the specs."""
    specs = [c.spec for c in convs if not c.failed]
    if len(specs) < 2:
        return {}
    shared = {}
    for key in _LIFT:
        values = [s.get(key, _MISSING) for s in specs]
        if values[0] is not _MISSING and all(v == values[0] for v in values):
            shared[key] = values[0]
    for s in specs:
        for key in shared:
            del s[key]
    return shared


_MISSING = object()


def header_for(source: Path, dag_id: str, kind: str = "dag-factory") -> str:
    try:  # relative to the working folder where it lies below it: the name the user typed
        name = source.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        name = source.resolve().as_posix()
    return f"# Imported by `dagforge import` from {name} ({kind}, DAG {dag_id}).\n"


def write_specs(
    convs: list[Converted], out: Path, force: bool, lift: bool = True, kind: str = "dag-factory"
) -> tuple[list[Path], list[Diagnostic]]:
    """Write DIR/<dag_id>.yaml for every converted DAG (and DIR/defaults.yaml for what they share).
    Refuses, before writing anything, to overwrite an existing file unless `force`."""
    from .write import write_atomic

    good = [c for c in convs if not c.failed]
    plans: list[tuple[Path, str]] = []
    shared = lift_defaults(good) if lift and not (out / "defaults.yaml").exists() else {}
    if shared:
        text = "# Settings shared by the DAGs `dagforge import` converted into this folder.\n"
        plans.append((out / "defaults.yaml", dump(shared, text)))
    for c in good:
        spec = c.spec
        plans.append((out / f"{c.dag_id}.yaml", dump(spec, header_for(c.source, c.dag_id, kind))))
        c.written = out / f"{c.dag_id}.yaml"
    problems = []
    if not force:
        for target, _ in plans:
            if target.exists():
                problems.append(
                    Diagnostic(
                        target.as_posix(),
                        0,
                        0,
                        "exists already; not overwritten",
                        "pass --force to overwrite it, or -o DIR to write elsewhere",
                        Code.USAGE,
                    )
                )
    if problems:
        for c in good:
            c.written = None
        return [], problems
    out.mkdir(parents=True, exist_ok=True)
    for target, text in plans:
        write_atomic(target, text)
    return [p for p, _ in plans], []


_DAG_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")


def check_ids(convs: list[Converted]) -> None:
    """A dag_id names its spec file: one that a spec does not allow (a `/`, a line break, ...) is
    not converted, nor is a second DAG of the same id (Airflow, too, keeps only one of them)."""
    first: dict[str, Converted] = {}
    for conv in convs:
        if conv.failed:
            continue
        if not _DAG_ID.fullmatch(conv.dag_id):
            conv.failed = (
                f"dag_id {conv.dag_id!r} is not a spec's dag_id (letters, digits, `_`, `.`, `-`, "
                "at most 250)"
            )
            continue
        other = first.setdefault(conv.dag_id, conv)
        if other is not conv:
            conv.failed = f"dag_id {conv.dag_id} is also a DAG of {other.source.as_posix()}"


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
        from .import_verify import can_verify

        verify = can_verify()
        if not verify:
            result.not_verified = "dag-factory is not installed"
    if verify and result.written:
        from .import_verify import verify_import

        verify_import(result, Path(defaults_dir) if defaults_dir else folder, folder)
        result.verified = True
    return result
