"""`--airflow 2` output in the real Airflow 2.10: every kind of schedule, hostile strings, python
callables, the success mail through a real SMTP server, and verification that catches a difference.
Runs in the Airflow 2.10.5 venv (.ci/run).
"""

import json
import socket
import time

import yaml
from conftest import installed_airflow, load_dagbag, run_cli
from test_render import HOSTILE, _spec
from test_targets import GOOD, SCHEDULES, build_and_check_schedules

import dagforge
from dagforge.verify import verify

assert installed_airflow() == "2", (
    "tests/airflow2 runs where Airflow 2.10 is installed: see .ci/run"
)


def test_every_kind_of_schedule(tmp_path):
    result = build_and_check_schedules(tmp_path, "2")
    warned = [(s.pipeline.dag_id, d.severity) for s in result.specs for d in s.diagnostics]
    differs = [f"sched_{i}" for i, (on_3, on_2, _) in enumerate(SCHEDULES.values()) if on_3 != on_2]
    assert (
        warned == [(dag_id, "warning") for dag_id in differs] and len(differs) == 1
    )  # the duration


def test_hostile_strings_come_out_equal_on_airflow_2_10(tmp_path, monkeypatch):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(yaml.safe_dump(_spec(HOSTILE), allow_unicode=True), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not bag.captured_warnings
    dag = bag.dags["hostile"]
    assert (dag.description, dag.owner, set(dag.tags)) == (HOSTILE[0], HOSTILE[1], set(HOSTILE[:5]))
    for i, s in enumerate(HOSTILE):
        assert dag.task_dict[f"t{i}"].bash_command == s
        assert dag.task_dict[f"t{i}"].env == {"V": s, s[:10] or "k": "v"}
    assert dag.task_dict["mail"].subject == HOSTILE[2]
    assert dag.task_dict["full_path"].cwd == HOSTILE[5]
    assert not list(tmp_path.rglob("PWNED"))


def test_python_callables_and_names_that_could_clash(tmp_path, monkeypatch):
    (tmp_path / "clash.py").write_text(
        "def CronTriggerTimetable(day):\n    return f'ran {day}'\n\n\ndef DAG():\n    return 2\n"
    )
    spec = tmp_path / "clash.yaml"
    spec.write_text(
        "start_date: 2024-01-01\nschedule: '0 3 * * *'\ntasks:\n"
        "  CronTriggerTimetable: {operator: python, python_callable: 'clash:CronTriggerTimetable', op_args: ['{{ ds }}']}\n"
        "  DeltaDataIntervalTimetable: {operator: python, python_callable: 'clash:DAG', dependencies: [CronTriggerTimetable]}\n"
    )
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    monkeypatch.syspath_prepend(str(tmp_path))
    dag = load_dagbag(tmp_path / "out").dags["clash"]
    assert type(dag.timetable).__name__ == "CronTriggerTimetable"
    task = dag.task_dict["CronTriggerTimetable"]
    assert (task.python_callable("d"), task.op_args) == ("ran d", ["{{ ds }}"])
    assert dag.task_dict["DeltaDataIntervalTimetable"].python_callable() == 2


def test_verification_on_airflow_2_10_catches_a_difference(tmp_path):
    """Edited output is caught, and so is the implicit cron string: on 2.10 it means another timetable."""
    spec = tmp_path / "pipe.yaml"
    spec.write_text(GOOD.lstrip() + "retries: 2\nalerts: {emails: [ops@example.com]}\n")
    [built] = dagforge.build([spec], tmp_path / "out", verify=True, airflow="2").specs
    pipeline, code = built.pipeline, built.code
    edits = {
        "implicit": (
            'schedule=CronTriggerTimetable("0 2 * * *", timezone="Asia/Seoul")',
            'schedule="0 2 * * *"',
        ),
        "retries": ('"retries": 2', '"retries": 3'),
        "mail": ('SmtpNotifier(to=["ops@example.com"])', 'SmtpNotifier(to=["ops@example.org"])'),
    }
    files = {}
    for name, (old, new) in edits.items():
        assert old in code, name
        files[tmp_path / f"{name}.py"] = pipeline
        (tmp_path / f"{name}.py").write_text(code.replace(old, new))
    found = verify(files, airflow="2")
    [implicit] = found[tmp_path / "implicit.py"]
    assert (
        "'timetable': 'CronDataIntervalTimetable'" in implicit
        and "'timetable': 'CronTriggerTimetable'" in implicit
    )
    assert found[tmp_path / "retries.py"] == [
        "task 'hello': retries is 3 in the loaded DAG, but the spec says 2"
    ]
    [mail] = found[tmp_path / "mail.py"]
    assert mail.startswith("task 'hello': failure mail recipients is ['ops@example.org']")


def test_airflow_3_build_with_airflow_2_installed_says_so(tmp_path, write_spec):
    write_spec(GOOD)
    r = run_cli("build", "specs", "-o", "out", cwd=tmp_path)  # the default target, Airflow 3
    assert r.returncode == 0, r.stderr
    assert (
        "dagforge: warning: not verified: the installed Airflow is 2.10.5, but the files are written for Airflow 3"
        in r.stderr
    )
    assert "1 built, 0 invalid; not verified (the installed Airflow is 2.10.5" in r.stderr
    r = run_cli("build", "specs", "-o", "out2", "--verify", cwd=tmp_path)
    assert (
        r.returncode == 2
        and "dagforge: error: cannot verify: the installed Airflow is 2.10.5" in r.stderr
    )
    assert not (tmp_path / "out2").exists()
    r = run_cli("build", "specs", "-o", "out3", "--verify", "--airflow", "2", cwd=tmp_path)
    assert r.returncode == 0 and "; 1 verified with Airflow's DagBag" in r.stderr, r.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_success_mail_is_sent_through_the_smtp_provider(tmp_path, monkeypatch):
    """DagSuccessMail, as Airflow 2.10 calls it when a run succeeds, sends through a real SMTP server."""
    from aiosmtpd.controller import Controller

    received = []

    class Inbox:
        async def handle_DATA(self, server, session, envelope):
            received.append((envelope.rcpt_tos, envelope.content.decode()))
            return "250 OK"

    port = _free_port()
    server = Controller(Inbox(), hostname="127.0.0.1", port=port)
    server.start()
    try:
        monkeypatch.setenv(
            "AIRFLOW_CONN_SMTP_DEFAULT",
            json.dumps(
                {
                    "conn_type": "smtp",
                    "host": "127.0.0.1",
                    "port": port,
                    "extra": {
                        "disable_ssl": True,
                        "disable_tls": True,
                        "from_email": "airflow@example.com",
                    },
                }
            ),
        )
        spec = tmp_path / "mailing.yaml"
        spec.write_text(
            GOOD.lstrip() + "alerts: {emails: [a@example.com, b@example.com], on_success: true}\n"
        )
        assert dagforge.build([spec], tmp_path / "out", verify=True, airflow="2").ok
        dag = load_dagbag(tmp_path / "out").dags["mailing"]

        class Run:  # the two attributes of the DagRun that the mail reads
            dag_id, run_id = "mailing", "scheduled__2024-01-01T17:00:00+00:00"

        dag.on_success_callback({"dag": dag, "dag_run": Run()})
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.stop()
    [(to, message)] = received
    assert to == ["a@example.com", "b@example.com"]
    assert "Subject: DAG mailing succeeded: run scheduled__2024-01-01T17:00:00+00:00" in message


def test_kubernetes_pod_without_its_provider_names_the_package(tmp_path):
    """This venv has no apache-airflow-providers-cncf-kubernetes: validation (no Airflow import) says
    which package to install, at the operator's line."""
    spec = tmp_path / "pod.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n  pod:\n    operator: kubernetes_pod\n    image: busybox\n"
    )
    [d] = dagforge.validate([spec]).specs[0].diagnostics
    assert (d.severity, d.line, d.column, d.code) == ("warning", 4, 15, "provider-missing")
    assert "apache-airflow-providers-cncf-kubernetes" in d.message
    assert "pip install apache-airflow-providers-cncf-kubernetes" in d.hint
