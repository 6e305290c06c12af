"""Blocks: `blocks/NAME.yaml` used as a task group (`use:`, `with:`), errors at the use site and in
the block, the block as an input of the generated file."""

import textwrap

from conftest import load_dagbag, run_main

import dagforge
from dagforge.load import find_specs

LOAD_TABLE = """\
description: Load one table from the lake into the warehouse
parameters:
  table: {type: string, description: warehouse table to load}
  retries: {type: integer, default: 2, minimum: 0}
  mode: {type: string, enum: [append, replace], default: append}
tasks:
  extract: {operator: bash, bash_command: "lake-extract --table ${{ table }} --date {{ ds }}"}
  load:
    operator: bash
    bash_command: "wh-load ${{ table }} --${{ mode }} ${LAKE:-s3://lake} $${{ kept }}"
    retries: ${{ retries }}
    dependencies: [extract]
"""

NIGHTLY = """\
dag_id: warehouse_nightly
start_date: 2024-01-01
tasks:
  start: {operator: empty}
  orders:
    use: load_table
    with: {table: orders}
    dependencies: [start]
  customers:
    use: load_table@2
    with: {table: customers, retries: 5}
    dependencies: [start]
  done: {operator: empty, dependencies: [orders, customers]}
"""


def _tree(tmp_path, monkeypatch, spec=NIGHTLY, blocks=None):
    """tmp_path/specs with the spec warehouse_nightly.yaml and specs/blocks/ (name -> text)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "specs" / "blocks"
    folder.mkdir(parents=True)
    blocks = {"load_table": LOAD_TABLE, "load_table@2": LOAD_TABLE, **(blocks or {})}
    for name, text in blocks.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text))
    (tmp_path / "specs" / "warehouse_nightly.yaml").write_text(textwrap.dedent(spec))
    return tmp_path / "specs"


def _messages(result):
    return [d.format(s.lines_of(d)) for s in result.specs for d in s.diagnostics]


def test_a_block_is_a_task_group_in_airflow(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, _messages(result)
    assert [s.display for s in result.specs] == ["specs/warehouse_nightly.yaml"]  # blocks: no specs
    dag = load_dagbag(tmp_path / "out").dags["warehouse_nightly"]
    assert set(dag.task_group_dict) == {"orders", "customers"}
    load = dag.task_dict["orders.load"]
    assert load.retries == 2 and isinstance(load.retries, int)  # the whole value keeps its type
    assert dag.task_dict["customers.load"].retries == 5
    # substituted as text; Airflow's {{ }} and ${VAR} are other syntaxes, $${{ a literal ${{
    assert dag.task_dict["orders.extract"].bash_command == (
        "lake-extract --table orders --date {{ ds }}"
    )
    assert load.bash_command == "wh-load orders --append s3://lake ${{ kept }}"
    assert dag.task_dict["orders.extract"].upstream_task_ids == {"start"}
    assert dag.task_dict["done"].upstream_task_ids == {"orders.load", "customers.load"}
    assert (
        dag.task_group_dict["orders"].tooltip == "Load one table from the lake into the warehouse"
    )


def test_blocks_use_blocks(tmp_path, monkeypatch):
    two = """\
        parameters: {prefix: {type: string}}
        tasks:
          first: {use: load_table, with: {table: "${{ prefix }}_a"}}
          second: {use: load_table, with: {table: "${{ prefix }}_b"}, dependencies: [first]}
        """
    spec = """\
        start_date: 2024-01-01
        tasks:
          both: {use: two_tables, with: {prefix: raw}}
        """
    specs = _tree(tmp_path, monkeypatch, spec, {"two_tables": two})
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, _messages(result)
    dag = load_dagbag(tmp_path / "out").dags["warehouse_nightly"]
    assert dag.task_dict["both.second.load"].bash_command.startswith("wh-load raw_b")
    assert dag.task_dict["both.second.extract"].upstream_task_ids == {"both.first.load"}


def test_mistakes_in_with_are_located_at_the_use_site(tmp_path, monkeypatch):
    spec = """\
        start_date: 2024-01-01
        tasks:
          orders:
            use: load_table
            with: {tabel: orders, retries: many, mode: merge}
          other: {use: load_tabel, with: {table: x}}
        """
    specs = _tree(tmp_path, monkeypatch, spec)
    [s] = dagforge.validate([specs]).specs
    found = {(d.path, d.line, d.column, d.message): d.hint for d in s.diagnostics}
    at = "specs/warehouse_nightly.yaml"
    assert found == {
        (at, 5, 12, "block 'load_table' has no parameter 'tabel'"): (
            "did you mean 'table'? its parameters: table, retries, mode"
        ),
        (at, 5, 36, "parameter 'retries' of block 'load_table': 'many' is not of type 'integer'"): (
            "type integer; from 0 to ..."
        ),
        (
            at,
            5,
            48,
            "parameter 'mode' of block 'load_table': 'merge' is not one of ['append', 'replace']",
        ): 'type string; one of "append", "replace"',
        (at, 5, 5, "block 'load_table' needs the parameter 'table'"): (
            "add `table: ...` to `with:` (type string; warehouse table to load)"
        ),
        (at, 6, 16, "no block 'load_tabel' in a blocks folder at or above the spec"): (
            "did you mean 'load_table'? blocks there: load_table, load_table@2"
        ),
    }


def test_a_problem_inside_a_block_points_into_it_and_names_the_use_site(tmp_path, monkeypatch):
    broken = """\
        parameters: {table: {type: string}}
        tasks:
          extract: {operator: bash, bash_command: "x ${{ table }}"}
          load: {operator: bash, bash_command: "y", dependencies: [extrakt]}
        """
    spec = """\
        start_date: 2024-01-01
        tasks:
          start: {operator: empty}
          orders:
            use: broken
            with: {table: orders}
        """
    specs = _tree(tmp_path, monkeypatch, spec, {"broken": broken})
    r = run_main("validate", specs, cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith(
        "specs/blocks/broken.yaml:4:60: error: task 'orders.load' depends on unknown task "
        "'extrakt' (used by specs/warehouse_nightly.yaml:4)\n"
        '  4 |   load: {operator: bash, bash_command: "y", dependencies: [extrakt]}\n'
    ), r.stderr
    assert "hint: did you mean 'extract'?" in r.stderr


def test_an_unknown_parameter_inside_a_block_and_a_broken_block_file(tmp_path, monkeypatch):
    typo = 'parameters: {table: {type: string}}\ntasks:\n  a: {operator: bash, bash_command: "${{ tabel }}"}\n'
    shape = "parameters: {n: {type: integer, default: many}}\ntask: {}\n"
    spec = """\
        start_date: 2024-01-01
        tasks:
          a: {use: typo, with: {table: x}}
          b: {use: shape}
        """
    specs = _tree(tmp_path, monkeypatch, spec, {"typo": typo, "shape": shape})
    [s] = dagforge.validate([specs]).specs
    found = {(d.path, d.line, d.column, d.message) for d in s.diagnostics}
    site = "(used by specs/warehouse_nightly.yaml:3)"
    assert (
        "specs/blocks/typo.yaml",
        3,
        37,
        f"`${{{{ tabel }}}}` names no parameter of block 'typo' {site}",
    ) in found
    used = "(used by specs/warehouse_nightly.yaml:4)"
    assert ("specs/blocks/shape.yaml", 2, 1, f"a block takes no key 'task' {used}") in found
    assert (
        "specs/blocks/shape.yaml",
        1,
        1,
        f"a block needs `tasks:`, a mapping of one or more tasks {used}",
    ) in found


def test_a_cycle_of_blocks_is_an_error(tmp_path, monkeypatch):
    spec = "start_date: 2024-01-01\ntasks:\n  x: {use: a}\n"
    blocks = {"a": "tasks:\n  inner: {use: b}\n", "b": "tasks:\n  inner: {use: a}\n"}
    specs = _tree(tmp_path, monkeypatch, spec, blocks)
    [s] = dagforge.validate([specs]).specs
    [d] = s.diagnostics
    assert (d.path, d.line, d.column) == ("specs/blocks/b.yaml", 2, 16)
    assert d.message == ("block 'a' uses itself: a -> b -> a (used by specs/blocks/a.yaml:2)")


def test_the_nearest_blocks_folder_wins_and_blocks_are_not_specs(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    team = specs / "team"
    (team / "blocks").mkdir(parents=True)
    (team / "blocks" / "load_table.yaml").write_text("tasks:\n  only: {operator: empty}\n")
    (team / "t.yaml").write_text(
        "start_date: 2024-01-01\ntasks:\n  x: {use: load_table}\n  y: {use: load_table@2, with: {table: t}}\n"
    )
    files, problems = find_specs([specs])
    assert [f.name for f in files] == ["t.yaml", "warehouse_nightly.yaml"] and not problems
    # a block named alone (as pre-commit passes a changed file) stands for the specs that may use it
    files, _ = find_specs([team / "blocks" / "load_table.yaml"])
    assert [f.name for f in files] == ["t.yaml"]
    result = dagforge.build([team], tmp_path / "out", verify=False)
    assert result.ok, _messages(result)
    [p] = [s.pipeline for s in result.specs]
    assert [t.task_id for t in p.tasks] == ["x.only", "y.extract", "y.load"]


def test_a_changed_block_is_named_by_check_and_built_again(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    out = tmp_path / "out"
    assert dagforge.build([specs], out, verify=False).ok
    assert "block:blocks/load_table.yaml=" in (out / "warehouse_nightly.py").read_text()
    assert dagforge.check([specs], out).ok
    block = specs / "blocks" / "load_table.yaml"
    block.write_text(block.read_text().replace("default: 2,", "default: 3,"))
    r = run_main("check", specs, "-o", out, cwd=tmp_path)
    assert r.returncode == 1 and "block:blocks/load_table.yaml" in r.stderr, r.stderr
    again = dagforge.build([specs], out, verify=False)
    assert [s.display for s in again.built] == ["specs/warehouse_nightly.yaml"]
    assert "retries=3" in (out / "warehouse_nightly.py").read_text()


def test_airflow_2_output_and_explain(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    result = dagforge.build([specs], tmp_path / "out2", verify=False, airflow="2")
    assert result.ok, _messages(result)
    code = (tmp_path / "out2" / "warehouse_nightly.py").read_text()
    assert "from airflow.utils.task_group import TaskGroup" in code
    assert 'bash_command="wh-load customers --append s3://lake ${{ kept }}"' in code
    text = dagforge.explain(specs / "warehouse_nightly.yaml").text
    assert "orders.extract" in text and "customers.load" in text


def test_the_blocks_command_lists_parameters_and_uses(tmp_path, monkeypatch):
    _tree(tmp_path, monkeypatch)
    (tmp_path / "specs" / "blocks" / "shape.yaml").write_text("tasks: []\n")
    r = run_main("blocks", cwd=tmp_path)
    assert r.returncode == 1  # shape.yaml is broken: said on stderr, listed all the same
    assert r.stdout.startswith(
        "load_table  (specs/blocks/load_table.yaml)\n"
        "  Load one table from the lake into the warehouse\n"
        "  table    string, required  warehouse table to load\n"
        "  retries  integer = 2\n"
        '  mode     string = "append"\n'
        "  used by: specs/warehouse_nightly.yaml:6\n"
        "\n"
        "load_table@2  (specs/blocks/load_table@2.yaml)\n"
    ), r.stdout
    assert "  used by: specs/warehouse_nightly.yaml:10\n" in r.stdout
    assert r.stderr.startswith(
        "specs/blocks/shape.yaml:1:1: error: a block needs `tasks:`, a mapping of one or more tasks"
    ), r.stderr


def test_blocks_that_double_at_every_level_stop_with_an_error(tmp_path, monkeypatch):
    blocks = {
        f"b{i}": f"tasks:\n  x: {{use: b{i + 1}}}\n  y: {{use: b{i + 1}}}\n" for i in range(19)
    }
    blocks["b19"] = "tasks:\n" + "".join(f"  t{i}: {{operator: empty}}\n" for i in range(20))
    specs = _tree(
        tmp_path, monkeypatch, "start_date: 2024-01-01\ntasks:\n  all: {use: b0}\n", blocks
    )
    [s] = dagforge.validate([specs]).specs
    assert any("the blocks expand to more than 100000 values" in d.message for d in s.diagnostics)


def test_a_spec_built_from_another_folder_finds_its_blocks_above_it(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    (specs / "team").mkdir()
    (specs / "warehouse_nightly.yaml").rename(specs / "team" / "w.yaml")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    result = dagforge.validate([specs], verify=False)
    assert result.ok, _messages(result)
