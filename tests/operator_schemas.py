"""Writes the parts of the JSON Schema that follow from its operator definitions.

A short name X is `$defs.op_X` in dagforge/schemas/pipeline.schema.json: its arguments, which of them
are required, and (`x-dagforge`) the class it stands for. From those this script writes, in the same
file:
- `$defs.X_task`: the schema of a whole task of `operator: X`, its arguments and every key any task
  takes, side by side (copied, not referred to) and closed where X's arguments are;
- the short names in `$defs.task`'s `operator` enum, and one `if operator is X then X_task` rule each.

Why copies and not `{"allOf": [{"$ref": op_X}, {"$ref": settings}], "unevaluatedProperties": false}`:
the copies are plain draft-07 keywords, which every editor's language server understands (completion
and errors per operator) and which `validate` compiles (fastjsonschema) and uses as they are.
fastjsonschema cannot compile `unevaluatedProperties`, and jsonschema's evaluation of it costs two
orders of magnitude more per task than the compiled copy. The price is the file's size: the settings
are written once per short name.

    .venv/bin/python tests/operator_schemas.py --regen    # after changing an `op_X` or the settings

tests/test_operator_schemas.py fails while the file differs from what this writes.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ROOT / "dagforge" / "schemas" / "pipeline.schema.json"
PUBLISHED = ROOT / "schemas" / "pipeline.schema.json"

# What the file says about each written definition.
_WRITTEN = "Written by tests/operator_schemas.py --regen from $defs.op_{0}, $defs.task and $defs.settings: edit those."


def _is_operator_rule(rule: Any) -> bool:
    return "const" in rule.get("if", {}).get("properties", {}).get("operator", {})


def with_operator_tasks(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every `$defs.X_task`, the `operator` enum and the rules that pick a task's
    definition written anew from the `$defs.op_X` it holds."""
    schema = copy.deepcopy(schema)
    defs = schema["$defs"]
    operators = {
        key.removeprefix("op_"): value
        for key, value in defs.items()
        if key.startswith("op_") and "x-dagforge" in value
    }
    task = defs["task"]
    task["properties"]["operator"]["anyOf"][0]["enum"] = list(operators)
    others = [rule for rule in task["allOf"] if not _is_operator_rule(rule)]
    task["allOf"] = [
        others[0],  # wait_for or operator
        *(
            {
                "if": {"properties": {"operator": {"const": name}}, "required": ["operator"]},
                "then": {"$ref": f"#/$defs/{name}_task"},
            }
            for name in operators
        ),
        *others[1:],  # an import path's arguments, the settings
    ]
    ordered: dict[str, Any] = {}
    for key, value in defs.items():
        if key.endswith("_task") and key.removesuffix("_task") in operators:
            continue  # written again below, after its op_X
        ordered[key] = value
        name = key.removeprefix("op_")
        if key.startswith("op_") and name in operators:
            ordered[f"{name}_task"] = _task_of(name, value, defs)
    schema["$defs"] = ordered
    return schema


def _task_of(name: str, operator: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """The whole schema of a task of `operator: name`: its own arguments (which win over a setting
    of the same name, as `multiple_outputs`), what places a task but `wait_for` (which replaces
    `operator`), and the settings."""
    placing = {
        k: v for k, v in defs["task"]["properties"].items() if k not in ("operator", "wait_for")
    }
    own = operator.get("properties", {})
    every = {**placing, **defs["settings"]["properties"]}
    properties = {
        "operator": {"const": name, "description": operator["description"]},
        **own,
        **{k: v for k, v in every.items() if k not in own},
    }
    out: dict[str, Any] = {
        "$comment": _WRITTEN.format(name),
        "type": "object",
        "description": f"A task of `operator: {name}`: {operator['description']}",
        "required": ["operator"],
        "properties": properties,
    }
    out.update(
        {k: v for k, v in operator.items() if k not in ("description", "properties", "x-dagforge")}
    )
    if "$ref" not in operator:  # its arguments are all it takes: closed, like the settings
        out["additionalProperties"] = False
    return out


def text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] != ["--regen"]:
        sys.exit(f"usage: {sys.argv[0]} --regen")
    written = text(with_operator_tasks(json.loads(PACKAGED.read_text("utf-8"))))
    for path in (PACKAGED, PUBLISHED):
        path.write_text(written, encoding="utf-8")
