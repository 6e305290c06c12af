"""Built-in short operator names and import paths: arguments checked against the class's real signature
at build time (in the verify child, never in dagforge's own process), python callables checked too."""

import textwrap

from conftest import load_dagbag, run_cli, run_cli_without
from spec_oracle import duration

import dagforge

OPS = """
start_date: 2024-01-01
tasks:
  query:
    operator: sql
    conn_id: warehouse
    sql: "SELECT 1"
  trigger:
    operator: trigger_dag
    trigger_dag_id: other
    conf: {day: "{{ ds }}"}
  wait_file:
    operator: file_sensor
    filepath: /data/in.csv
    poke_interval: 5m
    timeout: 2h
    mode: reschedule
  wait_other:
    operator: external_task_sensor
    external_dag_id: other
    external_task_id: load
    execution_delta: 1h
  pause:
    operator: time_delta_sensor
    delta: 30m
    dependencies: [wait_file]
  mail:
    operator: email
    to: ops@example.com
    subject: done
    html_content: done
    dependencies: [query, trigger, wait_other, pause]
"""

HOMES = {
    "query": "airflow.providers.common.sql.operators.sql.SQLExecuteQueryOperator",
    "trigger": "airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator",
    "wait_file": "airflow.providers.standard.sensors.filesystem.FileSensor",
    "wait_other": "airflow.providers.standard.sensors.external_task.ExternalTaskSensor",
    "pause": "airflow.providers.standard.sensors.time_delta.TimeDeltaSensor",
    "mail": "airflow.providers.smtp.operators.smtp.EmailOperator",
}


def _spec(tmp_path, text, name="ops.yaml"):
    path = tmp_path / "specs" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _messages(result):
    return {
        f"{d.line}:{d.column}: {d.severity}: {d.message}": d
        for s in result.specs
        for d in s.diagnostics
    }


def test_short_names_build_and_load_in_a_real_dagbag(tmp_path):
    result = dagforge.build([_spec(tmp_path, OPS)], tmp_path / "out", verify=True)
    assert result.ok and result.verified, list(_messages(result))
    assert not result.specs[0].diagnostics
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    dag = bag.dags["ops"]
    for task_id, home in HOMES.items():
        task = dag.task_dict[task_id]
        assert f"{type(task).__module__}.{type(task).__name__}" == home
    assert (
        dag.task_dict["query"].sql == "SELECT 1" and dag.task_dict["query"].conn_id == "warehouse"
    )
    assert dag.task_dict["trigger"].trigger_dag_id == "other"
    sensor = dag.task_dict["wait_file"]
    assert (sensor.poke_interval, sensor.timeout, sensor.mode) == (300, 7200, "reschedule")
    assert dag.task_dict["wait_other"].execution_delta == duration("1h")
    assert dag.task_dict["pause"].delta == duration("30m")


def test_arguments_are_checked_against_the_real_signature(tmp_path):
    spec = _spec(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          q:
            operator: sql
            sqll: "SELECT 1"
            sql: x
          trig:
            operator: airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator
            trigger_dag: other
          bash_by_path:
            operator: airflow.providers.standard.operators.bash.BashOperator
            bash_command: echo
            retries: 2
            pool_slots: 2
    """,
    )
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    found = _messages(result)
    assert (
        found["5:5: error: SQLExecuteQueryOperator has no argument 'sqll'"].hint
        == "did you mean 'sql'?"
    )
    assert (
        found["9:5: error: TriggerDagRunOperator has no argument 'trigger_dag'"].hint
        == "did you mean 'trigger_dag_id'?"
    )
    assert (
        "8:15: error: task 'trig': TriggerDagRunOperator needs the argument 'trigger_dag_id'"
        in found
    )
    assert len(found) == 3  # the BashOperator by path, with task settings, is fine
    assert not (tmp_path / "out").exists()


def test_a_missing_package_is_a_warning_naming_it(tmp_path):
    # kubernetes_pod without its provider: tests/airflow2/test_airflow2_fidelity.py, in the Airflow 2.10
    # venv, where apache-airflow-providers-cncf-kubernetes is not installed (here it is: see below).
    spec = _spec(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          mine:
            operator: no_such_company.operators.MyOperator
            x: 1
    """,
    )
    warning = (
        "4:15: warning: operator 'no_such_company.operators.MyOperator': module "
        "'no_such_company' is not installed"
    )
    assert [m for m in _messages(dagforge.validate([spec])) if m.startswith(warning)]
    result = dagforge.build([spec], tmp_path / "out")
    assert result.ok and not result.verified
    assert [m for m in _messages(result) if m.startswith(warning)]
    assert (tmp_path / "out" / "ops.py").exists()  # written, and said to be unverified
    assert result.specs[0].unverified == "module 'no_such_company' is not importable"
    # --verify: every file written is verified, so this one is an error and not written
    result = dagforge.build([spec], tmp_path / "strict", verify=True)
    assert not result.ok
    assert [m for m in _messages(result) if m.startswith(warning.replace("warning", "error"))]
    assert not (tmp_path / "strict").exists()


