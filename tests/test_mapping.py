"""Dynamic task mapping: `expand` over a literal list or an upstream task's output, with partial arguments."""

import textwrap

from conftest import load_dagbag

import dagforge

SPEC = """
start_date: 2024-01-01
tasks:
  list_files:
    operator: python
    python_callable: mapping_mod:list_files
  process:
    operator: python
    python_callable: mapping_mod:process
    op_kwargs: {mode: fast}
    expand:
      op_args: {output_of: list_files}
    retries: 2
  echo:
    operator: bash
    expand:
      bash_command: ["echo 1", "echo 2"]
    env: {A: b}
    dependencies: [process]
"""


def test_mapped_tasks_load_with_their_partial_and_expand_arguments(tmp_path, monkeypatch):
    (tmp_path / "mapping_mod.py").write_text(
        "def list_files():\n    return [['a'], ['b']]\n\n"
        "def process(name, mode='slow'):\n    return name + mode\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    spec = tmp_path / "mapped.yaml"
    spec.write_text(textwrap.dedent(SPEC).lstrip())
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    assert ").expand(\n        op_args=task_list_files.output,\n    )" in result.specs[0].code
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    dag = bag.dags["mapped"]
    process, echo = dag.task_dict["process"], dag.task_dict["echo"]
    assert process.operator_class.__name__ == "PythonOperator" and process.partial_kwargs[
        "op_kwargs"
    ] == {"mode": "fast"}
    assert process.expand_input.value["op_args"].operator.task_id == "list_files"
    assert process.upstream_task_ids == {"list_files"} and process.partial_kwargs["retries"] == 2
    assert echo.expand_input.value == {"bash_command": ["echo 1", "echo 2"]}
    assert echo.partial_kwargs["env"] == {"A": "b"} and echo.upstream_task_ids == {"process"}


def test_mapping_mistakes(tmp_path):
    spec = tmp_path / "m.yaml"
    spec.write_text(
        textwrap.dedent("""
        start_date: 2024-01-01
        tasks:
          a:
            operator: bash
            bash_command: echo
            expand:
              bash_command: [x]
              bash_comand: [y]
              env: {output_of: b}
          b: {operator: empty}
          c:
            operator: empty
            expand: {x: {output_of: nope}}
    """).lstrip()
    )
    found = {
        f"{d.line}:{d.column}: {d.message}": d.hint
        for d in dagforge.validate([spec]).specs[0].diagnostics
    }
    assert found == {
        "7:7: 'bash_command' is given both inline and in `expand`": "keep one: inline values are the same for every mapped instance, `expand` values make one instance each",
        "8:7: operator 'bash' has no argument 'bash_comand' to expand": "did you mean 'bash_command'?",
        "9:24: task 'a' expands over the output of 'b', which comes after it": "move 'b' above 'a' in the spec",
        "13:29: task 'c' expands over the output of unknown task 'nope'": "name a task of this spec",
        "13:14: operator 'empty' has no argument 'x' to expand": "it takes no arguments",
    }
