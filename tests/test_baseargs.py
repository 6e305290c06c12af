"""Every BaseOperator argument on every task, and the spec's `defaults:` for every task (issue 12,
item 3): checked against the version built for, written into the file, proven in Airflow's DagBag."""

from __future__ import annotations

import pytest
from conftest import ROOT, load_dagbag

import dagforge
from dagforge.load import load
from dagforge.model import build_model
from dagforge.verify import _compare, expectations

GOLDEN = ROOT / "tests" / "golden" / "baseargs" / "spec.yaml"


def _errors(result) -> list[tuple[int, int, str]]:
    return [
        (d.line, d.column, d.message)
        for s in result.specs
        for d in s.diagnostics
        if d.severity == "error"
    ]


@pytest.mark.parametrize(
    "airflow, spec, expected",
    [
        (
            "3",
            "defaults:\n  sla: 1h\ntasks:\n  a: {operator: empty}\n",
            (3, 3, "Airflow 3 has no task setting 'sla'"),
        ),
        (
            "2",
            "tasks:\n  a:\n    operator: empty\n    render_template_as_native_obj: true\n",
            (5, 5, "Airflow 2.10 has no task setting 'render_template_as_native_obj'"),
        ),
        (
            "2",
            "tasks:\n  g:\n    defaults: {retry_exponential_backoff: 3}\n    tasks: {a: {operator: empty}}\n",
            (4, 16, "Airflow 2.10 takes only true or false as 'retry_exponential_backoff'"),
        ),
    ],
)
def test_an_argument_the_target_lacks_is_a_located_error(
    write_spec, tmp_path, airflow, spec, expected
):
    path = write_spec("start_date: 2024-01-01\n" + spec)
    built = dagforge.build([path], tmp_path / "out", verify=False, airflow=airflow)
    assert _errors(built) == [expected] and not (tmp_path / "out").exists()
    assert _errors(dagforge.validate([path], airflow=airflow, verify=False)) == [expected]
    other = "2" if airflow == "3" else "3"
    assert dagforge.build([path], tmp_path / "other", verify=False, airflow=other).ok


def test_the_spec_defaults_are_the_dags_default_args(write_spec, tmp_path):
    path = write_spec(
        """\
        start_date: 2024-01-01
        defaults: {depends_on_past: true, max_retry_delay: 1h, retries: 3, pool: shared}
        tasks:
          a: {operator: empty}
          b: {operator: empty, depends_on_past: false}
          g:
            defaults: {pool: own}
            tasks: {c: {operator: empty}, d: {operator: empty, pool: shared}}
        """
    )
    p = build_model(load(path))
    assert p.retries == 3 and "retries" not in p.defaults
    tasks = {t.task_id: t for t in p.tasks}
    assert (
        tasks["a"].overrides["depends_on_past"] is True
        and "depends_on_past" in tasks["a"].inherited
    )
    assert tasks["b"].overrides["depends_on_past"] is False and not tasks["b"].inherited >= {
        "depends_on_past"
    }
    assert tasks["g.c"].overrides["pool"] == "own"
    assert tasks["g.d"].overrides["pool"] == "shared" and "pool" not in tasks["g.d"].inherited
    out = tmp_path / "out"
    assert dagforge.build([path], out, verify=True).verified
    source = (out / "pipe.py").read_text()
    assert '"depends_on_past": True,\n        "max_retry_delay": timedelta(hours=1)' in source
    assert 'default_args={"pool": "own"}' in source
    # the task's own value equal to the DAG's default is still written: the group's would win
    assert 'd = EmptyOperator(task_id="d", pool="shared")' in source


def test_a_top_level_key_from_a_defaults_yaml_gives_way_to_the_specs_defaults(write_spec):
    path = write_spec(
        "start_date: 2024-01-01\ndefaults: {retries: 4}\ntasks: {a: {operator: empty}}\n"
    )
    (path.parent / "defaults.yaml").write_text("retries: 1\nowner: team\n")
    result = dagforge.validate([path], verify=False)
    assert result.ok, _errors(result)
    p = result.specs[0].pipeline
    assert (p.retries, p.owner) == (4, "team")
    # and the other way round: the spec's top-level key over a defaults.yaml's `defaults:`
    path.write_text("start_date: 2024-01-01\nretries: 4\ntasks: {a: {operator: empty}}\n")
    (path.parent / "defaults.yaml").write_text("defaults: {retries: 1, depends_on_past: true}\n")
    result = dagforge.validate([path], verify=False)
    assert result.ok, _errors(result)
    p = result.specs[0].pipeline
    assert (p.retries, p.defaults) == (4, {"depends_on_past": True})


