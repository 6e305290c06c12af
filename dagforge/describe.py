"""A pipeline in plain words: its schedule, its next runs, each task's retry and alert policy, the order.

Cron expressions are put into words by cron-descriptor and iterated by croniter (the libraries Airflow
itself describes and schedules cron timetables with), in the spec's time zone, stepping over
daylight-saving changes the way Airflow 3's CronTriggerTimetable does.
"""

from __future__ import annotations

import graphlib
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cron_descriptor import ExpressionDescriptor, Options
from croniter import croniter

from . import values
from .diagnostics import visible
from .model import (
    Alerts,
    CodeRef,
    Function,
    Instance,
    Moment,
    Output,
    Pipeline,
    Task,
    XCom,
    passed_settings,
)
from .operators import is_branch, is_taskflow

RUNS = 5


def describe_pipeline(p: Pipeline, after: datetime) -> str:
    """`p` in plain words, with the runs that come after `after` (an aware datetime)."""
    tz = ZoneInfo(p.timezone)
    out = [f"{p.dag_id}" + (f": {p.description}" if p.description else ""), ""]
    out.append(f"Schedule:   {schedule_words(p)}")
    out.append(f"Starts:     {_moment_words(p.start_date, tz)}")
    if p.end_date:
        out.append(f"Ends:       {_moment_words(p.end_date, tz)}")
    if p.schedule is None or p.schedule_kind == values.ScheduleKind.ASSETS:
        out.append(
            "Catchup:    does not apply: the DAG "
            + ("runs only when triggered" if p.schedule is None else "runs when its assets update")
        )
    else:
        out.append(
            "Catchup:    "
            + (
                "on: runs missed since the start date are run, oldest first"
                if p.catchup
                else "off: missed runs are skipped, only the latest one runs"
            )
        )
    if limits := _limits(p):
        out.append(f"Limits:     {'; '.join(limits)}")
    for name, param in p.params.items():
        kind = dict(param.schema).get("type")
        out.append(f"Param:      {name} = {param.default!r}" + (f" ({kind})" if kind else ""))
    if p.alerts.on_success and p.alerts.emails:
        out.append(f"On success: mail {', '.join(p.alerts.emails)} once per successful run")
    out += settings_lines(p)
    for event, given in p.callbacks.items():
        out.append(f"Run {event}: " + ", ".join(value_words(c) for c in given))
    out.append("")
    runs, note = next_runs(p, after)
    if runs:
        out.append(f"Next {len(runs)} run{'s' * (len(runs) != 1)} ({p.timezone}):")
        out += [f"  {_when(r)}" for r in runs]
    if note:
        out.append(note)
    if p.origins:
        out += ["", "Where the settings come from (a defaults.yaml, or the spec itself):"]
        width = max(len(k) for k in p.origins)
        out += [
            f"  {key:<{width}}  {value!r}  ({where})" for key, (value, where) in p.origins.items()
        ]
    out += ["", "Task order (tasks on one line may run at the same time):"]
    out += [f"  {i}. {', '.join(t.task_id for t in level)}" for i, level in enumerate(levels(p), 1)]
    out += ["", "Tasks:"]
    downstream: dict[str, list[str]] = {}
    for up, down in p.edges:
        downstream.setdefault(up, []).append(down)
    for level in levels(p):
        for t in level:
            out += _task(t, downstream.get(t.task_id, []))
    return "\n".join(visible(line) for line in out) + "\n"  # a value's line break stays in its line


def _limits(p: Pipeline) -> list[str]:
    """What bounds the DAG's runs, in words."""
    limits = []
    if p.max_active_runs is not None:
        limits.append(f"at most {_count(p.max_active_runs, 'run')} at a time")
    if p.max_active_tasks is not None:
        limits.append(f"at most {_count(p.max_active_tasks, 'task')} running at a time")
    if p.dagrun_timeout is not None:
        limits.append(f"a run fails after {duration_words(p.dagrun_timeout)}")
    return limits


