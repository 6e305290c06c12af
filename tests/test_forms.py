"""Python values in operator arguments: `{object: ...}` (an instance), `{function: ...}` (a function,
with keywords bound), `{output_of: TASK, key: K}` (an upstream task's XCom), at any depth, and a
`module:function` python_callable on an operator given by import path. Real builds (the `dagforge`
CLI in a subprocess, Airflow's real DagBag) over a small user module in tmp_path."""

import functools
import re
import sys
import textwrap

import pytest
from conftest import load_dagbag, run_cli

import dagforge
from dagforge import diagram
from dagforge.load import load
from dagforge.model import build_model
from dagforge.verify import _compare, expectations

TEAM = {
    "team/__init__.py": "",
    "team/etl.py": """\
        def extract():
            return {"rows": [1, 2]}

        def load(rows=None, limits=None, sink=None, everything=None):
            return rows

        def choose(threshold=1, mode="fast"):
            return threshold

        class NotATimetable:
            def __init__(self, hour=6):
                self.hour = hour

        class Limits:
            def __init__(self, cpu=1, memory="1Gi", inner=None):
                self.cpu = cpu
                self.memory = memory
                self.inner = inner
    """,
    "team/timetables.py": """\
        from airflow.timetables.trigger import CronTriggerTimetable


        class Workdays(CronTriggerTimetable):
            \"\"\"A run at `hour` o'clock on every weekday.\"\"\"

            def __init__(self, hour=6, timezone="UTC"):
                super().__init__(f"0 {hour} * * 1-5", timezone=timezone)
                self.hour = hour
    """,
}

SPEC = """\
start_date: 2024-01-01
tasks:
  extract:
    operator: python
    python_callable: team.etl:extract
  load:
    operator: airflow.providers.standard.operators.python.PythonOperator
    python_callable: team.etl:load
    op_kwargs:
      rows: {output_of: extract, key: rows}
      everything: [{output_of: extract}]
      limits: {object: team.etl.Limits, cpu: 2, inner: {object: team.etl.Limits, memory: 2Gi}}
      sink: {function: team.etl:choose, threshold: 3}
    executor_config:
      pod_override:
        object: kubernetes.client.V1Pod
        metadata: {object: kubernetes.client.V1ObjectMeta, labels: {team: ml}}
"""


def _project(tmp_path, specs: dict[str, str]):
    for name, text in TEAM.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(textwrap.dedent(text))
    (tmp_path / "specs").mkdir(exist_ok=True)
    for name, text in specs.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(textwrap.dedent(text))


@pytest.fixture
def team(tmp_path, monkeypatch):
    """The user module on this process's path too (the test loads the DagBag itself)."""
    _project(tmp_path, {})
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m == "team" or m.startswith("team.")]:
        del sys.modules[name]


def test_objects_functions_and_outputs_build_verified_and_load_as_written(team):
    (team / "specs" / "forms.yaml").write_text(SPEC)
    r = run_cli("build", "specs", "-o", "out", cwd=team)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 verified" in r.stdout + r.stderr
    source = (team / "out" / "forms.py").read_text()
    assert 'extract.output["rows"]' in source
    assert "partial(choose, threshold=3)" in source
    assert 'Limits(cpu=2, inner=Limits(memory="2Gi"))' in source
    assert 'V1Pod(metadata=V1ObjectMeta(labels={"team": "ml"}))' in source
    assert "python_callable=load" in source  # an import-path operator's callable is imported

    from kubernetes.client import V1Pod
    from team.etl import Limits, choose, load

    dag = load_dagbag(team / "out").dags["forms"]
    task = dag.task_dict["load"]
    assert task.python_callable is load
    assert task.upstream_task_ids == {"extract"}
    rows = task.op_kwargs["rows"]
    assert (rows.operator.task_id, rows.key) == ("extract", "rows")
    assert task.op_kwargs["everything"][0].key == "return_value"
    limits = task.op_kwargs["limits"]
    assert type(limits) is Limits and limits.cpu == 2 and limits.inner.memory == "2Gi"
    sink = task.op_kwargs["sink"]
    assert isinstance(sink, functools.partial) and sink.func is choose
    assert sink.keywords == {"threshold": 3}
    pod = task.executor_config["pod_override"]
    assert isinstance(pod, V1Pod) and pod.metadata.labels == {"team": "ml"}


