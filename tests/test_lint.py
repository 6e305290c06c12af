"""Every kind of generated output is clean under `ruff check --select AIR3` (Airflow 3 migration rules,
preview ones included) and `black --check`."""

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

import dagforge
from dagforge.scaffold import STARTERS, starter

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The committed example DAGs and the DAGs of every starter and of a spec using every feature."""
    specs = tmp_path_factory.mktemp("specs")
    for template in STARTERS:
        (specs / f"starter_{template}.yaml").write_text(starter(template))
    (specs / "everything.yaml").write_text(
        "start_date: 2024-01-01T06:00:00\nend_date: 2030-01-01\ntimezone: Europe/Berlin\nschedule: 1h30m\n"
        "dagrun_timeout: 1d\nalerts: {emails: [a@example.com], on_retry: true, on_success: true}\n"
        "tasks:\n"
        "  py: {operator: python, python_callable: 'os.path:exists', op_args: ['/tmp'], priority_weight: 3}\n"
        "  mail: {operator: email, to: b@example.com, subject: s, html_content: h, dependencies: [py],"
        " alerts: {on_failure: false}, trigger_rule: all_done}\n"
        "  custom: {operator: airflow.providers.standard.operators.empty.EmptyOperator, dependencies: [py, mail]}\n"
    )
    out = tmp_path_factory.mktemp("out")
    result = dagforge.build([specs], out, verify=False)
    assert result.ok, [d.format() for s in result.specs for d in s.diagnostics]
    return [ROOT / "generated_dags", out]


@pytest.mark.parametrize("preview", [False, True], ids=["stable", "preview"])
def test_ruff_airflow_3_rules(outputs, preview):
    command = [
        BIN / "ruff",
        "check",
        "--select",
        "AIR3",
        "--no-cache",
        *(["--preview"] if preview else []),
        *outputs,
    ]
    r = subprocess.run(command, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All checks passed!" in r.stdout


def test_black_check(outputs):
    r = subprocess.run([BIN / "black", "--check", *outputs], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "would be left unchanged" in r.stderr and "would be reformatted" not in r.stderr
