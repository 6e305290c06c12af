"""Families: a spec with `for_each:` is one DAG per item; outputs, check and orphans follow."""

import textwrap

from conftest import load_dagbag, run_cli, run_main

import dagforge

SHOP = """\
dag_id: shop_sync_${{ region }}
description: Sync the ${{ region }} shop
start_date: 2024-01-01
schedule: "0 ${{ hour }} * * *"
for_each:
  - {region: eu, hour: 1, retries: 2}
  - {region: us, hour: 7, retries: 4}
tasks:
  sync:
    operator: bash
    bash_command: "sync --region ${{ region }} --date {{ ds }}"
    retries: ${{ retries }}
  orders:
    use: load_table
    with: {table: "orders_${{ region }}"}
    dependencies: [sync]
"""

BLOCK = """\
parameters: {table: {type: string}}
tasks:
  load: {operator: bash, bash_command: "wh-load ${{ table }}"}
"""


def _tree(tmp_path, monkeypatch, spec=SHOP):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs" / "blocks").mkdir(parents=True)
    (tmp_path / "specs" / "blocks" / "load_table.yaml").write_text(BLOCK)
    (tmp_path / "specs" / "shop_sync.yaml").write_text(textwrap.dedent(spec))
    return tmp_path / "specs"


def _messages(result):
    return [d.format(s.lines_of(d)) for s in result.specs for d in s.diagnostics]


def test_one_dag_per_item_in_airflow(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    result = dagforge.build([specs], tmp_path / "out", verify=True)
    assert result.ok and result.verified, _messages(result)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.py")) == [
        "shop_sync_eu.py",
        "shop_sync_us.py",
    ]
    dags = load_dagbag(tmp_path / "out").dags
    eu, us = dags["shop_sync_eu"], dags["shop_sync_us"]
    assert (eu.description, us.description) == ("Sync the eu shop", "Sync the us shop")
    assert [d.timetable.expression for d in (eu, us)] == ["0 1 * * *", "0 7 * * *"]
    assert us.task_dict["sync"].retries == 4  # a whole value keeps the item value's type
    assert us.task_dict["sync"].bash_command == "sync --region us --date {{ ds }}"
    assert us.task_dict["orders.load"].bash_command == "wh-load orders_us"


