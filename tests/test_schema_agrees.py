"""The published JSON Schema agrees with `dagforge validate`: an editor that reads the schema never
flags a spec that validate accepts, and rejects every spec whose mistake is one a schema can express
(a wrong type, an unknown or missing key, a value outside a list). Checked with the `jsonschema`
library over every example, starter, golden case, README example and broken-spec corpus file."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import ROOT

import dagforge
from dagforge.scaffold import STARTERS, starter

SCHEMA = json.loads((ROOT / "schemas" / "pipeline.schema.json").read_text("utf-8"))
# validate's codes for mistakes the schema itself describes; the others (a cycle, an unknown
# dependency, a bad cron) need rules no JSON Schema can state.
SCHEMA_CODES = {"schema", "type", "enum", "missing-key", "unknown-key", "unknown-operator"}


class _EditorLoader(yaml.SafeLoader):
    """Reads YAML as yaml-language-server does: dates stay text."""


_EditorLoader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)


def _schema_errors(text: str) -> list[str]:
    try:
        data = yaml.load(text, Loader=_EditorLoader)
    except yaml.YAMLError as e:
        return [f"not YAML: {e}"]
    return [e.message for e in jsonschema.Draft202012Validator(SCHEMA).iter_errors(data)]


def _readme_specs() -> list[tuple[str, str]]:
    """The README's YAML examples that are specs, or task entries (wrapped into a spec)."""
    found = []
    readme = (ROOT / "README.md").read_text("utf-8")
    for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", readme, re.S)):
        try:
            data = yaml.load(textwrap.dedent(block), Loader=_EditorLoader)
        except yaml.YAMLError:
            continue
        if not isinstance(data, dict) or "parameters" in data or "use:" in block:
            continue  # a block, or a spec that uses one: they need their blocks folder (the
            # same examples are in specs/blocks and specs/reuse; test_families.py builds them)
        if "tasks" in data and all(isinstance(v, dict) for v in data["tasks"].values()):
            data.setdefault("start_date", "2024-01-01")
        elif data and all(isinstance(v, dict) and "operator" in v for v in data.values()):
            data = {"start_date": "2024-01-01", "tasks": data}
        else:
            continue
        found.append((f"README block {i + 1}", yaml.safe_dump(data, sort_keys=False)))
    return found


def _valid_specs() -> list[tuple[str, Path | str]]:
    """(name, spec file or text): the examples and golden cases where they stand (what they read
    beside them is there), the starters and README examples as text."""
    specs: list[tuple[str, Path | str]] = [
        (p.name, p) for p in sorted((ROOT / "specs").glob("*.yaml"))
    ]
    specs += [
        (f"golden {p.parent.name}", p) for p in sorted((ROOT / "tests/golden").glob("*/spec.yaml"))
    ]
    specs += [(f"starter {t}", starter(t)) for t in STARTERS]
    return specs + _readme_specs()


@pytest.mark.parametrize("name, spec", _valid_specs(), ids=[n for n, _ in _valid_specs()])
def test_a_spec_validate_accepts_satisfies_the_schema(name, spec, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGFORGE_GOLDEN_BUCKET", "b")
    path = spec if isinstance(spec, Path) else tmp_path / "spec.yaml"
    if not isinstance(spec, Path):
        path.write_text(spec, encoding="utf-8")
    result = dagforge.validate([path], verify=False)  # the schema level: no code checks
    errors = [d.format() for s in result.specs for d in s.diagnostics if d.severity == "error"]
    assert not errors, errors
    assert _schema_errors(path.read_text("utf-8")) == [], (
        f"the schema flags {name}, which validate accepts"
    )


def test_the_readme_examples_are_found():
    assert len(_readme_specs()) >= 3


BROKEN = sorted((ROOT / "tests" / "broken").glob("*.yaml"))


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_the_schema_rejects_what_validate_rejects_as_a_schema_mistake(path: Path):
    result = dagforge.validate([path], verify=False)  # the schema level: no code checks
    codes = {d.code for s in result.specs for d in s.diagnostics if d.severity == "error"}
    assert codes, "a broken spec must be invalid"
    if codes & SCHEMA_CODES:
        text = path.read_bytes().decode("utf-8", "replace")
        assert _schema_errors(text), f"validate says {sorted(codes)}, the schema accepts it"
