"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit` in a throwaway git repository.

pre-commit installs dagforge from a git repository of this source into its own virtualenv, as it
would for a user's project; that takes a while once, so one test walks through the cases.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, run_cli

BIN = Path(sys.executable).parent
GIT = [
    "git",
    "-c",
    "user.name=dagforge tests",
    "-c",
    "user.email=tests@example.com",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "commit.gpgsign=false",
]
SPEC = "start_date: 2024-01-01\ntasks:\n  hello: {operator: bash, bash_command: 'echo hello'}\n"


def _git(cwd, *args):
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


def _hook_repo(tmp_path) -> tuple[Path, str]:
    """This source as a git repository, the way pre-commit clones a hook repository."""
    repo = tmp_path / "dagforge-hooks"
    repo.mkdir()
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy(ROOT / name, repo / name)
    shutil.copytree(  # the schema ships inside the package
        ROOT / "dagforge",
        repo / "dagforge",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    _git(repo, "init", "-q")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "dagforge")
    rev = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    return repo, rev


def test_pre_commit_hooks(tmp_path):
    hooks, rev = _hook_repo(tmp_path)
    project = tmp_path / "project"
    (project / "specs").mkdir(parents=True)
    (project / "specs" / "hello.yaml").write_text(SPEC)
    (project / "specs" / "other.yaml").write_text(SPEC)
    assert run_cli("build", "--no-verify", cwd=project).returncode == 0
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {hooks.as_posix()}\n    rev: {rev}\n    hooks:\n"
        "      - id: dagforge-validate\n      - id: dagforge-check\n"
    )
    _git(project, "init", "-q")
    env = dict(
        os.environ, PRE_COMMIT_HOME=str(tmp_path / "pre-commit-home"), PRE_COMMIT_COLOR="never"
    )
    env.pop("VIRTUAL_ENV", None)

    def pre_commit():
        _git(project, "add", "-A")
        return subprocess.run(
            [BIN / "pre-commit", "run", "--all-files"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
        )

    r = pre_commit()
    assert r.returncode == 0, r.stdout + r.stderr
    assert (
        "dagforge validate" in r.stdout
        and "dagforge check" in r.stdout
        and "Failed" not in r.stdout
    )

    (project / "specs" / "hello.yaml").write_text(SPEC.replace("echo hello", "echo changed"))
    r = pre_commit()
    assert r.returncode == 1
    assert "specs/hello.yaml: error: generated_dags/hello.py is stale" in r.stdout
    assert "hint: run `dagforge build`" in r.stdout

    assert run_cli("build", "--no-verify", cwd=project).returncode == 0
    assert pre_commit().returncode == 0

    generated = project / "generated_dags" / "other.py"
    generated.write_text(generated.read_text().replace("echo hello", "echo by hand"))
    r = pre_commit()
    assert r.returncode == 1 and "generated_dags/other.py was edited by hand" in r.stdout

    assert run_cli("build", "--no-verify", cwd=project).returncode == 0
    (project / "specs" / "other.yaml").unlink()
    r = pre_commit()
    assert (
        r.returncode == 1
        and "generated_dags/other.py is orphaned: its spec specs/other.yaml is gone" in r.stdout
    )

    assert run_cli("build", "--no-verify", cwd=project).returncode == 0
    (project / "specs" / "hello.yaml").write_text(SPEC.replace("bash_command", "bash_comand"))
    r = pre_commit()
    assert r.returncode == 1
    assert "specs/hello.yaml:3:27: error: unknown key 'bash_comand' in task 'hello'" in r.stdout
    assert "did you mean 'bash_command'?" in r.stdout
