"""Choices are enums (StrEnum): a typo is an error where it is made, and JSON output and comparisons
with the old strings stay as they were."""

import json

import pytest

from dagforge.diagnostics import Diagnostic, Severity
from dagforge.drift import KINDS, DriftKind
from dagforge.values import ScheduleKind, Timetable, schedule_kind


def test_a_severity_is_error_or_warning():
    warning = Diagnostic("x.yaml", 1, 1, "m", severity="warning")
    assert warning.severity is Severity.WARNING and warning.severity == "warning"
    assert json.dumps(warning.severity) == '"warning"'
    assert "x.yaml:1:1: warning: m" in warning.format()
    with pytest.raises(ValueError):
        Diagnostic("x.yaml", 1, 1, "m", severity="fatal")


@pytest.mark.parametrize(
    "value,kind",
    [
        (None, "none"),
        ("@daily", "preset"),
        ("30m", "duration"),
        (90, "duration"),
        ("0 2 * * *", "cron"),
        (["s3://a/b"], "assets"),
    ],
)
def test_schedule_kinds(value, kind):
    assert schedule_kind(value) is ScheduleKind(kind)
    assert schedule_kind(value) == kind and f"{schedule_kind(value)}" == kind


def test_the_other_choices_read_as_their_strings():
    assert [str(k) for k in KINDS] == ["missing", "hand-edited", "stale", "orphaned"]
    assert json.dumps(list(DriftKind)) == '["missing", "hand-edited", "stale", "orphaned"]'
    assert [str(t) for t in Timetable] == ["trigger", "interval"]