_REFERENCES = {"dagrun_queued_at": "it was queued", "dagrun_logical_date": "its logical date"}


def settings_lines(p: Pipeline) -> list[str]:
    """The DAG settings the spec gives (display name, links, templates, deadlines ...), one a line."""
    s = p.settings
    out = []
    if s.display_name is not None:
        out.append(f"Shown as:   {s.display_name}")
    out += [f"Owner link: {owner} -> {link}" for owner, link in s.owner_links.items()]
    if s.searchpath:
        out.append(f"Templates:  looked up in {', '.join(s.template_folders)} (beside the spec)")
    if s.native:
        out.append("Templates:  rendered as Python objects (render_template_as_native_obj)")
    for kind, refs in (("Macro", s.macros), ("Filter", s.filters)):
        out += [f"{kind + ':':<11} {name} = {r.module}:{r.name}" for name, r in refs.items()]
    if s.paused is not None:
        out.append(f"Paused:     {'yes' if s.paused else 'no'} when Airflow first sees the DAG")
    if s.fail_fast:
        out.append("Fail fast:  when a task fails, the run's other running tasks are failed too")
    for role, given in (s.access_control or {}).items():
        out.append(f"Access:     {role}: {given}")
    for d in s.deadlines:
        out.append(
            f"Deadline:   {value_words(Function(d.callback, d.kwargs))} is called when a run is not done "
            f"{duration_words(d.interval)} after {_REFERENCES[d.reference]}"
        )
    return out


def schedule_words(p: Pipeline) -> str:
    # The kinds of p.schedule_kind, told apart by the model's types (a duration is a timedelta).
    if p.schedule is None:
        return "none: runs only when triggered (by hand, through the API, or by another DAG)"
    if isinstance(p.schedule, Instance):
        ref = p.schedule.cls
        return f"the timetable {value_words(p.schedule)} (from {ref.module})"
    if isinstance(p.schedule, (list, dict)):
        return "when assets are updated: " + asset_words(p.schedule)
    if p.schedule == "@once":
        return "@once: one run, at the start date"
    if p.schedule == "@continuous":
        return "@continuous: a new run as soon as the previous one ends, one at a time"
    if isinstance(p.schedule, timedelta):
        return f"every {duration_words(p.schedule)}" + _or_assets(p)
    expression = values.PRESET_CRON.get(p.schedule, p.schedule)
    words = cron_words(expression)
    given = f"{p.schedule}, " if p.schedule in values.PRESET_CRON else ""
    words = f"{words}, {p.timezone} ({given}cron '{expression}')"
    if p.timetable == values.Timetable.INTERVAL:
        words += "; each run covers the interval up to its start, and its logical date is that interval's start"
    return words + _or_assets(p)


def _or_assets(p: Pipeline) -> str:
    """'; and whenever assets are updated: ...' for a schedule on a time or assets, else ''."""
    if p.or_assets is None:
        return ""
    return "; and whenever assets are updated: " + asset_words(p.or_assets)


def asset_words(condition: values.AssetCondition) -> str:
    """'all of (a, any of (b, c))' for an asset schedule; an asset written out is named by its
    name (its URI in brackets when that differs), an alias as `alias NAME`."""
    if isinstance(condition, str):
        return condition
    if isinstance(condition, dict) and "alias" in condition:
        return f"alias {condition['alias']}"
    if isinstance(condition, dict) and values.is_asset(condition):
        name, uri = condition.get("name"), condition.get("uri")
        return f"{name} ({uri})" if name and uri and name != uri else str(name or uri)
    if isinstance(condition, list):
        return asset_words({"all": condition}) if len(condition) > 1 else asset_words(condition[0])
    [(kind, items)] = condition.items()
    return f"{kind} of ({', '.join(asset_words(c) for c in items)})"


def cron_words(expression: str) -> str:
    """'At 07:30, Monday through Friday' for '30 7 * * 1-5' (English, 24-hour clock)."""
    options = Options()
    options.use_24hour_time_format = True
    options.locale_code = "en_US"  # not the machine's locale: the same words everywhere
    return ExpressionDescriptor(expression, options).get_description()