def test_verification_tells_a_different_object_function_or_output(team):
    """_compare reads the loaded values in the spec's terms: a spec that says something else than
    the loaded DAG is a problem for each form."""
    (team / "specs" / "forms.yaml").write_text(SPEC)
    r = run_cli("build", "specs", "-o", "out", "--no-verify", cwd=team)
    assert r.returncode == 0, r.stderr
    dag = load_dagbag(team / "out").dags["forms"]
    p = build_model(load(team / "specs" / "forms.yaml"))
    exp = expectations(p)
    assert _compare(dag, exp) == []
    kwargs = exp["tasks"]["load"]["arguments"]["op_kwargs"]
    kwargs["rows"]["key"] = "cols"
    kwargs["limits"]["kwargs"]["cpu"] = 3
    kwargs["sink"]["kwargs"]["threshold"] = 4
    kwargs["everything"][0]["$xcom"] = "other"
    exp["tasks"]["load"]["settings"]["executor_config"]["pod_override"]["$object"] = (
        "kubernetes.client.V1Service"
    )
    problems = _compare(dag, exp)
    assert len(problems) == 2, problems  # op_kwargs and executor_config
    for said in ("'cols'", "'cpu': 3", "'threshold': 4", "'other'", "V1Service"):
        assert any(said in p for p in problems), said


def test_an_output_makes_the_dependency_in_the_model_the_explanation_and_the_graph(write_spec):
    path = write_spec(SPEC)
    p = build_model(load(path))
    load_task = next(t for t in p.tasks if t.task_id == "load")
    assert load_task.dependencies == ("extract",)
    assert p.data_edges == {("extract", "load")}
    assert "t0 -- XCom --> t1" in diagram.mermaid(p)
    assert 'label="XCom"' in diagram.dot(p)
    words = dagforge.explain(path).text
    assert "takes:      the output of extract (key 'rows') as op_kwargs.rows" in words
    assert "takes:      the output of extract as op_kwargs.everything.0" in words
    assert "V1Pod(metadata=V1ObjectMeta(labels={'team': 'ml'}))" in words


