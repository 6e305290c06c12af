"""The JSON Schema: valid draft 2020-12, described everywhere, and it agrees with the examples."""

import json

import jsonschema
import pytest
import yaml
from conftest import ROOT

SCHEMA = json.loads((ROOT / "schemas" / "pipeline.schema.json").read_text())


def test_the_published_copy_is_the_packaged_schema():
    # specs' modelines name schemas/pipeline.schema.json; dagforge reads the one in its package.
    packaged = (ROOT / "dagforge" / "schemas" / "pipeline.schema.json").read_bytes()
    published = (ROOT / "schemas" / "pipeline.schema.json").read_bytes()
    assert published == packaged, "refresh it: dagforge schema > schemas/pipeline.schema.json"


def test_schema_is_valid_2020_12():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _properties(node, path=()):
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield (*path, name), sub
        for key, value in node.items():
            if key != "if":  # conditions select a schema; they define no property
                yield from _properties(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _properties(value, (*path, i))


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


@pytest.mark.parametrize(
    "operator,good,bad",
    [
        ("bash", {"bash_command": "x"}, {"bash_command": "x", "python_callable": "a:b"}),
        ("python", {"python_callable": "a:b"}, {"python_callable": "a:b", "bash_command": "x"}),
        ("empty", {}, {"bash_command": "x"}),
        (
            "email",
            {"to": "a@example.com", "subject": "s", "html_content": "h"},
            {"to": "a@example.com", "subject": "s"},
        ),
    ],
)
def test_each_short_operator_has_its_own_arguments(operator, good, bad):
    validator = jsonschema.Draft202012Validator(SCHEMA)
    spec = lambda args: {"start_date": "2024-01-01", "tasks": {"t": {"operator": operator, **args}}}  # noqa: E731
    assert not list(validator.iter_errors(spec(good)))
    assert list(validator.iter_errors(spec(bad)))


def test_full_import_path_accepts_any_arguments():
    validator = jsonschema.Draft202012Validator(SCHEMA)
    spec = {
        "start_date": "2024-01-01",
        "tasks": {"t": {"operator": "my.pkg.MyOperator", "anything": [1], "retries": 2}},
    }
    assert not list(validator.iter_errors(spec))


# dagforge validates with the schema split for speed (dagforge/validate.py `_validators`): the
# verdicts must be those of the whole schema, the one editors see.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from dagforge.load import Document  # noqa: E402
from dagforge.validate import _schema_problems  # noqa: E402

_BASE = {
    "bash": {"operator": "bash", "bash_command": "echo"},
    "python": {"operator": "python", "python_callable": "a:b"},
    "empty": {"operator": "empty"},
    "email": {"operator": "email", "to": "x@example.com", "subject": "s", "html_content": "h"},
    "my.pkg.Op": {"operator": "my.pkg.Op"},
    "bsh": {"operator": "bsh"},
    "none": {},
    "group": {
        "tasks": {
            "inner": {"operator": "empty"},
            "nested": {"tasks": {"x": {"operator": "bash", "bash_command": "b"}}},
        }
    },
    "wait_for": {"wait_for": {"dag": "other", "task": "t"}},
    "sensor": {"operator": "time_delta_sensor", "delta": "5m"},
    "trigger": {"operator": "trigger_dag", "trigger_dag_id": "other"},
}
# A valid value for each known key (and one for the misspelt ones, which are never valid).
_GOOD = {
    "dependencies": ["a"],
    "retries": 1,
    "retry_delay": "5m",
    "execution_timeout": 60,
    "alerts": {"on_retry": True},
    "trigger_rule": "all_done",
    "pool": "p",
    "queue": "q",
    "priority_weight": 2,
    "bash_command": "echo",
    "env": {"K": "v"},
    "append_env": True,
    "cwd": "/tmp",
    "output_encoding": "utf-8",
    "skip_on_exit_code": 99,
    "python_callable": "a:b",
    "op_args": [1],
    "op_kwargs": {"k": 1},
    "templates_dict": {},
    "show_return_value_in_logs": False,
    "to": "x@example.com",
    "subject": "s",
    "html_content": "h",
    "cc": ["x@example.com"],
    "bcc": "x@example.com",
    "from_email": "x@example.com",
    "files": ["f"],
    "mime_subtype": "mixed",
    "mime_charset": "utf-8",
    "conn_id": "c",
    "custom_headers": {"X": "y"},
    "bash_comand": "echo",
    "class": 1,
    "not-an-identifier": 1,
}
_BAD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-2, 3),
    st.sampled_from(["bad value", "1 2", "5x"]),
    st.just([1, "a"]),
)


