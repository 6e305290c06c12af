"""Dependencies on task groups mean what Airflow's own `group >> task`, `task >> group` and
`group >> group` mean. The reference is not dagforge's model: it is a hand-written DAG with
Airflow's real TaskGroup, the same tasks, groups and mappings, loaded by the real DagBag; dagforge's
file for the equivalent spec must load with exactly the same upstream and downstream tasks for every
task (and the same group-level relations, which the Graph view draws)."""

import textwrap

import pytest
from conftest import load_dagbag

import dagforge

HEADER = """\
import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup

with DAG(dag_id="{dag_id}", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")):
"""

CASES = {
    # The group's last task expands over its first: the group's only leaf is the mapped task, so
    # `c` (one_success) must not start when the first task alone succeeds.
    "mapped_over_first": (
        """
        tasks:
          start: {operator: empty}
          g:
            dependencies: [start]
            tasks:
              a: {operator: bash, bash_command: echo}
              b: {operator: bash, expand: {bash_command: {output_of: a}}}
          c: {operator: empty, dependencies: [g], trigger_rule: one_success}
        """,
        """
        start = EmptyOperator(task_id="start")
        with TaskGroup(group_id="g") as g:
            a = BashOperator(task_id="a", bash_command="echo")
            b = BashOperator.partial(task_id="b").expand(bash_command=a.output)
        c = EmptyOperator(task_id="c", trigger_rule="one_success")
        start >> g >> c
        """,
    ),
    # Nested groups, a mapping from a task of the inner group to one of the outer, a task of a group
    # that depends on a task outside it.
    "nested": (
        """
        tasks:
          first: {operator: empty}
          outer:
            dependencies: [first]
            tasks:
              inner:
                tasks:
                  p: {operator: bash, bash_command: echo}
                  q: {operator: bash, expand: {bash_command: {output_of: p}}}
              r: {operator: bash, expand: {bash_command: {output_of: inner.p}}}
              s: {operator: empty, dependencies: [inner, first]}
          last: {operator: empty, dependencies: [outer]}
        """,
        """
        first = EmptyOperator(task_id="first")
        with TaskGroup(group_id="outer") as outer:
            with TaskGroup(group_id="inner") as inner:
                p = BashOperator(task_id="p", bash_command="echo")
                q = BashOperator.partial(task_id="q").expand(bash_command=p.output)
            r = BashOperator.partial(task_id="r").expand(bash_command=p.output)
            s = EmptyOperator(task_id="s")
            inner >> s
        first >> s
        last = EmptyOperator(task_id="last")
        first >> outer >> last
        """,
    ),
    # Several roots and several leaves; the task that depends on the group comes first in the spec.
    "several_leaves": (
        """
        tasks:
          after: {operator: empty, dependencies: [g], trigger_rule: all_done}
          before: {operator: empty}
          g:
            dependencies: [before]
            tasks:
              a: {operator: empty}
              b: {operator: empty, dependencies: [a]}
              c: {operator: bash, expand: {bash_command: {output_of: a}}}
              d: {operator: empty}
        """,
        """
        after = EmptyOperator(task_id="after", trigger_rule="all_done")
        before = EmptyOperator(task_id="before")
        with TaskGroup(group_id="g") as g:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            c = BashOperator.partial(task_id="c").expand(bash_command=a.output)
            d = EmptyOperator(task_id="d")
            a >> b
        before >> g >> after
        """,
    ),
    # A group depended on by a group: the roots of the one wait for the leaves of the other, the
    # mappings inside both counted.
    "group_after_group": (
        """
        tasks:
          g1:
            tasks:
              a: {operator: bash, bash_command: echo}
              b: {operator: bash, expand: {bash_command: {output_of: a}}}
              c: {operator: empty}
          g2:
            dependencies: [g1]
            tasks:
              x: {operator: bash, bash_command: echo}
              y: {operator: bash, expand: {bash_command: {output_of: x}}}
        """,
        """
        with TaskGroup(group_id="g1") as g1:
            a = BashOperator(task_id="a", bash_command="echo")
            b = BashOperator.partial(task_id="b").expand(bash_command=a.output)
            c = EmptyOperator(task_id="c")
        with TaskGroup(group_id="g2") as g2:
            x = BashOperator(task_id="x", bash_command="echo")
            y = BashOperator.partial(task_id="y").expand(bash_command=x.output)
        g1 >> g2
        """,
    ),
    # Groups whose only task is mapped: over a task outside the group, over a literal list.
    "only_task_mapped": (
        """
        tasks:
          src: {operator: bash, bash_command: echo}
          g:
            dependencies: [src]
            tasks:
              m: {operator: bash, expand: {bash_command: {output_of: src}}}
          h:
            dependencies: [g]
            tasks:
              only: {operator: bash, expand: {bash_command: [echo 1, echo 2]}}
          end: {operator: empty, dependencies: [g, h], trigger_rule: one_success}
        """,
        """
        src = BashOperator(task_id="src", bash_command="echo")
        with TaskGroup(group_id="g") as g:
            m = BashOperator.partial(task_id="m").expand(bash_command=src.output)
        with TaskGroup(group_id="h") as h:
            only = BashOperator.partial(task_id="only").expand(
                bash_command=["echo 1", "echo 2"]
            )
        end = EmptyOperator(task_id="end", trigger_rule="one_success")
        src >> g >> h
        [g, h] >> end
        """,
    ),
}


