"""The Python-callable short names and expand_kwargs in the real Airflow 2.10: each class from its
2.10 home, verified in the DagBag. Runs in the Airflow 2.10.5 venv (.ci/run)."""

import textwrap

from conftest import installed_airflow, load_dagbag

import dagforge

assert installed_airflow() == "2", (
    "tests/airflow2 runs where Airflow 2.10 is installed: see .ci/run"
)

# virtualenv is left out: Airflow 2.10's PythonVirtualenvOperator refuses to be made without the
# virtualenv package (dagforge warns: see tests/test_operators_python.py); http needs its provider.
SPEC = """
dag_id: ops_on_2
start_date: 2024-01-01
tasks:
  ready:
    operator: python_sensor
    python_callable: os.path:exists
    op_args: [/x]
    poke_interval: 1m
  decide:
    operator: branch
    python_callable: os.path:basename
    op_args: [/a/part]
    dependencies: [ready]
  part:
    operator: external_python
    python_callable: shlex:quote
    python: /usr/bin/python3
    dependencies: [decide]
  check:
    operator: short_circuit
    python_callable: os.path:isdir
    op_args: [/x]
    dependencies: [part]
  copy:
    operator: bash
    expand_kwargs: [{bash_command: "echo 1"}, {bash_command: "echo 2", env: {A: b}}]
  lister: {operator: python, python_callable: "os:listdir"}
  each:
    operator: python
    python_callable: os.path:join
    expand_kwargs: {output_of: lister}
"""


def test_python_operators_and_expand_kwargs_on_airflow_2_10(tmp_path, monkeypatch):
    spec = tmp_path / "ops.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["ops_on_2"]
    homes = {t: type(dag.task_dict[t]).__module__ for t in ("ready", "decide", "part", "check")}
    assert homes == {
        "ready": "airflow.sensors.python",
        "decide": "airflow.operators.python",
        "part": "airflow.operators.python",
        "check": "airflow.operators.python",
    }
    assert dag.task_dict["copy"].expand_input.value[1] == {
        "bash_command": "echo 2",
        "env": {"A": "b"},
    }
    assert dag.task_dict["each"].upstream_task_ids == {"lister"}
