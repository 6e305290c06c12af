"""DAG settings on Airflow 2.10: fail_fast is written as its `fail_stop`, access_control is taken,
and the rest loads and is compared in 2.10's real DagBag as on Airflow 3."""

import textwrap

from conftest import installed_airflow, load_dagbag

import dagforge

SPEC = """
dag_id: settings_two
start_date: 2024-01-01
schedule: "@daily"
dag_display_name: Settings on 2.10
owner_links: {data-eng: "https://wiki.example.com/data-eng"}
template_searchpath: [templates]
user_defined_macros: {to_json: json:dumps}
user_defined_filters: {quote: shlex:quote}
is_paused_upon_creation: true
fail_fast: true
access_control:
  analysts: [can_read]
  operators: {DAGs: [can_read, can_edit], DAG Runs: [can_create]}
tasks:
  report: {operator: bash, bash_command: report.sh}
"""


def test_dag_settings_load_and_are_compared_in_airflow_2(tmp_path, monkeypatch):
    assert installed_airflow() == "2"
    specs = tmp_path / "specs"
    (specs / "templates").mkdir(parents=True)
    (specs / "templates" / "report.sh").write_text("echo {{ to_json(params) | quote }}\n")
    (specs / "settings_two.yaml").write_text(textwrap.dedent(SPEC).lstrip())
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([specs], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["settings_two"]
    assert dag.fail_stop and dag.is_paused_upon_creation
    assert dag.dag_display_name == "Settings on 2.10"
    assert list(dag.access_control["operators"]["DAG Runs"]) == ["can_create"]
    task = dag.task_dict["report"]
    task.render_template_fields({"params": {"a": 1}})
    assert task.bash_command.strip() == """echo '{"a": 1}'"""