def test_verification_compares_every_argument(tmp_path):
    """The golden spec loads as the spec says; a file that says otherwise is caught, argument by argument."""
    out = tmp_path / "out"
    built = dagforge.build([GOLDEN], out, verify=True)
    assert built.ok and built.verified, _errors(built)
    p = build_model(load(GOLDEN))
    exp = expectations(p)
    [file] = out.glob("*.py")
    assert _compare(load_dagbag(out).dags["golden_baseargs"], exp) == []
    edited = (
        file.read_text()
        .replace('"depends_on_past": True', '"depends_on_past": False')
        .replace("max_retry_delay=timedelta(hours=2)", "max_retry_delay=timedelta(hours=3)")
        .replace('weight_rule="absolute"', 'weight_rule="downstream"')
        .replace('resources={"cpus": 2, "ram": 1024}', 'resources={"cpus": 1, "ram": 1024}')
        .replace('params={"limit": 100}', 'params={"limit": 99}')
        .replace('logger_name="golden.lake"', 'logger_name="other"')
    )
    (tmp_path / "edited").mkdir()
    (tmp_path / "edited" / file.name).write_text(edited)
    problems = _compare(load_dagbag(tmp_path / "edited").dags["golden_baseargs"], exp)
    for said in (
        "task 'extract': depends_on_past is False",
        "task 'extract': max_retry_delay",
        "task 'load.lake': weight_rule is 'downstream'",
        "task 'load.warehouse': resources",
        "task 'extract': params",
        "task 'load.lake': logger_name is 'other'",
    ):
        assert any(p.startswith(said) for p in problems), (said, problems)


def test_a_misspelt_argument_of_an_import_path_operator_is_located(write_spec):
    path = write_spec(
        """\
        start_date: 2024-01-01
        tasks:
          a:
            operator: airflow.providers.standard.operators.bash.BashOperator
            bash_command: echo
            depends_on_pst: true
            depends_on_past: true
        """
    )
    result = dagforge.validate([path])
    [d] = [d for s in result.specs for d in s.diagnostics if d.severity == "error"]
    assert (d.line, d.column, d.message) == (6, 5, "BashOperator has no argument 'depends_on_pst'")
    assert "did you mean 'depends_on_past'?" in d.hint


def test_explain_shows_the_arguments(write_spec):
    path = write_spec(
        """\
        start_date: 2024-01-01
        defaults: {max_retry_delay: 90m, depends_on_past: true}
        tasks:
          a:
            operator: empty
            doc_md: "# Title\\nmore"
            weight_rule: absolute
        """
    )
    words = dagforge.explain(path).text
    for said in (
        "max_retry_delay: 1 hour 30 minutes",
        "depends_on_past: true",
        "doc_md:     # Title ...",
        "weight_rule: absolute",
    ):
        assert said in words, words


def test_every_setting_of_a_mapped_task_is_verified(write_spec, tmp_path):
    """A mapped task keeps the arguments it was given in `partial_kwargs`, not as attributes."""
    from test_task_settings import SPEC

    path = write_spec(SPEC)
    write_spec("start_date: 2024-01-01\ntasks: {t: {operator: empty}}\n", "other_dag.yaml")
    built = dagforge.build([path.parent], tmp_path / "out", verify=True)
    assert built.ok and built.verified, _errors(built)


# BaseOperator arguments that are no task setting, on purpose: dagforge sets them, or they are
# spelt otherwise (`alerts` for the mails; callbacks, inlets and Python objects are value forms of
# their own), or the DAG's apply (a task's own start_date / end_date, which Airflow advises against).
LEFT_OUT = {
    *("self", "kwargs", "task_id", "dag", "default_args", "task_group"),
    *("email", "email_on_retry", "email_on_failure", "start_date", "end_date", "inlets"),
    *(f"on_{event}_callback" for event in ("execute", "failure", "success", "retry", "skipped")),
    *("pre_execute", "post_execute", "retry_policy", "task_concurrency"),
}


def _base_operator_arguments(airflow: str) -> set[str]:
    import importlib
    import inspect

    from dagforge.targets import target

    module, name = target(airflow).base_operator
    cls = getattr(importlib.import_module(module), name)
    return set(inspect.signature(cls.__init__).parameters)


def test_the_settings_are_the_base_operator_arguments_of_the_installed_airflow():
    """Every setting is an argument of Airflow 3's BaseOperator (Airflow 2.10's: in tests/airflow2),
    and every argument is a setting or left out on purpose: a new Airflow argument shows up here."""
    from dagforge.model import passed_settings
    from dagforge.targets import target

    settings = {*passed_settings(), "retries", "retry_delay", "execution_timeout"} - {"alerts"}
    arguments = _base_operator_arguments("3")
    assert settings - set(target("3").missing_settings) <= arguments
    assert arguments - LEFT_OUT <= settings
