"""The JSON Schema of the spec format, and what the other steps read from it (the task settings).

`schemas/pipeline.schema.json` at the top of the repository is its published copy (the one specs'
modelines name), held byte-identical by tests/test_schema.py:
`dagforge schema > schemas/pipeline.schema.json` refreshes it."""

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
    """The keys every task takes whatever its operator (`$defs.task.properties`, in that order): the
    task's settings, which are not arguments of its operator."""
    return tuple(schema()["$defs"]["task"]["properties"])
