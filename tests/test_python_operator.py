"""`operator: python` imports the user's `module:function` and Airflow calls exactly that function."""

from conftest import load_dagbag

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
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok
    [d] = result.specs[0].diagnostics
    assert d.severity == "warning" and (d.line, d.column) == (3, 42)
    assert (
        "module 'no_such_module' is not installed where dagforge builds" in d.message
        and "not verified" in d.message
    )
    assert (tmp_path / "out" / "elsewhere.py").exists()


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
