"""`operator: branch`: its downstream tasks are its choices. A run in real Airflow skips the ones it
does not choose; validate warns about a branch with nothing to choose; explain and graph show it."""

import textwrap

from conftest import run_cli

import dagforge

BRANCHING = """
dag_id: run_branching
start_date: 2024-01-01
tasks:
  decide:
    operator: branch
    python_callable: branch_mod:choose
    op_kwargs: {weekday: 2}
  weekday:
    operator: bash
    bash_command: "echo weekday"
    dependencies: [decide]
  weekend:
    operator: bash
    bash_command: "echo weekend"
    dependencies: [decide]
  after_weekend:
    operator: empty
    dependencies: [weekend]
  report:
    operator: short_circuit
    python_callable: branch_mod:worth_it
    trigger_rule: none_failed_min_one_success
    dependencies: [weekday, weekend]
  publish:
    operator: empty
    dependencies: [report]
"""

MODULE = """
def choose(weekday):
    return "weekend" if weekday >= 5 else "weekday"

def worth_it():
    return False
"""


def _spec(folder, text=BRANCHING):
    (folder / "branch_mod.py").write_text(textwrap.dedent(MODULE))
    path = folder / "run_branching.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _table(stdout: str) -> dict[str, str]:
    """The table `dagforge run` prints: task -> state."""
    lines = stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["task", "state"], stdout
    return {row.split()[0]: row.split()[1] for row in lines[1:]}


def test_a_run_skips_the_branches_not_chosen_and_what_a_short_circuit_stops(tmp_path):
    r = run_cli("run", _spec(tmp_path), "--logical-date", "2024-06-01", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert _table(r.stdout) == {
        "decide": "success",
        "weekday": "success",
        "weekend": "skipped",
        "after_weekend": "skipped",
        "report": "success",
        "publish": "skipped",
    }


def test_a_branch_with_no_downstream_task_is_a_warning(write_spec):
    path = write_spec(
        "start_date: 2024-01-01\ntasks:\n"
        "  decide: {operator: branch, python_callable: branch_mod:choose}\n"
        "  other: {operator: empty}\n"
    )
    [d] = dagforge.validate([path], verify=False).specs[0].diagnostics
    assert (d.line, d.column, d.severity, d.code) == (3, 22, "warning", "branch")
    assert d.message == "branch task 'decide' has no downstream task to choose"
    assert d.hint.startswith("add `dependencies: [decide]` to each task it may choose")


def test_a_branch_into_a_group_has_its_choices(write_spec):
    path = write_spec(
        "start_date: 2024-01-01\ntasks:\n"
        "  decide: {operator: branch, python_callable: branch_mod:choose}\n"
        "  load:\n    dependencies: [decide]\n    tasks:\n      one: {operator: empty}\n"
    )
    assert dagforge.validate([path], verify=False).specs[0].diagnostics == []


def test_explain_and_graph_show_the_choices(tmp_path):
    path = _spec(tmp_path)
    words = dagforge.explain(path).text
    assert "    calls:      branch_mod:choose\n" in words
    assert (
        "    branches:   to the tasks its function returns, of: weekday, weekend; the others are "
        "skipped\n" in words
    )
    assert "    skips:      the tasks after it, when its function returns a false value\n" in words
    mermaid = dagforge.graph(path, "mermaid").picture
    assert "    t0 -. branch .-> t1\n    t0 -. branch .-> t2\n" in mermaid
    assert "    t2 --> t3\n" in mermaid
    dot = dagforge.graph(path, "dot").picture
    assert '"decide" -> "weekend" [style=dashed, label="branch"];' in dot
    assert '"weekend" -> "after_weekend";' in dot
