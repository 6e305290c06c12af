"""Advice (dagforge/advice.py, docs/advice.md): each rule on a spec that triggers it (the exact
message), on its fixed version (silent), silenced by a comment, configured, in every format."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, run_main

import dagforge
from dagforge import advice
from dagforge.describe import _cron_next

NOW = "2026-06-01T12:00:00"  # DAGFORGE_NOW of every test: the numbers stay what they are


@pytest.fixture(autouse=True)
def advice_on(monkeypatch, tmp_path):
    monkeypatch.delenv("DAGFORGE_ADVICE", raising=False)  # the suite turns it off: see conftest
    monkeypatch.setenv("DAGFORGE_NOW", NOW)
    monkeypatch.chdir(tmp_path)  # no pyproject.toml above: the default configuration


def _spec(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / "specs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _advice(*paths: Path) -> list[tuple[int, int, str, str, str]]:
    result = dagforge.validate(list(paths), verify=False)
    return [
        (d.line, d.column, d.severity, d.code, d.message)
        for s in result.specs
        for d in s.diagnostics
        if d.code.advice
    ]


# Each rule: a spec that triggers it, the advice (line, column, message), and its fixed version.
CASES = {
    "DF101": (
        """\
        schedule: "@hourly"
        start_date: 2020-01-01
        catchup: true
        dagrun_timeout: 1h
        max_active_runs: 1
        tasks: {a: {operator: empty}}
        """,
        (3, 1, "catchup creates 56,245 runs on first unpause (hourly since 2020-01-01)"),
        ("catchup: true", "catchup: false"),
    ),
    "DF102": (
        """\
        schedule: "30 2 * * *"
        start_date: 2024-01-01
        timezone: Europe/Berlin
        dagrun_timeout: 1h
        max_active_runs: 1
        tasks: {a: {operator: empty}}
        """,
        (
            1,
            1,
            "schedule '30 2 * * *' in Europe/Berlin: 02:30 is skipped on 2027-03-28 (the clocks "
            "jump from 02:00 to 03:00; Airflow runs it at 03:30); 02:30 happens twice on "
            "2026-10-25 (the clocks go back from 03:00 to 02:00; Airflow runs it once, at the "
            "second)",
        ),
        ('"30 2 * * *"', '"30 3 * * *"'),
    ),
    "DF103": (
        """\
        schedule: 1h
        start_date: 2024-01-01
        dagrun_timeout: 3h
        max_active_runs: 4
        tasks: {a: {operator: empty}}
        """,
        (
            4,
            1,
            "runs can overlap: a run may take 3h (dagrun_timeout) but one starts every 1h, and "
            "max_active_runs is 4",
        ),
        ("max_active_runs: 4", "max_active_runs: 1"),
    ),
    "DF104": (
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 1h
        defaults:
          depends_on_past: true
        tasks:
          a: {operator: empty}
          b: {operator: empty}
        """,
        (
            5,
            3,
            "runs wait on each other: task 'a' and 1 more has depends_on_past and max_active_runs "
            "is 16 (Airflow's default): a run's task waits for the run before it, and the waiting "
            "runs hold their places",
        ),
        ("dagrun_timeout: 1h", "dagrun_timeout: 1h\nmax_active_runs: 1"),
    ),
    "DF201": (
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 8h
        max_active_runs: 1
        tasks:
          wait:
            operator: file_sensor
            filepath: /data/x
            timeout: 6h
        """,
        (
            9,
            5,
            "sensor 'wait' pokes in poke mode for up to 6h (timeout): it holds a worker slot the "
            "whole time, up to 6 slot-hours a run",
        ),
        ("timeout: 6h", "timeout: 6h\n    mode: reschedule"),
    ),
    "DF202": (
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        max_active_runs: 1
        tasks:
          a: {operator: empty}
        """,
        (
            4,
            1,
            "nothing bounds a run: no task has an execution_timeout and there is no "
            "dagrun_timeout, so a hung task holds its worker slot forever",
        ),
        ("max_active_runs: 1", "max_active_runs: 1\ndagrun_timeout: 2h"),
    ),
    "DF203": (
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 8h
        max_active_runs: 1
        tasks:
          a: {operator: empty, pool: db, pool_slots: 500}
        """,
        (
            6,
            34,
            "task 'a' takes 500 slots of pool 'db': more than the 128 of Airflow's default_pool, "
            "a task never starts in a pool smaller than its pool_slots",
        ),
        ("pool_slots: 500", "pool_slots: 2"),
    ),
    "DF301": (
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 8h
        max_active_runs: 1
        alerts:
          emails: [a@example.com, b@example.com]
          on_retry: true
        retries: 10
        retry_delay: 1m
        tasks: {a: {operator: empty}}
        """,
        (
            7,
            3,
            "task 'a' sends 20 retry mails for one failure (10 retries 1m apart, to 2 addresses) "
            "within 9m",
        ),
        ("retry_delay: 1m", "retry_delay: 15m"),
    ),
}


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_rule_warns_at_the_key_with_the_numbers_and_its_fix_is_silent(tmp_path, code):
    text, (line, column, message), (old, new) = CASES[code]
    spec = _spec(tmp_path, text)
    assert _advice(spec) == [(line, column, "warning", code, message)]
    spec.write_text(textwrap.dedent(text).replace(old, new), encoding="utf-8")
    assert _advice(spec) == []


