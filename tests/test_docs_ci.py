"""docs/ci.md's GitHub Actions workflow works: its run steps (all but the install) run here, in a copy
of the repository, and pass; on a stale file they fail with annotations."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import ROOT

BIN = Path(sys.executable).parent


def _workflow():
    text = (ROOT / "docs" / "ci.md").read_text()
    block = re.findall(r"```yaml\n(.*?)```", text, re.S)[0]  # the second: test_diff's
    return yaml.safe_load(block)


def _run_steps(repo, tmp_path):
    """Run every `run:` step but the install one, as the runner would, with its `env`."""
    results = []
    for step in _workflow()["jobs"]["dags"]["steps"]:
        if "run" not in step or step["run"].startswith("pip install"):
            continue
        env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
        env.update(
            {
                k: v.replace("${{ runner.temp }}", str(tmp_path))
                for k, v in step.get("env", {}).items()
            }
        )
        r = subprocess.run(
            ["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True
        )
        results.append((step["name"], r))
    return results


def test_workflow_installs_dagforge_checks_and_loads():
    steps = _workflow()["jobs"]["dags"]["steps"]
    runs = [s["run"] for s in steps if "run" in s]
    assert runs[0].startswith("pip install ") and "dagforge[airflow]" in runs[0]
    assert runs[1] == "dagforge check --format github"
    assert "DagBag(" in runs[2]


def test_workflow_steps_pass_on_this_repository_and_fail_on_a_stale_file(tmp_path):
    repo = tmp_path / "repo"
    for folder in ("specs", "generated_dags", "example_team"):
        shutil.copytree(ROOT / folder, repo / folder)
    results = _run_steps(repo, tmp_path)
    assert len(results) == 2
    for name, r in results:
        assert r.returncode == 0, (name, r.stdout, r.stderr)
    assert (
        f"{len(list((ROOT / 'generated_dags').glob('*.py')))} DAGs loaded, 0 files with problems"
        in results[1][1].stdout
    )

    spec = repo / "specs" / "etl_orders.yaml"
    spec.write_text(spec.read_text().replace("retries: 2", "retries: 3"))
    (repo / "generated_dags" / "infra_housekeeping.py").write_text(
        "from airflow.sdk import DAG\nthis is not python(\n"
    )
    (name, check), (_, load) = _run_steps(repo, tmp_path)
    assert check.returncode == 1
    assert check.stdout.startswith(
        "::error file=specs/etl_orders.yaml,title=dagforge%3A stale::"
        "generated_dags/etl_orders.py is stale"
    )
    assert (
        "::error file=generated_dags/infra_housekeeping.py,line=1,col=1,title=dagforge%3A hand-edited::"
        in check.stdout
    )  # line 1: no header
    assert load.returncode == 1
    assert (
        "::error file=generated_dags/infra_housekeeping.py,title=Airflow cannot load it::"
        in load.stdout
    )
