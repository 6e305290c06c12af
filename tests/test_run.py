"""`dagforge run`, end to end: real Airflow (`airflow dags test`), real retries, real mails to a real
SMTP server on 127.0.0.1. Nothing is mocked.

Each run costs Airflow about ten seconds, so a run is shared by the tests that look at it (the
module fixtures), and most runs use one migrated Airflow home (`--use-airflow-home`). The test reads
that home's SQLite database itself, independently of dagforge, for try and start times.
"""

import itertools
import os
import re
import sqlite3
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest
from conftest import ROOT, run_cli

import dagforge

RECIPIENTS = ["oncall@example.com", "lead@example.com"]

# boom fails every try (3 with retries: 2, 2 s apart), mailing on each retry and on the final
# failure; silent fails twice with its alerts off; after never runs; fine succeeds.
FAILING = """
dag_id: run_failing
start_date: 2024-01-01
alerts:
  emails: [oncall@example.com, lead@example.com]
  on_failure: true
  on_retry: true
  on_success: true
tasks:
  fine:
    operator: bash
    bash_command: "echo fine"
  boom:
    operator: bash
    bash_command: "echo 'boom ds={{ ds }} marker={{ dag_run.conf[\\"marker\\"] }}'; exit 3"
    dependencies: [fine]
    retries: 2
    retry_delay: 2s
  silent:
    operator: bash
    bash_command: "echo silent; exit 4"
    retries: 1
    retry_delay: 1s
    alerts: {on_failure: false, on_retry: false}
  after:
    operator: empty
    dependencies: [boom]
"""

# wobbly fails its first try in each run and succeeds on the retry: one retry mail, then the run
# succeeds: one success mail, and no failure mail.
SUCCEEDING = """
dag_id: run_succeeding
start_date: 2024-01-01
alerts:
  emails: [oncall@example.com, lead@example.com]
  on_failure: true
  on_retry: true
  on_success: true
tasks:
  wobbly:
    operator: bash
    bash_command: "test -e 'MARKERS/{{ run_id }}' || { touch 'MARKERS/{{ run_id }}'; exit 1; }"
    retries: 1
    retry_delay: 1s
  then:
    operator: empty
    dependencies: [wobbly]
"""


def _table(stdout: str) -> dict[str, list[str]]:
    """The printed table: task -> [state, tries, duration]."""
    lines = stdout.strip().splitlines()
    assert lines[0].split() == ["task", "state", "tries", "duration"], stdout
    return {row.split()[0]: row.split()[1:] for row in lines[1:]}


def _newest_run(home, dag_id: str) -> dict[str, list[tuple]]:
    """Straight from Airflow's database: task -> [(try, start, end), ...] of the DAG's newest run."""
    with sqlite3.connect(home / "airflow.db") as db:
        (run_id,) = db.execute(
            "SELECT run_id FROM dag_run WHERE dag_id = ? ORDER BY id DESC LIMIT 1", (dag_id,)
        ).fetchone()
        rows = db.execute(
            "SELECT task_id, try_number, start_date, end_date FROM task_instance_history WHERE dag_id = ?1 AND run_id = ?2"
            " UNION SELECT task_id, try_number, start_date, end_date FROM task_instance WHERE dag_id = ?1 AND run_id = ?2",
            (dag_id, run_id),
        ).fetchall()
    tries = {}
    for task, n, start, end in sorted(rows, key=lambda r: (r[0], r[1])):
        tries.setdefault(task, []).append(
            (n, start and datetime.fromisoformat(start), end and datetime.fromisoformat(end))
        )
    return tries


def _mails(mails) -> list[tuple]:
    """Mails as comparable data: (sorted envelope recipients, subject without the run id)."""
    return sorted(
        (tuple(sorted(m.recipients)), re.sub(r"manual__\S+", "<run>", m.subject)) for m in mails
    )


def _spec(folder, text: str, name: str):
    path = folder / f"{name}.yaml"
    path.write_text(
        textwrap.dedent(text).lstrip().replace("MARKERS", str(folder)), encoding="utf-8"
    )
    return path


