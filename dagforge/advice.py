"""Advice: the Airflow tuning mistakes a valid spec shows before its first run (docs/advice.md).

Each rule is one small function over a spec's model (model.Pipeline) and its document (for the
positions of the keys it points at); it returns warnings with a stable code (diagnostics.Code,
`DFnnn`). `apply` runs them over the valid specs of a validate, build, check or explain, drops the
ones a `# dagforge: ignore[DFnnn]` comment on the key's line silences, applies the project's
`[tool.dagforge.advice]` (select, ignore, error: config.advice_settings) and adds the rest to the
specs' diagnostics. Advice never changes what build writes: only a rule made an error stops a spec.

The rules that depend on the date ("how many runs has catch-up to make up?", "when do the clocks
change next?") take "now" from the environment's DAGFORGE_NOW (an ISO datetime, UTC unless it has
an offset) when set, so tests and reviews see the same numbers; else the current time.
"""

from __future__ import annotations

import functools
import graphlib
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from . import config, values
from .diagnostics import Code, Diagnostic, Severity
from .load import Document, SpecPath
from .model import Pipeline, Task, build_model

if TYPE_CHECKING:
    from .api import BuildResult

RULES = tuple(c for c in Code if c.advice)

# Airflow's defaults where a spec leaves a setting out ([core] max_active_runs_per_dag,
# [core] max_active_tasks_per_dag, BaseSensorOperator.timeout, the default_pool's slots).
AIRFLOW_MAX_ACTIVE_RUNS = 16
AIRFLOW_MAX_ACTIVE_TASKS = 16
AIRFLOW_SENSOR_TIMEOUT = timedelta(days=7)
AIRFLOW_DEFAULT_POOL_SLOTS = 128

CATCHUP_RUNS = 1000  # DF101: more runs than this on a first unpause is a storm
POKE_HOLD = timedelta(minutes=30)  # DF201: a poke-mode sensor may hold its slot this long
RETRY_MAILS = 3  # DF301: this many retry mails or more ...
RETRY_MAIL_WINDOW = timedelta(hours=1)  # ... sent within this time of the first failure
SAME_MINUTE = 10  # DF105: this many DAGs or more starting in the same minute (UTC)
_DAYS_COUNTED = 40_000  # DF101 counts run days one by one up to this many (about 110 years)


