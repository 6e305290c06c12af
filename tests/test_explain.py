"""`dagforge explain`: the schedule in words, the next runs (as Airflow's own timetable computes them,
across daylight-saving changes), each task's retry and alert policy, and the task order."""

from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from conftest import ROOT, load_dagbag, run_main

import dagforge
from dagforge.describe import next_runs

EXTRA = {
    "spring_gap": 'timezone: Europe/Berlin\nschedule: "30 2 * * *"\n',  # 02:30 is skipped one night a year
    "hourly_ny": 'timezone: America/New_York\nschedule: "30 * * * *"\n',
    "every_7h": "start_date: 2025-03-29T12:00:00\ntimezone: Europe/Berlin\nschedule: 7h\ncatchup: true\n",
    "ending": 'schedule: "@daily"\nend_date: 2025-03-30\n',
}
AFTER = [
    "2025-03-08T12:00:00+00:00",
    "2025-03-28T12:00:00+00:00",
    "2025-10-24T12:00:00+00:00",
    "2025-11-02T04:00:00+00:00",
]


@pytest.fixture(scope="module")
def dags(tmp_path_factory):
    """The example specs and a few made for daylight-saving changes, built and loaded by Airflow."""
    specs = tmp_path_factory.mktemp("specs")
    for spec in (ROOT / "specs").glob("*.yaml"):
        (specs / spec.name).write_text(spec.read_text())
    for name, head in EXTRA.items():
        start = "" if "start_date" in head else "start_date: 2024-01-01\n"
        (specs / f"{name}.yaml").write_text(start + head + "tasks:\n  a: {operator: empty}\n")
    out = tmp_path_factory.mktemp("out")
    result = dagforge.build([specs], out, verify=False)
    assert result.ok
    return result, load_dagbag(out)


def _airflow_runs(dag, p, after, count=5):
    """The next runs by Airflow's own scheduling code (the core timetable of the loaded DAG)."""
    from airflow.serialization.encoders import coerce_to_core_timetable
    from airflow.timetables.base import DataInterval, TimeRestriction

    timetable = coerce_to_core_timetable(dag.timetable)
    restriction = TimeRestriction(earliest=dag.start_date, latest=dag.end_date, catchup=True)
    last = (
        None if p.schedule_kind == "duration" else DataInterval(after, after)
    )  # a delta counts from the start
    runs = []
    while len(runs) < count:
        info = timetable.next_dagrun_info(
            last_automated_data_interval=last, restriction=restriction
        )
        if info is None:
            break
        last = info.data_interval
        if info.run_after > after:
            runs.append(info.run_after.timestamp())
    return runs


@pytest.mark.parametrize("after", AFTER)
def test_next_runs_are_airflows(dags, after):
    result, bag = dags
    after = pendulum.parse(after)
    compared = 0
    for spec in result.specs:
        p = spec.pipeline
        mine, note = next_runs(p, after)
        if (
            p.schedule_kind == "duration" and not p.catchup
        ):  # it counts from the first unpause: no times
            assert not mine and "when the DAG is first scheduled" in note
            continue
        assert [m.timestamp() for m in mine] == _airflow_runs(bag.dags[p.dag_id], p, after), (
            p.dag_id
        )
        assert all(m.tzinfo.key == p.timezone for m in mine)
        compared += 1
    assert compared == len(result.specs) - 1