@pytest.fixture(scope="module")
def failing(tmp_path_factory, airflow_home, smtp_server):
    folder = tmp_path_factory.mktemp("failing")
    spec = _spec(folder, FAILING, "run_failing")
    smtp_server.mails.clear()
    proc = run_cli(
        "run",
        spec,
        "--use-airflow-home",
        "--logical-date",
        "2024-06-01",
        "--conf",
        '{"marker": "m-42"}',
        cwd=folder,
        env={"AIRFLOW_HOME": str(airflow_home), "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url},
    )
    return SimpleNamespace(
        spec=spec,
        proc=proc,
        mails=list(smtp_server.mails),
        tries=_newest_run(airflow_home, "run_failing"),
        conf='{"marker": "m-42"}',
    )


@pytest.fixture(scope="module")
def succeeding(tmp_path_factory, smtp_server):
    """The default path: a throwaway Airflow home that dagforge prepares itself."""
    folder = tmp_path_factory.mktemp("succeeding")
    spec = _spec(folder, SUCCEEDING, "run_succeeding")
    smtp_server.mails.clear()
    proc = run_cli("run", spec, cwd=folder, env={"AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url})
    return SimpleNamespace(spec=spec, proc=proc, mails=list(smtp_server.mails), conf=None)


def test_failed_run_exits_1_with_table_and_the_failed_tasks_logs(failing):
    r = failing.proc
    assert r.returncode == 1, r.stderr
    table = _table(r.stdout)
    assert {task: row[:2] for task, row in table.items()} == {
        "fine": ["success", "1"],
        "boom": ["failed", "3"],
        "silent": ["failed", "2"],
        "after": ["upstream_failed", "0"],
    }
    assert table["after"][2] == "-"
    assert "Traceback" not in r.stderr
    boom = r.stderr.split("task 'boom' failed after 3 tries; the last lines of its log:\n")[1]
    assert "boom ds=2024-06-01 marker=m-42" in boom  # --logical-date and --conf reached the task
    assert "The command returned a non-zero exit code 3." in boom
    assert "task 'silent' failed after 2 tries" in r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("run manual__") and " of run_failing: failed in " in last
    assert re.search(r"\(failed: (boom, silent|silent, boom)\)$", last)


def test_retries_are_real_and_wait_for_retry_delay(failing):
    boom, silent = failing.tries["boom"], failing.tries["silent"]
    assert [n for n, _, _ in boom] == [1, 2, 3]
    assert [n for n, _, _ in silent] == [1, 2]
    for tries, delay in ((boom, timedelta(seconds=2)), (silent, timedelta(seconds=1))):
        starts = [start for _, start, _ in tries]
        assert all(later - earlier >= delay for earlier, later in itertools.pairwise(starts)), (
            starts
        )


def test_a_mail_per_retry_and_per_final_failure_none_when_off(failing):
    assert (
        len(failing.mails) == 3
    )  # boom: 2 retries + 1 failure; silent (alerts off), after, success: none
    for mail in failing.mails:
        assert sorted(mail.recipients) == sorted(RECIPIENTS)
        assert sorted(a.strip() for a in mail.to.split(",")) == sorted(RECIPIENTS)
        assert mail.sender == "airflow@example.com"
        assert "DAG run_failing" in mail.subject and "Task boom" in mail.subject
    states = sorted(re.search(r"in State (\S+)$", m.subject).group(1) for m in failing.mails)
    assert states == [
        "TaskInstanceState.FAILED",
        "TaskInstanceState.UP_FOR_RETRY",
        "TaskInstanceState.UP_FOR_RETRY",
    ]


def test_successful_run_in_a_throwaway_home_mails_the_retry_and_the_success(succeeding):
    r = succeeding.proc
    assert r.returncode == 0, r.stderr
    assert "in a throwaway Airflow home" in r.stderr and "AIRFLOW_CONN_SMTP_DEFAULT" not in r.stderr
    table = _table(r.stdout)
    assert {task: row[:2] for task, row in table.items()} == {
        "wobbly": ["success", "2"],
        "then": ["success", "1"],
    }
    assert r.stderr.strip().splitlines()[-1].startswith("run manual__")
    assert ": success in " in r.stderr
    assert _mails(succeeding.mails) == [
        (
            tuple(sorted(RECIPIENTS)),
            "DAG run_succeeding - Task wobbly - Run ID <run> in State TaskInstanceState.UP_FOR_RETRY",
        ),
        (tuple(sorted(RECIPIENTS)), "DAG run_succeeding succeeded: run <run>"),
    ]


def test_example_from_specs_succeeds_in_dependency_order(airflow_home, smtp_server):
    smtp_server.mails.clear()
    r = run_cli(
        "run",
        "specs/infra_housekeeping.yaml",
        "--use-airflow-home",
        "--logical-date",
        "2024-06-01",
        cwd=ROOT,
        env={"AIRFLOW_HOME": str(airflow_home), "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url},
    )
    assert r.returncode == 0, r.stderr
    assert {task: row[:2] for task, row in _table(r.stdout).items()} == {
        task: ["success", "1"]
        for task in ("check_disk", "purge_scratch", "trim_metadata_db", "done")
    }
    runs = _newest_run(airflow_home, "infra_housekeeping")
    [(_, _start, end)] = runs["check_disk"]
    for task in ("purge_scratch", "trim_metadata_db"):
        assert runs[task][0][1] >= end
    assert runs["done"][0][1] >= max(runs["purge_scratch"][0][2], runs["trim_metadata_db"][0][2])
    assert smtp_server.mails == []  # nothing failed, and on_success is off


@pytest.mark.parametrize("scenario", ["failing", "succeeding"])
def test_generated_file_sends_the_same_mails_under_plain_airflow_dags_test(
    scenario, request, tmp_path, airflow_home, smtp_server
):
    """`dagforge run` adds nothing: the generated file, run by Airflow alone, mails exactly the same."""
    under_run = request.getfixturevalue(scenario)
    built = dagforge.build([under_run.spec], tmp_path / "dags", verify=False)
    [spec] = built.specs
    smtp_server.mails.clear()
    conf = ["--conf", under_run.conf] if under_run.conf else []
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow",
            "dags",
            "test",
            spec.pipeline.dag_id,
            "2024-06-02",
            *conf,
        ],
        env={
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url,
        },
        capture_output=True,
        text=True,
    )
    assert proc.returncode == (1 if scenario == "failing" else 0), proc.stdout[-3000:]
    assert under_run.mails and _mails(smtp_server.mails) == _mails(under_run.mails)


NOTIFIER_DAG = """
import pendulum
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG(
    dag_id="stock_notifier",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    on_success_callback=SmtpNotifier(
        to=["oncall@example.com"],
        subject="DAG {{ dag_run.dag_id }} succeeded: run {{ dag_run.run_id }}",
        html_content="DAG {{ dag_run.dag_id }} succeeded: run {{ dag_run.run_id }}",
    ),
):
    EmptyOperator(task_id="only")
"""


def test_smtp_notifier_still_mails_nothing_as_the_dag_success_callback(
    tmp_path, airflow_home, smtp_server
):
    """Why a generated file mails a run's success with its own DagSuccessMail (README, "Choices
    worth knowing"): Airflow's SmtpNotifier, given its own subject and html_content, fails as a
    DAG-level callback under Airflow 3.3's `dags test` (apache/airflow#64649). When this test fails,
    Airflow has fixed that: write `on_success_callback=SmtpNotifier(...)` instead of the class."""
    from conftest import installed_airflow

    if installed_airflow() != "3":
        pytest.skip("Airflow 2.10 hands DAG callbacks the DAG itself")
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "stock_notifier.py").write_text(NOTIFIER_DAG)
    smtp_server.mails.clear()
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "dags", "test", "stock_notifier", "2024-06-02"],
        env={
            **os.environ,
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(tmp_path / "dags"),
            "AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url,
        },
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert smtp_server.mails == []
    error = "AttributeError: 'SerializedDAG' object has no attribute 'get_template_env'"
    assert error in proc.stdout + proc.stderr


