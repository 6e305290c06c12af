"""The JSON Schema of the spec format, and what the other steps read from it (the task settings).

`schemas/pipeline.schema.json` at the top of the repository is its published copy (the one specs'
modelines name), held byte-identical by tests/test_schema.py:
`dagforge schema > schemas/pipeline.schema.json` refreshes it (`tests/operator_schemas.py --regen`
writes both, with the parts that follow from the operators' definitions)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path


def path() -> Path:
    return Path(str(resources.files(__name__).joinpath("pipeline.schema.json")))


@cache
def schema() -> dict:
    """The schema, parsed once. Shared: never change it."""
    return json.loads(resources.files(__name__).joinpath("pipeline.schema.json").read_text("utf-8"))


@cache
def task_settings() -> tuple[str, ...]:
    """The keys every task takes whatever its operator, which are not arguments of its operator: those
    that place it (`$defs.task.properties`: operator, wait_for, expand, dependencies), then its
    settings (`$defs.settings.properties`, its BaseOperator arguments), in that order."""
    defs = schema()["$defs"]
    return (*defs["task"]["properties"], *defs["settings"]["properties"])


@cache
def task_setting_set() -> frozenset[str]:
    """task_settings() as a set, for the `in` tests asked of every key of every task."""
    return frozenset(task_settings())


@cache
def default_settings() -> tuple[str, ...]:
    """The settings a `defaults:` (the spec's, a group's) may give: `$defs.settings` but the names
    `$defs.defaults` excludes."""
    defs = schema()["$defs"]
    excluded = defs["defaults"]["propertyNames"]["not"]["enum"]
    return tuple(k for k in defs["settings"]["properties"] if k not in excluded)


@cache
def duration_settings() -> tuple[str, ...]:
    """The settings written as durations (`5m`), which Airflow takes as timedeltas."""
    settings = schema()["$defs"]["settings"]["properties"]
    return tuple(k for k, v in settings.items() if v.get("$ref") == "#/$defs/duration")