def test_explain_in_words_through_the_cli():
    r = run_main(
        "explain", "specs/sales_report_weekdays.yaml", "--after", "2025-01-03T00:00+09:00", cwd=ROOT
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert (
        lines[0]
        == "sales_report_weekdays: Daily sales KPI report, mailed to the sales leads on weekdays"
    )
    assert "Schedule:   At 07:30, Monday through Friday, Asia/Seoul (cron '30 7 * * 1-5')" in lines
    i = lines.index("Next 5 runs (Asia/Seoul):")
    assert lines[i + 1 : i + 6] == [
        "  Fri 2025-01-03 07:30 KST (+09:00)",
        "  Mon 2025-01-06 07:30 KST (+09:00)",
        "  Tue 2025-01-07 07:30 KST (+09:00)",
        "  Wed 2025-01-08 07:30 KST (+09:00)",
        "  Thu 2025-01-09 07:30 KST (+09:00)",
    ]
    i = lines.index("Task order (tasks on one line may run at the same time):")
    assert lines[i + 1 : i + 4] == [
        "  1. wait_for_warehouse",
        "  2. build_kpis",
        "  3. mail_report",
    ]
    i = lines.index("  build_kpis (BashOperator), after wait_for_warehouse")
    assert lines[i + 1 : i + 4] == [
        "    retries:    1, 10 minutes apart",
        "    time limit: 20 minutes",
        "    alerts:     mail analytics-oncall@example.com when it fails for good",
    ]
    assert (
        "  wait_for_warehouse (BashOperator)" in lines
        and "    retries:    6, 10 minutes apart" in lines
    )


def test_explain_policies_presets_and_parallel_tasks():
    r = run_main("explain", "specs/mlops_churn_model.yaml", "--after", "2025-01-01", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert (
        "Schedule:   At 00:00, only on Sunday, America/New_York (@weekly, cron '0 0 * * 0')" in out
    )
    assert "  Sun 2025-01-05 00:00 EST (-05:00)" in out
    assert "Limits:     at most 1 run at a time; a run fails after 12 hours" in out
    assert "On success: mail ml-oncall@example.com once per successful run" in out
    assert (
        "    alerts:     mail ml-oncall@example.com when it fails for good; mail ml-oncall@example.com on each retry"
        in out
    )
    assert (
        "  deploy (BashOperator), after evaluate\n    retries:    none: the first failure is final\n"
        in out
    )
    assert (
        "    alerts:     mail ml-oncall@example.com, ml-leads@example.com when it fails for good\n"
        in out
    )
    assert "    runs when:  none_failed (instead of all_success)" in out
    assert "    queue:      gpu\n" in out and "    pool:       gpu_training\n" in out
    r = run_main("explain", "specs/infra_housekeeping.yaml", cwd=ROOT)
    assert "  2. purge_scratch, trim_metadata_db\n" in r.stdout
    assert "Schedule:   every 6 hours" in r.stdout
    assert "then one every 6 hours after it" in r.stdout


def test_explain_manual_once_and_ended(write_spec, tmp_path):
    write_spec("start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\n", "manual.yaml")
    write_spec(
        "start_date: 2030-01-01\nschedule: '@once'\ntasks:\n  a: {operator: empty}\n", "once.yaml"
    )
    write_spec(
        "start_date: 2024-01-01\nend_date: 2024-02-01\nschedule: '@daily'\ntasks:\n  a: {operator: empty}\n",
        "ended.yaml",
    )
    r = run_main("explain", "specs/manual.yaml", cwd=tmp_path)
    assert "Schedule:   none: runs only when triggered" in r.stdout and "Next" not in r.stdout
    r = run_main("explain", "specs/once.yaml", "--after", "2025-01-01", cwd=tmp_path)
    assert "Next 1 run (UTC):\n  Tue 2030-01-01 00:00 UTC (+00:00)\n" in r.stdout
    r = run_main("explain", "specs/ended.yaml", "--after", "2025-01-01", cwd=tmp_path)
    assert (
        "Ends:       Thu 2024-02-01 00:00 UTC (+00:00)" in r.stdout
        and "No more runs: the end date has passed." in r.stdout
    )


def test_explain_invalid_spec_and_usage(write_spec, tmp_path):
    write_spec(
        "start_date: 2024-01-01\nschedule: '61 * * * *'\ntasks:\n  a: {operator: empty}\n",
        "bad.yaml",
    )
    r = run_main("explain", "specs/bad.yaml", cwd=tmp_path)
    assert (
        r.returncode == 1
        and "specs/bad.yaml:2:11: error: schedule '61 * * * *' is not a valid cron expression"
        in r.stderr
    )
    assert r.stdout == ""
    r = run_main("explain", "specs/bad.yaml", "--after", "yesterday", cwd=tmp_path)
    assert r.returncode == 2 and "'yesterday' is not an ISO date or datetime" in r.stderr
    write_spec("start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\n", "other.yaml")
    r = run_main("explain", "specs", cwd=tmp_path)
    assert r.returncode == 2 and "specs: error: expected one spec file, found 2" in r.stderr


def test_explain_api_defaults_to_now():
    before = datetime.now(UTC)
    result = dagforge.explain(ROOT / "specs" / "etl_orders.yaml")
    assert result.ok
    line = result.text.split("Next 5 runs (Europe/Berlin):\n")[1].splitlines()[
        0
    ]  # "  Wed 2025-11-26 01:30 CET (+01:00)"
    first = datetime.strptime(line[6:22] + line[-7:-1].replace(":", ""), "%Y-%m-%d %H:%M%z")
    assert (
        before < first <= before + timedelta(days=1)
    )  # a daily schedule: the next run is within a day


def test_a_dag_without_schedule_is_not_said_to_skip_missed_runs(write_spec):
    path = write_spec("start_date: 2024-01-01\ntasks:\n  a: {operator: empty}\n")
    text = dagforge.explain(path).text
    assert "Catchup:    does not apply: the DAG runs only when triggered" in text
    assert "missed runs are skipped" not in text


def test_mapped_tasks_and_sensors_are_described(write_spec):
    path = write_spec(
        "start_date: 2024-01-01\nschedule: '@daily'\ntasks:\n"
        "  files: {operator: python, python_callable: 'os:listdir'}\n"
        "  each: {operator: bash, expand: {bash_command: {output_of: files}}}\n"
        "  three: {operator: bash, expand: {bash_command: [a, b, c]}}\n"
        "  drop: {operator: file_sensor, filepath: /x, poke_interval: 5m, timeout: 2h}\n"
        "  parked: {operator: file_sensor, filepath: /y, mode: reschedule}\n"
    )
    text = dagforge.explain(path, datetime(2024, 6, 1, tzinfo=UTC)).text
    assert "mapped:     one instance for each item that files returns (as `bash_command`)" in text
    assert "mapped:     one instance for each of 3 values (as `bash_command`)" in text
    assert (
        "sensing:    checks every 5 minutes, fails after 2 hours "
        "(mode poke: holds a worker slot while it waits)" in text
    )
    # Airflow's defaults when the spec gives none: a minute between checks, a week at most
    assert (
        "checks every 1 minute, fails after 7 days (mode reschedule: frees its worker slot" in text
    )


@pytest.mark.parametrize(
    "text, after",
    [
        ("start_date: 9999-12-29\nschedule: '@yearly'\n", None),
        ("start_date: 9999-12-29\nschedule: 3650d\ncatchup: true\n", "2024-01-01"),
        ("start_date: 9999-12-29\nschedule: '0 0 29 2 *'\n", None),
        (
            "start_date: 2024-01-01\nschedule: '@hourly'\ntimezone: Pacific/Kiritimati\n",
            "9999-12-30",
        ),
        ("start_date: 2024-01-01\nschedule: 1s\ncatchup: true\n", "9999-12-30T23:59:58"),
        ("start_date: 0001-01-02\nschedule: '@daily'\nend_date: 0001-01-05\n", "0001-01-02"),
        ("start_date: 2024-01-01\nschedule: '0 0 31 2 *'\n", None),  # never runs: exit 1
        ("start_date: 2024-01-01\nschedule: 0s\n", None),
        ("start_date: 0001-01-01T00:00:00+05:00\n", None),
        ("start_date: 2024-03-31T02:30\ntimezone: Europe/Berlin\nschedule: '@daily'\n", None),
        ("start_date: 2024-10-27T02:30\ntimezone: Europe/Berlin\nschedule: '@daily'\n", None),
    ],
)
def test_explain_never_crashes_at_the_edges_of_time(write_spec, tmp_path, text, after):
    write_spec(text + "tasks:\n  a: {operator: empty}\n", "edge.yaml")
    r = run_main("explain", "specs/edge.yaml", *(["--after", after] if after else []), cwd=tmp_path)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr


def test_runs_stop_at_the_end_of_the_calendar(write_spec, tmp_path):
    write_spec(
        "start_date: 9999-12-29\nschedule: 1d\ncatchup: true\ntasks:\n  a: {operator: empty}\n"
    )
    r = run_main("explain", "specs/pipe.yaml", "--after", "2024-01-01", cwd=tmp_path)
    assert r.returncode == 0
    assert "Next 3 runs (UTC):\n  Wed 9999-12-29 00:00 UTC (+00:00)\n" in r.stdout
    assert (
        "  Fri 9999-12-31 00:00 UTC (+00:00)\n"
        "No more runs can be listed: they would fall after the year 9999.\n" in r.stdout
    )


def test_a_time_the_clock_shows_twice_starts_at_the_second(write_spec, tmp_path):
    write_spec(
        "start_date: 2024-10-27T02:30\ntimezone: Europe/Berlin\ntasks:\n  a: {operator: empty}\n"
    )
    r = run_main("explain", "specs/pipe.yaml", cwd=tmp_path)
    assert r.returncode == 0 and "Starts:     Sun 2024-10-27 02:30 CET (+01:00)" in r.stdout
    # as Airflow reads it
    assert pendulum.datetime(2024, 10, 27, 2, 30, tz="Europe/Berlin").utcoffset() == timedelta(
        hours=1
    )


def test_a_relative_start_date_and_taskflow_tasks_are_described(write_spec):
    path = write_spec(
        "start_date: {before_today: 2d}\nschedule: '@daily'\ntasks:\n"
        "  files: {operator: task, python_callable: 'os:listdir'}\n"
    )
    text = dagforge.explain(path, datetime(2024, 6, 1, tzinfo=UTC)).text
    assert "Starts:     2 days before midnight of the day Airflow parses the file (it moves" in text
    assert "  files (@task)" in text