@pytest.mark.parametrize("code", sorted(CASES))
def test_a_comment_on_the_key_silences_its_rule_and_only_it(tmp_path, code):
    text, (line, _, _), _ = CASES[code]
    lines = textwrap.dedent(text).splitlines()
    spec = _spec(tmp_path, "")
    marked = list(lines)
    marked[line - 1] += "  # dagforge: ignore[DF999]"
    spec.write_text("\n".join(marked) + "\n")
    assert [a[3] for a in _advice(spec)] == [code]  # another code: still said
    lines[line - 1] += f"  # dagforge: ignore[DF000, {code}]"
    spec.write_text("\n".join(lines) + "\n")
    assert _advice(spec) == []


def test_the_poke_sensor_rule_covers_wait_for_and_deferrable(tmp_path):
    text = """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 8h
        max_active_runs: 1
        tasks:
          up: {wait_for: {dag: other, mode: poke, timeout: 2h}}
          down: {operator: file_sensor, filepath: /x, timeout: 3h, deferrable: true}
          short: {operator: file_sensor, filepath: /x, timeout: 10m}
        """
    spec = _spec(tmp_path, text)
    _spec(tmp_path, "start_date: 2024-01-01\ntasks: {a: {operator: empty}}\n", "other.yaml")
    assert [(a[0], a[1], a[4]) for a in _advice(spec)] == [
        (
            6,
            31,
            "sensor 'up' pokes in poke mode for up to 2h (timeout): it holds a worker slot the "
            "whole time, up to 2 slot-hours a run",
        )
    ]


def test_overlap_counts_the_task_timeouts_on_the_longest_chain(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        schedule: "*/30 * * * *"
        start_date: 2024-01-01
        tasks:
          a: {operator: empty, execution_timeout: 20m}
          b: {operator: empty, execution_timeout: 20m, dependencies: [a]}
          c: {operator: empty, execution_timeout: 5m}
        """,
    )
    assert _advice(spec) == [
        (
            1,
            1,
            "warning",
            "DF103",
            "runs can overlap: a run may take 40m (the execution_timeouts on its longest chain "
            "of tasks) but one starts every 30m, and max_active_runs is 16 (Airflow's default)",
        )
    ]


def test_the_pool_rule_counts_the_tasks_that_can_run_at_once(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        schedule: "@daily"
        start_date: 2024-01-01
        dagrun_timeout: 8h
        max_active_runs: 1
        max_active_tasks: 2
        tasks:
          a: {operator: empty, pool: db}
          b: {operator: empty, pool: db}
          c: {operator: empty, pool: db, dependencies: [a, b]}
          d: {operator: empty, pool: db}
        """,
    )
    assert [(a[0], a[1], a[4]) for a in _advice(spec)] == [
        (
            7,
            24,
            "3 task instances of pool 'db' can run at once, but max_active_tasks is 2: the DAG's "
            "limit, not the pool, decides, and 1 of them waits",
        )
    ]


def _herd(tmp_path: Path, n: int, zone: str = "UTC") -> list[Path]:
    return [
        _spec(
            tmp_path,
            f"""\
            schedule: "0 0 * * *"
            start_date: 2024-01-01
            timezone: {zone}
            dagrun_timeout: 1h
            max_active_runs: 1
            tasks: {{a: {{operator: empty}}}}
            """,
            f"d{i:02}.yaml",
        )
        for i in range(n)
    ]


def test_many_dags_at_the_same_minute_are_said_once_each(tmp_path):
    specs = _herd(tmp_path, advice.SAME_MINUTE)
    found = _advice(tmp_path / "specs")
    message = "10 DAGs of these specs start at 00:00 UTC, this one too: the scheduler queues them all at once"
    assert found == [(1, 1, "warning", "DF105", message)] * len(specs)


