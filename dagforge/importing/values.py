"""dag-factory values as spec values: durations, dates, `__type__` objects, callbacks, schedules
and assets. Each notes at the value's place in the source what it writes differently."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from ..diagnostics import Diagnostic
from ..values import parse_duration
from .result import At, _Merged

_CALLBACKS = {
    "on_execute_callback": "on_execute",
    "on_success_callback": "on_success",
    "on_failure_callback": "on_failure",
    "on_retry_callback": "on_retry",
    "on_skipped_callback": "on_skipped",
}
_PRESETS = {"@once", "@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@continuous"}
_CRON = re.compile(r"^\S+( \S+){4}$")
# dag-factory's get_time_delta: a prefix of hours, minutes, seconds and days, in this order
_RELATIVE = re.compile(
    r"((?P<hours>\d+?)\s+hour)?((?P<minutes>\d+?)\s+minute)?((?P<seconds>\d+?)\s+second)?"
    r"((?P<days>\d+?)\s+day)?",
    re.I,
)
_DURATION_ARGS = {"retry_delay", "execution_timeout", "max_retry_delay", "dagrun_timeout"}


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
        m = _RELATIVE.match(text)  # never None: every group is optional, as dag-factory's
        parts = {k: int(v) for k, v in (m.groupdict() if m else {}).items() if v}
        if not parts:
            notes.append(at.warn(f"'{text}' is no date dagforge can read; not converted"))
            return None
        # dag-factory's today's midnight in the zone, minus the time: the spec says it as such
        return {"before_today": format_duration(dt.timedelta(**parts))}
    moment = moment.replace(tzinfo=None)
    return moment.date() if moment.time() == dt.time() else moment


# ---------------------------------------------------------------------------------------------
# Callbacks (v2 `callbacks:`)


def _callback(value: Any, at: At, dags_folder: Path) -> Any:
    """One dag-factory callback as a v2 spec callback: `module:function`, `{function: ..., kwargs}`
    or, for a notifier (dag-factory instantiates what has a `notify`: a class, or a provider's
    `send_*_notification` alias of one), `{object: ..., kwargs}`."""
    if isinstance(value, str):
        return _reference(value)
    if isinstance(value, dict) and isinstance(value.get("callback"), str):
        kwargs = {k: v for k, v in value.items() if k != "callback"}
        target = value["callback"]
        module, _, last = target.rpartition(".")
        if last[:1].isupper() or ".notifications." in f".{module}.":
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
            v.strip() if isinstance(v, str) else _asset_object(v, at / i, notes)
            for i, v in enumerate(value)
            if v is not None and (not isinstance(v, str) or v.strip())
        ]
    elif isinstance(value, dict) and value.get("__type__") == "datetime.timedelta":
        spec["schedule"] = _duration(value)
    elif isinstance(value, dict) and "datasets" in value:
        named = _datasets_file(value["file"]) if value.get("file") else {}
        condition = _condition(value["datasets"], at / "datasets", notes, named)
        if value.get("timetable") is not None:
            _or_time(condition, value["timetable"], at / "timetable", spec, notes, timezone)
        else:
            spec["schedule"] = condition
    elif isinstance(value, dict) and isinstance(value.get("__type__"), str):
        _typed_schedule(value, at, spec, notes, timezone)
    else:
        notes.append(at.warn(f"a schedule dagforge cannot read ({value!r}); written as none"))
        spec["schedule"] = None


def _typed_schedule(
    value: dict[str, Any], at: At, spec: dict[str, Any], notes: list[Diagnostic], timezone: str
) -> None:
    """A schedule given as an object: an asset-or-time schedule, assets, or a timetable."""
    if _kind(value) in _OR_TIME:
        condition = _asset_object(value.get("assets"), at / "assets", notes)
        _or_time(condition, value.get("timetable"), at / "timetable", spec, notes, timezone)
    elif _kind(value) in (*_ASSET_CLASSES, *_CONDITIONS):
        condition = _asset_object(value, at, notes)
        spec["schedule"] = condition if isinstance(condition, dict) else [condition]
    else:
        _timetable(value, at, spec, notes, timezone)


def _or_time(
    condition: Any,
    timetable: Any,
    at: At,
    spec: dict[str, Any],
    notes: list[Diagnostic],
    timezone: str,
) -> None:
    """`{time, assets}`: a run at the timetable's times and whenever the condition is met."""
    time = _time_of(timetable, timezone)
    if time is None:
        notes.append(
            at.warn(
                "a spec's time-or-assets schedule takes a cron in the DAG's timezone; this "
                "timetable is not one, written as the assets alone"
            )
        )
        spec["schedule"] = condition
    else:
        spec["schedule"] = {"time": time, "assets": condition}