def now() -> datetime:
    """DAGFORGE_NOW (ISO datetime, UTC unless it has an offset), else the current time."""
    given = os.environ.get("DAGFORGE_NOW")
    if not given:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(given.strip())
    except ValueError:
        raise ValueError(
            f"DAGFORGE_NOW: {given!r} is not an ISO datetime (like 2026-06-01T12:00:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def moment() -> datetime | None:
    """The "now" of the rules for the pool workers (see `own`), or None when advice is off or
    DAGFORGE_NOW is unreadable (then `apply` works everything out itself, or says what is wrong)."""
    if os.environ.get("DAGFORGE_ADVICE", "").strip().lower() == "off":
        return None
    try:
        return now()
    except ValueError:
        return None


@dataclass(frozen=True)
class Own:
    """What the advice of one DAG needs of its model, worked out where the model is (in the pool
    worker that validated and rendered the spec), so that `apply` does not build it again: the
    warnings of the rules on the DAG alone (PER_DAG) and the minutes it starts at (same_minute)."""

    warnings: tuple[Diagnostic, ...]
    minutes: frozenset[str]


def own(p: Pipeline, doc: Document, moment: datetime) -> Own:
    return Own(
        tuple(d for rule in PER_DAG for d in rule(p, doc, moment)),
        _start_minutes(p, moment),
    )


def apply(result: BuildResult, docs: dict[Any, Document]) -> None:
    """Add the advice on the valid specs of `result` (their documents: `docs`, by spec key) to
    their diagnostics; an unreadable advice configuration is a problem of the command (exit 2).
    DAGFORGE_ADVICE=off in the environment turns advice off (the test suite does, but for
    tests/test_advice.py: the other tests' small specs are not about how they would run). A spec
    whose worker worked out its `own` advice (spec.advice) has its model built no more here."""
    if os.environ.get("DAGFORGE_ADVICE", "").strip().lower() == "off":
        return
    try:
        select, ignore, error = config.advice_settings([c.value for c in RULES])
        moment = now()
    except (config.ConfigError, ValueError) as e:
        result.problems.append(Diagnostic("dagforge", 0, 0, str(e), code=Code.USAGE))
        return
    specs = [s for s in result.specs if s.ok and s.key in docs]
    found: list[tuple[Any, frozenset[str], Document]] = []  # (key, start minutes, document)
    advice: dict[Any, list[tuple[Diagnostic, Document]]] = {}
    for spec in specs:
        doc = docs[spec.key]
        mine = spec.advice
        if mine is None:
            p = spec.pipeline or spec.run_step(build_model, doc)
            if p is None:
                continue
            warnings = [d for rule in PER_DAG for d in spec.run_step(rule, p, doc, moment) or ()]
            mine = Own(tuple(warnings), _start_minutes(p, moment))
        advice[spec.key] = [(d, doc) for d in mine.warnings]
        found.append((spec.key, mine.minutes, doc))
    for key, d, doc in same_minute(found):
        advice[key].append((d, doc))
    by_key = {s.key: s for s in specs}
    seen: set[Diagnostic] = set()  # a family's DAGs share their spec's lines: each said once
    for key, pairs in advice.items():
        spec = by_key[key]
        for d, doc in sorted(pairs, key=lambda pair: pair[0].sort_key()):
            code = d.code.value
            if not _chosen(code, select) or _chosen(code, ignore) or _silenced(d, doc):
                continue
            d = replace(d, severity=Severity.ERROR if _chosen(code, error) else Severity.WARNING)
            if d not in seen:
                seen.add(d)
                spec.diagnostics.append(d)


def _chosen(code: str, prefixes: Iterable[str]) -> bool:
    """Whether `code` is named by one of `prefixes` ("DF101", or "DF1" for all of DF1nn)."""
    return any(code.startswith(prefix) for prefix in prefixes)


_IGNORE = re.compile(r"(?:^|\s)#\s*dagforge:\s*ignore(?:\[([A-Za-z0-9,\s]*)\])?")


def _silenced(d: Diagnostic, doc: Document) -> bool:
    """Whether the line `d` points at ends in `# dagforge: ignore[CODE, ...]` naming its code (or
    in a bare `# dagforge: ignore`). PyYAML drops comments: the raw line of the file is read."""
    text = doc.text if d.path == doc.display else {**doc.inherited, **doc.blocks}.get(d.path, "")
    lines = text.splitlines()
    if not 0 < d.line <= len(lines):
        return False
    found = _IGNORE.search(lines[d.line - 1])
    if found is None:
        return False
    codes = found[1]
    return codes is None or d.code.value in {c.strip().upper() for c in codes.split(",")}


def _warn(doc: Document, path: SpecPath, code: Code, message: str, hint: str) -> Diagnostic:
    d = doc.diag(path, message, hint, key=True, code=code)  # (made again: quicker than replace)
    return Diagnostic(d.path, d.line, d.column, d.message, d.hint, d.code, Severity.WARNING)


def _setting_path(doc: Document, t: Task | None, key: str) -> SpecPath:
    """Where the setting `key` of task `t` (None: of the DAG) is written: in the task, in its
    nearest group's `defaults:`, in the spec's `defaults:`, or at the spec's top."""
    candidates: list[SpecPath] = []
    if t is not None:
        candidates.append((*t.where, key))
        for i in range(len(t.where) - 2, 0, -2):  # ("tasks", group, "tasks", task): its groups
            candidates.append((*t.where[:i], "defaults", key))
    candidates += [("defaults", key), (key,)]
    return next((c for c in candidates if c in doc.key_positions), candidates[0])


def _words(d: timedelta) -> str:
    """A duration as the spec writes one: 90m -> 1h30m, 2d."""
    seconds, out = int(d.total_seconds()), ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            out += f"{seconds // size}{unit}"
            seconds %= size
    return out or "0s"


def _hours(d: timedelta) -> str:
    return f"{d.total_seconds() / 3600:,.1f}".removesuffix(".0")


# --- the schedule ---------------------------------------------------------------------------


def _cron(p: Pipeline) -> str | None:
    """The cron expression of a cron or preset schedule, else None."""
    s = p.schedule
    if isinstance(s, str) and s in values.PRESET_CRON:
        return values.PRESET_CRON[s]
    if isinstance(s, str) and not s.startswith("@"):
        return s
    return None


def _schedule_words(p: Pipeline) -> str:
    if isinstance(p.schedule, timedelta):
        return f"every {_words(p.schedule)}"
    if isinstance(p.schedule, str) and p.schedule in values.PRESET_CRON:
        return p.schedule[1:]
    return f"'{p.schedule}'"


@functools.lru_cache(maxsize=256)
def _fields(expression: str) -> list[list[Any]]:
    """croniter's fields of a cron (lists of numbers, or ["*"]); the caller does not change them."""
    from croniter import croniter

    return croniter(expression).expanded


def _times_of_day(fields: list[list[Any]]) -> list[time] | None:
    """The wall-clock times of day a cron names, or None when its hour field is `*` (Airflow
    then steps in absolute time: see describe._cron_next)."""
    minutes, hours = fields[0], fields[1]
    if hours == ["*"]:
        return None
    minutes = list(range(60)) if minutes == ["*"] else minutes
    return sorted(time(h, m) for h in hours for m in minutes)


def _day_matcher(expression: str, fields: list[list[Any]]) -> Callable[[date], bool]:
    """Whether a cron runs on a day (its day-of-month, month and day-of-week fields; both day
    fields restricted: either one, as cron and croniter read them)."""
    dom, month, dow = fields[2], fields[3], fields[4]
    plain = all(isinstance(v, int) or v == "*" for f in (dom, month, dow) for v in f)
    if not plain or "#" in expression:
        from croniter import croniter

        return lambda day: bool(croniter.match(expression, datetime(day.year, day.month, day.day)))
    doms, months = set(dom), set(month)
    dows = {v % 7 for v in dow if isinstance(v, int)}

    def matches(day: date) -> bool:
        if "*" not in months and day.month not in months:
            return False
        by_dom = "*" in doms or day.day in doms
        by_dow = "*" in dow or (day.weekday() + 1) % 7 in dows
        if "*" not in doms and "*" not in dow:
            return by_dom or by_dow
        return by_dom and by_dow

    return matches


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _changes(first: date, last: date, tz: ZoneInfo) -> Iterator[date]:
    """The days from `first` to `last` on which the clocks of `tz` change (a week at a time: a zone
    changes its clocks at most once a week)."""
    week = timedelta(days=7)
    day = first
    while day <= last:
        if _offset(day, tz) != _offset(day + week, tz):
            yield from (d for d in _days(day, day + week) if _day_hours(d, tz) != 24)
        day += week


def _offset(day: date, tz: ZoneInfo) -> timedelta | None:
    return datetime.combine(day, time(), tz).utcoffset()


def _day_hours(day: date, tz: ZoneInfo) -> float:
    """The hours a day has on the clocks of `tz` (23 or 25 on a daylight-saving change)."""
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600


def catchup_runs(p: Pipeline, moment: datetime) -> tuple[int, bool] | None:
    """(the runs a first unpause at `moment` makes up, whether that is a lower bound) for a time
    schedule with catch-up, counted as the timetable runs them: one run per cron time from the
    start date to now in the spec's time zone (a time the clocks skip runs later, one they repeat
    once; an hourly-or-finer cron steps in absolute time), one fewer with `timetable: interval`
    (the last interval has not ended); None without a schedule to count."""
    tz = ZoneInfo(p.timezone)
    start = p.start_date.local.replace(tzinfo=tz)
    end = moment.astimezone(tz)
    if p.end_date is not None:
        end = min(end, p.end_date.local.replace(tzinfo=tz))
    if end < start:
        return 0, False
    if isinstance(p.schedule, timedelta):
        return (end - start) // p.schedule + 1, False
    expression = _cron(p)
    if expression is None:
        return None
    fields = _fields(expression)
    matches = _day_matcher(expression, fields)
    times = _times_of_day(fields)
    minutes = 60 if fields[0] == ["*"] else len(fields[0])
    first, last = start.date(), end.date()
    partial = first < last - timedelta(days=_DAYS_COUNTED)
    if partial:
        first = last - timedelta(days=_DAYS_COUNTED)
    count = 0
    for day in _days(first, last):
        if not matches(day):
            continue
        if times is None:  # every hour of the day's absolute time
            hours = _day_hours(day, tz)
            count += round(hours) * minutes
            low = start if day == start.date() else None
            high = end if day == end.date() else None
            if low or high:
                count -= _outside_hours(day, tz, minutes, fields[0], low, high)
            continue
        count += sum(
            1
            for t in times
            if (day != start.date() or t >= start.time()) and (day != end.date() or t <= end.time())
        )
    if p.timetable == values.Timetable.INTERVAL and count:
        count -= 1
    return count, partial


def _outside_hours(
    day: date,
    tz: ZoneInfo,
    minutes: int,
    minute_field: list[Any],
    low: datetime | None,
    high: datetime | None,
) -> int:
    """The runs of an hourly-or-finer cron on `day` before `low` or after `high`."""
    wanted = range(60) if minute_field == ["*"] else minute_field
    begin = datetime.combine(day, time(), tz).astimezone(UTC)
    out = 0
    for h in range(round(_day_hours(day, tz))):
        for m in wanted:
            at = begin + timedelta(hours=h, minutes=m)
            if (low and at < low) or (high and at > high):
                out += 1
    return out


def _gap(p: Pipeline, moment: datetime) -> timedelta | None:
    """The shortest time between two runs of a time schedule (on the wall clock), None for other
    schedules: from the cron's times of day and the days it runs in the coming year."""
    if isinstance(p.schedule, timedelta):
        return p.schedule
    expression = _cron(p)
    return None if expression is None else _cron_gap(expression, moment.date())


@functools.lru_cache(maxsize=256)
def _cron_gap(expression: str, today: date) -> timedelta | None:
    fields = _fields(expression)
    times = _times_of_day(fields)
    if times is None:  # every hour, at these minutes
        minutes = list(range(60)) if fields[0] == ["*"] else sorted(fields[0])
        wrap = 60 - (minutes[-1] - minutes[0])  # from the hour's last run to the next's first
        return timedelta(minutes=min([b - a for a, b in pairwise(minutes)] + [wrap]))
    matches = _day_matcher(expression, fields)
    days = [d for d in _days(today, today + timedelta(days=400)) if matches(d)]
    wall = [datetime.combine(today, t) for t in times]
    within = [b - a for a, b in pairwise(wall)]
    apart = [timedelta(days=(b - a).days) - (wall[-1] - wall[0]) for a, b in pairwise(days)]
    return min(within + apart, default=None)


def _max_active_runs(p: Pipeline) -> tuple[int, str]:
    if p.max_active_runs is None:
        return (
            AIRFLOW_MAX_ACTIVE_RUNS,
            f"max_active_runs is {AIRFLOW_MAX_ACTIVE_RUNS} (Airflow's default)",
        )
    return p.max_active_runs, f"max_active_runs is {p.max_active_runs}"


# --- the rules ------------------------------------------------------------------------------


def catchup_storm(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF101: catch-up makes up every run since the start date at once on the first unpause."""
    if not p.catchup:
        return []
    counted = catchup_runs(p, moment)
    if counted is None or counted[0] <= CATCHUP_RUNS:
        return []
    runs, partial = counted
    since = p.start_date.local.date().isoformat()
    return [
        _warn(
            doc,
            ("catchup",),
            Code.CATCHUP_STORM,
            f"catchup creates {'at least ' * partial}{runs:,} runs on first unpause "
            f"({_schedule_words(p)} since {since})",
            "move start_date close to today, or set `catchup: false` (run a backfill for the past "
            "you need), or keep it and set `max_active_runs: 1` so the runs come one at a time",
        )
    ]


def clock_change(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF102: a cron time the daylight-saving changes of the spec's time zone skip or repeat.
    (validate reports a start_date or end_date in such a change: the dates, not the schedule.)"""
    expression = _cron(p)
    if expression is None or p.timezone == "UTC":
        return []
    fields = _fields(expression)
    times = _times_of_day(fields)
    if times is None:  # it steps in absolute time: no time is skipped or repeated
        return []
    found = _clock_changes(expression, p.timezone, moment.astimezone(ZoneInfo(p.timezone)).date())
    said = []
    if "skipped" in found:
        day, t, left, shown = found["skipped"]
        said.append(
            f"{t:%H:%M} is skipped on {day} (the clocks jump from {left:%H:%M} to "
            f"{shown:%H:%M}; Airflow runs it at {datetime.combine(day, t) + (shown - left):%H:%M})"
        )
    if "repeated" in found:
        day, t, left, shown = found["repeated"]
        said.append(
            f"{t:%H:%M} happens twice on {day} (the clocks go back from {left:%H:%M} to "
            f"{shown:%H:%M}; Airflow runs it once, at the second)"
        )
    if not said:
        return []
    windows = sorted({f"{min(a, b):%H:%M}-{max(a, b):%H:%M}" for _, _, a, b in found.values()})
    return [
        _warn(
            doc,
            ("schedule",),
            Code.CLOCK_CHANGE,
            f"schedule '{p.schedule}' in {p.timezone}: " + "; ".join(said),
            f"schedule it outside {' and '.join(windows)} local time, or set `timezone: UTC` "
            "(UTC has no daylight-saving changes)",
        )
    ]


@functools.lru_cache(maxsize=256)  # the same schedule in the same zone in many specs: once
def _clock_changes(
    expression: str, zone: str, today: date
) -> dict[str, tuple[date, time, datetime, datetime]]:
    """'skipped' and 'repeated' -> (the next day from `today` a time of the cron is, the time, the
    wall time the clocks leave, the one they show next), for the changes of the next two years."""
    fields = _fields(expression)
    times = _times_of_day(fields) or []
    tz = ZoneInfo(zone)
    matches = _day_matcher(expression, fields)
    found: dict[str, tuple[date, time, datetime, datetime]] = {}
    for day in _changes(today, today + timedelta(days=800), tz):
        if not matches(day):
            continue
        for t in times:
            change = values.clock_change(datetime.combine(day, t), tz)
            if change is not None and change[0] not in found:
                found[change[0]] = (day, t, change[1], change[2])
        if len(found) == 2:
            break
    return found


def overlapping_runs(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF103: a run may last longer than the time between two runs, and several may be active."""
    active, active_words = _max_active_runs(p)
    if active <= 1:
        return []
    longest, why = _longest_run(p)
    gap = _gap(p, moment) if longest is not None else None
    if longest is None or gap is None or longest <= gap:
        return []
    where = ("max_active_runs",) if "max_active_runs" in doc.data else ("schedule",)
    return [
        _warn(
            doc,
            where,
            Code.OVERLAP,
            f"runs can overlap: a run may take {_words(longest)} ({why}) but one starts every "
            f"{_words(gap)}, and {active_words}",
            "set `max_active_runs: 1` so a run starts after the one before it ends, or make "
            f"the run's limit shorter than {_words(gap)}",
        )
    ]


def _longest_run(p: Pipeline) -> tuple[timedelta | None, str]:
    """How long a run may take: its dagrun_timeout, else the sum of the execution_timeouts on the
    longest chain of tasks (None: neither gives a bound)."""
    if p.dagrun_timeout is not None:
        return p.dagrun_timeout, "dagrun_timeout"
    why = "the execution_timeouts on its longest chain of tasks"
    if all(t.execution_timeout is None for t in p.tasks):  # no bound: no need to order the tasks
        return None, why
    until: dict[str, timedelta] = {}
    for level in _levels(p):
        for t in level:
            before = max((until[d] for d in t.dependencies), default=timedelta())
            until[t.task_id] = before + (t.execution_timeout or timedelta())
    longest = max(until.values(), default=timedelta())
    return (longest or None), why


def _levels(p: Pipeline) -> list[list[Task]]:
    """The tasks in the order they can run: a level's tasks depend only on earlier levels'."""
    by_id = {t.task_id: t for t in p.tasks}
    sorter = graphlib.TopologicalSorter({t.task_id: t.dependencies for t in p.tasks})
    sorter.prepare()
    out = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        out.append([by_id[task_id] for task_id in ready])
        sorter.done(*ready)
    return out


def depends_on_past(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF104: depends_on_past tasks in a DAG with several active runs: the runs wait on each other."""
    tasks = [t for t in p.tasks if t.overrides.get("depends_on_past") is True]
    active, active_words = _max_active_runs(p)
    if not tasks or active <= 1 or p.schedule is None:
        return []
    more = f" and {len(tasks) - 1} more" if len(tasks) > 1 else ""
    return [
        _warn(
            doc,
            _setting_path(doc, tasks[0], "depends_on_past"),
            Code.DEPENDS_ON_PAST,
            f"runs wait on each other: task '{tasks[0].task_id}'{more} has depends_on_past and "
            f"{active_words}: a run's task waits for the run before it, and the waiting runs hold "
            "their places",
            "set `max_active_runs: 1`: the runs then come one after another anyway",
        )
    ]


def _sensor(t: Task) -> bool:
    return t.operator.name.endswith("Sensor")


def _seconds(value: object) -> timedelta | None:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return None


def _instances(t: Task) -> int:
    """The task instances a run of `t` makes: its literal mapping's length, else 1."""
    lengths = [len(v) for v in t.expand.values() if isinstance(v, list)]
    if isinstance(t.expand_kwargs, list):
        lengths.append(len(t.expand_kwargs))
    n = min(lengths) if lengths and t.expand_kwargs is None else max(lengths, default=1)
    limit = t.overrides.get("max_active_tis_per_dag")
    return min(n, limit) if isinstance(limit, int) and limit > 0 else n


def poke_sensor(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF201: a sensor in poke mode holds a worker slot for as long as it waits."""
    out = []
    for t in p.tasks:
        args = t.arguments
        if not _sensor(t) or args.get("mode", "poke") != "poke" or args.get("deferrable") is True:
            continue
        timeout = _seconds(args.get("timeout"))
        hold = timeout or AIRFLOW_SENSOR_TIMEOUT
        limit = "timeout" if timeout else "Airflow's default sensor timeout"
        if t.execution_timeout is not None and t.execution_timeout < hold:
            hold, limit = t.execution_timeout, "execution_timeout"
        if hold <= POKE_HOLD:
            continue
        base = (*t.where, "wait_for") if "wait_for" in _at(doc, t.where) else t.where
        keys = [k for k in ("mode", "timeout") if k in _at(doc, base)]
        path = (
            (*base, keys[0]) if keys else (*t.where, "wait_for" if base != t.where else "operator")
        )
        slots = _instances(t)
        out.append(
            _warn(
                doc,
                path,
                Code.POKE_SENSOR,
                f"sensor '{t.task_id}' pokes in poke mode for up to {_words(hold)} ({limit}): "
                f"it holds {'a worker slot' if slots == 1 else f'{slots} worker slots'} the whole "
                f"time, up to {_hours(hold * slots)} slot-hours a run",
                "set `mode: reschedule` (the slot is freed between pokes) or `deferrable: true` "
                "(the triggerer waits), or a timeout of 30m or less",
            )
        )
    return out


def _at(doc: Document, path: SpecPath) -> dict[str, Any]:
    """The mapping at `path` in the spec's data ({} when it is none)."""
    value: Any = doc.data
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, dict) else {}


def unbounded_run(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF202: no execution_timeout on any task and no dagrun_timeout: a hung task runs forever."""
    if p.dagrun_timeout is not None or any(t.execution_timeout for t in p.tasks):
        return []
    return [
        _warn(
            doc,
            ("tasks",),
            Code.UNBOUNDED,
            "nothing bounds a run: no task has an execution_timeout and there is no "
            "dagrun_timeout, so a hung task holds its worker slot forever",
            "set `dagrun_timeout:` (e.g. a few times a run's usual length), or `execution_timeout:` "
            "in `defaults:` for every task",
        )
    ]


def pools(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF203: a pool_slots no pool of Airflow's default size can give, or more tasks of one pool
    able to run at once than the DAG's max_active_tasks lets run."""
    out = []
    for t in p.tasks:
        slots = t.overrides.get("pool_slots")
        if isinstance(slots, int) and slots > AIRFLOW_DEFAULT_POOL_SLOTS:
            pool = t.overrides.get("pool") or "default_pool"
            out.append(
                _warn(
                    doc,
                    _setting_path(doc, t, "pool_slots"),
                    Code.POOL,
                    f"task '{t.task_id}' takes {slots} slots of pool '{pool}': more than the "
                    f"{AIRFLOW_DEFAULT_POOL_SLOTS} of Airflow's default_pool, a task never starts "
                    "in a pool smaller than its pool_slots",
                    f"use a pool_slots of a few slots, or make sure pool '{pool}' has {slots} "
                    "slots or more",
                )
            )
    limit = p.max_active_tasks or AIRFLOW_MAX_ACTIVE_TASKS
    worst: dict[str, tuple[int, Task]] = {}
    pooled = any(isinstance(t.overrides.get("pool"), str) for t in p.tasks)
    for level in _levels(p) if pooled else ():  # (ordering the tasks costs more than the rest)
        at_once: dict[str, list[Task]] = {}
        for t in level:
            if isinstance(t.overrides.get("pool"), str):
                at_once.setdefault(t.overrides["pool"], []).append(t)
        for pool, tasks in at_once.items():
            n = sum(_instances(t) for t in tasks)
            if n > worst.get(pool, (0, tasks[0]))[0]:
                worst[pool] = (n, tasks[0])
    for pool, (n, t) in worst.items():
        if n > limit:
            words = (
                f"max_active_tasks is {limit}"
                if p.max_active_tasks
                else f"max_active_tasks is {limit} (Airflow's default)"
            )
            out.append(
                _warn(
                    doc,
                    _setting_path(doc, t, "pool"),
                    Code.POOL,
                    f"{n} task instances of pool '{pool}' can run at once, but {words}: "
                    f"the DAG's limit, not the pool, decides, and {n - limit} of them wait{'s' * (n - limit == 1)}",
                    f"raise max_active_tasks to {n}, or give the pool's tasks "
                    "max_active_tis_per_dag or dependencies",
                )
            )
    return out


def retry_mails(p: Pipeline, doc: Document, moment: datetime) -> list[Diagnostic]:
    """DF301: `alerts.on_retry` with many retries close together: a mail storm for one failure."""
    storms = [
        t
        for t in p.tasks
        if t.alerts.retry_to
        and t.retries >= RETRY_MAILS
        and t.retry_delay * (t.retries - 1) < RETRY_MAIL_WINDOW
    ]
    if not storms:
        return []
    t = storms[0]
    path = (*t.where, "alerts", "on_retry")
    if path not in doc.key_positions:
        path = ("alerts", "on_retry") if ("alerts", "on_retry") in doc.key_positions else path
    more = f" (and {len(storms) - 1} more task{'s' * (len(storms) > 2)})" if len(storms) > 1 else ""
    mails = t.retries * len(t.alerts.retry_to)
    return [
        _warn(
            doc,
            path,
            Code.RETRY_MAILS,
            f"task '{t.task_id}'{more} sends {mails} retry mail{'s' * (mails != 1)} for one failure "
            f"({t.retries} retries {_words(t.retry_delay)} apart, to "
            f"{len(t.alerts.retry_to)} address{'es' * (len(t.alerts.retry_to) != 1)}) within "
            f"{_words(t.retry_delay * (t.retries - 1))}",
            "set `on_retry: false` (the failure mail still comes), or fewer retries with a longer "
            "retry_delay (or retry_exponential_backoff: true)",
        )
    ]


PER_DAG: tuple[Callable[[Pipeline, Document, datetime], list[Diagnostic]], ...] = (
    catchup_storm,
    clock_change,
    overlapping_runs,
    depends_on_past,
    poke_sensor,
    unbounded_run,
    pools,
    retry_mails,
)


def same_minute(
    dags: list[tuple[Any, frozenset[str], Document]],
) -> list[tuple[Any, Diagnostic, Document]]:
    """DF105, across specs: SAME_MINUTE or more DAGs that start in the same minute (UTC) of the
    coming week: the scheduler, the database and the workers get them all at once. `dags`: (key,
    the minutes it starts at: _start_minutes, document)."""
    starts: dict[str, list[int]] = {}  # "HH:MM" UTC -> indexes into dags
    for i, (_, minutes, _) in enumerate(dags):
        for minute in minutes:
            starts.setdefault(minute, []).append(i)
    out = []
    told: set[int] = set()
    for minute, which in sorted(starts.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(which) < SAME_MINUTE:
            continue
        for i in which:
            if i in told:
                continue
            told.add(i)
            key, _, doc = dags[i]
            out.append(
                (
                    key,
                    _warn(
                        doc,
                        ("schedule",),
                        Code.SAME_MINUTE,
                        f"{len(which)} DAGs of these specs start at {minute} UTC, this one too: "
                        "the scheduler queues them all at once",
                        f"spread the start times: give this DAG's cron another minute than {minute} "
                        "UTC (any of the hour's 60 will do)",
                    ),
                    doc,
                )
            )
    return out


def _start_minutes(p: Pipeline, moment: datetime) -> frozenset[str]:
    """The minutes of the day (HH:MM, UTC) a cron schedule with fixed hours starts runs at in the
    coming week; none for one that runs every hour (it is at every minute it names anyway)."""
    expression = _cron(p)
    if expression is None:
        return frozenset()
    return _cron_minutes(expression, p.timezone, moment.astimezone(ZoneInfo(p.timezone)).date())


@functools.lru_cache(maxsize=256)  # the same schedule in the same zone in many specs: once
def _cron_minutes(expression: str, zone: str, today: date) -> frozenset[str]:
    fields = _fields(expression)
    times = _times_of_day(fields)
    if times is None or len(times) > 24:
        return frozenset()
    tz = ZoneInfo(zone)
    matches = _day_matcher(expression, fields)
    return frozenset(
        f"{datetime.combine(day, t, tz).astimezone(UTC):%H:%M}"
        for day in _days(today, today + timedelta(days=6))
        if matches(day)
        for t in times
    )
