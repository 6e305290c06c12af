"""Mapping with `expand_kwargs`: a literal list of argument mappings or an upstream's output,
written as `Op.partial(...).expand_kwargs(...)`, checked at validation and verified in DagBag."""

import textwrap

from conftest import load_dagbag

import dagforge
from dagforge import verify

SPEC = """
start_date: 2024-01-01
tasks:
  list_jobs:
    operator: python
    python_callable: kw_mod:jobs
  run:
    operator: python
    python_callable: kw_mod:run
    expand_kwargs: {output_of: list_jobs}
    retries: 2
  echo:
    operator: bash
    env: {A: b}
    expand_kwargs:
      - {bash_command: "echo 1"}
      - {bash_command: "echo 2", append_env: true}
  wait:
    operator: python_sensor
    python_callable: kw_mod:ready
    mode: reschedule
    expand_kwargs:
      - {op_kwargs: {part: a}, poke_interval: 1m}
      - {op_kwargs: {part: b}, poke_interval: 2m}
"""

MODULE = """
def jobs():
    return [{"op_kwargs": {"name": "a"}}, {"op_kwargs": {"name": "b"}}]

def run(name):
    return name

def ready(part):
    return True
"""


def _project(tmp_path, monkeypatch, spec=SPEC):
    (tmp_path / "kw_mod.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    path = tmp_path / "kw.yaml"
    path.write_text(textwrap.dedent(spec).lstrip())
    return path


def _found(result):
    return {
        f"{d.line}:{d.column}: {d.severity}: {d.message}": d.hint
        for d in result.specs[0].diagnostics
    }


def test_expand_kwargs_builds_verifies_and_loads(tmp_path, monkeypatch):
    spec = _project(tmp_path, monkeypatch)
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, _found(result)
    code = result.specs[0].code
    assert ").expand_kwargs(\n        list_jobs.output,\n    )" in code
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors
    dag = bag.dags["kw"]
    run, echo, wait = (dag.task_dict[t] for t in ("run", "echo", "wait"))
    assert type(run.expand_input).__name__ == "ListOfDictsExpandInput"
    assert run.expand_input.value.operator.task_id == "list_jobs"
    assert run.upstream_task_ids == {"list_jobs"} and run.partial_kwargs["retries"] == 2
    assert echo.expand_input.value == [
        {"bash_command": "echo 1"},
        {"bash_command": "echo 2", "append_env": True},
    ]
    assert echo.partial_kwargs["env"] == {"A": "b"} and not echo.upstream_task_ids
    assert [m["poke_interval"].total_seconds() for m in wait.expand_input.value] == [60, 120]
    # what verification compares: the loaded mapping in the spec's terms
    assert verify._expanded_kwargs(run) == {"output_of": "list_jobs"}
    assert verify._expanded_kwargs(wait)[0] == {
        "op_kwargs": {"part": "a"},
        "poke_interval": {"$seconds": 60.0},
    }
    assert verify._expanded_kwargs(dag.task_dict["list_jobs"]) is None
    assert verify._expanded(echo) == {}


def test_a_loaded_mapping_that_differs_from_the_spec_fails_verification(tmp_path, monkeypatch):
    spec = _project(tmp_path, monkeypatch)
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    bag = load_dagbag(tmp_path / "out")
    [p] = [s.pipeline for s in result.specs]

    expected = verify.expectations(p, "3")
    assert verify._compare(bag.dags["kw"], expected) == []
    expected["tasks"]["echo"]["expand_kwargs"][1]["bash_command"] = "echo 3"
    expected["tasks"]["run"]["expand_kwargs"] = {"output_of": "echo"}
    problems = verify._compare(bag.dags["kw"], expected)
    assert len(problems) == 2 and all("expand_kwargs" in p for p in problems), problems


def test_expand_kwargs_mistakes_are_located_with_did_you_mean(tmp_path, monkeypatch):
    spec = _project(
        tmp_path,
        monkeypatch,
        """
        start_date: 2024-01-01
        tasks:
          a:
            operator: bash
            expand: {bash_command: [x]}
            expand_kwargs: [{bash_command: y}]
          b:
            operator: bash
            expand_kwargs:
              - {bash_command: "echo 1", env: {A: b}}
              - {bash_command: "echo 2", evn: {A: c}}
          c:
            operator: empty
          d:
            operator: python_sensor
            expand_kwargs: [{poke_interval: soon, python_callable: kw_mod:ready}]
          e:
            operator: python
            python_callable: kw_mod:run
            expand_kwargs: {output_of: nope}
          f:
            operator: bash
            bash_command: hi
            expand_kwargs: [hi]
        """,
    )
    found = _found(dagforge.validate([spec]))
    assert found == {
        "6:5: error: task 'a' has both `expand` and `expand_kwargs`": "keep one: `expand` maps "
        "each argument over a list of its own, `expand_kwargs` maps over whole mappings of "
        "arguments; move the `expand` arguments into each mapping",
        "11:34: error: operator 'bash' has no argument 'evn' to expand": "did you mean 'env'?",
        "16:37: error: poke_interval: 'soon' is not a duration": "write a whole number and a "
        "unit: 90s, 5m, 2h, 1d, or combined like 1h30m",
        "16:43: error: python_callable cannot be mapped (in `expand_kwargs`)": "give one "
        "`python_callable: module:function` inline and map its arguments (op_args, op_kwargs) "
        "instead",
        "20:32: error: task 'e' expands over the output of unknown task 'nope'": "name a task of "
        "this spec",
        "24:21: error: item 1 of expand_kwargs must be a mapping of operator arguments, not text": (
            "write a list of argument mappings, one task instance each, e.g. `expand_kwargs: "
            '[{bash_command: "echo 1"}, {bash_command: "echo 2"}]`, or `expand_kwargs: '
            "{output_of: TASK}` for the list of mappings an upstream task returns"
        ),
    }


def test_mapped_arguments_of_checked_operators_are_checked_against_the_signature(
    tmp_path, monkeypatch
):
    """Keys of operators without a schema of their own: a warning where the mappings disagree, and
    the class's signature (in the verification child) at the mapping's key."""
    spec = _project(
        tmp_path,
        monkeypatch,
        """
        start_date: 2024-01-01
        tasks:
          c:
            operator: trigger_dag
            expand_kwargs:
              - {trigger_dag_id: x, conf: {a: 1}}
              - {trigger_dag_id: y, cnof: {a: 1}}
          d:
            operator: trigger_dag
            expand_kwargs: {output_of: c}
        """,
    )
    assert _found(dagforge.validate([spec])) == {
        "7:29: warning: mapping 2 of expand_kwargs has 'cnof' and lacks 'conf', unlike the "
        "first": "did you mean 'conf'?",
        "7:29: error: TriggerDagRunOperator has no argument 'cnof'": "did you mean 'conf'?",
    }


def test_a_mapped_python_callable_is_an_error_not_an_internal_error(write_spec):
    """The generated file imports a python_callable: it cannot come from a mapping (this used to
    end in an internal error, a KeyError, for `expand: {python_callable: [...]}`)."""
    path = write_spec(
        "start_date: 2024-01-01\ntasks:\n"
        "  a: {operator: python, expand: {python_callable: ['os:getcwd']}}\n"
        "  b: {operator: branch, expand: {python_callable: ['os:getcwd']}}\n"
        "  c: {operator: empty, dependencies: [b]}\n"
    )
    [spec] = dagforge.validate([path], verify=False).specs
    assert spec.internal_error is None
    assert _found(dagforge.validate([path], verify=False)) == {
        f"{line}:{column}: error: python_callable cannot be mapped (in `expand`)": "give one "
        "`python_callable: module:function` inline and map its arguments (op_args, op_kwargs) "
        "instead"
        for line, column in ((3, 34), (4, 34))
    }
