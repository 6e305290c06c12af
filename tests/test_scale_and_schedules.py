"""Scale-out settings, params, doc_md and the other schedules: built, verified, and loaded by a real DagBag."""

import textwrap

from conftest import load_dagbag
from spec_oracle import timetable_facts

import dagforge

SPEC = """
start_date: 2024-01-01
schedule: "0 6 * * 1-5"
timetable: interval
timezone: Asia/Seoul
doc_md: {file: notes.md}
max_active_tasks: 4
params:
  limit: {type: integer, default: 100, minimum: 1, description: Rows per batch}
  mode: {type: string, default: full, enum: [full, delta]}
tasks:
  a:
    operator: bash
    bash_command: "echo {{ params.limit }}"
    pool: default_pool
    pool_slots: 2
    queue: heavy
    priority_weight: 5
    max_active_tis_per_dag: 1
    executor_config: {KubernetesExecutor: {request_memory: 512Mi}}
"""


def _build(tmp_path, specs: dict, files: dict | None = None):
    folder = tmp_path / "specs"
    folder.mkdir()
    for name, text in {**specs, **(files or {})}.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip())
    result = dagforge.build([folder], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for s in result.specs for d in s.diagnostics]
    bag = load_dagbag(tmp_path / "out")
    assert not bag.import_errors and not any(bag.captured_warnings.values())
    return result, bag


def test_settings_params_doc_md_and_interval_timetable(tmp_path):
    _, bag = _build(tmp_path, {"scale.yaml": SPEC}, {"notes.md": "# Scale\nRead *me*.\n"})
    dag = bag.dags["scale"]
    assert timetable_facts(dag.timetable) == (
        "CronDataIntervalTimetable",
        "0 6 * * 1-5",
        "Asia/Seoul",
    )
    assert dag.doc_md == "# Scale\nRead *me*.\n"
    assert dag.max_active_tasks == 4
    assert dag.params.dump() == {"limit": 100, "mode": "full"}
    assert dag.params.get_param("mode").schema["enum"] == ["full", "delta"]
    task = dag.task_dict["a"]
    assert (
        task.pool,
        task.pool_slots,
        task.queue,
        task.priority_weight,
        task.max_active_tis_per_dag,
    ) == ("default_pool", 2, "heavy", 5, 1)
    assert task.executor_config == {"KubernetesExecutor": {"request_memory": "512Mi"}}


def test_doc_md_file_is_part_of_the_input_hash(tmp_path):
    _build(tmp_path, {"scale.yaml": SPEC}, {"notes.md": "one"})
    (tmp_path / "specs" / "notes.md").write_text("two")
    again = dagforge.build([tmp_path / "specs"], tmp_path / "out", verify=False)
    assert not again.specs[0].up_to_date
    assert 'doc_md="two"' in (tmp_path / "out" / "scale.py").read_text()


def test_continuous_and_trigger_schedules_in_their_time_zone(tmp_path):
    _, bag = _build(
        tmp_path,
        {
            "cont.yaml": "start_date: 2024-01-01\nschedule: '@continuous'\ntimezone: Europe/Berlin\ntasks:\n  a: {operator: empty}\n",
            "trig.yaml": "start_date: 2024-01-01\nschedule: '@daily'\ntimetable: trigger\ntimezone: America/New_York\n"
            "tasks:\n  a: {operator: empty}\n",
        },
    )
    cont = bag.dags["cont"]
    assert type(cont.timetable).__name__ == "ContinuousTimetable"
    assert cont.max_active_runs == 1 and cont.timezone.name == "Europe/Berlin"
    trig = bag.dags["trig"]
    assert timetable_facts(trig.timetable) == (
        "CronTriggerTimetable",
        "0 0 * * *",
        "America/New_York",
    )


def test_explain_says_continuous_and_interval(tmp_path, write_spec):
    cont = dagforge.explain(
        write_spec(
            "start_date: 2024-01-01\nschedule: '@continuous'\ntasks:\n  a: {operator: empty}\n"
        )
    )
    assert "@continuous: a new run as soon as the previous one ends" in cont.text
    spec = write_spec(SPEC.replace("{file: notes.md}", "inline"), "inter.yaml")
    text = dagforge.explain(spec).text
    assert (
        "logical date is that interval's start" in text
        and "Param:      limit = 100 (integer)" in text
    )
    assert "pool_slots: 2" in text
