"""The spec's small value languages (durations, schedules, dates), parsed the same way by every step."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

DURATION_PATTERN = r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$|^\d+$"
_DURATION = re.compile(DURATION_PATTERN)
DURATION_HINT = "write a whole number and a unit: 90s, 5m, 2h, 1d, or combined like 1h30m"

PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@yearly", "@once", "@continuous")
# What each cron preset means, as Airflow expands it.
PRESET_CRON = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
}


def parse_duration(value) -> timedelta:
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
        raise ValueError(f"'{value}' is not a duration")
    if value.isdigit():
        return _timedelta(seconds=int(value))
    d, h, mi, s = (int(x) if x else 0 for x in m.groups())
    return _timedelta(days=d, hours=h, minutes=mi, seconds=s)


def _timedelta(**parts) -> timedelta:
    try:
        return timedelta(**parts)
    except OverflowError:
        raise ValueError("the duration is too long (more than 999999999 days)") from None


def schedule_kind(value) -> str:
    """'none', 'preset', 'duration', 'cron' (a cron expression is only checked by validate), or
    'assets' (a list of assets, or an any/all mapping of them)."""
    if value is None:
        return "none"
    if isinstance(value, (list, dict)):
        return "assets"
    if isinstance(value, str) and value.startswith("@"):
        return "preset"
    if isinstance(value, int) or (isinstance(value, str) and _DURATION.match(value)):
        return "duration"
    return "cron"


def cron_like(value) -> bool:
    """A cron expression or a preset that stands for one (@daily ...): what `timetable:` applies to."""
    return schedule_kind(value) == "cron" or (isinstance(value, str) and value in PRESET_CRON)


def assets_in(condition) -> list[str]:
    """Every asset an asset schedule (a list, or an any/all mapping) names, in order."""
    if isinstance(condition, str):
        return [condition]
    items = (
        condition
        if isinstance(condition, list)
        else next((v for v in condition.values() if isinstance(v, list)), [])
    )
    return [a for item in items for a in assets_in(item)]


def parse_when(value) -> datetime:
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
