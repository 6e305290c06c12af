"""Golden records: each case folder `tests/golden/<case>/` holds a `spec.yaml` (and what it reads)
and the files dagforge generates from it, `airflow3.py` and `airflow2.py`, byte for byte.

A change of the output shows up here as a diff a reviewer reads. When it is intended, write the
golden files anew and commit them with the change:

    .venv/bin/python tests/test_golden.py --regen
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "spec.yaml").is_file())
TARGETS = ("3", "2")
ENVIRONMENT = {"DAGFORGE_GOLDEN_BUCKET": "golden-bucket"}  # the environment case reads it


@contextmanager
def _inside(folder: Path):
    """The working folder and the environment of a golden build (both shape the output)."""
    before, saved = Path.cwd(), {k: os.environ.get(k) for k in ENVIRONMENT}
    os.chdir(folder)
    os.environ.update(ENVIRONMENT)
    try:
        yield
    finally:
        os.chdir(before)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def generate(case: str, airflow: str, scratch: Path) -> str:
    """What `dagforge build --airflow AIRFLOW spec.yaml` writes for a copy of the case folder."""
    import dagforge

    work = scratch / f"{case}-{airflow}"
    shutil.copytree(GOLDEN / case, work, ignore=shutil.ignore_patterns("airflow*.py"))
    with _inside(work):
        result = dagforge.build(["spec.yaml"], "out", verify=False, force=True, airflow=airflow)
    problems = [d.format() for s in result.specs for d in s.diagnostics if d.severity == "error"]
    assert result.ok, problems + [s.internal_error for s in result.specs if s.internal_error]
    [written] = sorted((work / "out").glob("*.py"))
    return written.read_text("utf-8")


@pytest.mark.parametrize("airflow", TARGETS)
@pytest.mark.parametrize("case", CASES)
def test_golden(case, airflow, tmp_path):
    expected = (GOLDEN / case / f"airflow{airflow}.py").read_text("utf-8")
    assert generate(case, airflow, tmp_path) == expected, (
        f"tests/golden/{case}/airflow{airflow}.py differs from what dagforge writes now; if the change"
        " is intended, run `python tests/test_golden.py --regen` and commit the golden files"
    )


@pytest.mark.parametrize(
    "airflow, rules",
    # Airflow 2 files use Airflow 2's import paths on purpose: the Airflow 3 migration rules (AIR3)
    # apply to the Airflow 3 files only.
    [("3", "I,F,E9,AIR"), ("2", "I,F,E9,AIR0")],
)
def test_every_golden_file_passes_ruff(airflow, rules):
    """Import order, unused names, syntax errors and Airflow's own rules over the golden files."""
    files = sorted(GOLDEN.glob(f"*/airflow{airflow}.py"))
    assert len(files) == len(CASES)
    r = subprocess.run(
        [
            Path(sys.executable).with_name("ruff"),
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            rules,
            "--target-version",
            "py311",
            *files,
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_golden_file_compiles():
    for path in sorted(GOLDEN.glob("*/airflow*.py")):
        compile(path.read_text("utf-8"), str(path), "exec")


def test_airflow3_golden_files_load_in_dagbag(tmp_path):
    """Airflow 3's real DagBag imports every Airflow 3 golden file without an error."""
    from conftest import installed_airflow, load_dagbag

    if installed_airflow() != "3":
        pytest.skip("the Airflow 2 venv loads the airflow2.py files (tests/airflow2)")
    for case in CASES:
        shutil.copy(GOLDEN / case / "airflow3.py", tmp_path / f"{case}.py")
    bag = load_dagbag(tmp_path)
    assert bag.import_errors == {}, bag.import_errors
    assert len(bag.dags) == len(CASES)


def regen() -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for case in CASES:
            for airflow in TARGETS:
                target = GOLDEN / case / f"airflow{airflow}.py"
                text = generate(case, airflow, Path(scratch))
                if not target.is_file() or target.read_text("utf-8") != text:
                    target.write_text(text, encoding="utf-8")
                    print(f"wrote {target.relative_to(GOLDEN.parent.parent)}")


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        sys.exit("usage: python tests/test_golden.py --regen")
    sys.path.insert(0, str(GOLDEN.parent))
    regen()