def test_fewer_dags_at_the_same_minute_or_at_other_minutes_are_fine(tmp_path):
    _herd(tmp_path, advice.SAME_MINUTE - 1)
    assert _advice(tmp_path / "specs") == []
    # midnight in Seoul is 15:00 UTC: not the same minute as the others
    _spec(
        tmp_path,
        "schedule: '0 0 * * *'\nstart_date: 2024-01-01\ntimezone: Asia/Seoul\n"
        "dagrun_timeout: 1h\nmax_active_runs: 1\ntasks: {a: {operator: empty}}\n",
        "seoul.yaml",
    )
    assert _advice(tmp_path / "specs") == []


@pytest.mark.parametrize(
    "schedule, zone, start",
    [
        ("0 * * * *", "Europe/Berlin", "2026-03-01"),  # hourly across the spring change
        ("15,45 * * * *", "America/New_York", "2025-10-20"),  # the autumn one
        ("30 2 * * *", "Europe/Berlin", "2025-03-01"),  # a time the changes skip and repeat
        ("0 0 L * *", "UTC", "2024-01-01"),  # the last day of each month
    ],
)
def test_catchup_counts_the_runs_the_timetable_makes(tmp_path, monkeypatch, schedule, zone, start):
    """The count (arithmetic, day by day) is what stepping through the runs one by one as
    Airflow's CronTriggerTimetable does (describe._cron_next) gives."""
    spec = _spec(
        tmp_path,
        f"schedule: '{schedule}'\nstart_date: {start}\ntimezone: {zone}\ncatchup: true\n"
        "tasks: {a: {operator: empty}}\n",
    )
    [s] = dagforge.validate([spec], verify=False).specs
    p = s.pipeline
    now = datetime(2026, 5, 10, 13, 37, tzinfo=UTC)
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    at = datetime.fromisoformat(start).replace(tzinfo=tz) - timedelta(microseconds=1)
    stepped = 0
    while (at := _cron_next(p.schedule, at, tz)) <= now:
        stepped += 1
    assert advice.catchup_runs(p, now) == (stepped, False)


def test_examples_get_no_advice(monkeypatch):
    monkeypatch.chdir(ROOT)
    for now in ("2026-01-15T00:00:00", "2026-03-20T00:00:00", "2026-10-20T00:00:00"):
        monkeypatch.setenv("DAGFORGE_NOW", now)  # before and after each change of the clocks
        assert _advice(ROOT / "specs") == []


