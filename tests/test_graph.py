"""`dagforge graph`: Mermaid and DOT always; PNG and SVG through Graphviz (installed by .ci/run); a
clear install hint when Graphviz is missing; the README shows every example's graph."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, requires_dot, run_main
from spec_oracle import flat_tasks

SPECS = sorted((ROOT / "specs").glob("*.yaml"))


def _tasks(spec):
    data = yaml.safe_load(spec.read_text())
    return (
        data.get("dag_id", spec.stem),
        flat_tasks(data["tasks"]),
        any("tasks" in t for t in data["tasks"].values()),
    )


CLASSES = {
    "bash": "BashOperator",
    "empty": "EmptyOperator",
    "email": "EmailOperator",
    "sql": "SQLExecuteQueryOperator",
    "file_sensor": "FileSensor",
    "time_delta_sensor": "TimeDeltaSensor",
    "trigger_dag": "TriggerDagRunOperator",
    "python": "PythonOperator",
    "branch": "BranchPythonOperator",
    "short_circuit": "ShortCircuitOperator",
    "virtualenv": "PythonVirtualenvOperator",
    "python_sensor": "PythonSensor",
}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_mermaid_has_every_task_operator_and_edge(spec):
    r = run_main("graph", spec.relative_to(ROOT), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    dag_id, tasks, grouped = _tasks(spec)
    lines = r.stdout.splitlines()
    assert lines[:4] == ["---", f'title: "{dag_id}"', "---", "flowchart LR"]
    nodes = dict(re.findall(r'^    (t\d+)\["([^<]+)<br/>\w+"\]$', r.stdout, re.M))
    assert sorted(nodes.values()) == sorted(tasks)
    edges = {
        (nodes[a], nodes[b])
        for a, b in re.findall(  # plain, XCom and branch edges
            r"^    (t\d+) (?:--|-- XCom --|-\. branch \.-)> (t\d+)$", r.stdout, re.M
        )
    }
    between_tasks = {
        (up, t) for t, body in tasks.items() for up in body["dependencies"] if up in tasks
    }
    if (
        grouped
    ):  # a dependency on a group is edges from its last tasks: those are in the group tests
        assert edges >= between_tasks
    else:
        assert edges == between_tasks
    for task_id, body in tasks.items():
        given = "ExternalTaskSensor" if "wait_for" in body else body["operator"]
        operator = CLASSES.get(given, given.rsplit(".", 1)[-1])
        assert f'["{task_id}<br/>{operator}"]' in r.stdout


@requires_dot
def test_dot_is_valid_graphviz(tmp_path):
    r = run_main("graph", "specs/etl_orders.yaml", "--format", "dot", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert '    "extract_orders" [label="extract_orders\\nBashOperator"];' in r.stdout
    assert '    "transform" -> "load_warehouse";' in r.stdout
    laid_out = subprocess.run(
        ["dot", "-Tplain"], input=r.stdout, capture_output=True, text=True, check=True
    ).stdout
    assert {line.split()[1] for line in laid_out.splitlines() if line.startswith("node ")} == {
        "extract_orders",
        "extract_customers",
        "transform",
        "load_warehouse",
        "refresh_reports",
    }


@requires_dot
def test_png_and_svg_through_graphviz(tmp_path):
    png = tmp_path / "g.png"
    r = run_main(
        "graph",
        ROOT / "specs" / "mlops_churn_model.yaml",
        "--format",
        "png",
        "-o",
        png,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n") and png.stat().st_size > 1000
    assert r.stderr == f"wrote {png.as_posix()}\n"
    r = run_main(
        "graph", ROOT / "specs" / "mlops_churn_model.yaml", "--format", "svg", cwd=tmp_path
    )
    assert r.returncode == 0 and r.stdout.lstrip().startswith("<?xml") and "</svg>" in r.stdout
    for task in (
        "build_features",
        "train",
        "evaluate",
        "deploy",
        "report",
        "BashOperator",
        "EmptyOperator",
    ):
        assert f">{task}</text>" in r.stdout
    exe = Path(sys.executable).with_name("dagforge")  # png on a pipe: the bytes themselves
    piped = subprocess.run(
        [exe, "graph", "specs/etl_orders.yaml", "--format", "png"], cwd=ROOT, capture_output=True
    )
    assert piped.returncode == 0 and piped.stdout.startswith(b"\x89PNG")


def test_graphviz_missing_says_how_to_install_it(tmp_path):
    env = {"PATH": str(Path(sys.executable).parent)}  # the venv only: no `dot`
    for fmt in ("png", "svg"):
        out = tmp_path / f"g.{fmt}"
        r = run_main(
            "graph", "specs/etl_orders.yaml", "--format", fmt, "-o", out, cwd=ROOT, env=env
        )
        assert r.returncode == 2
        assert f"--format {fmt} needs Graphviz's `dot` program, which is not installed" in r.stderr
        assert "apt-get install graphviz" in r.stderr and "brew install graphviz" in r.stderr
        assert "--format mermaid" in r.stderr and "Traceback" not in r.stderr
        assert not (tmp_path / f"g.{fmt}").exists()
    r = run_main("graph", "specs/etl_orders.yaml", cwd=ROOT, env=env)
    assert r.returncode == 0 and "flowchart LR" in r.stdout  # mermaid needs nothing


def test_graph_of_an_invalid_spec(write_spec, tmp_path):
    write_spec(
        "start_date: 2024-01-01\ntasks:\n  a: {operator: empty, dependencies: [b]}\n", "bad.yaml"
    )
    r = run_main("graph", "specs/bad.yaml", cwd=tmp_path)
    assert r.returncode == 1 and r.stdout == ""
    assert "specs/bad.yaml:3:39: error: task 'a' depends on unknown task 'b'" in r.stderr
    assert run_main("graph", "specs/nope.yaml", cwd=tmp_path).returncode == 2
    assert run_main("graph", "specs/bad.yaml", "--format", "gif", cwd=tmp_path).returncode == 2


def test_readme_shows_every_example_graph():
    readme = (ROOT / "README.md").read_text()
    for spec in SPECS:
        r = run_main("graph", spec.relative_to(ROOT), cwd=ROOT)
        assert f"```mermaid\n{r.stdout}```\n" in readme, (
            f"README: paste `dagforge graph {spec.relative_to(ROOT)}`"
        )
