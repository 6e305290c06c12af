"""Task groups: nested, with their own defaults, dependencies between groups and tasks; loaded by DagBag."""

import textwrap

from conftest import load_dagbag

import dagforge
from dagforge.format import format_source
from dagforge.load import load
from dagforge.model import build_model
from dagforge.render import render

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
    assert (
        "        with TaskGroup(\n"
        '            group_id="checks",\n'
        '            default_args={"retries": 4},\n'
        "        ) as transform_checks:\n"
    ) in result.specs[0].code


NESTED_DEFAULTS = """
start_date: 2024-01-01
retries: 1
tasks:
  outer:
    defaults: {retries: 1, retry_delay: 5m, pool: p1, execution_timeout: 1h, queue: q1}
    tasks:
      a: {operator: empty}
      own: {operator: empty, pool: p2, retries: 1}
      middle:
        defaults: {pool: p1, retries: 4, priority_weight: 7}
        tasks:
          b: {operator: empty}
          m: {operator: bash, expand: {bash_command: [echo 1, echo 2]}}
          inner:
            defaults:
              retries: 1
              queue: q1
              executor_config: {KubernetesExecutor: {request_memory: 1Gi, request_cpu: "2"}}
            tasks:
              c: {operator: empty}
  top: {operator: empty}
"""


OUTER = """
    with TaskGroup(
        group_id="outer",
        default_args={
            "pool": "p1",
            "execution_timeout": timedelta(hours=1),
            "queue": "q1",
        },
    ) as outer:
"""
MIDDLE = """
        with TaskGroup(
            group_id="middle",
            default_args={"retries": 4, "priority_weight": 7},
        ) as outer_middle:
"""
INNER = """
            with TaskGroup(
                group_id="inner",
                default_args={
                    "retries": 1,
                    "executor_config": {
                        "KubernetesExecutor": {
                            "request_memory": "1Gi",
                            "request_cpu": "2",
                        },
                    },
                },
            ) as outer_middle_inner:
"""


def test_group_defaults_are_the_task_groups_default_args(tmp_path, write_spec):
    """A group's defaults are written once, as its TaskGroup's default_args, and only what differs
    from the enclosing group (or the DAG); Airflow's merge of DAG, group and nested-group default_args
    gives every task what the spec says, a task's own keys winning."""
    spec = write_spec(NESTED_DEFAULTS, "nested.yaml")
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    code = result.specs[0].code
    # only what differs: outer's retries and retry_delay are the DAG's, middle's pool is outer's
    assert OUTER in code and MIDDLE in code and INNER in code
    assert code.count("pool=") == 1 and code.count("retries=") == 1
    assert 'own = EmptyOperator(task_id="own", pool="p2", retries=1)' in code
    # the template writes black's layout: black has nothing to change
    p = build_model(load(spec))
    p.input_sha256 = "0" * 64
    source = render(p)
    assert format_source(source) == source
    tasks = load_dagbag(tmp_path / "out").dags["nested"].task_dict
    found = {
        t: (tasks[t].retries, tasks[t].pool, tasks[t].queue, tasks[t].priority_weight)
        for t in (
            "outer.a",
            "outer.own",
            "outer.middle.b",
            "outer.middle.m",
            "outer.middle.inner.c",
            "top",
        )
    }
    assert found == {
        "outer.a": (1, "p1", "q1", 1),
        "outer.own": (1, "p2", "q1", 1),
        "outer.middle.b": (4, "p1", "q1", 7),
        "outer.middle.m": (4, "p1", "q1", 7),
        "outer.middle.inner.c": (1, "p1", "q1", 7),
        "top": (1, "default_pool", "default", 1),
    }
    assert tasks["outer.middle.inner.c"].execution_timeout.total_seconds() == 3600
    assert tasks["outer.middle.inner.c"].executor_config == {
        "KubernetesExecutor": {"request_memory": "1Gi", "request_cpu": "2"}
    }
    assert tasks["top"].execution_timeout is None


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
    [(message, _hint)] = found.items()
    assert "dependency cycle:" in message and "g.x" in message and "after" in message
