"""The JSON Schema: valid draft 2020-12, described everywhere, and it agrees with the examples."""

import json

import jsonschema
import pytest
import yaml

from conftest import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "pipeline.schema.json").read_text())


def test_schema_is_valid_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _properties(node, path=()):
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield path + (name,), sub
        for key, value in node.items():
            if key != "if":  # conditions select a schema; they define no property
                yield from _properties(value, path + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, path + (i,))


def test_every_property_has_a_description():
    missing = [".".join(map(str, p)) for p, sub in _properties(SCHEMA) if "description" not in sub]
    assert not missing


def test_closed_objects_say_so():
    assert SCHEMA["additionalProperties"] is False
    assert SCHEMA["properties"]["alerts"]["additionalProperties"] is False
    assert SCHEMA["$defs"]["task"]["unevaluatedProperties"] is False


@pytest.mark.parametrize("spec", sorted((ROOT / "specs").glob("*.yaml")), ids=lambda p: p.stem)
def test_examples_satisfy_the_schema_as_an_editor_reads_them(spec):
    # yaml-language-server reads unquoted dates as text (YAML 1.2); so does dagforge
    data = yaml.load(spec.read_text(), Loader=_TextDates)
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


class _TextDates(yaml.SafeLoader):
    pass


_TextDates.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)


@pytest.mark.parametrize("operator,good,bad", [
    ("bash", {"bash_command": "x"}, {"bash_command": "x", "python_callable": "a:b"}),
    ("python", {"python_callable": "a:b"}, {"python_callable": "a:b", "bash_command": "x"}),
    ("empty", {}, {"bash_command": "x"}),
    ("email", {"to": "a@example.com", "subject": "s", "html_content": "h"}, {"to": "a@example.com", "subject": "s"}),
])
def test_each_short_operator_has_its_own_arguments(operator, good, bad):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    spec = lambda args: {"start_date": "2024-01-01", "tasks": {"t": {"operator": operator, **args}}}  # noqa: E731
    assert not list(validator.iter_errors(spec(good)))
    assert list(validator.iter_errors(spec(bad)))


def test_full_import_path_accepts_any_arguments():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    spec = {"start_date": "2024-01-01", "tasks": {"t": {"operator": "my.pkg.MyOperator", "anything": [1], "retries": 2}}}
    assert not list(validator.iter_errors(spec))
