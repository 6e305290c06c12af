import os
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    # A throwaway Airflow home for every test run: Airflow must never touch the user's ~/airflow.
    home = Path(config.rootpath, ".pytest_cache", "airflow-home")
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec (dedented YAML text) into tmp_path/specs and return its path."""

    def write(text: str, name: str = "pipe.yaml") -> Path:
        path = tmp_path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def run_cli(*args, cwd=None):
    """Run the real `dagforge` entry point in a subprocess."""
    import subprocess

    exe = Path(sys.executable).with_name("dagforge")
    return subprocess.run([str(exe), *map(str, args)], cwd=cwd, capture_output=True, text=True)


def installed_airflow() -> str:
    """The major version of the Airflow installed here: "3", or "2" in the Airflow 2.10 venv."""
    import airflow

    return airflow.__version__.split(".")[0]


def load_dagbag(folder):
    """Airflow's real DagBag over a folder, from its home on the installed version."""
    from dagforge.targets import TARGETS
    from dagforge.verify import load_dagbag as dagbag

    return dagbag(folder, TARGETS[installed_airflow()])