@st.composite
def _tasks(draw):
    task = dict(_BASE[draw(st.sampled_from(sorted(_BASE)))])
    for key in draw(
        st.lists(st.sampled_from(sorted(_GOOD)), max_size=3)
    ):  # mostly valid additions ...
        task[key] = _GOOD[key]
    if draw(st.integers(0, 3)) == 0:  # ... and sometimes one bad value
        task[draw(st.sampled_from(sorted(_GOOD)))] = draw(_BAD)
    return task


@given(
    tasks=st.dictionaries(st.sampled_from(["a", "b", "c d"]), _tasks(), min_size=1, max_size=3),
    top=st.dictionaries(
        st.sampled_from(["retries", "owner", "tags", "bogus"]),
        st.sampled_from([1, "x", ["t"], None]),
        max_size=1,
    ),
)
@settings(max_examples=2 * settings.default.max_examples)
def test_split_validation_agrees_with_the_whole_schema(tasks, top):
    data = {"start_date": "2024-01-01", "tasks": tasks, **top}
    doc = Document(path=ROOT / "x.yaml", display="x.yaml", text="", data=data)
    whole = jsonschema.Draft202012Validator(SCHEMA).is_valid(data)
    assert whole == (not _schema_problems(doc))


def _patterns(node):
    if isinstance(node, dict):
        if isinstance(node.get("pattern"), str):
            yield node["pattern"]
        for value in node.values():
            yield from _patterns(value)
    elif isinstance(node, list):
        for value in node:
            yield from _patterns(value)


def test_no_pattern_lets_a_final_line_break_through():
    # jsonschema matches with Python's re.search, where `$` also matches before a final "\n".
    patterns = list(_patterns(SCHEMA))
    assert len(patterns) >= 8
    assert all(p.count("$") == p.count("$(?!\\n)") for p in patterns), patterns
    validator = jsonschema.Draft202012Validator(SCHEMA)
    spec = {
        "dag_id": "sales\n",
        "start_date": "2024-01-01",
        "tasks": {"a\n": {"operator": "empty"}},
    }
    paths = sorted(tuple(e.absolute_path) for e in validator.iter_errors(spec))
    assert paths == [("dag_id",), ("tasks",)]


# The compiled fast check (validate._fast) may only skip jsonschema where jsonschema finds nothing.
from dagforge.validate import _fast, _validators  # noqa: E402


def _every_spec_in_the_repository():
    for path in sorted([*ROOT.glob("specs/**/*.yaml"), *ROOT.glob("tests/**/*.yaml")]):
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # the load step's cases: never reach the schema
        if isinstance(data, dict):
            yield path, data


def _checked_parts(data):
    """(validator, instance) pairs as validate._schema_problems makes them."""
    top, group, by_operator, whole_task = _validators()
    yield top, data
    pending = [data.get("tasks")]
    while pending:
        nodes = pending.pop()
        for node in nodes.values() if isinstance(nodes, dict) else ():
            if not isinstance(node, dict):
                continue
            if "tasks" in node:
                pending.append(node["tasks"])
                yield group, node
            else:
                op = node.get("operator")
                closed = by_operator.get(op) if isinstance(op, str) else None
                yield (closed if closed and "wait_for" not in node else whole_task), node


def test_the_fast_check_accepts_nothing_jsonschema_refuses():
    import fastjsonschema

    compared = refused = 0
    for path, data in _every_spec_in_the_repository():
        for validator, instance in _checked_parts(data):
            fast = _fast(validator)
            if fast is None:
                continue
            compared += 1
            try:
                fast(instance)
            except fastjsonschema.JsonSchemaException:
                refused += 1
                continue
            errors = [e.message for e in validator.iter_errors(instance)]
            assert not errors, f"{path}: the fast check accepted what jsonschema refuses: {errors}"
    assert compared > 300 and refused > 20, (compared, refused)  # both verdicts were tried


