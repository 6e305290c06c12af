"""The spec's small value languages (durations, schedules, dates), parsed the same way by every step."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeAlias
from zoneinfo import ZoneInfo

# `$(?!\n)`: Python's `$` also matches before a final line break (see the schema's $comment).
DURATION_PATTERN = r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$(?!\n)|^\d+$(?!\n)"
_DURATION = re.compile(DURATION_PATTERN)
DURATION_HINT = "write a whole number and a unit: 90s, 5m, 2h, 1d, or combined like 1h30m"

# A duration schedule's range: a run at least every 3650 days (Airflow adds the interval to dates,
# and a bigger one soon overflows them), and at most one a second (0 would schedule without end).
SCHEDULE_MIN = timedelta(seconds=1)
SCHEDULE_MAX = timedelta(days=3650)

PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once", "@continuous")
# What each cron preset means, as Airflow expands it.
PRESET_CRON = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}

# The five fields of a cron expression: name, lowest, highest, names allowed for numbers.
_MONTH_NAMES = "jan feb mar apr may jun jul aug sep oct nov dec".split()
_DAY_NAMES = "sun mon tue wed thu fri sat".split()
CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, _MONTH_NAMES),
    ("day-of-week", 0, 7, _DAY_NAMES),  # 0 and 7 are both Sunday
)
_CRON_PART = re.compile(r"(\*|(?P<a>\w+)(?:-(?P<b>\w+))?)(?:/(?P<step>\w+))?", re.ASCII)


def cron_field_problem(expression: str) -> str:
    """Which field of a 5-field cron expression is wrong, in words (`hour 25 is out of 0-23`), or
    '' when every field reads as numbers in range (what else croniter refuses stays unnamed)."""
    for text, (name, low, high, names) in zip(expression.split(), CRON_FIELDS, strict=True):
        for part in text.split(","):
            m = _CRON_PART.fullmatch(part)
            if part in ("?", "L") or (name == "day-of-week" and re.fullmatch(r"\w+(#\d|L)", part)):
                continue  # croniter's extensions: judged by croniter alone
            if not m:
                return f"{name} field '{text}' is not a number, a range (1-5), a list (1,3) or */N"
            for value in (m["a"], m["b"]):
                if value is None:
                    continue
                number = (
                    names.index(value.lower()) + low  # jan is 1, sun is 0
                    if value.lower() in names
                    else int(value[:12])  # (a longer one is out of range anyway)
                    if value.isdigit()
                    else None
                )
                shown = value if len(value) <= 12 else value[:12] + "..."
                if number is None:
                    return f"{name} '{shown}' is not a number"
                if not low <= number <= high:
                    return f"{name} {shown} is out of {low}-{high}"
            if m["step"] is not None and (not m["step"].isdigit() or int(m["step"]) == 0):
                return f"{name} step '/{m['step']}' is not a whole number above 0"
    return ""


def parse_duration(value: object) -> timedelta:
    """`90`, `"90s"`, `"5m"`, `"1h30m"`, `"1d"` -> timedelta. Raises ValueError with a message."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"a duration must be text like '5m' or a number of seconds, not {value!r}")
    if isinstance(value, int):
        seconds = value
        if seconds < 0:
            raise ValueError(f"a duration cannot be negative ({value})")
        return _timedelta(seconds=seconds)
    m = _DURATION.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a duration")
    if value.isdigit():
        return _timedelta(seconds=int(value))
    d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    return _timedelta(days=d, hours=h, minutes=mi, seconds=s)


def _timedelta(**parts: int) -> timedelta:
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError("the duration is too long (more than 999999999 days)") from None


class ScheduleKind(StrEnum):
    NONE = "none"  # runs only when triggered
    PRESET = "preset"  # @daily, @once, ...
    DURATION = "duration"  # a run every 30m
    CRON = "cron"  # a cron expression (only checked by validate)
    ASSETS = "assets"  # a list of assets, or an any/all mapping of them
    TIMETABLE = "timetable"  # `{object: package.module.Timetable, ...}`: an instance of the user's


