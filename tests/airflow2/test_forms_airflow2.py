"""`--airflow 2` output of the value forms and callbacks in the real Airflow 2.10: the golden `forms`
case ({object:}, {function:}, {output_of:} at any depth, callbacks of the DAG run, a group and a
task, with the alert mails) is built and verified in its DagBag. Runs in the Airflow 2.10.5 venv
(.ci/run)."""

import functools
import shutil

from conftest import ROOT, installed_airflow, load_dagbag

import dagforge

assert installed_airflow() == "2", (
    "tests/airflow2 runs where Airflow 2.10 is installed: see .ci/run"
)


def test_value_forms_and_callbacks_are_verified_on_airflow_2_10(tmp_path, monkeypatch):
    shutil.copy(ROOT / "tests" / "golden" / "forms" / "spec.yaml", tmp_path / "forms.yaml")
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([tmp_path / "forms.yaml"], tmp_path / "out", verify=True, airflow="2")
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["forms"]
    load = dag.task_dict["load"]
    assert load.upstream_task_ids == {"extract"}
    assert (load.op_kwargs["rows"].operator.task_id, load.op_kwargs["rows"].key) == (
        "extract",
        "rows",
    )
    assert isinstance(load.op_kwargs["default"], functools.partial)
    extract = dag.task_dict["extract"]
    assert [type(c).__name__ for c in extract.on_failure_callback] == [
        "SmtpNotifier",
        "SimpleNamespace",
    ]
    assert extract.on_skipped_callback[0].__name__ == "info"
