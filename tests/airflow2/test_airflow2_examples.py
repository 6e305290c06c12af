"""Every example spec, built with `--airflow 2`, loads in the real Airflow 2.10 DagBag without warnings
and means what it says. Runs in the Airflow 2.10.5 venv (.ci/run); tests/test_examples.py is the
Airflow 3 twin. The expected values are read from the YAML here, independently of dagforge's model.
"""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import yaml

import dagforge
from conftest import ROOT, installed_airflow, load_dagbag

assert installed_airflow() == "2", "tests/airflow2 runs where Airflow 2.10 is installed: see .ci/run"

SPECS = sorted((ROOT / "specs").glob("*.yaml"))
PRESETS = {"@daily": "0 0 * * *", "@weekly": "0 0 * * 0", "@hourly": "0 * * * *"}
# Where the short operator names (and the Airflow 3 paths the specs may give) live on Airflow 2.10.
HOMES_2_10 = {
    "bash": "airflow.operators.bash.BashOperator",
    "airflow.providers.standard.operators.bash.BashOperator": "airflow.operators.bash.BashOperator",
    "empty": "airflow.operators.empty.EmptyOperator",
    "python": "airflow.operators.python.PythonOperator",
    "email": "airflow.providers.smtp.operators.smtp.EmailOperator",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("generated2")
    result = dagforge.build([ROOT / "specs"], out, verify=True, airflow="2")
    assert result.ok, [d.format() for s in result.specs for d in s.diagnostics]
    assert result.verified and not result.warnings
    return out, load_dagbag(out)


def _duration(text):
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    return timedelta(**{units[text[-1]]: int(text[:-1])})


def _callbacks(value):
    return value if isinstance(value, list) else [value] if value else []


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_example_loads_in_airflow_2_10_and_matches_spec(built, spec):
    out, bag = built
    data = yaml.safe_load(spec.read_text())
    dag_id = data.get("dag_id", spec.stem)
    path = out / f"{dag_id}.py"
    assert not bag.import_errors
    assert not bag.captured_warnings.get(str(path))
    dag = bag.dags[dag_id]
    assert f"{type(dag).__module__}.{type(dag).__name__}" == "airflow.models.dag.DAG"
    tz = data.get("timezone", "UTC")
    assert dag.timezone.name == tz
    start = data["start_date"]
    start = datetime.combine(start, datetime.min.time()) if not isinstance(start, datetime) else start
    assert dag.start_date == start.replace(tzinfo=ZoneInfo(tz))
    assert dag.catchup is data.get("catchup", False)
    assert set(dag.tags) == set(data.get("tags", []))
    assert dag.description == data.get("description")
    schedule, timetable = data.get("schedule"), dag.timetable
    if isinstance(schedule, str) and " " in schedule or schedule in PRESETS:
        # the explicit CronTriggerTimetable, not the CronDataIntervalTimetable a bare cron string gives on 2.10
        assert type(timetable).__name__ == "CronTriggerTimetable"
        assert timetable._expression == PRESETS.get(schedule, schedule)
        assert timetable._timezone.name == tz
    elif schedule:
        assert type(timetable).__name__ == "DeltaDataIntervalTimetable"
        assert timetable._delta == _duration(schedule)
    alerts = data.get("alerts", {})
    success_to = alerts["emails"] if alerts.get("on_success") else None
    assert getattr(dag.on_success_callback, "to", None) == success_to
    assert set(dag.task_dict) == set(data["tasks"])
    for task_id, t in data["tasks"].items():
        task = dag.task_dict[task_id]
        assert f"{type(task).__module__}.{type(task).__name__}" == HOMES_2_10[t["operator"]]
        assert task.upstream_task_ids == set(t.get("dependencies", []))
        assert task.owner == data.get("owner", "airflow")
        assert task.retries == t.get("retries", data.get("retries", 0))
        assert task.retry_delay == _duration(t.get("retry_delay", data.get("retry_delay", "5m")))
        timeout = t.get("execution_timeout")
        assert task.execution_timeout == (_duration(timeout) if timeout else None)
        for key in ("bash_command", "to", "cc", "subject", "html_content", "files", "trigger_rule", "pool", "queue"):
            if key in t:
                assert getattr(task, key) == t[key], (task_id, key)
        mail = {**alerts, **t.get("alerts", {})}
        failure = [cb.to for cb in _callbacks(task.on_failure_callback)]
        retry = [cb.to for cb in _callbacks(task.on_retry_callback)]
        assert failure == ([mail["emails"]] if mail.get("emails") and mail.get("on_failure", True) else [])
        assert retry == ([mail["emails"]] if mail.get("emails") and mail.get("on_retry") else [])
        for cb in _callbacks(task.on_failure_callback) + _callbacks(task.on_retry_callback):
            assert f"{type(cb).__module__}.{type(cb).__name__}" == "airflow.providers.smtp.notifications.smtp.SmtpNotifier"


def test_generated_file_is_plain_airflow_2_10(built):
    out, _ = built
    files = sorted(out.glob("*.py"))
    assert len(files) == len(SPECS)
    for path in files:
        text = path.read_text()
        assert text.startswith("# Generated by dagforge ")
        assert "\nfrom airflow import DAG\n" in text
        assert "airflow.sdk" not in text and "airflow.providers.standard" not in text
        assert "dagforge" not in text.split("\n", 3)[3]
        for deprecated in ("email=", "email_on_failure", "email_on_retry", "schedule_interval"):
            assert deprecated not in text
