"""Every BaseOperator argument on Airflow 2.10: the golden spec, and `sla` (which only Airflow 2
has), built for 2.10 and verified in its real DagBag. Runs in the Airflow 2.10.5 venv (.ci/run)."""

from conftest import ROOT, installed_airflow, load_dagbag

import dagforge
from dagforge.load import load
from dagforge.model import build_model
from dagforge.verify import _compare, expectations


def test_every_argument_is_verified_on_airflow_2(tmp_path):
    assert installed_airflow() == "2"
    spec = tmp_path / "specs" / "baseargs2.yaml"
    spec.parent.mkdir()
    text = (ROOT / "tests" / "golden" / "baseargs" / "spec.yaml").read_text()
    spec.write_text(
        text.replace("dag_id: golden_baseargs", "dag_id: baseargs2").replace(
            "  weight_rule: upstream\n", "  weight_rule: upstream\n  sla: 2h\n"
        )
    )
    built = dagforge.build([spec], tmp_path / "out", verify=True, airflow="2")
    assert built.ok and built.verified, [d.format() for s in built.specs for d in s.diagnostics]
    source = (tmp_path / "out" / "baseargs2.py").read_text()
    assert '"sla": timedelta(hours=2)' in source
    exp = expectations(build_model(load(spec)), "2")
    dag = load_dagbag(tmp_path / "out").dags["baseargs2"]
    assert _compare(dag, exp) == []
    assert all(t.sla.total_seconds() == 7200 for t in dag.tasks)
    # a file that says otherwise is caught
    edited = tmp_path / "edited"
    edited.mkdir()
    (edited / "baseargs2.py").write_text(
        source.replace('weight_rule="absolute"', 'weight_rule="upstream"')
    )
    problems = _compare(load_dagbag(edited).dags["baseargs2"], exp)
    assert any(p.startswith("task 'load.lake': weight_rule is 'upstream'") for p in problems)


def test_the_settings_are_airflow_2s_base_operator_arguments():
    import inspect

    from airflow.models.baseoperator import BaseOperator

    from dagforge.model import passed_settings
    from dagforge.targets import target

    missing = set(target("2").missing_settings)
    settings = {*passed_settings(), "retries", "retry_delay", "execution_timeout"} - {"alerts"}
    arguments = set(inspect.signature(BaseOperator.__init__).parameters)
    assert settings - missing <= arguments
    assert not missing & arguments  # what the table says Airflow 2.10 lacks, it lacks