def test_without_an_smtp_connection_it_says_so_and_runs_anyway(tmp_path, write_spec, airflow_home):
    (tmp_path / "shop_checks.py").write_text(
        "def validate():\n    raise ValueError('order 7 has no customer')\n"
    )
    write_spec(
        """
        start_date: 2024-01-01
        alerts: {emails: [oncall@example.com]}
        tasks:
          validate: {operator: python, python_callable: "shop_checks:validate"}
          publish: {operator: empty, dependencies: [validate]}
    """,
        "checks.yaml",
    )
    r = run_cli(
        "run",
        "specs/checks.yaml",
        "--use-airflow-home",
        cwd=tmp_path,
        env={"AIRFLOW_HOME": str(airflow_home), "AIRFLOW_CONN_SMTP_DEFAULT": None},
    )
    assert r.returncode == 1
    notices = [
        line for line in r.stderr.splitlines() if "AIRFLOW_CONN_SMTP_DEFAULT is not set" in line
    ]
    assert len(notices) == 1 and notices[0].startswith("dagforge: ")
    assert {task: row[:2] for task, row in _table(r.stdout).items()} == {
        "validate": ["failed", "1"],
        "publish": ["upstream_failed", "0"],
    }
    assert (
        "ValueError: order 7 has no customer" in r.stderr
    )  # the user's module, imported from the working folder
    assert "Traceback" not in r.stderr


