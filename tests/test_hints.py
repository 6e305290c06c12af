"""Hints for a new user's mistakes that are warnings, not errors (errors: tests/broken/hint_*.yaml)."""

import pytest
from conftest import run_main

import dagforge

HEAD = "start_date: 2024-01-01\n"


def _diagnostics(write_spec, text):
    result = dagforge.validate([write_spec(HEAD + text)])
    return result, result.specs[0].diagnostics


@pytest.mark.parametrize(
    "command, operator",
    [
        ("./run.sh", "bash"),
        ("scripts/load.bash", "bash"),
        ("./run.sh", "airflow.providers.standard.operators.bash.BashOperator"),
    ],
)
def test_a_bash_command_ending_in_sh_is_a_warning_with_the_fix(write_spec, command, operator):
    text = f"tasks:\n  a:\n    operator: {operator}\n    bash_command: {command}\n"
    # the warning is validate's own: no signature check in Airflow (verify=False) is needed for it
    result = dagforge.validate([write_spec(HEAD + text)], verify=False)
    [d] = result.specs[0].diagnostics
    assert result.ok and d.severity == "warning" and d.code == "bash-template"
    assert (d.line, d.column) == (5, 19)
    assert "TemplateNotFound" in d.message
    assert f'`bash_command: "{command} "`' in d.hint


COMMANDS = ["./run.sh", "bash ./run.sh", "echo .sh", "x.bash", "./run.sh ", "./run.sh --all", "ls"]


@pytest.mark.parametrize("command", COMMANDS)
def test_the_warning_comes_exactly_when_airflow_fails_the_task(write_spec, command):
    """Airflow's real BashOperator, rendered as a task run renders it: the commands it reads as a
    template file fail with TemplateNotFound, and those are the ones dagforge warns about."""
    import datetime

    import jinja2
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import DAG

    with DAG("d", schedule=None, start_date=datetime.datetime(2024, 1, 1)) as dag:
        op = BashOperator(task_id="a", bash_command=command)
    try:
        op.resolve_template_files()
        op.render_template_fields({}, jinja_env=dag.get_template_env())
        fails = False
    except jinja2.TemplateNotFound:
        fails = True
    text = f"tasks:\n  a: {{operator: bash, bash_command: {command!r}}}\n"
    result, diagnostics = _diagnostics(write_spec, text)
    assert result.ok and [d.code for d in diagnostics] == (["bash-template"] if fails else [])


@pytest.mark.parametrize(
    "zone, offset, means",
    [("EST", "UTC-05:00", "America/New_York"), ("MST", "UTC-07:00", "America/Denver")],
)
def test_an_abbreviation_that_never_changes_its_clock_is_a_warning(write_spec, zone, offset, means):
    result, [d] = _diagnostics(write_spec, f"timezone: {zone}\ntasks:\n  a: {{operator: empty}}\n")
    assert result.ok and d.severity == "warning" and (d.line, d.column) == (2, 11)
    assert d.message == f"time zone '{zone}' is {offset} all year, without summer time"
    assert means in d.hint


@pytest.mark.parametrize("zone", ["CET", "HST", "UTC", "GMT", "Asia/Seoul", "America/New_York"])
def test_zones_that_mean_what_they_say_have_no_warning(write_spec, zone):
    result, diagnostics = _diagnostics(
        write_spec, f"timezone: {zone}\ntasks:\n  a: {{operator: empty}}\n"
    )
    assert result.ok and diagnostics == []


def test_the_warnings_show_in_the_cli_and_the_build_goes_on(write_spec, tmp_path):
    spec = write_spec(
        HEAD + "timezone: EST\ntasks:\n  a: {operator: bash, bash_command: ./run.sh}\n"
    )
    r = run_main("validate", spec, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert ":2:11: warning: time zone 'EST' is UTC-05:00 all year" in r.stderr
    assert ":4:37: warning: Airflow reads bash_command './run.sh' as a template file" in r.stderr


@pytest.mark.parametrize(
    "line",
    ["schedule: '*/15 * * * *'", 'schedule: "0 */2 * * *"', "schedule: 0 */2 * * *"],
)
def test_a_cron_that_yaml_reads_as_text_needs_no_hint(write_spec, line):
    result, diagnostics = _diagnostics(write_spec, line + "\ntasks:\n  a: {operator: empty}\n")
    assert result.ok and diagnostics == []


@pytest.mark.parametrize(
    "zone, means",
    [
        ("JST", "`timezone: Asia/Tokyo`"),
        ("BST", "`timezone: Europe/London`"),
        ("AEST", "Australia/Sydney"),
        ("MSK", "`timezone: Europe/Moscow`"),
        ("CST", "America/Chicago (US), Asia/Shanghai (China)"),
        ("kst", "`timezone: Asia/Seoul`"),
    ],
)
def test_an_abbreviation_that_is_no_zone_names_the_zones_it_means(write_spec, zone, means):
    result, [d] = _diagnostics(write_spec, f"timezone: {zone}\ntasks:\n  a: {{operator: empty}}\n")
    assert not result.ok and d.message == f"unknown time zone '{zone}'"
    assert means in d.hint.replace(" or ", ", ")
