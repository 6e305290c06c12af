import os
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# Property-based tests: a few hundred examples in CI, 10,000 before a release (HYPOTHESIS_PROFILE=thorough).
_common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile("ci", max_examples=300, **_common)
settings.register_profile("thorough", max_examples=10_000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

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


def load_dagbag(folder):
    """Airflow's real DagBag over a folder (imported here, in the tests, never in dagforge)."""
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(folder))