def _config(tmp_path: Path, text: str, name: str = "pyproject.toml") -> None:
    (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")


def test_configuration_selects_ignores_and_makes_errors(tmp_path):
    text, _, _ = CASES["DF202"]
    spec = _spec(tmp_path, text)
    r = run_main("validate", "--no-verify", "specs", cwd=tmp_path)
    assert r.returncode == 0 and "warning[DF202]" in r.stderr, r.stderr
    _config(tmp_path, "[tool.dagforge.advice]\nignore = ['DF2']\n")
    r = run_main("validate", "--no-verify", "specs", cwd=tmp_path)
    assert r.returncode == 0 and "DF202" not in r.stderr
    _config(tmp_path, "[tool.dagforge.advice]\nselect = ['DF101']\n")
    assert "DF202" not in run_main("validate", "--no-verify", "specs", cwd=tmp_path).stderr
    _config(tmp_path, "[tool.dagforge.advice]\nerror = ['DF202']\n")
    r = run_main("validate", "--no-verify", "specs", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(
        "specs/s.yaml:4:1: error[DF202]: nothing bounds a run: no task has an execution_timeout"
    ), r.stderr
    r = run_main("build", "--no-verify", "specs", "-o", "out", cwd=tmp_path)
    assert r.returncode == 1 and not (tmp_path / "out" / "s.py").exists()
    # a dagforge.toml beside it is nearer than nothing, and wins in its folder
    (tmp_path / "pyproject.toml").unlink()
    _config(tmp_path, "[advice]\nerror = ['DF2']\n", "dagforge.toml")
    assert run_main("validate", "--no-verify", spec, cwd=tmp_path).returncode == 1


def test_a_configuration_that_names_no_rule_is_a_usage_error(tmp_path):
    _spec(tmp_path, CASES["DF202"][0])
    _config(tmp_path, "[tool.dagforge.advice]\nerror = ['DF209']\n")
    r = run_main("validate", "--no-verify", "specs", cwd=tmp_path)
    assert r.returncode == 2
    assert "[tool.dagforge.advice] error: 'DF209' names no rule" in r.stderr


def test_advice_does_not_change_what_build_writes_or_whether_it_is_up_to_date(tmp_path):
    _spec(tmp_path, CASES["DF202"][0])
    r = run_main("build", "--no-verify", "specs", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0 and "warning[DF202]" in r.stderr
    written = (tmp_path / "out" / "s.py").read_bytes()
    quiet = run_main(
        "build", "--no-verify", "specs", "-o", "out2", cwd=tmp_path, env={"DAGFORGE_ADVICE": "off"}
    )
    assert quiet.returncode == 0 and "DF202" not in quiet.stderr
    assert (tmp_path / "out2" / "s.py").read_bytes() == written
    again = run_main("build", "--no-verify", "specs", "-o", "out", "--format", "json", cwd=tmp_path)
    doc = json.loads(again.stdout)
    assert doc["counts"]["up_to_date"] == 1 and doc["counts"]["built"] == 0
    assert run_main("check", "specs", "-o", "out", cwd=tmp_path).returncode == 0


def test_json_github_check_and_explain_show_the_advice(tmp_path):
    _spec(tmp_path, CASES["DF202"][0])
    r = run_main("validate", "--no-verify", "specs", "--format", "json", cwd=tmp_path)
    [d] = json.loads(r.stdout)["diagnostics"]
    assert (d["file"], d["line"], d["column"], d["severity"], d["code"]) == (
        "specs/s.yaml",
        4,
        1,
        "warning",
        "DF202",
    )
    assert d["hint"].startswith("set `dagrun_timeout:`")
    r = run_main("validate", "--no-verify", "specs", "--format", "github", cwd=tmp_path)
    assert r.stdout.startswith(
        "::warning file=specs/s.yaml,line=4,col=1,title=dagforge%3A DF202::nothing bounds a run"
    ), r.stdout
    run_main("build", "--no-verify", "specs", "-o", "generated_dags", cwd=tmp_path)
    r = run_main("check", "specs", cwd=tmp_path)
    assert r.returncode == 0 and "specs/s.yaml:4:1: warning[DF202]" in r.stderr
    r = run_main("explain", "specs/s.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "specs/s.yaml:4:1: warning[DF202]" in r.stderr
    assert r.stdout  # the explanation itself, as without advice


def test_a_familys_dags_get_each_advice_once(tmp_path):
    spec = _spec(
        tmp_path,
        """\
        dag_id: sync_${{ region }}
        schedule: "@daily"
        start_date: 2024-01-01
        max_active_runs: 1
        for_each: [{region: eu}, {region: us}]
        tasks:
          a: {operator: empty}
        """,
    )
    assert [a[3] for a in _advice(spec)] == ["DF202"]


def test_a_dagforge_now_that_is_no_datetime_is_a_usage_error(tmp_path):
    _spec(tmp_path, CASES["DF202"][0])
    r = run_main("validate", "--no-verify", "specs", cwd=tmp_path, env={"DAGFORGE_NOW": "soon"})
    assert r.returncode == 2
    assert "DAGFORGE_NOW: 'soon' is not an ISO datetime" in r.stderr


def test_build_and_check_give_the_advice_validate_gives(tmp_path):
    """build and check work out each spec's own advice in the pool worker that has its model
    (advice.own); validate in this process (advice.apply): the same warnings either way, the ones
    across specs too, also from a family and for a file already up to date."""
    _herd(tmp_path, advice.SAME_MINUTE)
    _spec(tmp_path, CASES["DF202"][0], "unbounded.yaml")
    _spec(tmp_path, CASES["DF101"][0], "storm.yaml")
    _spec(
        tmp_path,
        "dag_id: sync_${{ region }}\nschedule: '@daily'\nstart_date: 2024-01-01\n"
        "max_active_runs: 1\nfor_each: [{region: eu}, {region: us}]\ntasks: {a: {operator: empty}}\n",
        "family.yaml",
    )

    def advice_of(result):
        return [(s.key, d) for s in result.specs for d in s.diagnostics if d.code.advice]

    said = advice_of(dagforge.validate([tmp_path / "specs"], verify=False))
    assert {d.code.value for _, d in said} == {"DF101", "DF105", "DF202"}
    out = tmp_path / "out"
    assert advice_of(dagforge.check([tmp_path / "specs"], out)) == said  # nothing built yet
    built = dagforge.build([tmp_path / "specs"], out, verify=False)
    assert built.workers > 1 and advice_of(built) == said
    proven = dagforge.check([tmp_path / "specs"], out)
    assert proven.ok and all(s.up_to_date for s in proven.specs)
    assert advice_of(proven) == said
    # ... worked out in the workers: a proven file's model is not sent back, nor built again here
    assert all(s.advice is not None and s.pipeline is None for s in proven.specs)
