"""`operator: python` imports the user's `module:function` and Airflow calls exactly that function."""

import json

from conftest import load_dagbag, run_cli

import dagforge


def test_python_callable_is_imported_and_verified(tmp_path, monkeypatch):
    pkg = tmp_path / "shop_etl"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "transform.py").write_text("def run(day, mode='fast'):\n    return f'{day}:{mode}'\n")
    (pkg / "load.py").write_text("def run():\n    return 'loaded'\n")
    spec = tmp_path / "py_pipeline.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n"
        "  transform:\n    operator: python\n    python_callable: shop_etl.transform:run\n"
        "    op_args: ['{{ ds }}']\n    op_kwargs: {mode: strict}\n"
        "  load:\n    operator: python\n    python_callable: shop_etl.load:run\n    dependencies: [transform]\n"
    )
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok, [d.format() for d in result.specs[0].diagnostics]
    code = result.specs[0].code
    assert "from shop_etl.transform import run\n" in code
    assert "from shop_etl.load import run as shop_etl_load_run\n" in code
    monkeypatch.syspath_prepend(str(tmp_path))
    dag = load_dagbag(tmp_path / "out").dags["py_pipeline"]
    transform = dag.task_dict["transform"]
    assert transform.python_callable("d", **transform.op_kwargs) == "d:strict"
    assert transform.op_args == ["{{ ds }}"]
    assert dag.task_dict["load"].python_callable() == "loaded"


def test_missing_module_is_a_warning_and_the_file_is_written_unverified(tmp_path, monkeypatch):
    spec = tmp_path / "elsewhere.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n  t: {operator: python, python_callable: no_such_module:run}\n"
    )
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out")  # verified where Airflow is installed
    assert result.ok and not result.verified
    [d] = result.specs[0].diagnostics
    assert d.severity == "warning" and (d.line, d.column) == (3, 42)
    assert (
        "module 'no_such_module' is not installed where dagforge builds" in d.message
        and "not verified" in d.message
    )
    assert (tmp_path / "out" / "elsewhere.py").exists()
    assert not result.specs[0].verified
    assert result.specs[0].unverified == "module 'no_such_module' is not importable"


def test_a_mistyped_module_is_not_verified_and_the_summary_says_which(tmp_path, write_spec):
    """Without --verify: a warning with a did-you-mean, the file written, and the summary and the
    JSON say it was not verified. With --verify: an error, and that file is not written."""
    (tmp_path / "churn").mkdir()
    (tmp_path / "churn" / "__init__.py").write_text("")
    (tmp_path / "churn" / "steps.py").write_text("def train():\n    return 1\n")
    write_spec(
        "start_date: 2024-01-01\ntasks:\n  train: {operator: python, python_callable: churnn.steps:train}\n",
        "model.yaml",  # not churn.yaml: out/churn.py on the path would hide the package churn
    )
    write_spec(
        "start_date: 2024-01-01\ntasks:\n  t: {operator: python, python_callable: churn.steps:train}\n",
        "good.yaml",
    )
    r = run_cli("build", "specs", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "specs/model.yaml:3:46: warning: python_callable 'churnn.steps:train'" in r.stderr
    assert "  hint: did you mean 'churn'? If not: install the package" in r.stderr
    assert r.stderr.endswith(
        "2 built, 0 invalid; 1 verified, 1 not: model.py (module 'churnn' is not importable)\n"
    )
    assert "verified with" not in r.stderr

    r = run_cli("build", "specs", "-o", "out", "--force", "--format", "json", cwd=tmp_path)
    doc = json.loads(r.stdout)
    assert {s["spec"]: s["verified"] for s in doc["specs"]} == {
        "specs/model.yaml": False,
        "specs/good.yaml": True,
    }
    assert doc["counts"] == {"built": 2, "up_to_date": 0, "invalid": 0, "verified": 1}

    r = run_cli("build", "specs", "-o", "strict", "--verify", cwd=tmp_path)
    assert r.returncode == 1
    assert "specs/model.yaml:3:46: error: python_callable 'churnn.steps:train'" in r.stderr
    assert "or build without --verify to write the file unverified" in r.stderr
    assert r.stderr.endswith("1 built, 1 invalid; 1 verified with Airflow's DagBag\n")
    assert sorted(p.name for p in (tmp_path / "strict").glob("*.py")) == ["good.py"]


def test_a_mistyped_submodule_gets_a_did_you_mean_from_its_package(tmp_path, write_spec):
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "__init__.py").write_text("")
    (tmp_path / "shop" / "transform.py").write_text("def run():\n    return 1\n")
    write_spec(
        "start_date: 2024-01-01\ntasks:\n  t: {operator: python, python_callable: shop.transfrom:run}\n"
    )
    r = run_cli("validate", "specs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "module 'shop.transfrom' is not installed" in r.stderr
    assert "hint: did you mean 'transform'?" in r.stderr


def test_a_module_that_fails_on_import_is_an_error_and_writes_nothing(tmp_path, monkeypatch):
    (tmp_path / "broken_mod.py").write_text("import no_such_dependency\ndef run():\n    pass\n")
    spec = tmp_path / "broken.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n  t: {operator: python, python_callable: broken_mod:run}\n"
    )
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert not result.ok
    [d] = result.specs[0].diagnostics
    assert "importing 'broken_mod' fails" in d.message and "no_such_dependency" in d.message
    assert not (tmp_path / "out" / "broken.py").exists()
