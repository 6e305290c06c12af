"""`dagforge serve` against the real thing: Airflow's api-server, scheduler, dag-processor and
triggerer started by the real CLI, runs triggered through the REST API v2, mails at a real SMTP
server, edits of the spec picked up, and nothing left running after SIGTERM.

One serve is started for the module (starting Airflow costs most of the time) and the tests go
through one story in order: run, refuse a second serve, a valid edit, an invalid edit, stop.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
from conftest import run_cli

POSTGRES = os.environ.get("DAGFORGE_TEST_POSTGRES_URL")
requires_postgres = pytest.mark.skipif(
    not POSTGRES and not os.environ.get("CI"),
    reason="needs a PostgreSQL database: set DAGFORGE_TEST_POSTGRES_URL (.ci/run starts one)",
)

SPEC = """\
description: dagforge serve test
owner: test
schedule: null
start_date: 2024-01-01
catchup: false
alerts:
  emails: [team@example.com]
  on_retry: true
  on_success: true
tasks:
  hello:
    operator: bash
    bash_command: "echo hello"
  flaky:
    operator: bash
    bash_command: "test -e {mark} || {{ touch {mark}; exit 1; }}"
    retries: 1
    retry_delay: 1s
    dependencies: [hello]
"""
ADDED = """\
  added:
    operator: bash
    bash_command: "echo added"
    dependencies: [flaky]
