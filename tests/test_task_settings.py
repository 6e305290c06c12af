"""The task settings (the keys every task takes, whatever its operator) are listed once, in the
schema's `$defs.task.properties`: model, verify, describe and validate read them from there, and each
of them reaches the generated file and the explanation."""

from __future__ import annotations

from conftest import ROOT

import dagforge
from dagforge import targets
from dagforge.load import load
from dagforge.model import build_model, passed_settings
from dagforge.operators import SHORT
from dagforge.schemas import default_settings, schema, task_settings
from dagforge.validate import validate

SPEC = """\
start_date: 2024-01-01
tasks:
  upstream:
    wait_for: {dag: other_dag}
  every_setting:
    operator: bash
    expand: {bash_command: ["echo a", "echo b"]}
    dependencies: [upstream]
    retries: 2
    retry_delay: 1m
    execution_timeout: 1h
    alerts: {emails: [team@example.com]}
    callbacks: {on_retry: [json:dumps]}
    trigger_rule: all_done
    pool: shared_pool
    pool_slots: 2
    queue: the_queue
    priority_weight: 7
    max_active_tis_per_dag: 3
    executor_config: {cpu: 1}
    inlets: [s3://bucket/raw]
    outlets: [s3://bucket/key]
    owner: someone
    depends_on_past: true
    ignore_first_depends_on_past: true
    wait_for_past_depends_before_skipping: true
    wait_for_downstream: true
    max_retry_delay: 2h
    retry_exponential_backoff: 3
    weight_rule: upstream
    max_active_tis_per_dagrun: 2
    map_index_template: "{{ task.bash_command }}"
    do_xcom_push: false
    multiple_outputs: true
    params: {limit: 10}
    doc: plain
    doc_md: "# Markdown"
    doc_json: "{}"
    doc_yaml: "a: 1"
    doc_rst: "*rst*"
    task_display_name: Every setting
    executor: LocalExecutor
    resources: {cpus: 2, ram: 512}
    run_as_user: nobody
    logger_name: every.setting
    allow_nested_operators: false
    render_template_as_native_obj: true
  mapped_kwargs:
    operator: bash
    expand_kwargs: [{bash_command: "echo a"}]
"""


def test_the_settings_are_the_schemas_task_and_settings_properties():
    defs = schema()["$defs"]
    assert task_settings() == (*defs["task"]["properties"], *defs["settings"]["properties"])
    # `defaults:` (a group's, the spec's) take the settings, one definition for both
    assert defs["group"]["properties"]["defaults"]["$ref"] == "#/$defs/defaults"
    assert schema()["properties"]["defaults"]["$ref"] == "#/$defs/defaults"
    assert set(default_settings()) < set(defs["settings"]["properties"])
    assert set(passed_settings()) < set(task_settings())


def test_every_short_name_has_its_argument_schema():
    defs = schema()["$defs"]
    enum = defs["task"]["properties"]["operator"]["anyOf"][0]["enum"]
    assert enum == list(SHORT) == [k.removeprefix("op_") for k in defs if k.startswith("op_")]
    for op, short in SHORT.items():
        assert defs[f"{op}_task"]["properties"]["operator"]["const"] == op
        assert short.schema == (defs[f"{op}_task"].get("additionalProperties") is False)


def test_every_setting_reaches_the_model_the_file_and_the_explanation(write_spec, tmp_path):
    path = write_spec(SPEC)
    write_spec("start_date: 2024-01-01\ntasks: {t: {operator: empty}}\n", "other_dag.yaml")
    doc = load(path)
    given = {key for task in doc.data["tasks"].values() for key in task}
    missing = set(targets.target("3").missing_settings)  # sla: tests/test_baseargs.py
    assert given == set(task_settings()) - missing, "give every setting a value in SPEC"
    assert not [d for d in validate(doc) if d.severity == "error"]
    task = next(t for t in build_model(doc).tasks if t.task_id == "every_setting")
    assert not set(task.arguments) & set(task_settings())  # settings, not operator arguments
    assert set(passed_settings()) - missing <= set(task.overrides)

    result = dagforge.build([path.parent], tmp_path / "out", verify=False)
    assert result.ok, [d.message for s in result.specs for d in s.diagnostics]
    source = (tmp_path / "out" / "pipe.py").read_text()
    for key in set(passed_settings()) - missing:
        assert f"{key}=" in source, key

    words = dagforge.explain(path).text
    said_as = {"trigger_rule": "runs when:", "inlets": "reads:", "outlets": "updates:"}
    for key, said in said_as.items():
        assert said in words, key
    for key in set(passed_settings()) - set(said_as) - missing:
        assert f"{key}:" in words, key


def test_the_published_schema_is_read_from_the_package():
    assert (ROOT / "dagforge" / "schemas" / "pipeline.schema.json").read_bytes() == (
        dagforge.schema().encode()
    )
