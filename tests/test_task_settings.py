"""The task settings (the keys every task takes, whatever its operator) are listed once, in the
schema's `$defs.task.properties`: model, verify, describe and validate read them from there, and each
of them reaches the generated file and the explanation."""

from __future__ import annotations

from conftest import ROOT

import dagforge
from dagforge.load import load
from dagforge.model import build_model, passed_settings
from dagforge.operators import SHORT
from dagforge.schemas import schema, task_settings
from dagforge.validate import _operator_arguments, validate

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
    outlets: [s3://bucket/key]
"""


def test_the_settings_are_the_schemas_task_properties():
    assert task_settings() == tuple(schema()["$defs"]["task"]["properties"])
    # a group's defaults are settings its tasks take
    group_defaults = schema()["$defs"]["group"]["properties"]["defaults"]["properties"]
    assert set(group_defaults) <= set(task_settings())
    assert set(passed_settings()) < set(task_settings())


def test_every_short_name_has_its_argument_schema():
    arguments = _operator_arguments()
    assert set(arguments) == set(SHORT)
    closed = {op for op, (_, extra) in arguments.items() if "$ref" not in extra}
    assert closed == {op for op, short in SHORT.items() if short.schema}


def test_every_setting_reaches_the_model_the_file_and_the_explanation(write_spec, tmp_path):
    path = write_spec(SPEC)
    write_spec("start_date: 2024-01-01\ntasks: {t: {operator: empty}}\n", "other_dag.yaml")
    doc = load(path)
    given = set(doc.data["tasks"]["every_setting"]) | set(doc.data["tasks"]["upstream"])
    assert given == set(task_settings()), "give every setting a value in SPEC"
    assert not [d for d in validate(doc) if d.severity == "error"]
    task = next(t for t in build_model(doc).tasks if t.task_id == "every_setting")
    assert not set(task.arguments) & set(task_settings())  # settings, not operator arguments
    assert set(passed_settings()) <= set(task.overrides)

    result = dagforge.build([path.parent], tmp_path / "out", verify=False)
    assert result.ok, [d.message for s in result.specs for d in s.diagnostics]
    source = (tmp_path / "out" / "pipe.py").read_text()
    for key in passed_settings():
        assert f"{key}=" in source, key

    words = dagforge.explain(path).text
    for key, said in {"trigger_rule": "runs when:", "outlets": "updates:"}.items():
        assert said in words, key
    for key in set(passed_settings()) - {"trigger_rule", "outlets"}:
        assert f"{key}:" in words, key


def test_the_published_schema_is_read_from_the_package():
    assert (ROOT / "dagforge" / "schemas" / "pipeline.schema.json").read_bytes() == (
        dagforge.schema().encode()
    )