def test_run_usage_errors_exit_2(tmp_path, write_spec):
    spec = write_spec(
        "start_date: 2024-01-01\ntasks:\n  hello: {operator: bash, bash_command: 'echo hi'}\n",
        "hello.yaml",
    )
    cases = [
        (["--conf", "{oops"], "dagforge run: error: argument --conf: not valid JSON"),
        (["--conf", "[1, 2]"], "dagforge run: error: argument --conf: must be a JSON object"),
        (
            ["--logical-date", "2024-13-01"],
            "dagforge run: error: argument --logical-date: not an ISO date",
        ),
    ]
    for extra, message in cases:
        r = run_cli("run", spec, *extra, cwd=tmp_path)
        assert r.returncode == 2 and message in r.stderr, r.stderr
    for args, env, message in [
        (["missing.yaml"], {}, "missing.yaml: error: no such file or folder"),
        (["specs"], {}, "dagforge: specs is a folder: dagforge run takes one spec file"),
        (
            [spec, "--use-airflow-home"],
            {"AIRFLOW_HOME": None},
            "dagforge: --use-airflow-home needs AIRFLOW_HOME to be set",
        ),
        (
            [spec, "--use-airflow-home"],
            {"AIRFLOW_HOME": str(tmp_path / "new-home")},
            f"dagforge: the Airflow metadata database {tmp_path / 'new-home' / 'airflow.db'} is not set up: run `airflow db migrate`",
        ),
    ]:
        r = run_cli("run", *args, cwd=tmp_path, env=env)
        assert r.returncode == 2, r.stderr
        assert message in r.stderr.splitlines(), r.stderr
        assert "Traceback" not in r.stderr


def test_invalid_spec_is_reported_exactly_like_build(tmp_path, write_spec):
    write_spec(
        "start_date: 2024-01-01\ntasks:\n  a: {operator: bash, bash_command: x, dependencies: [b]}\n",
        "bad.yaml",
    )
    run = run_cli("run", "specs/bad.yaml", cwd=tmp_path)
    build = run_cli("build", "specs/bad.yaml", "-o", "out", cwd=tmp_path)
    assert run.returncode == build.returncode == 1
    assert run.stderr == build.stderr and "specs/bad.yaml:3:" in run.stderr
    assert run.stdout == ""