class Timetable(StrEnum):
    """How a cron schedule is read (the spec's `timetable:`)."""

    TRIGGER = "trigger"  # a run at each time the expression names
    INTERVAL = "interval"  # a run after each interval between those times, covering it


def schedule_kind(value: object) -> ScheduleKind:
    """What kind of schedule a spec's `schedule:` value is."""
    if value is None:
        return ScheduleKind.NONE
    if is_timetable(value):
        return ScheduleKind.TIMETABLE
    if isinstance(value, (list, dict)):
        return ScheduleKind.ASSETS
    if isinstance(value, str) and value.startswith("@"):
        return ScheduleKind.PRESET
    if isinstance(value, int) or (isinstance(value, str) and _DURATION.match(value)):
        return ScheduleKind.DURATION
    return ScheduleKind.CRON


def is_timetable(value: object) -> bool:
    """Whether a spec's schedule is a timetable object, `{object: ...}` (no condition of assets has
    an `object` key)."""
    return isinstance(value, dict) and "object" in value


def cron_like(value: object) -> bool:
    """A cron expression or a preset that stands for one (@daily ...): what `timetable:` applies to."""
    return schedule_kind(value) == ScheduleKind.CRON or (
        isinstance(value, str) and value in PRESET_CRON
    )


# An asset schedule: an asset, a list (all of them), or {any: [...]} / {all: [...]} of them. An
# asset is a URI (or name) text, or a mapping: {name, uri, group, extra} or {alias: NAME}.
AssetCondition: TypeAlias = str | list[Any] | dict[str, Any]


def is_asset(item: object) -> bool:
    """Whether an item of an asset condition is one asset (or alias), not an any/all of them."""
    return isinstance(item, str) or (isinstance(item, dict) and not {"any", "all"} & item.keys())


def assets_in(condition: AssetCondition) -> list[str | dict[str, Any]]:
    """Every asset (or alias) an asset condition (a list, or an any/all mapping) names, in order.
    The condition is one the schema accepted."""
    if isinstance(condition, str) or (isinstance(condition, dict) and is_asset(condition)):
        return [condition]
    items = (
        condition
        if isinstance(condition, list)
        else next((v for v in condition.values() if isinstance(v, list)), [])
    )
    return [a for item in items for a in assets_in(item)]


def asset_key(asset: str | dict[str, Any]) -> str:
    """What identifies an asset between DAGs (a producer's outlet, a consumer's schedule): its
    name, which is its URI when it has no name of its own. An alias: its name."""
    if isinstance(asset, str):
        return asset
    return str(asset.get("alias") or asset.get("name") or asset.get("uri"))


def parse_when(value: object) -> datetime:
    """ISO date or datetime text -> datetime (a date means midnight). Raises ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"a date must be written like 2024-01-31, not {value!r}")
    text = value.strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        return datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError as e:
        raise ValueError(f"'{value}' is not a valid date or datetime ({e})") from None


# The instants a date may name, with a day to spare at both ends of Python's datetime range: Airflow
# turns a date into UTC and adds intervals to it, which must not step out of the range.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def instant(when: datetime, tz: str) -> datetime:
    """The UTC instant of `when` (a wall-clock time in `tz` unless it has an offset). Raises
    ValueError when it is outside EARLIEST..LATEST."""
    try:
        moment = (when if when.tzinfo else when.replace(tzinfo=ZoneInfo(tz))).astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not EARLIEST <= moment <= LATEST:
        raise ValueError(
            f"{when.isoformat()}{'' if when.tzinfo else f' in {tz}'} is outside the dates Airflow "
            f"can compute with ({EARLIEST.date()} to {LATEST.date()}, UTC)"
        )
    return moment


def clock_change(wall: datetime, tz: ZoneInfo) -> tuple[str, datetime, datetime] | None:
    """None when the naive wall-clock time `wall` happens exactly once in `tz`. Else ('skipped' or
    'repeated', the wall time the clock leaves, the wall time it shows next): ('skipped', 02:00,
    03:00) for Europe/Berlin's spring change, ('repeated', 03:00, 02:00) for its autumn one."""
    before = _offset(wall.replace(tzinfo=tz, fold=0))  # PEP 495: fold=0 takes the offset
    after = _offset(wall.replace(tzinfo=tz, fold=1))  # before the change, fold=1 the one after
    if before == after:
        return None
    # The change happens between the two readings of `wall` as UTC: find the second it does.
    low, high = sorted(int((wall - o).replace(tzinfo=UTC).timestamp()) for o in (before, after))
    low -= 1
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    change = datetime.fromtimestamp(high, UTC).replace(tzinfo=None)
    return ("skipped" if after > before else "repeated"), change + before, change + after