def _relations(dag):
    """Every task's upstream and downstream task ids; every group's relations as the Graph view
    reads them (the groups and tasks `>>` linked it with)."""
    tasks = {t.task_id: (set(t.upstream_task_ids), set(t.downstream_task_ids)) for t in dag.tasks}
    groups = {
        group_id: (
            set(g.upstream_group_ids),
            set(g.downstream_group_ids),
            set(g.upstream_task_ids),
            set(g.downstream_task_ids),
        )
        for group_id, g in dag.task_group_dict.items()
    }
    return tasks, groups


def _loaded(folder, dag_id):
    bag = load_dagbag(folder)
    assert not bag.import_errors, bag.import_errors
    assert not any(bag.captured_warnings.values()), bag.captured_warnings
    return bag.dags[dag_id]


@pytest.mark.parametrize("case", CASES)
def test_group_dependencies_match_airflow_task_group(case, tmp_path, write_spec):
    spec_text, reference = CASES[case]
    spec = write_spec(
        "start_date: 2024-01-01\n" + textwrap.dedent(spec_text).lstrip("\n"), f"{case}.yaml"
    )
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    ref = tmp_path / "reference" / f"{case}.py"
    ref.parent.mkdir()
    ref.write_text(
        HEADER.format(dag_id=case)
        + textwrap.indent(textwrap.dedent(reference).lstrip("\n"), "    ")
    )
    expected_tasks, expected_groups = _relations(_loaded(ref.parent, case))
    tasks, groups = _relations(_loaded(tmp_path / "out", case))
    assert tasks == expected_tasks
    assert groups == expected_groups


def test_a_mapped_last_task_is_the_only_leaf(tmp_path, write_spec):
    """The reported case, spelled out: `c` waits for the mapped task only, as with `g >> c`."""
    spec = write_spec(
        "start_date: 2024-01-01\n" + textwrap.dedent(CASES["mapped_over_first"][0]).lstrip("\n"),
        "mapped_over_first.yaml",
    )
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified
    tasks = _loaded(tmp_path / "out", "mapped_over_first").task_dict
    assert tasks["c"].upstream_task_ids == {"g.b"}
    assert tasks["g.a"].upstream_task_ids == {"start"}
    assert tasks["g.b"].upstream_task_ids == {"g.a"}
    assert "g >> c" in result.specs[0].code