def test_check_and_orphans_know_a_spec_writes_several_files(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    out = tmp_path / "out"
    assert dagforge.build([specs], out, verify=False).ok
    assert dagforge.check([specs], out).ok  # both files are this spec's: neither is an orphan
    spec = specs / "shop_sync.yaml"
    spec.write_text(spec.read_text().replace("  - {region: us, hour: 7, retries: 4}\n", ""))
    r = run_main("check", specs, "-o", out, cwd=tmp_path)
    assert r.returncode == 1 and "shop_sync_us.py is orphaned" in r.stderr, r.stderr
    assert "shop_sync_eu.py is orphaned" not in r.stderr
    result = dagforge.build([specs], out, verify=False)
    assert result.ok and [p.name for p in result.removed] == ["shop_sync_us.py"]
    assert sorted(p.name for p in out.glob("*.py")) == ["shop_sync_eu.py"]


def test_a_family_with_an_error_builds_no_dag(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch, SHOP.replace("hour: 7", "hour: 70"))
    result = dagforge.build([specs], tmp_path / "out", verify=False)
    [s] = result.specs
    [d] = s.diagnostics
    assert (d.path, d.line, d.column) == ("specs/shop_sync.yaml", 4, 11)
    assert d.message.endswith("hour 70 is out of 0-23 (for_each item 2)")
    assert not (tmp_path / "out").exists()


def test_validate_and_the_cli_count_each_dag(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    result = dagforge.validate([specs])
    assert result.ok and [s.item for s in result.specs] == [0, 1]
    assert [s.pipeline.dag_id for s in result.specs] == ["shop_sync_eu", "shop_sync_us"]
    r = run_main("build", specs, "-o", tmp_path / "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0 and "2 built" in r.stderr, r.stderr


def test_the_reuse_examples_build_verified(tmp_path):
    """specs/reuse/: a spec that uses a block three times and a family that uses it too."""
    from conftest import ROOT

    result = dagforge.build([ROOT / "specs" / "reuse"], tmp_path, verify=True)
    assert result.ok and result.verified, _messages(result)
    dags = load_dagbag(tmp_path).dags
    assert set(dags) == {"warehouse_nightly", "shop_sync_eu", "shop_sync_us"}
    assert dags["shop_sync_us"].tags == {"shop", "us"}
    nightly = dags["warehouse_nightly"]
    assert nightly.task_dict["refresh_marts"].upstream_task_ids == {
        "orders.load",
        "customers.load",
        "products.load",
    }
    assert nightly.task_dict["customers.load"].bash_command == "wh-load customers --replace"


def test_explain_shows_every_dag_of_a_family_and_graph_says_it_draws_one(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    text = dagforge.explain(specs / "shop_sync.yaml").text
    assert text.startswith("shop_sync_eu: Sync the eu shop\n")
    assert "\nshop_sync_us: Sync the us shop\n" in text and "orders.load" in text
    r = run_main("graph", specs / "shop_sync.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "a family of 2 DAGs (for_each)" in r.stderr, r.stderr


def test_each_item_may_use_another_block(tmp_path, monkeypatch):
    spec = """\
        dag_id: pick_${{ kind }}
        start_date: 2024-01-01
        for_each: [{kind: load_table}, {kind: other}]
        tasks:
          step: {use: "${{ kind }}", with: {table: t}}
        """
    specs = _tree(tmp_path, monkeypatch, spec)
    (specs / "blocks" / "other.yaml").write_text(BLOCK.replace("wh-load", "other-load"))
    result = dagforge.build([specs], tmp_path / "out", verify=False)
    assert result.ok, _messages(result)
    header = {s.pipeline.dag_id: s.pipeline.inputs for s in result.specs}
    assert [k for k in header["pick_load_table"] if k.startswith("block:")] == [
        "block:blocks/load_table.yaml"
    ]
    assert [k for k in header["pick_other"] if k.startswith("block:")] == [
        "block:blocks/other.yaml"
    ]


def test_keys_that_become_one_key_are_an_error(tmp_path, monkeypatch):
    spec = """\
        dag_id: k_${{ n }}
        start_date: 2024-01-01
        for_each: [{n: 2}, {n: 1}]
        tasks:
          a_1: {operator: empty}
          a_${{ n }}: {operator: empty}
        """
    specs = _tree(tmp_path, monkeypatch, spec)
    [s] = dagforge.validate([specs], verify=False).specs
    [d] = s.diagnostics
    assert (d.line, d.column, d.message) == (
        6,
        3,
        "two keys are 'a_1' once `${{ }}` is substituted",
    )


def test_a_spec_validated_alone_may_wait_for_a_dag_of_a_family_beside_it(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    waiter = specs / "waiter.yaml"
    waiter.write_text(
        "start_date: 2024-01-01\nschedule: '0 7 * * *'\n"
        "tasks:\n  w: {wait_for: {dag: shop_sync_us, task: orders.load}}\n"
    )
    result = dagforge.validate([waiter], verify=False)
    assert result.ok, _messages(result)


def test_for_each_is_not_shared_by_a_defaults_file(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    (specs / "defaults.yaml").write_text("for_each: [{region: eu}]\n")
    [s] = dagforge.validate([specs], verify=False).specs  # one: the defaults file is wrong
    [d] = s.diagnostics
    assert (d.path, d.line, d.column) == ("specs/defaults.yaml", 1, 1)
    assert d.message == "unknown key 'for_each' in the defaults file"
    assert d.hint == "a defaults.yaml shares settings; `for_each` belongs in each spec"


def test_run_says_that_a_family_has_several_dags(tmp_path, monkeypatch):
    specs = _tree(tmp_path, monkeypatch)
    r = run_cli("run", specs / "shop_sync.yaml", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert "is a family of 2 DAGs (for_each): run runs one DAG" in r.stderr


def test_run_refuses_a_family_before_airflow_loads_it(tmp_path, monkeypatch):
    # an operator that no Airflow can import: verifying would fail; run says what is wrong first
    specs = _tree(tmp_path, monkeypatch, SHOP.replace("operator: bash", "operator: no_such.pkg.Op"))
    r = run_cli("run", specs / "shop_sync.yaml", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stderr.endswith(
        "is a family of 2 DAGs (for_each): run runs one DAG; run a copy of the spec with one item "
        "in for_each\n"
    ), r.stderr