"""
NO_SMTP = {"AIRFLOW_CONN_SMTP_DEFAULT": None}  # serve catches the mails itself
READY = 300  # seconds for serve to build and start Airflow on a busy machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Serve:
    """A `dagforge serve` child process and everything it printed so far."""

    def __init__(self, cwd: Path, args: list[str], env: dict[str, str]):
        self.cwd = cwd
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out: list[str] = []
        self.err: list[str] = []
        exe = Path(sys.executable).with_name("dagforge")
        self.proc = subprocess.Popen(
            [str(exe), "serve", *args, "--port", str(self.port)],
            cwd=cwd,
            env={k: v for k, v in {**os.environ, **env}.items() if v is not None},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for pipe, lines in ((self.proc.stdout, self.out), (self.proc.stderr, self.err)):
            threading.Thread(target=lambda p=pipe, ls=lines: ls.extend(p), daemon=True).start()
        self.wait_for(lambda: any("Airflow UI at" in line for line in self.out), READY, "ready")
        self.descendants = psutil.Process(self.proc.pid).children(recursive=True)

    def wait_for(self, condition, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if value := condition():
                return value
            if self.proc.poll() is not None:
                break
            time.sleep(1)
        raise AssertionError(f"serve: no {what} in {seconds} s; it printed:\n{self.printed()}")

    def printed(self) -> str:
        return "".join(self.out) + "".join(self.err[-80:])

    def api(self, path: str, password: str | None = None):
        """GET `path` of the REST API v2 with a token: without a login, or as admin (--auth)."""
        login = urllib.request.Request(
            f"{self.url}/auth/token",
            data=password and json.dumps({"username": "admin", "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login) as r:
            token = json.load(r)["access_token"]
        request = urllib.request.Request(
            self.url + path, headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request) as r:
            return json.load(r)

    def stop(self) -> float:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        return time.monotonic() - started


@pytest.fixture(scope="module")
def served(tmp_path_factory, smtp_server):
    folder = tmp_path_factory.mktemp("serve")
    (folder / "specs").mkdir()
    spec = folder / "specs" / "served.yaml"
    spec.write_text(SPEC.format(mark=folder / "flaky-ran-once"), encoding="utf-8")
    serve = Serve(
        folder,
        ["specs", "-o", "dags", "--state", "state"],
        {"AIRFLOW_CONN_SMTP_DEFAULT": smtp_server.url},
    )
    serve.spec = spec
    yield serve
    if serve.proc.poll() is None:
        serve.stop()


def test_a_triggered_run_retries_mails_and_succeeds(served, smtp_server):
    assert f"dagforge: Airflow UI at {served.url} — 1 DAGs\n" in served.out
    # without -v, Airflow's log shows only its warnings and errors
    assert not [line for line in served.err if " | " in line and "[info" in line], served.err
    smtp_server.mails.clear()
    done = run_cli("trigger", "served", "--state", "state", cwd=served.cwd, timeout=300)
    assert done.returncode == 0, done.stderr + served.printed()
    rows = {line.split()[0]: line.split()[1:3] for line in done.stdout.splitlines()[1:]}
    assert rows == {"hello": ["success", "1"], "flaky": ["success", "2"]}, done.stdout
    # what Airflow itself says, through the REST API v2
    runs = served.api("/api/v2/dags/served/dagRuns")["dag_runs"]
    assert [r["state"] for r in runs] == ["success"]
    tis = served.api(f"/api/v2/dags/served/dagRuns/{runs[0]['dag_run_id']}/taskInstances")
    tries = {ti["task_id"]: (ti["state"], ti["try_number"]) for ti in tis["task_instances"]}
    assert tries == {"hello": ("success", 1), "flaky": ("success", 2)}
    # the retry mail (the task's SmtpNotifier) and the DAG's success mail, which only the
    # scheduler sends (its DAG callback runs in the dag-processor)
    mails = served.wait_for(
        lambda: len(smtp_server.mails) >= 2 and list(smtp_server.mails), 120, "two mails"
    )
    assert {m.recipients for m in mails} == {("team@example.com",)}
    subjects = " | ".join(m.subject for m in mails)
    assert any("Task flaky" in m.subject for m in mails), subjects
    assert any(m.subject.startswith("DAG served succeeded: run ") for m in mails), subjects


def test_a_second_serve_on_the_same_state_folder_is_refused(served):
    second = run_cli(
        "serve", "specs", "-o", "dags", "--state", "state", "--port", free_port(), cwd=served.cwd
    )
    assert second.returncode == 2
    assert "another dagforge serve is running on the state folder" in second.stderr


def test_an_edit_shows_in_airflow(served):
    served.spec.write_text(served.spec.read_text() + ADDED, encoding="utf-8")

    def tasks():
        return {t["task_id"] for t in served.api("/api/v2/dags/served/tasks")["tasks"]}

    assert served.wait_for(lambda: "added" in tasks(), 180, "task 'added' in the API")


def test_a_defaults_file_above_the_specs_is_watched_too(served):
    # the working folder's defaults.yaml applies to specs/served.yaml; it is not in the folder given
    (served.cwd / "defaults.yaml").write_text("tags: [from_defaults]\n", encoding="utf-8")
    dag = served.cwd / "dags" / "served.py"
    served.wait_for(lambda: "from_defaults" in dag.read_text(), 120, "a rebuild with the tag")


def test_an_invalid_edit_is_located_and_the_last_good_dag_stays(served):
    good = (served.cwd / "dags" / "served.py").read_text()
    assert "added" in good
    served.spec.write_text(
        served.spec.read_text().replace("dependencies: [flaky]", "dependencies: [nowhere]")
    )
    served.wait_for(
        lambda: any("served.yaml:" in line and ": error:" in line for line in served.err),
        120,
        "located error",
    )
    line = next(line for line in served.err if ": error:" in line)
    assert line.startswith("specs/served.yaml:23:"), line
    assert (served.cwd / "dags" / "served.py").read_text() == good
    time.sleep(6)  # a parse of the folder later, Airflow still has the DAG, task 'added' too
    assert "added" in {t["task_id"] for t in served.api("/api/v2/dags/served/tasks")["tasks"]}


def test_sigterm_stops_everything(served):
    assert len(served.descendants) >= 4  # the four components (and their own children)
    seconds = served.stop()
    assert served.proc.returncode == 128 + signal.SIGTERM, served.printed()
    assert seconds < 30, seconds
    assert_nothing_left(served)
    print(f"serve stopped in {seconds:.1f} s")


def assert_nothing_left(serve: Serve) -> None:
    home = str(serve.cwd / "state" / "airflow-home")
    left = [p for p in serve.descendants if p.is_running() and p.status() != "zombie"]
    for p in psutil.process_iter():
        try:
            if p.environ().get("AIRFLOW_HOME") == home:
                left.append(p)
        except psutil.Error:
            pass
    assert not left, left
    assert not (serve.cwd / "state" / "serve.json").exists()


def test_the_example_specs_load_in_the_served_airflow(tmp_path):
    """The examples (their own code in example_team/ included) served as a user would from a clone:
    every DAG in the API, no import error, and nothing left after SIGTERM."""
    repo = Path(__file__).resolve().parent.parent
    for name in ("specs", "example_team"):
        shutil.copytree(repo / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    expected = {p.stem for p in (repo / "generated_dags").glob("*.py")}
    serve = Serve(tmp_path, ["specs", "-o", "dags", "--state", "state"], NO_SMTP)
    try:

        def dag_ids():
            return {d["dag_id"] for d in serve.api("/api/v2/dags?limit=100")["dags"]}

        serve.wait_for(lambda: dag_ids() == expected, 180, f"the {len(expected)} example DAGs")
        assert serve.api("/api/v2/importErrors")["total_entries"] == 0
        assert any(f"— {len(expected)} DAGs" in line for line in serve.out), serve.printed()
    finally:
        serve.stop()
    assert serve.proc.returncode == 128 + signal.SIGTERM, serve.printed()
    assert_nothing_left(serve)


@requires_postgres
def test_on_postgresql_with_a_login_and_the_mail_sink(tmp_path):
    """--database with a PostgreSQL, --auth, --trigger, and no smtp_default: the mails are caught."""
    assert POSTGRES, "CI=true: .ci/run starts a PostgreSQL and sets DAGFORGE_TEST_POSTGRES_URL"
    (tmp_path / "specs").mkdir()
    # one task: the retry is the SQLite test's; this one is about the database, login and sink
    spec = SPEC.format(mark="x").replace("served", "served_pg").split("  flaky:")[0]
    (tmp_path / "specs" / "served_pg.yaml").write_text(spec, encoding="utf-8")
    serve = Serve(
        tmp_path,
        [
            "specs",
            "-o",
            "dags",
            "--state",
            "state",
            "--database",
            POSTGRES,
            "--trigger",
            "served_pg",
            "--auth",
        ],
        {"AIRFLOW_CONN_SMTP_DEFAULT": None},
    )
    try:
        serve.wait_for(
            lambda: [line for line in serve.err if line.startswith("run manual__")], 300, "run"
        )
        assert any(" of served_pg: success in " in line for line in serve.err), serve.printed()
        mail = "dagforge: mail to team@example.com: DAG served_pg succeeded: run manual__"
        serve.wait_for(lambda: any(line.startswith(mail) for line in serve.err), 120, "mail")
        kept = sorted((tmp_path / "state" / "mail").glob("*.eml"))
        assert [b"Subject: DAG served_pg succeeded" in p.read_bytes() for p in kept] == [True]
        # --auth: no token without the password printed at the start, one with it
        with pytest.raises(urllib.error.HTTPError) as refused:
            serve.api("/api/v2/dags")
        assert refused.value.code == 403
        said = next(line for line in serve.err if "log in as admin with the password" in line)
        password = said.split()[-4]
        assert serve.api("/api/v2/dags", password)["total_entries"] == 1
        import psycopg

        with psycopg.connect(POSTGRES) as db:  # the run is in PostgreSQL
            states = db.execute("SELECT state FROM dag_run WHERE dag_id = 'served_pg'").fetchall()
        assert ("success",) in states
    finally:
        serve.stop()
    assert serve.proc.returncode == 128 + signal.SIGTERM, serve.printed()
    assert_nothing_left(serve)
    assert not (tmp_path / "state" / "airflow-home" / "airflow.db").exists()  # not SQLite


def test_trigger_without_a_serve_and_serve_on_a_taken_port_say_so(tmp_path):
    r = run_cli("trigger", "some_dag", "--state", tmp_path / "none", cwd=tmp_path)
    assert r.returncode == 2
    assert "no dagforge serve is running on the state folder" in r.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = run_cli("serve", "specs", "--state", tmp_path / "state", "--port", port, cwd=tmp_path)
    assert r.returncode == 2
    assert (
        f"dagforge: error: port {port} on 127.0.0.1 is in use: give serve another with --port"
        in r.stderr
    )


def test_the_mail_sink_keeps_and_tells_each_mail(tmp_path):
    import smtplib

    from dagforge.mailsink import MailSink

    seen = []
    sink = MailSink(tmp_path / "mail", lambda to, subject: seen.append((to, subject)))
    sink.start()
    try:
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.sendmail(
                "a@example.com",
                ["x@example.com", "y@example.com"],
                "Subject: task failed\r\n\r\nbody\r\n",
            )
    finally:
        sink.stop()
    assert seen == [(["x@example.com", "y@example.com"], "task failed")]
    assert b"body" in (tmp_path / "mail" / "00001.eml").read_bytes()