# What a time zone abbreviation usually means, as IANA names (with where, when it is ambiguous).
# Most abbreviations are no IANA name at all (`KST`); a few are, as a fixed offset that never
# changes for daylight saving time (`EST` is UTC-5 in July too): neither is what a user means.
ABBREVIATIONS = {
    "KST": ("Asia/Seoul",),
    "JST": ("Asia/Tokyo",),
    "IST": ("Asia/Kolkata (India)", "Europe/Dublin (Ireland)", "Asia/Jerusalem (Israel)"),
    "BST": ("Europe/London",),
    "EST": ("America/New_York",),
    "EDT": ("America/New_York",),
    "ET": ("America/New_York",),
    "CST": ("America/Chicago (US)", "Asia/Shanghai (China)"),
    "CDT": ("America/Chicago",),
    "MST": ("America/Denver", "America/Phoenix (Arizona, no summer time)"),
    "MDT": ("America/Denver",),
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "PT": ("America/Los_Angeles",),
    "AKST": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "CET": ("Europe/Berlin", "Europe/Paris"),
    "CEST": ("Europe/Berlin", "Europe/Paris"),
    "EET": ("Europe/Athens", "Europe/Helsinki"),
    "EEST": ("Europe/Athens", "Europe/Helsinki"),
    "WET": ("Europe/Lisbon",),
    "MSK": ("Europe/Moscow",),
    "AEST": ("Australia/Sydney", "Australia/Brisbane (Queensland, no summer time)"),
    "AEDT": ("Australia/Sydney",),
    "ACST": ("Australia/Adelaide",),
    "AWST": ("Australia/Perth",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
    "HKT": ("Asia/Hong_Kong",),
    "SGT": ("Asia/Singapore",),
    "ICT": ("Asia/Bangkok",),
    "WIB": ("Asia/Jakarta",),
    "PHT": ("Asia/Manila",),
    "PKT": ("Asia/Karachi",),
    "GST": ("Asia/Dubai",),
    "SAST": ("Africa/Johannesburg",),
    "EAT": ("Africa/Nairobi",),
    "WAT": ("Africa/Lagos",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
}


def zone_suggestion(name: str) -> str:
    """'write `timezone: Asia/Seoul`' for a time zone abbreviation, or '' for other names."""
    zones = ABBREVIATIONS.get(name.strip().upper())
    if not zones:
        return ""
    if len(zones) == 1:
        return f"{name} usually means {zones[0]}: write `timezone: {zones[0]}`"
    return f"{name} can mean {', '.join(zones[:-1])} or {zones[-1]}: write the one you mean"


def fixed_offset(name: str) -> str:
    """'UTC-05:00' when the IANA zone `name` is an abbreviation that keeps one UTC offset all year
    (EST, MST) while the zone it usually means changes its clocks for summer; else ''."""
    zones = ABBREVIATIONS.get(name)
    if not zones or not _one_offset(name) or _one_offset(zones[0].split(" ")[0]):
        return ""
    minutes = int(_offset(datetime(2024, 1, 1, tzinfo=ZoneInfo(name))).total_seconds()) // 60
    return f"UTC{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02}:{abs(minutes) % 60:02}"


def _offset(moment: datetime) -> timedelta:
    """The UTC offset of `moment`, a datetime with a ZoneInfo: one is known for every instant."""
    offset = moment.utcoffset()
    assert offset is not None  # only a naive datetime, or a tzinfo that knows none, gives None
    return offset


def _one_offset(name: str) -> bool:
    tz = ZoneInfo(name)
    return len({datetime(2024, m, 1, tzinfo=tz).utcoffset() for m in (1, 7)}) == 1
