"""`wait_for: {dag, task}`: an ExternalTaskSensor, checked against the other specs of the build."""

import textwrap

from conftest import load_dagbag

import dagforge

UP = "start_date: 2024-01-01\nschedule: '@daily'\ntasks:\n  load_warehouse: {operator: empty}\n"
DOWN = """
start_date: 2024-01-01
schedule: "@daily"
tasks:
  orders_loaded:
    wait_for: {dag: up, task: load_warehouse, execution_delta: 1h, timeout: 2h, poke_interval: 5m}
    retries: 1
  whole_run:
    wait_for: {dag: up, mode: poke}
  report:
    operator: empty
    dependencies: [orders_loaded, whole_run]
"""


def _write(tmp_path, **specs):
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    for name, text in specs.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text).lstrip())
    return folder


def test_wait_for_becomes_an_external_task_sensor(tmp_path):
    folder = _write(tmp_path, up=UP, down=DOWN)
    result = dagforge.build([folder], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    dag = bag.dags["down"]
    sensor = dag.task_dict["orders_loaded"]
    assert type(sensor).__name__ == "ExternalTaskSensor"
    assert (sensor.external_dag_id, sensor.external_task_id, sensor.mode) == (
        "up",
        "load_warehouse",
        "reschedule",
    )
    assert (
        sensor.execution_delta.total_seconds() == 3600
        and sensor.timeout == 7200
        and sensor.poke_interval == 300
    )
    assert sensor.retries == 1
    whole = dag.task_dict["whole_run"]
    assert whole.external_task_id is None and whole.mode == "poke"
    assert dag.task_dict["report"].upstream_task_ids == {"orders_loaded", "whole_run"}
    assert (
        "waits for:  up.load_warehouse (same logical date)"
        in dagforge.explain(folder / "down.yaml").text
    )


def test_unknown_dag_and_task_with_did_you_mean(tmp_path):
    folder = _write(
        tmp_path,
        up=UP,
        down="""
        start_date: 2024-01-01
        tasks:
          a:
            wait_for: {dag: upp, task: load_warehouse}
          b:
            wait_for: {dag: up, task: load_warehous}
          c:
            wait_for: {dag: down}
    """,
    )
    [spec] = [s for s in dagforge.validate([folder]).specs if s.display.endswith("down.yaml")]
    found = {f"{d.line}:{d.column}: {d.message}": d.hint for d in spec.diagnostics}
    assert found == {
        "4:21: task 'a' waits for DAG 'upp', which no spec defines": "did you mean 'up'?",
        "6:31: task 'b' waits for task 'load_warehous', which DAG 'up' does not have": "did you mean 'load_warehouse'?",
        "8:21: task 'c' waits for its own DAG 'down'": "use `dependencies:` for tasks of the same DAG",
    }


def test_validating_one_spec_still_knows_the_specs_beside_it(tmp_path):
    folder = _write(tmp_path, up=UP, down=DOWN)
    result = dagforge.validate(
        [folder / "down.yaml"]
    )  # as the pre-commit hook passes changed files only
    assert result.ok, [d.format() for s in result.specs for d in s.diagnostics]
    (folder / "up.yaml").write_text(UP.replace("load_warehouse", "publish"))
    [d] = dagforge.validate([folder / "down.yaml"]).specs[0].diagnostics
    assert "which DAG 'up' does not have" in d.message and d.hint == "DAG 'up' has: publish"


def test_waiting_for_an_invalid_spec_names_it_instead_of_calling_the_dag_unknown(tmp_path):
    broken_up = UP.replace("operator: empty", "operator: empty, retries: many")
    folder = _write(tmp_path, up=broken_up, down=DOWN)
    for paths in ([folder], [folder / "down.yaml", folder / "up.yaml"]):
        result = dagforge.validate(paths)
        down = next(s for s in result.specs if s.path.name == "down.yaml")
        messages = [d.message for d in down.diagnostics]
        assert "task 'orders_loaded' waits for DAG 'up', whose spec" in messages[0], messages
        assert all("which no spec defines" not in m for m in messages)
        assert "up.yaml is invalid" in messages[0] and "fix the errors" in down.diagnostics[0].hint