def _time_of(value: Any, timezone: str) -> str | None:
    """The time part of an asset-or-time schedule as a spec's `time:` (a cron, read as a
    CronTriggerTimetable in the DAG's timezone, as dagforge writes it), None when it is not one."""
    if isinstance(value, str):
        return value.strip() if value in _PRESETS or _CRON.match(value.strip()) else None
    if (
        not isinstance(value, dict)
        or value.get("__type__") != "airflow.timetables.trigger.CronTriggerTimetable"
    ):
        return None
    args = value.get("__args__") or []
    extra = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
    cron = args[0] if args else extra.pop("cron", None)
    if extra.pop("timezone", timezone) != timezone or extra or len(args) > 1:
        return None
    return cron if isinstance(cron, str) else None


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
_CONDITIONS = {
    **dict.fromkeys(
        (
            "airflow.sdk.AssetAll",
            "airflow.sdk.definitions.asset.AssetAll",
            "airflow.datasets.DatasetAll",
        ),
        "all",
    ),
    **dict.fromkeys(
        (
            "airflow.sdk.AssetAny",
            "airflow.sdk.definitions.asset.AssetAny",
            "airflow.datasets.DatasetAny",
        ),
        "any",
    ),
}
_OR_TIME = (
    "airflow.timetables.assets.AssetOrTimeSchedule",
    "airflow.timetables.datasets.DatasetOrTimeSchedule",
)


def _kind(value: dict[str, Any]) -> Any:
    return value.get("__type__")


def _asset_object(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """An asset condition given as objects (`AssetAll`/`AssetAny` of assets, as Airflow 3 takes a
    schedule): `{all: [...]}` / `{any: [...]}`, each asset as `_asset` writes it."""
    if isinstance(value, list):
        return [_asset_object(v, at / i, notes) for i, v in enumerate(value)]
    if isinstance(value, dict) and _kind(value) in _CONDITIONS:
        items = value.get("__args__") or value.get("objects") or []
        return {
            _CONDITIONS[_kind(value)]: [
                _asset_object(v, at / "__args__" / i, notes) for i, v in enumerate(items)
            ]
        }
    return _asset(value, at, notes)


_ALIAS_CLASSES = {
    "airflow.sdk.AssetAlias",
    "airflow.sdk.definitions.asset.AssetAlias",
    "airflow.datasets.DatasetAlias",
}


def _asset(value: Any, at: At, notes: list[Diagnostic]) -> Any:
    """One asset: a URI stays text; an Asset object of a URI alone is that URI (its name is the
    URI too); one with its own name, a group or extra is `{name, uri, group, extra}`; an alias
    `{alias: NAME}`."""
    kind = value.get("__type__") if isinstance(value, dict) else None
    if kind in _ASSET_CLASSES or kind in _ALIAS_CLASSES:
        args = list(value.get("__args__") or [])
        fields = {k: v for k, v in value.items() if k not in ("__type__", "__args__")}
        if args:
            fields.setdefault("name", args[0])
        if len(args) > 1:
            fields.setdefault("uri", args[1])
        if kind in _ALIAS_CLASSES:
            return {"alias": fields.pop("name", None), **fields}
        uri, name = fields.get("uri"), fields.get("name")
        if set(fields) <= {"uri", "name"} and (name is None or uri is None or name == uri):
            return uri or name
        return fields
    return _object(value, at, notes)


_SECONDS_KEY = re.compile(r"(?P<key>\w+?)_secs?$")
_TIMEDELTA_ARGS = {*_DURATION_ARGS, "execution_delta", "poke_interval", "timeout"}


def seconds_keys(conf: dict[str, Any], at: At, notes: list[Diagnostic]) -> dict[str, Any]:
    """`retry_delay_sec: 300` and the like (`*_sec`/`*_secs` of an argument Airflow takes as a
    timedelta, read by dag-factory before 1.0) as the argument itself, in seconds, with a warning:
    dag-factory 1.x no longer reads them. A key also given plainly wins."""
    out = dict(conf)
    for key in conf:
        m = _SECONDS_KEY.fullmatch(key)
        if m and m.group("key") in _TIMEDELTA_ARGS and isinstance(conf[key], int | float):
            name = m.group("key")
            out.setdefault(name, out.pop(key))
            notes.append(
                (at / key).warn(
                    f"`{key}` (read by dag-factory before 1.0, ignored or refused by 1.x) "
                    f"written as `{name}`: {format_duration(dt.timedelta(seconds=conf[key]))}"
                )
            )
    return out
