"""The same specs on Airflow 2.10 and Airflow 3: a cron schedule runs at the same times on both.

Each version's own scheduler code computes the runs (tests/airflow2/next_runs.py, run by each
interpreter over the files built for it). Runs in the Airflow 2.10.5 venv; the Airflow 3 side is the
python in DAGFORGE_AIRFLOW3_PYTHON, a venv with dagforge and Airflow 3 (.ci/run sets it).
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from conftest import ROOT, installed_airflow

import dagforge

assert installed_airflow() == "2", (
    "tests/airflow2 runs where Airflow 2.10 is installed: see .ci/run"
)

NEXT_RUNS = Path(__file__).with_name("next_runs.py")
# Beyond the examples: the days the clocks change, a busy weekday cron, a monthly preset.
EXTRA = {
    "dst_spring": ("'30 2 * * *'", "Europe/Berlin", "2024-03-27"),
    "dst_autumn": ("'30 2 * * *'", "Europe/Berlin", "2024-10-24"),
    "office_hours": ("'*/20 9-10 * * 1-5'", "America/New_York", "2024-11-01"),
    "monthly_kolkata": ("'@monthly'", "Asia/Kolkata", "2024-01-15"),
    "every_90m": ("90m", "UTC", "2024-01-01"),
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    airflow3 = os.environ.get("DAGFORGE_AIRFLOW3_PYTHON")
    assert airflow3, (
        "set DAGFORGE_AIRFLOW3_PYTHON to the python of a venv with dagforge and Airflow 3 (.ci/run does)"
    )
    tmp = tmp_path_factory.mktemp("both")
    specs = tmp / "specs"
    specs.mkdir()
    for spec in (ROOT / "specs").glob("*.yaml"):
        (specs / spec.name).write_text(spec.read_text())
    for dag_id, (schedule, tz, start) in EXTRA.items():
        (specs / f"{dag_id}.yaml").write_text(
            f"schedule: {schedule}\ntimezone: {tz}\nstart_date: {start}\ntasks:\n  t: {{operator: empty}}\n"
        )
    # the examples' own code, imported from the working folder and, by the DAG files, sys.path
    shutil.copytree(ROOT / "example_team", tmp / "example_team")
    env = {**os.environ, "PYTHONPATH": str(tmp)}
    with contextlib.chdir(tmp):
        two = dagforge.build([specs], tmp / "out2", verify=True, airflow="2")
    assert two.ok and two.verified
    r = subprocess.run(
        [
            airflow3,
            "-m",
            "dagforge.cli",
            "build",
            str(specs),
            "-o",
            str(tmp / "out3"),
            "--airflow",
            "3",
            "--verify",
        ],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=env,
    )
    assert r.returncode == 0, r.stderr
    found = {}
    for version, python in (("2", sys.executable), ("3", airflow3)):
        r = subprocess.run(
            [
                python,
                str(NEXT_RUNS),
                str(tmp / f"out{version}"),
                str(tmp / f"runs{version}.json"),
                "12",
            ],
            capture_output=True,
            text=True,
            cwd=tmp,
            env=env,
        )
        assert r.returncode == 0, r.stderr
        found[version] = json.loads((tmp / f"runs{version}.json").read_text())
    return found


def _cron_dag_ids(found):
    return sorted(
        dag_id for dag_id, r in found["3"].items() if r["timetable"] == "CronTriggerTimetable"
    )


def test_cron_schedules_run_at_the_same_times_on_both_versions(runs):
    cron = _cron_dag_ids(runs)
    assert set(cron) >= {
        "etl_orders",
        "mlops_churn_model",
        "sales_report_weekdays",
        "dst_spring",
        "dst_autumn",
    }
    for dag_id in cron:
        assert runs["2"][dag_id] == runs["3"][dag_id], dag_id
        assert len(runs["3"][dag_id]["runs"]) == 12
        for run in runs["3"][dag_id][
            "runs"
        ]:  # a run at each cron time: its logical date is its own time
            assert run["data_interval"] == [run["run_after"], run["run_after"]]


def test_the_runs_are_the_cron_times_in_the_spec_time_zone(runs):
    """An oracle independent of both versions: the spec's wall-clock times, read in its time zone."""
    from zoneinfo import ZoneInfo

    def local(dag_id, tz):
        return [
            datetime.fromisoformat(r["run_after"]).astimezone(ZoneInfo(tz))
            for r in runs["2"][dag_id]["runs"]
        ]

    etl = local("etl_orders", "Europe/Berlin")  # "30 1 * * *" from 2024-01-01
    assert [(t.date().isoformat(), t.hour, t.minute) for t in etl[:3]] == [
        ("2024-01-01", 1, 30),
        ("2024-01-02", 1, 30),
        ("2024-01-03", 1, 30),
    ]
    sales = local("sales_report_weekdays", "Asia/Seoul")  # "30 7 * * 1-5" from Monday 2024-03-04
    assert [t.weekday() for t in sales[:6]] == [0, 1, 2, 3, 4, 0]
    assert {(t.hour, t.minute) for t in sales} == {(7, 30)}
    autumn = local(
        "dst_autumn", "Europe/Berlin"
    )  # 02:30 every day, across the change back to winter time
    assert [t.day for t in autumn[:6]] == [24, 25, 26, 27, 28, 29]
    assert {(t.hour, t.minute) for t in autumn} == {(2, 30)}


def test_a_duration_runs_one_duration_later_on_airflow_2_10_as_the_build_warns(runs):
    two, three = runs["2"]["every_90m"], runs["3"]["every_90m"]
    assert (two["timetable"], three["timetable"]) == (
        "DeltaDataIntervalTimetable",
        "DeltaTriggerTimetable",
    )
    assert three["runs"][0]["run_after"] == "2024-01-01T00:00:00+00:00"  # Airflow 3: at start_date
    assert two["runs"][0]["run_after"] == "2024-01-01T01:30:00+00:00"  # 2.10: one duration later
    assert [r["run_after"] for r in two["runs"]][:11] == [r["run_after"] for r in three["runs"]][1:]
    for run in two[
        "runs"
    ]:  # 2.10: the logical date is the start of the interval, 90 minutes before the run
        start, end = map(datetime.fromisoformat, run["data_interval"])
        assert (end - start, end.isoformat()) == (timedelta(minutes=90), run["run_after"])
    assert two["without_catchup"]["run_after"] == three["without_catchup"]["run_after"]
