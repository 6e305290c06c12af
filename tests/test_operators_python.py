"""The Python-callable short names (branch, short_circuit, virtualenv, external_python,
python_sensor) and http: their classes, their python_callable imported like `python`'s, their
arguments checked against the real signatures, verified in Airflow's DagBag."""

import textwrap

from conftest import load_dagbag, run_cli_without

import dagforge

SPEC = """
start_date: 2024-01-01
tasks:
  ready:
    operator: python_sensor
    python_callable: ops_mod:ready
    op_kwargs: {table: sales}
    poke_interval: 5m
    timeout: 2h
    mode: reschedule
  decide:
    operator: branch
    python_callable: ops_mod:choose
    dependencies: [ready]
  full:
    operator: virtualenv
    python_callable: ops_mod:load
    op_args: [full]
    requirements: [pandas]
    python_version: "3.11"
    system_site_packages: false
    dependencies: [decide]
  part:
    operator: external_python
    python_callable: ops_mod:load
    op_args: [part]
    python: /usr/bin/python3
    multiple_outputs: true
    dependencies: [decide]
  check:
    operator: short_circuit
    python_callable: ops_mod:ready
    op_kwargs: {table: x}
    trigger_rule: none_failed_min_one_success
    dependencies: [full, part]
  notify:
    operator: http
    http_conn_id: status
    endpoint: /done
    dependencies: [check]
"""

MODULE = """
def ready(table):
    return True

def choose():
    return "full"

def load(kind):
    return {"kind": kind}
"""

CLASSES = {
    "ready": "airflow.providers.standard.sensors.python.PythonSensor",
    "decide": "airflow.providers.standard.operators.python.BranchPythonOperator",
    "full": "airflow.providers.standard.operators.python.PythonVirtualenvOperator",
    "part": "airflow.providers.standard.operators.python.ExternalPythonOperator",
    "check": "airflow.providers.standard.operators.python.ShortCircuitOperator",
    "notify": "airflow.providers.http.operators.http.HttpOperator",
}


def _project(tmp_path, monkeypatch, spec=SPEC, module=MODULE):
    (tmp_path / "ops_mod.py").write_text(textwrap.dedent(module))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "ops.yaml"
    path.write_text(textwrap.dedent(spec).lstrip())
    return path


def _found(result):
    return {f"{d.line}:{d.column}: {d.message}": d.hint for d in result.specs[0].diagnostics}


def test_the_python_operators_build_verify_and_load(tmp_path, monkeypatch):
    spec = _project(tmp_path, monkeypatch)
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, _found(result)
    code = result.specs[0].code
    assert "from ops_mod import choose, load, ready" in code
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors
    dag = bag.dags["ops"]
    for task_id, cls in CLASSES.items():
        task = dag.task_dict[task_id]
        assert f"{type(task).__module__}.{type(task).__name__}" == cls
    import ops_mod

    assert dag.task_dict["decide"].python_callable is ops_mod.choose
    sensor = dag.task_dict["ready"]
    assert (sensor.poke_interval, sensor.timeout, sensor.mode) == (300, 7200, "reschedule")
    assert sensor.op_kwargs == {"table": "sales"}
    venv = dag.task_dict["full"]
    assert (venv.requirements, venv.python_version, venv.system_site_packages) == (
        ["pandas"],
        "3.11",
        False,
    )
    assert dag.task_dict["part"].python == "/usr/bin/python3"
    assert dag.task_dict["part"].multiple_outputs is True
    assert dag.task_dict["decide"].downstream_task_ids == {"full", "part"}


def test_their_arguments_and_callables_are_checked_with_did_you_mean(tmp_path, monkeypatch):
    spec = SPEC.replace("system_site_packages", "system_site_package").replace(
        "op_kwargs: {table: x}", "op_kwargs: {tabel: x}"
    )
    spec = spec.replace("ops_mod:choose", "ops_mod:chose").replace("python: /usr", "pyhton: /usr")
    found = _found(dagforge.validate([_project(tmp_path, monkeypatch, spec)]))
    assert found["20:5: PythonVirtualenvOperator has no argument 'system_site_package'"] == (
        "did you mean 'system_site_packages'?"
    )
    assert found["12:22: python_callable 'ops_mod:chose': module 'ops_mod' has no 'chose'"] == (
        "did you mean 'choose'?"
    )
    assert (
        found["26:5: ExternalPythonOperator has no argument 'pyhton'"] == "did you mean 'python'?"
    )
    [tabel] = [k for k in found if "tabel" in k]
    assert tabel.startswith("32:17: ") and found[tabel] == "did you mean 'table'?"


def test_python_callable_must_be_a_reference_for_every_callable_operator(write_spec):
    path = write_spec(
        "start_date: 2024-01-01\ntasks:\n"
        "  a: {operator: branch, python_callable: 'not a ref'}\n"
        "  b: {operator: python_sensor, python_callable: x:y, poke_interval: soon}\n"
        "  c: {operator: short_circuit}\n"
    )
    found = _found(dagforge.validate([path], verify=False))
    assert "3:42: python_callable 'not a ref' is not a `module:function` reference" in found
    assert any(k.startswith("4:69: poke_interval:") for k in found), found
    assert any(k.startswith("5:6:") and "python_callable" in k for k in found), found


def test_http_without_its_provider_is_a_warning_that_names_the_package(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "a.yaml").write_text(
        "start_date: 2024-01-01\ntasks:\n  call: {operator: http, endpoint: /x}\n"
    )
    r = run_cli_without(
        ["apache_airflow_providers_http"], "validate", "specs", cwd=tmp_path, tmp_path=tmp_path
    )
    assert r.returncode == 0, r.stderr
    assert (
        "specs/a.yaml:3:20: warning: operator 'http' needs apache-airflow-providers-http, "
        "which is not installed here" in r.stderr
    )
    assert "`pip install apache-airflow-providers-http`" in r.stderr


def test_virtualenv_for_airflow_2_warns_that_it_needs_the_virtualenv_package(write_spec, tmp_path):
    path = write_spec(
        "start_date: 2024-01-01\ntasks:\n"
        "  v: {operator: virtualenv, python_callable: textwrap:dedent}\n"
    )
    for airflow, said in (("2", 1), ("3", 0)):
        result = dagforge.build([path], tmp_path / airflow, verify=False, airflow=airflow)
        found = [d for d in result.specs[0].diagnostics if d.code == "target"]
        assert len(found) == said and result.ok
    [d] = dagforge.build([path], tmp_path / "again", verify=False, airflow="2").specs[0].diagnostics
    assert (d.line, d.column, d.severity) == (3, 17, "warning")
    assert "PythonVirtualenvOperator needs the `virtualenv` package" in d.message
    assert d.hint.startswith("`pip install virtualenv` where Airflow runs")