def test_an_output_of_a_task_in_a_group_is_found_as_dependencies_are(write_spec, tmp_path):
    path = write_spec(
        """\
        start_date: 2024-01-01
        tasks:
          etl:
            tasks:
              extract: {operator: python, python_callable: json:dumps}
              load:
                operator: python
                python_callable: json:dumps
                op_args: [{output_of: extract}]
          report:
            operator: python
            python_callable: json:dumps
            op_kwargs: {rows: {output_of: etl.extract, key: rows}}
        """
    )
    p = build_model(load(path))
    assert {t.task_id: t.dependencies for t in p.tasks}["etl.load"] == ("etl.extract",)
    result = dagforge.build([path], tmp_path / "out")
    assert result.ok, [d.format() for s in result.specs for d in s.diagnostics]
    assert result.specs[0].verified
    source = result.specs[0].code
    assert "op_args=[extract.output]" in source
    assert 'op_kwargs={"rows": extract.output["rows"]}' in source


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "{object: team.etl.Limts, cpu: 2}",
            r"7:\d+: error: object 'team.etl.Limts': module 'team.etl' has no 'Limts'.*\n(.*\n)*"
            r".*did you mean 'Limits'\?",
        ),
        (
            "{object: team.etl.Limits, cpus: 2}",
            r"7:\d+: error: Limits\(cpu=1, memory='1Gi', inner=None\) has no argument 'cpus'"
            r".*\n(.*\n)*.*did you mean 'cpu'\?",
        ),
        (
            "{function: team.etl:choose, treshold: 2}",
            r"7:\d+: error: choose\(threshold=1, mode='fast'\) has no argument 'treshold'"
            r".*\n(.*\n)*.*did you mean 'threshold'\?",
        ),
        (
            "[1, {x: {object: team.etl.Limits, memroy: 1Gi}}]",
            r"7:\d+: error: Limits\(.*\) has no argument 'memroy'.*\n(.*\n)*.*did you mean 'memory'",
        ),
        (
            "{object: team.etl.choose}",
            r"7:\d+: error: 'team.etl.choose' is not a class \(it is a function\)",
        ),
    ],
)
def test_a_wrong_class_function_or_keyword_is_a_located_error(tmp_path, value, message):
    spec = f"""\
        start_date: 2024-01-01
        tasks:
          load:
            operator: python
            python_callable: team.etl:load
            op_kwargs:
              limits: {value}
        """
    _project(tmp_path, {"pipe": spec})
    r = run_cli("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"specs/pipe.yaml:" + message, r.stdout + r.stderr), r.stdout + r.stderr
    assert "internal error" not in r.stdout + r.stderr


def test_a_python_callable_of_an_import_path_operator_is_checked_as_for_python(tmp_path):
    spec = """\
        start_date: 2024-01-01
        tasks:
          load:
            operator: airflow.providers.standard.operators.python.PythonOperator
            python_callable: team.etl:laod
        """
    _project(tmp_path, {"pipe": spec})
    r = run_cli("validate", "specs", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert "specs/pipe.yaml:5:" in out and "did you mean 'load'?" in out, out
    assert "dagforge bug" not in out and "internal error" not in out


def test_an_output_in_an_argument_airflow_does_not_template_is_a_warning(tmp_path):
    spec = """\
        start_date: 2024-01-01
        tasks:
          extract: {operator: python, python_callable: team.etl:extract}
          use:
            operator: airflow.providers.standard.operators.bash.BashOperator
            bash_command: echo
            env: {ROWS: {output_of: extract}}
            output_encoding: {output_of: extract}
        """
    _project(tmp_path, {"pipe": spec})
    r = run_cli("validate", "specs", cwd=tmp_path)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    warned = re.findall(r"^specs/pipe.yaml:(\d+):\d+: warning: (.*)$", out, re.M)
    assert warned == [
        (
            "8",
            "BashOperator does not render 'output_encoding' as a template: the task would get "
            "the reference to the output, not the output",
        )
    ], out
    assert "templated argument of BashOperator: bash_command, cwd, env" in out


TIMETABLE = """\
start_date: 2024-01-01
schedule: {object: team.timetables.Workdays, hour: 7, timezone: Europe/Berlin}
tasks:
  a: {operator: empty}
"""


def test_a_timetable_object_is_the_schedule(team):
    """`schedule: {object: ...}`: an instance of the user's timetable class, checked against its
    signature before loading and compared in the loaded DAG by class and attributes."""
    (team / "specs" / "tt.yaml").write_text(TIMETABLE)
    r = run_cli("build", "specs", "-o", "out", cwd=team)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 verified" in r.stderr
    source = (team / "out" / "tt.py").read_text()
    assert "from team.timetables import Workdays\n" in source
    assert 'schedule=Workdays(hour=7, timezone="Europe/Berlin"),' in source

    from team.timetables import Workdays

    dag = load_dagbag(team / "out").dags["tt"]
    assert type(dag.timetable) is Workdays and dag.timetable.hour == 7
    exp = expectations(build_model(load(team / "specs" / "tt.yaml")))
    assert _compare(dag, exp) == []
    exp["schedule"]["kwargs"]["hour"] = 8
    [problem] = _compare(dag, exp)
    assert problem.startswith("schedule is ") and "'hour': 8" in problem

    words = dagforge.explain(team / "specs" / "tt.yaml").text
    assert (
        "Schedule:   the timetable Workdays(hour=7, timezone='Europe/Berlin') (from team.timetables)"
        in words
    )
    assert "explain does not run its code" in words


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            "{object: team.timetables.Workdays, hours: 7}",
            r"2:\d+: error: Workdays\(hour=6, timezone='UTC'\) has no argument 'hours'",
        ),
        (
            "{object: team.etl.NotATimetable}",
            r"2:\d+: error: 'team.etl.NotATimetable' is not a timetable class",
        ),
        (
            "{object: team.timetables.Workdays, hour: {output_of: a}}",
            r"2:\d+: error: `output_of:` passes a task's output to an argument of a task, not here",
        ),
        (
            "{object: 'team.timetables.Workdays()', hour: 7}",
            r"2:\d+: error: schedule.object: 'team.timetables.Workdays\(\)' is not the import path",
        ),
    ],
)
def test_a_wrong_timetable_object_is_a_located_error(team, schedule, message):
    (team / "specs" / "tt.yaml").write_text(
        TIMETABLE.replace(TIMETABLE.splitlines()[1], f"schedule: {schedule}")
    )
    r = run_cli("build", "specs", "-o", "out", cwd=team)
    assert r.returncode == 1, r.stderr
    assert re.search("specs/tt.yaml:" + message, r.stderr), r.stderr
    assert r.stderr.count(": error: ") == 1, r.stderr  # said once
    assert "internal error" not in r.stderr and "dagforge bug" not in r.stderr