def next_runs(p: Pipeline, after: datetime, count: int = RUNS) -> tuple[list[datetime], str]:
    """The next run times after `after` in the spec's time zone, and a note when they need one."""
    try:
        return _next_runs(p, after, count)
    except _PAST_9999:
        return [], _PAST_9999_NOTE


# Time arithmetic that leaves Python's calendar (croniter says "year 10000 is out of range").
_PAST_9999 = (OverflowError, ValueError)
_PAST_9999_NOTE = "No more runs can be listed: they would fall after the year 9999."


def _next_runs(p: Pipeline, after: datetime, count: int) -> tuple[list[datetime], str]:
    tz = ZoneInfo(p.timezone)
    start = _aware(p.start_date.local, tz)
    end = _aware(p.end_date.local, tz) if p.end_date else None
    after = datetime.fromtimestamp(
        after.timestamp(), tz
    )  # a plain datetime, whatever kind was given
    schedule = p.schedule  # its kinds (p.schedule_kind) told apart by type, as in schedule_words
    if schedule is None:
        return [], ""
    if isinstance(schedule, Instance):
        return [], "Runs come when the timetable says: explain does not run its code."
    if isinstance(schedule, (list, dict)):
        return [], "Runs come when the tasks that update these assets (their `outlets`) succeed."
    if schedule == "@continuous":
        return [], "Runs follow each other without a pause from the start date on."
    if schedule == "@once":
        return (
            ([start], "")
            if start > after
            else ([], "The one run was due at the start date, which has passed.")
        )
    if isinstance(schedule, timedelta):
        every = schedule
        if start <= after and not p.catchup:
            return [], (
                f"The first run starts when the DAG is first scheduled (unpaused), then one every "
                f"{duration_words(every)} after it."
            )
        steps = 0 if start > after else (after - start) // every + 1
        first = start.astimezone(UTC)  # Airflow adds the duration to absolute time, not wall time
        runs = [first + steps * every]

        def step(previous: datetime) -> datetime:
            return previous + every
    else:
        expression = values.PRESET_CRON.get(schedule, schedule)
        runs = [_cron_next(expression, max(after, start - timedelta(microseconds=1)), tz)]

        def step(previous: datetime) -> datetime:
            return _cron_next(expression, previous, tz)

    try:  # the runs up to the end of the calendar
        while len(runs) < count:
            runs.append(step(runs[-1]))
        note = ""
    except _PAST_9999:
        note = _PAST_9999_NOTE
    kept = [r.astimezone(tz) for r in runs if end is None or r <= end]
    if not kept and end is not None:
        note = "No more runs: the end date has passed."
    return kept, note


def _cron_next(expression: str, current: datetime, tz: ZoneInfo) -> datetime:
    """The first cron time after `current`, as Airflow's CronTriggerTimetable finds it across DST changes:
    croniter on the wall clock; a wall time that a change skips runs the same length later (02:30 ->
    03:30); a schedule that runs every hour steps on in absolute time instead."""
    naive = current.astimezone(tz).replace(tzinfo=None)
    cron = croniter(expression, naive)
    scheduled = cron.get_next(datetime)
    if cron.expanded[1] == ["*"]:
        return (current.astimezone(UTC) + (scheduled - naive)).astimezone(tz)
    return _localize(scheduled, tz)