def test_no_fast_check_for_a_schema_with_keywords_draft_07_does_not_know():
    top, _, by_operator, whole_task = _validators()
    assert _fast(top) is not None and _fast(by_operator["bash"]) is not None
    assert _fast(whole_task) is None  # it reaches unevaluatedProperties, which draft-07 ignores


_KEPT: list[object] = []
_DURATION = {
    "oneOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^[0-9]+m$"}]
}


@pytest.mark.parametrize("accepted", [0, 7, 7.0, "5m"])
def test_the_fast_check_of_alternatives_of_each_type_accepts_what_each_accepts(accepted):
    validator = jsonschema.Draft202012Validator(_DURATION)
    _KEPT.append(validator)
    assert not list(validator.iter_errors(accepted))
    fast = _fast(validator)
    assert fast is not None
    fast(accepted)


def test_validating_a_spec_leaves_no_reference_cycles():
    """A pool worker collects each spec's garbage (concurrency._collected): validation leaves it
    none. fastjsonschema's helper for uniqueItems (a function that calls itself, made at each check
    of tags, dependencies, email lists) and a nested walk that called itself made cycles."""
    import gc

    from dagforge.load import load
    from dagforge.validate import validate

    paths = sorted((ROOT / "specs").glob("*.yaml"))
    assert len(paths) > 5
    for path in paths:
        assert not validate(load(path))  # (compiles the checks, fills the caches)
        doc = load(path)
        gc.collect()
        gc.disable()
        try:
            validate(doc)
            assert gc.collect() == 0, path
        finally:
            gc.enable()


@pytest.mark.parametrize(
    "schema, refused",
    [
        # 2020-12 applies the keywords beside a `$ref`; draft-07 (the compiler's) ignores them
        (
            {"$defs": {"a": {"type": "array"}}, "$ref": "#/$defs/a", "items": {"type": "integer"}},
            ["x"],
        ),
        # `unevaluatedProperties: false` over a `$ref` to a list of properties
        (
            {
                "$defs": {"s": {"properties": {"retries": {"type": "integer"}}}},
                "type": "object",
                "$ref": "#/$defs/s",
                "unevaluatedProperties": False,
            },
            {"retires": 1},
        ),
        # `const` (compiled as a one-value `enum`), and `const` beside an `enum`: both must hold
        ({"properties": {"operator": {"const": "bash"}}}, {"operator": "bsh"}),
        ({"properties": {"n": {"const": 1}}}, {"n": True}),
        ({"properties": {"n": {"const": 1, "enum": [1, 2]}}}, {"n": 2}),
        # a property named `const` is a property, not the keyword
        ({"properties": {"const": {"type": "string"}}}, {"const": 1}),
        # uniqueItems, whose helper the compiled code defines once (_compiled)
        ({"properties": {"d": {"type": "array", "uniqueItems": True}}}, {"d": ["a", "a"]}),
        ({"properties": {"d": {"type": "array", "uniqueItems": True}}}, {"d": [{"a": [1]}] * 2}),
        # alternatives of different types, compiled as one schema of those types (_one_of_types)
        (_DURATION, -1),
        (_DURATION, "5x"),
        (_DURATION, 1.5),
        (_DURATION, True),
        (_DURATION, None),
        ({"anyOf": [{"type": "boolean"}, {"type": "number", "minimum": 0}]}, -0.5),
        ({"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}}]}, ["1"]),
        # ... but not when a value can fit two (1 is an integer and a number) ...
        ({"oneOf": [{"type": "integer"}, {"type": "number"}]}, 1),
        # ... or a keyword applies to every type
        ({"anyOf": [{"type": "string", "enum": ["a"]}, {"type": "integer"}]}, "b"),
    ],
)
def test_the_fast_check_means_what_2020_12_means(schema, refused):
    import fastjsonschema

    validator = jsonschema.Draft202012Validator(schema)
    _KEPT.append(validator)  # _fast knows a validator by its id: no other may take it over
    assert list(validator.iter_errors(refused))
    fast = _fast(validator)
    assert fast is not None
    with pytest.raises(fastjsonschema.JsonSchemaException):
        fast(refused)
