"""Callbacks at every level: the DAG run's (`callbacks:` at spec level), a group's tasks'
(`defaults: {callbacks: ...}`) and a task's own, each a `module:function`, a `{function: ...}` with
keywords bound or an `{object: ...}` (a notifier), beside the alert mails of `alerts:` (both fire).
Real builds (the `dagforge` CLI in a subprocess, Airflow's real DagBag) over a user module."""

import functools
import re
import sys
import textwrap

import pytest
from conftest import load_dagbag, run_cli

import dagforge
from dagforge.load import load
from dagforge.model import build_model
from dagforge.verify import _compare, expectations

ALERTS = """\
    def notify(context, channel="#general"):
        pass

    def dag_failed(context):
        pass

    def retrying(context):
        pass

    class Pager:
        def __init__(self, service, urgent=False):
            self.service = service
            self.urgent = urgent

        def __call__(self, context):
            pass
"""

SPEC = """\
start_date: 2024-01-01
alerts:
  emails: [oncall@example.com]
  on_success: true
callbacks:
  on_failure: [alerts:dag_failed]
  on_success: [{object: alerts.Pager, service: data}]
defaults:
  callbacks:
    on_skipped: [{object: alerts.Pager, service: every}]
tasks:
  extract:
    operator: bash
    bash_command: echo hi
    callbacks:
      on_execute: [alerts:retrying]
      on_failure: [{function: alerts:notify, channel: "#data"}]
      on_retry: [alerts:retrying]
      on_success: [alerts:retrying]
      on_skipped: [{object: alerts.Pager, service: skips, urgent: true}]
  report:
    defaults:
      callbacks:
        on_failure: [{object: alerts.Pager, service: report}]
    tasks:
      summary: {operator: bash, bash_command: echo a}
      mail:
        operator: bash
        bash_command: echo b
        callbacks: {on_retry: [alerts:retrying]}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "alerts.py").write_text(textwrap.dedent(ALERTS))
    (tmp_path / "specs").mkdir()
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    sys.modules.pop("alerts", None)


def _names(callbacks) -> list[str]:
    """The loaded callbacks of one event, by what they are: the mail by its recipients, functions
    by name (partials with their keywords), objects by class and service."""
    out = []
    for cb in callbacks if isinstance(callbacks, list) else [callbacks] if callbacks else []:
        if type(cb).__name__ == "SmtpNotifier":
            out.append(f"mail {cb.to}")
        elif isinstance(cb, functools.partial):
            out.append(f"{cb.func.__name__}{cb.keywords}")
        elif type(cb).__name__ == "Pager":
            out.append(f"Pager {cb.service} {cb.urgent}")
        else:
            out.append(cb.__name__)
    return out


def test_callbacks_at_every_level_fire_with_the_alert_mails(project):
    (project / "specs" / "cb.yaml").write_text(SPEC)
    r = run_cli("build", "specs", "-o", "out", cwd=project)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 verified" in r.stdout + r.stderr
    dag = load_dagbag(project / "out").dags["cb"]
    assert _names(dag.on_failure_callback) == ["dag_failed"]
    assert [type(c).__name__ for c in dag.on_success_callback] == ["DagSuccessMail", "Pager"]
    extract = dag.task_dict["extract"]
    assert _names(extract.on_failure_callback) == [
        "mail ['oncall@example.com']",
        "notify{'channel': '#data'}",
    ]
    assert _names(extract.on_execute_callback) == ["retrying"]
    assert _names(extract.on_retry_callback) == ["retrying"]
    assert _names(extract.on_success_callback) == ["retrying"]
    assert _names(extract.on_skipped_callback) == ["Pager skips True"]
    # the spec's and a group's defaults reach its tasks, the mail with them, event by event (as
    # Airflow merges default_args); a task's own callbacks replace the events it names
    summary, mail = dag.task_dict["report.summary"], dag.task_dict["report.mail"]
    assert _names(summary.on_failure_callback) == [
        "mail ['oncall@example.com']",
        "Pager report False",
    ]
    assert _names(summary.on_skipped_callback) == ["Pager every False"]
    assert _names(mail.on_failure_callback) == _names(summary.on_failure_callback)
    assert _names(mail.on_retry_callback) == ["retrying"]
    assert _names(mail.on_skipped_callback) == ["Pager every False"]

    words = dagforge.explain(project / "specs" / "cb.yaml").text
    assert "Run on_failure: alerts:dag_failed" in words
    assert "on_failure: alerts:notify(channel='#data')" in words
    assert "on_skipped: Pager(service='skips', urgent=True)" in words


def test_verification_tells_other_callbacks(project):
    (project / "specs" / "cb.yaml").write_text(SPEC)
    r = run_cli("build", "specs", "-o", "out", "--no-verify", cwd=project)
    assert r.returncode == 0, r.stderr
    dag = load_dagbag(project / "out").dags["cb"]
    exp = expectations(build_model(load(project / "specs" / "cb.yaml")))
    assert _compare(dag, exp) == []
    exp["callbacks"]["on_failure"][0]["$function"] = "alerts:retrying"
    exp["tasks"]["extract"]["callbacks"]["on_failure"][0]["kwargs"]["channel"] = "#ops"
    exp["tasks"]["extract"]["callbacks"]["on_skipped"][0]["kwargs"]["urgent"] = False
    exp["tasks"]["report.summary"]["callbacks"]["on_failure"] = []
    problems = _compare(dag, exp)
    assert len(problems) == 4, problems
    assert any("on_failure callbacks" in p and "alerts:dag_failed" in p for p in problems)
    assert any("'#ops'" in p for p in problems)
    assert any("on_skipped" in p and "'urgent': True" in p for p in problems)
    assert any("report.summary': on_failure" in p for p in problems)


@pytest.mark.parametrize(
    ("callback", "message", "hint"),
    [
        (
            "{object: alerts.Pager, servise: data}",
            r"4:\d+: error: Pager\(service, urgent=False\) has no argument 'servise'",
            "did you mean 'service'?",
        ),
        (
            "alerts:dag_faild",
            r"4:\d+: error: function 'alerts:dag_faild': module 'alerts' has no 'dag_faild'",
            "did you mean 'dag_failed'?",
        ),
        (
            "{function: alerts:notify, chanel: x}",
            r"4:\d+: error: notify\(context, channel='#general'\) has no argument 'chanel'",
            "did you mean 'channel'?",
        ),
        (
            "{object: alerts.Pager}",
            r"4:\d+: error: Pager\(service, urgent=False\) cannot be made so: missing a required "
            r"argument: 'service'",
            "give the arguments it needs",
        ),
        (
            "alerts_typo:dag_failed",
            r"4:\d+: warning: function 'alerts_typo:dag_failed': module 'alerts_typo' is not "
            r"installed",
            "did you mean 'alerts'?",
        ),
    ],
)
def test_a_wrong_callback_is_a_located_error_with_a_did_you_mean(project, callback, message, hint):
    spec = f"start_date: 2024-01-01\ncallbacks:\n  on_failure:\n    - {callback}\n"
    spec += "tasks:\n  t: {operator: empty}\n"
    (project / "specs" / "pipe.yaml").write_text(spec)
    r = run_cli("validate", "specs", cwd=project)
    out = r.stdout + r.stderr
    assert re.search("specs/pipe.yaml:" + message, out), out
    assert hint in out, out
    assert "internal error" not in out


def test_a_callback_event_or_path_that_is_not_one_is_a_located_error(write_spec):
    path = write_spec(
        """\
        start_date: 2024-01-01
        callbacks:
          on_retry: [a.b:c]
        tasks:
          t:
            operator: empty
            callbacks:
              on_faillure: [a.b:c]
              on_failure: ["os; rm -rf /"]
        """
    )
    found = {(d.line, d.message, d.hint) for d in dagforge.validate([path]).specs[0].diagnostics}
    # a DAG run has no retries: its events are on_success and on_failure
    assert any(line == 3 and "unknown key 'on_retry'" in message for line, message, _ in found)
    assert any(line == 8 and "did you mean 'on_failure'?" in hint for line, _, hint in found)
    assert any(
        line == 9 and "is not the import path of a function" in message
        for line, message, _ in found
    ), found


def test_a_notifier_of_the_users_is_no_alert_mail(tmp_path):
    """An SmtpNotifier given under `callbacks:` is the user's callback, compared as one; the alert
    mail's recipients are those of the mail dagforge writes first, and only when the spec has one
    (verification took every SmtpNotifier for the alert mail and refused the file)."""
    notifier = (
        "{object: airflow.providers.smtp.notifications.smtp.SmtpNotifier, to: pager@example.com}"
    )
    (tmp_path / "specs").mkdir()
    for name, alerts in (("mailed", "alerts: {emails: [oncall@example.com]}\n"), ("bare", "")):
        (tmp_path / "specs" / f"{name}.yaml").write_text(
            f"start_date: 2024-01-01\n{alerts}tasks:\n"
            f"  t: {{operator: empty, callbacks: {{on_failure: [{notifier}]}}}}\n"
        )
    r = run_cli("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    for name in ("mailed", "bare"):  # the class imported once, under its own name
        code = (tmp_path / "out" / f"{name}.py").read_text()
        assert code.count("import SmtpNotifier\n") == 1 and "SmtpNotifier as" not in code, code
    bag = load_dagbag(tmp_path / "out")
    for name, to in (("mailed", [["oncall@example.com"], "pager@example.com"]), ("bare", [])):
        dag = bag.dags[name]
        assert [cb.to for cb in dag.task_dict["t"].on_failure_callback] == [
            *to[:1],
            "pager@example.com",
        ]
        exp = expectations(build_model(load(tmp_path / "specs" / f"{name}.yaml")))
        assert _compare(dag, exp) == []
        exp["tasks"]["t"]["callbacks"]["on_failure"] = []
        assert len(_compare(dag, exp)) == 1
