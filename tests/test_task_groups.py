"""Task groups: nested, with their own defaults, dependencies between groups and tasks; loaded by DagBag."""

import textwrap

from conftest import load_dagbag

import dagforge

SPEC = """
start_date: 2024-01-01
retries: 1
tasks:
  extract: {operator: empty}
  transform:
    tooltip: Clean and enrich
    dependencies: [extract]
    defaults: {retries: 3, pool: default_pool}
    tasks:
      clean: {operator: empty}
      enrich: {operator: empty, dependencies: [clean], retries: 5}
      checks:
        defaults: {retries: 4}
        dependencies: [clean]
        tasks:
          rows: {operator: empty}
          nulls: {operator: empty, dependencies: [rows]}
  load:
    operator: empty
    dependencies: [transform]
  audit:
    operator: empty
    dependencies: [transform.enrich]
"""


def test_nested_groups_with_defaults_and_dependencies(tmp_path, write_spec):
    spec = write_spec(SPEC, "grouped.yaml")
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    dag = bag.dags["grouped"]
    assert sorted(dag.task_dict) == [
        "audit",
        "extract",
        "load",
        "transform.checks.nulls",
        "transform.checks.rows",
        "transform.clean",
        "transform.enrich",
    ]
    tasks = dag.task_dict
    assert tasks["transform.checks.rows"].task_group.group_id == "transform.checks"
    assert dag.task_group_dict["transform"].tooltip == "Clean and enrich"
    # a group's dependencies hold back its first tasks; depending on a group waits for its last ones
    assert tasks["transform.clean"].upstream_task_ids == {"extract"}
    assert tasks["transform.checks.rows"].upstream_task_ids == {"transform.clean"}
    assert tasks["transform.checks.nulls"].upstream_task_ids == {"transform.checks.rows"}
    assert tasks["load"].upstream_task_ids == {"transform.enrich", "transform.checks.nulls"}
    assert tasks["audit"].upstream_task_ids == {"transform.enrich"}
    # defaults: the nearest group wins, the task's own key wins over all, the DAG's apply outside
    assert [
        tasks[t].retries
        for t in ("extract", "transform.clean", "transform.enrich", "transform.checks.rows")
    ] == [1, 3, 5, 4]
    assert (
        tasks["transform.checks.rows"].pool == "default_pool"
        and "pool=" not in result.specs[0].code.split("load = ")[1].split(")")[0]
    )
    assert 'with TaskGroup(group_id="checks") as transform_checks:' in result.specs[0].code


def _messages(tmp_path, text):
    path = tmp_path / "g.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return {
        f"{d.line}:{d.column}: {d.message}": d.hint
        for d in dagforge.validate([path]).specs[0].diagnostics
    }


def test_group_mistakes_are_located(tmp_path):
    found = _messages(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          a.b:
            tasks:
              c: {operator: empty, dependencies: [d]}
          g:
            dependencies: [g.x]
            defaults: {retires: 2}
            tasks:
              x: {operator: empty, dependencies: [g]}
    """,
    )
    assert found == {
        "3:3: 'a.b' cannot be a group id": "a group id has letters, digits, `_` and `-` only (no dots)",
        "5:43: task 'a.b.c' depends on unknown task 'd'": "known tasks: a.b, a.b.c, g, g.x",
        "7:20: group 'g' depends on 'g.x', which contains it or is inside it": "depend on tasks and groups beside it, not on its own group or its own tasks",
        "8:16: unknown key 'retires' in tasks.g.defaults": "did you mean 'retries'?",
        "10:43: task 'g.x' depends on 'g', which contains it or is inside it": "depend on tasks and groups beside it, not on its own group or its own tasks",
    }


def test_a_cycle_through_a_group(tmp_path):
    found = _messages(
        tmp_path,
        """
        start_date: 2024-01-01
        tasks:
          g:
            dependencies: [after]
            tasks:
              x: {operator: empty}
          after: {operator: empty, dependencies: [g]}
    """,
    )
    [(message, hint)] = found.items()
    assert "dependency cycle:" in message and "g.x" in message and "after" in message