def test_validate_checks_arguments_against_the_real_signature_as_build_does(tmp_path):
    """The checks of the verification child, without writing anything."""
    _spec(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          trig:
            operator: airflow.providers.standard.operators.trigger_dagrun.TriggerDagRunOperator
            trigger_dag_idd: other
    """,
    )
    r = run_cli("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1
    assert "specs/ops.yaml:5:5: error: TriggerDagRunOperator has no argument 'trigger_dag_idd'" in (
        r.stderr
    )
    assert "  hint: did you mean 'trigger_dag_id'?" in r.stderr
    assert r.stderr.endswith("0 specs valid, 1 invalid\n")
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["ops.yaml", "specs"]
    r = run_cli("validate", "--no-verify", "specs", cwd=tmp_path)  # asked not to: silent
    assert r.returncode == 0 and r.stderr == "1 spec valid, 0 invalid\n"


def test_a_missing_provider_is_said_once_per_package(tmp_path):
    """Where apache-airflow-providers-cncf-kubernetes is not installed: one warning for the six
    tasks of three specs, at the first, with the package to install and the pre-commit hint."""
    for name in ("a", "b", "c"):
        _spec(
            tmp_path,
            """
            start_date: 2024-01-01
            tasks:
              pod1: {operator: kubernetes_pod, image: busybox, name: x, namespace: y}
              pod2: {operator: kubernetes_pod, image: busybox, name: x, namespace: y}
        """,
            f"{name}.yaml",
        )
    r = run_cli_without(
        ["apache_airflow_providers_cncf_kubernetes"],
        "validate",
        "specs",
        cwd=tmp_path,
        tmp_path=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    [warning] = [line for line in r.stderr.splitlines() if "warning" in line]
    assert warning == (
        "specs/a.yaml:3:20: warning: operator 'kubernetes_pod' needs "
        "apache-airflow-providers-cncf-kubernetes, which is not installed here (and 5 more tasks)"
    )
    assert "`pip install apache-airflow-providers-cncf-kubernetes`" in r.stderr
    assert "add it to the hook's `additional_dependencies`" in r.stderr


POD = """
    start_date: 2024-01-01
    tasks:
      pod:
        operator: kubernetes_pod
        image: busybox
        cmds: [echo, hi]
        name: hello
        namespace: jobs
      after:
        operator: empty
        dependencies: [pod]
"""


def test_kubernetes_pod_builds_and_loads_in_a_real_dagbag(tmp_path):
    result = dagforge.build([_spec(tmp_path, POD, "pod.yaml")], tmp_path / "out", verify=True)
    assert result.ok and result.verified and not result.specs[0].diagnostics, list(
        _messages(result)
    )
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    pod = bag.dags["pod"].task_dict["pod"]
    assert type(pod).__name__ == "KubernetesPodOperator"
    assert (pod.image, pod.cmds, pod.namespace) == ("busybox", ["echo", "hi"], "jobs")
    assert bag.dags["pod"].task_dict["after"].upstream_task_ids == {"pod"}


def test_kubernetes_pod_arguments_are_checked_against_its_signature(tmp_path):
    text = POD.replace("image: busybox", "imgae: busybox")
    result = dagforge.build([_spec(tmp_path, text, "pod.yaml")], tmp_path / "out", verify=True)
    found = _messages(result)
    assert "5:5: error: KubernetesPodOperator has no argument 'imgae'" in found, list(found)
    assert (
        found["5:5: error: KubernetesPodOperator has no argument 'imgae'"].hint
        == "did you mean 'image'?"
    )
    assert not (tmp_path / "out" / "pod.py").exists()


def test_python_callable_checks(tmp_path, monkeypatch):
    (tmp_path / "mycode.py").write_text("def run(day, mode='fast'):\n    return day\n\nVALUE = 1\n")
    monkeypatch.chdir(tmp_path)
    spec = _spec(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          typo: {operator: python, python_callable: "mycode:rnu"}
          not_callable: {operator: python, python_callable: "mycode:VALUE"}
          bad_kwargs:
            operator: python
            python_callable: mycode:run
            op_kwargs: {day: x, mood: y}
    """,
    )
    found = _messages(dagforge.build([spec], tmp_path / "out", verify=True))
    assert (
        found["3:45: error: python_callable 'mycode:rnu': module 'mycode' has no 'rnu'"].hint
        == "did you mean 'run'?"
    )
    assert "4:53: error: python_callable 'mycode:VALUE' is not callable" in found
    assert (
        found["8:25: error: mycode:run(day, mode='fast') has no parameter 'mood'"].hint
        == "did you mean 'mode'?"
    )


def test_validate_and_build_without_verify_import_no_operator(tmp_path):
    import subprocess
    import sys

    spec = _spec(tmp_path, OPS)
    code = (
        f"import sys, dagforge; r = dagforge.build([{str(spec)!r}], {str(tmp_path / 'o')!r}, "
        "verify=False); assert r.ok; "
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