def _localize(wall: datetime, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as Airflow (through pendulum) reads it: a time the clock shows twice
    is the later one; a time the clock skips moves on by the skipped length."""
    earlier, later = wall.replace(tzinfo=tz, fold=0), wall.replace(tzinfo=tz, fold=1)
    if earlier.utcoffset() == later.utcoffset():
        return earlier
    instant = earlier.astimezone(UTC).astimezone(tz)
    return later if instant.replace(tzinfo=None) == wall else instant


def levels(p: Pipeline) -> list[list[Task]]:
    """The tasks in the order they can run: each level depends only on the levels before it."""
    order = {t.task_id: i for i, t in enumerate(p.tasks)}
    by_id = {t.task_id: t for t in p.tasks}
    sorter = graphlib.TopologicalSorter({t.task_id: t.dependencies for t in p.tasks})
    sorter.prepare()
    out = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.__getitem__)
        out.append([by_id[task_id] for task_id in ready])
        sorter.done(*ready)
    return out


def _moment_words(m: Moment, tz: ZoneInfo) -> str:
    when = _when(_aware(m.local, tz))
    if m.before_today is None:
        return when
    return (
        f"{duration_words(m.before_today)} before midnight of the day Airflow parses the file "
        f"(it moves every day; today that is {when})"
    )


def _task(t: Task, downstream: list[str]) -> list[str]:
    name = "@task" if is_taskflow(t.operator_given) else t.operator.name
    head = f"  {t.task_id} ({name})"
    if t.dependencies:
        head += f", after {', '.join(t.dependencies)}"
    lines = [head]
    lines += _callable_words(t, downstream)
    if t.retries:
        lines.append(f"    retries:    {t.retries}, {duration_words(t.retry_delay)} apart")
    else:
        lines.append("    retries:    none: the first failure is final")
    if t.execution_timeout is not None:
        lines.append(f"    time limit: {duration_words(t.execution_timeout)}")
    if "external_dag_id" in t.arguments and t.operator_given == "external_task_sensor":
        waited = t.arguments["external_dag_id"] + (
            f".{t.arguments['external_task_id']}" if "external_task_id" in t.arguments else ""
        )
        lines.append(f"    waits for:  {waited} (same logical date)")
    if t.operator.name.endswith("Sensor"):
        lines.append(f"    sensing:    {_sensor_words(t.arguments)}")
    lines += [f"    mapped:     one instance for {words}" for words in _mapping_words(t)]
    lines.append(f"    alerts:     {_alert_words(t.alerts)}")
    for event, given in t.callbacks.items():
        lines.append(f"    {event + ':':<11} " + ", ".join(value_words(c) for c in given))
    for where, x in _outputs(t.arguments):
        output = f"the output of {x.task_id}" + (f" (key {x.key!r})" if x.key else "")
        lines.append(f"    takes:      {output} as {where}")
    if "trigger_rule" in t.overrides:
        lines.append(f"    runs when:  {t.overrides['trigger_rule']} (instead of all_success)")
    if "inlets" in t.overrides:
        lines.append(f"    reads:      {', '.join(map(asset_words, t.overrides['inlets']))}")
    if "outlets" in t.overrides:
        lines.append(f"    updates:    {', '.join(map(asset_words, t.overrides['outlets']))}")
    for key in passed_settings():
        if key in t.overrides and key not in ("trigger_rule", "inlets", "outlets"):  # said above
            lines.append(f"    {key + ':':<11} {_setting_words(t.overrides[key])}")
    return lines


def _callable_words(t: Task, downstream: list[str]) -> list[str]:
    """The function a task calls, and what a branch or a short circuit does with its answer."""
    lines = []
    call = t.arguments.get("python_callable")
    if isinstance(call, CodeRef):
        lines.append(f"    calls:      {call.module}:{call.name}")
    if is_branch(t.operator_given):
        choices = ", ".join(downstream) or "none (add tasks that depend on it)"
        lines.append(
            f"    branches:   to the tasks its function returns, of: {choices}; the others "
            "are skipped"
        )
    elif t.operator_given == "short_circuit":
        lines.append("    skips:      the tasks after it, when its function returns a false value")
    return lines


def _mapping_words(t: Task) -> list[str]:
    """What each instance of a mapped task gets (`expand`, `expand_kwargs`)."""
    out = []
    for key, over in t.expand.items():
        items = (
            f"each item that {over.task_id} returns"
            if isinstance(over, Output)
            else f"each of {_count(len(over), 'value')}"
        )
        out.append(f"{items} (as `{key}`)")
    if isinstance(t.expand_kwargs, Output):
        out.append(f"each mapping of arguments that {t.expand_kwargs.task_id} returns")
    elif t.expand_kwargs is not None:
        keys = ", ".join(sorted({k for m in t.expand_kwargs for k in m}))
        out.append(f"each of {_count(len(t.expand_kwargs), 'mapping')} of arguments (of {keys})")
    return out


def _setting_words(value: object) -> str:
    """A task setting as the explanation shows it: durations in words, a text by its first line."""
    if isinstance(value, timedelta):
        return duration_words(value)
    if isinstance(value, str):
        first, _, rest = value.partition("\n")
        return first + (" ..." if rest.strip() else "")
    if isinstance(value, bool):
        return str(value).lower()  # as the spec writes it
    return str(value) if isinstance(value, (int, float)) else value_words(value)


def value_words(value: object) -> str:
    """A value as the explanation shows it: objects as `Class(arg=...)`, functions by their import
    path (with the arguments bound to them), a task's output as `output of TASK`."""
    if isinstance(value, Instance):
        return f"{value.cls.name}({_arguments_words(value.kwargs)})"
    if isinstance(value, Function):
        ref = f"{value.func.module}:{value.func.name}"
        return f"{ref}({_arguments_words(value.kwargs)})" if value.kwargs else ref
    if isinstance(value, CodeRef):
        return f"{value.module}:{value.name}"
    if isinstance(value, XCom):
        return f"output of {value.task_id}" + (f"[{value.key!r}]" if value.key else "")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {value_words(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value_words(v) for v in value) + "]"
    return repr(value)


def _arguments_words(kwargs: tuple[tuple[str, object], ...]) -> str:
    return ", ".join(f"{k}={value_words(v)}" for k, v in kwargs)


def _outputs(value: object, where: str = "") -> list[tuple[str, XCom]]:
    """(where, XCom) of each task output in `value`, where as `op_kwargs.rows`."""
    if isinstance(value, XCom):
        return [(where, value)]
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    elif isinstance(value, (Instance, Function)):
        items = value.kwargs
    return [x for k, v in items for x in _outputs(v, f"{where}.{k}" if where else str(k))]


def _sensor_words(arguments: dict[str, Any]) -> str:
    """How a sensor waits: its poke interval, its time-out and its mode, with Airflow's defaults."""
    every = arguments.get("poke_interval", timedelta(seconds=60))
    limit = arguments.get("timeout", timedelta(days=7))
    mode = arguments.get("mode", "poke")
    slot = (
        "frees its worker slot between checks"
        if mode == "reschedule"
        else "holds a worker slot while it waits"
    )
    return f"checks every {_duration(every)}, fails after {_duration(limit)} (mode {mode}: {slot})"


def _duration(value: object) -> str:
    """A sensor's duration argument in words: a timedelta, a number of seconds, or as written."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1e9:
        value = timedelta(seconds=value)
    return duration_words(value) if isinstance(value, timedelta) else repr(value)


def _alert_words(a: Alerts) -> str:
    parts = []
    if a.failure_to:
        parts.append(f"mail {', '.join(a.failure_to)} when it fails for good")
    if a.retry_to:
        parts.append(f"mail {', '.join(a.retry_to)} on each retry")
    return "; ".join(parts) or "none"


def duration_words(d: timedelta) -> str:
    """'1 hour 30 minutes' for timedelta(minutes=90)."""
    seconds = int(d.total_seconds())
    days, rest = divmod(seconds, 86400)
    parts = [
        (days, "day"),
        (rest // 3600, "hour"),
        (rest % 3600 // 60, "minute"),
        (rest % 60, "second"),
    ]
    return " ".join(_count(n, unit) for n, unit in parts if n) or "0 seconds"


def _count(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz)


def _when(moment: datetime) -> str:
    offset = moment.strftime("%z")
    return f"{moment:%a %Y-%m-%d %H:%M} {moment.tzname()} ({offset[:3]}:{offset[3:]})"
