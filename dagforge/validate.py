"""Step 2, validate: the JSON Schema and the rules it cannot express. Every problem of a spec at once."""

from __future__ import annotations

import graphlib
import json
import keyword
import math
import re
import zoneinfo
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from functools import cache, cached_property, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, overload
from urllib.parse import urlsplit

from . import structure, targets, values
from .defaults import NOT_SHARED
from .diagnostics import Code, Diagnostic, Severity, did_you_mean
from .load import DEFAULTS_NAMES, Document, SpecPath
from .model import DAG_SETTINGS, Unreadable, is_callable_argument, read_beside
from .operators import SHORT, STANDARD, is_branch, is_taskflow, takes_callable
from .schemas import default_settings, duration_settings, schema, task_settings

if TYPE_CHECKING:  # jsonschema is imported where it is used: `dagforge --help` need not load it
    from jsonschema import Draft202012Validator, ValidationError

# Used with fullmatch: `$` alone lets a final line break through.
_ID = re.compile(r"[A-Za-z0-9_.-]{1,250}")
_CALLABLE = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*", re.ASCII)
_CLASS = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+", re.ASCII)
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*", re.ASCII)
# Airflow keeps these numbers in 32-bit integer columns (task_instance.priority_weight, pool_slots,
# max_tries; dag.max_active_tasks, max_active_runs): the schema's `maximum` for each of them.
_INT32 = (-(2**31), 2**31 - 1)
# Groups nest inside `with DAG(...)`, one `with` block each; Python refuses a file with more than 20
# nested blocks, and each level adds to the recursion of every tool that walks the tree.
MAX_GROUP_DEPTH = 15
# Airflow's limit on a task id, which for a task in groups is the whole `group.sub.task`.
MAX_ID_LENGTH = 250


@cache
def _duration_keys() -> tuple[str, ...]:
    """The keys whose values are durations: the task settings that are, and the DAG's own."""
    return (*duration_settings(), "dagrun_timeout")


@cache
def _duration_key_set() -> frozenset[str]:
    """_duration_keys() as a set: a task that has none of them is found in one look."""
    return frozenset(_duration_keys())


# Keyword arguments dagforge sets itself on every operator.
RESERVED_ARGUMENTS = (
    "task_id",
    "dag",
    "default_args",
    "on_failure_callback",
    "on_retry_callback",
    "on_success_callback",
)


class _Lazy:
    """One JSON Schema, with jsonschema's validator of it built on first use: only a spec the
    compiled check (see _fast) refuses or cannot judge needs it, for its messages, and importing
    jsonschema and building the validators costs a clean check about 0.2 s before its pool starts."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema

    @cached_property
    def validator(self) -> Draft202012Validator:
        import jsonschema  # here, not at the top: `dagforge --help` and a clean check need not load it

        return jsonschema.Draft202012Validator(self.schema)

    def iter_errors(self, instance: object) -> Iterator[ValidationError]:
        return self.validator.iter_errors(instance)


@cache
def _validators() -> tuple[_Lazy, _Lazy, dict[str, _Lazy], _Lazy]:
    """The schema, split for speed: the spec and each group with their task bodies left out, each
    task of a short name X checked by its own definition `$defs.X_task` (what the schema's rule for
    X selects), and every other task (import paths, wait_for, unknown operators) by `$defs.task`. Same
    verdicts as the whole schema (tests/test_schema.py holds them to it), without evaluating every
    operator's `if` and the unevaluated keys of every task, which is most of the whole schema's cost
    on a big spec (benchmarks/ measures it)."""
    whole = schema()
    defs = whole["$defs"]
    # a copy but for `$defs`, which every part shares: _fast makes them draft-07 once for all
    top = {k: defs if k == "$defs" else json.loads(json.dumps(v)) for k, v in whole.items()}
    top["properties"]["tasks"]["additionalProperties"] = {"type": "object"}  # each node: below
    group = json.loads(json.dumps(defs["group"]))
    group["properties"]["tasks"]["additionalProperties"] = {"type": "object"}
    group["$defs"] = defs
    by_operator = {op: _Lazy({**defs[f"{op}_task"], "$defs": defs}) for op in SHORT}
    whole_task = _Lazy({"$ref": "#/$defs/task", "$defs": defs})
    return _Lazy(top), _Lazy(group), by_operator, whole_task


def _required_argument(rule: Any) -> str | None:
    """The argument of an operator's schema rule "`KEY:` is given, inline, under `expand:` or by
    `expand_kwargs:`" ({"anyOf": [{"required": [KEY]}, {"required": ["expand"], ...},
    {"required": ["expand_kwargs"], ...}]}), else None."""
    first = rule.get("anyOf", [{}])[0] if isinstance(rule, dict) else {}
    required = first.get("required", []) if isinstance(first, dict) else []
    return required[0] if len(rule.get("anyOf", [])) == 3 and len(required) == 1 else None


# Keywords of JSON Schema 2020-12 that a draft-07 compiler (fastjsonschema) would silently ignore:
# a schema that reaches one of them is never given to it (see _fast).
_NEWER_KEYWORDS = frozenset(
    {"unevaluatedProperties", "unevaluatedItems", "prefixItems", "dependentRequired",
     "dependentSchemas", "$dynamicRef", "$dynamicAnchor", "$anchor", "minContains", "maxContains"}
)  # fmt: skip


_FAST: dict[int, Callable[[object], object] | None] = {}  # id of one of _validators() -> _fast's


def _fast(validator: _Lazy | Draft202012Validator) -> Callable[[object], object] | None:
    """A compiled check of `validator`'s schema that only says valid or not, about ten times faster
    than jsonschema (fastjsonschema turns the schema into Python code, once per process); None when
    the schema reaches a keyword that compiler does not know. It decides nothing alone: a spec it
    does not accept goes to jsonschema, whose errors are reported. So it must never accept what
    jsonschema refuses, which holds for schemas of draft-07's keywords (tests/test_schema.py tries
    it on every spec of the tests) with defaults not filled in and formats not checked, as
    jsonschema does not check them either."""
    import fastjsonschema

    if id(validator) not in _FAST:  # _validators() keeps every validator alive: ids stay theirs
        schema = validator.schema
        assert isinstance(schema, Mapping)  # _validators() makes each from a mapping
        defs = schema.get("$defs", {})
        # `$id` and `$defs` stay at the root, where the `$ref`s find them
        root = {k: v for k, v in schema.items() if k == "$id"}
        draft7 = _closed({k: v for k, v in schema.items() if k not in _ROOT_ONLY}, defs)
        closed_defs, enum_defs = _draft7_defs(defs, _reached_defs(draft7, defs))
        _FAST[id(validator)] = (
            None
            if _NEWER_KEYWORDS & _keywords_reached(draft7, closed_defs)
            else _compiled(
                fastjsonschema.compile_to_code(
                    {
                        **root,
                        **_const_as_enum(draft7),
                        **({"$defs": _copy(enum_defs)} if "$defs" in schema else {}),
                    },
                    use_default=False,
                    use_formats=False,
                    detailed_exceptions=False,  # compiles 5x faster: its errors are not read
                )
            )
        )
    return _FAST[id(validator)]


# The line fastjsonschema writes for `uniqueItems` inside the checking function: `def fn(var):`, a
# function that calls itself, made again at each check of such a list (a spec's `dependencies`,
# `tags`, email lists): a reference cycle each time, left for the pool worker's collection.
_UNIQUE_FN = re.compile(r"^ *(def fn\(var\):.*)$", re.MULTILINE)


def _compiled(code: str) -> Callable[[object], object]:
    """The checking function of fastjsonschema's `code` (compile_to_code's: what its `compile`
    runs), with its `fn` of uniqueItems defined once, beside the checking functions, instead of
    inside them (the same text, so the same verdicts; a `fn` that differs between lists stays)."""
    fns = set(_UNIQUE_FN.findall(code))
    if len(fns) == 1:
        (fn,) = fns
        code = code.replace(fn, "pass") + "\n" + fn + "\n"
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # (code written from dagforge's own schema, by fastjsonschema)
    root = re.search(r"^def (\w+)\(", code, re.MULTILINE)  # the schema's own: written first
    assert root is not None
    check: Callable[[object], object] = namespace[root.group(1)]
    return check


_ROOT_ONLY = ("$schema", "$id", "$defs")

# id of a `$defs` -> (it, and its definitions converted so far: name -> _closed of it, and that with
# _const_as_enum): the validators of _validators() share one `$defs`, whose conversion is most of the
# cost of compiling each of them. The entry holds the `$defs` itself, so that no other object can
# take over its id.
_DEFS: dict[int, tuple[Any, dict[str, tuple[Any, Any]]]] = {}


def _draft7_defs(defs: Any, names: set[str] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The definitions `names` (None: all) of `defs` (a schema's `$defs`) written the draft-07 way
    (_closed), without and with _const_as_enum, each made once per `$defs`. fastjsonschema rewrites
    the `$ref`s of what it compiles: give it a _copy."""
    converted = _DEFS.setdefault(id(defs), (defs, {}))[1]
    closed: dict[str, Any] = {}
    as_enum: dict[str, Any] = {}
    for name in defs:  # (in their order: the code written is the same whatever the first spec)
        if names is None or name in names:
            if name not in converted:
                draft7 = _closed(defs[name], defs)
                converted[name] = (draft7, _const_as_enum(draft7))
            closed[name], as_enum[name] = converted[name]
    return closed, as_enum


def _reached_defs(node: object, defs: Mapping[str, Any]) -> set[str] | None:
    """The names of the `$defs` that schema `node` reaches through `#/$defs/NAME` references, and
    those reach; None when a reference has another form (then every definition is given). Each
    compiled check gets only these: the others cost its copy and fastjsonschema's walk of them."""
    names: set[str] = set()
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, list):
            pending += item
        elif isinstance(item, dict):
            for key, value in item.items():
                if key == "$ref":
                    if not (isinstance(value, str) and value.startswith("#/$defs/")):
                        return None
                    name = value.removeprefix("#/$defs/")
                    if name not in defs:
                        return None
                    if name not in names:
                        names.add(name)
                        pending.append(defs[name])
                elif key in _BY_NAME and isinstance(value, dict):  # names -> schemas
                    pending += value.values()
                elif key not in _SCHEMA_DATA:
                    pending.append(value)
    return names


def _copy(data: Any) -> Any:
    """A deep copy of JSON data, made in C (a tenth of copy.deepcopy's time)."""
    return json.loads(json.dumps(data))


_SCHEMA_DATA = ("const", "enum", "examples", "default")  # values, not schemas
_BY_NAME = ("properties", "patternProperties", "$defs", "definitions", "dependencies")


def _const_as_enum(node: Any) -> Any:
    """`node` with each `const: X` written `enum: [X]`, which means the same (fastjsonschema checks
    both alike). Its `detailed_exceptions=False` code fails to compile a `const` (2.22)."""
    if isinstance(node, list):
        return [_const_as_enum(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_DATA:
            out[key] = value
        elif key in _BY_NAME and isinstance(value, dict):  # names -> schemas
            out[key] = {name: _const_as_enum(schema) for name, schema in value.items()}
        else:
            out[key] = _const_as_enum(value)
    if "const" in out:
        same = {"enum": [out.pop("const")]}
        if "enum" in out:  # both: each must hold
            out["allOf"] = [*out.get("allOf", []), same]
        else:
            out.update(same)
    return _one_of_types(out)


# The keywords JSON Schema applies to values of one type only: they say nothing of other values.
_NUMBER_KEYWORDS = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
_TYPE_KEYWORDS = {
    "string": {"minLength", "maxLength", "pattern", "format"},
    "integer": _NUMBER_KEYWORDS,
    "number": _NUMBER_KEYWORDS,
    "array": {"items", "additionalItems", "minItems", "maxItems", "uniqueItems", "contains"},
    "object": {"properties", "patternProperties", "additionalProperties", "required",
               "minProperties", "maxProperties", "propertyNames", "dependencies"},
    "boolean": set(),
    "null": set(),
}  # fmt: skip
_NOTES = {"description", "title", "examples", "default", "$comment"}  # annotations: no verdict


def _one_of_types(node: dict[str, Any]) -> dict[str, Any]:
    """`node`, or when it is `anyOf` or `oneOf` alternatives each of its own type (no value has
    two of them) with keywords of that type only, one schema of those types and keywords, which
    accepts the same values: a value fits one alternative at most, the one of its type, whose
    keywords are the only ones that apply to it. fastjsonschema's code tries each alternative and
    catches the exception of each that does not fit: one or two for every duration it checks."""
    applicators = [k for k in ("anyOf", "oneOf") if k in node]
    if len(applicators) != 1 or set(node) - _NOTES - {applicators[0]}:
        return node
    alternatives = node[applicators[0]]
    types = [a.get("type") if isinstance(a, dict) else None for a in alternatives]
    if (
        not all(isinstance(t, str) and t in _TYPE_KEYWORDS for t in types)
        or len(set(types)) != len(types)
        or {"integer", "number"} <= set(types)  # (1 is both)
        or any(set(a) - _NOTES - {"type"} - _TYPE_KEYWORDS[a["type"]] for a in alternatives)
    ):
        return node
    merged: dict[str, Any] = {k: v for k, v in node.items() if k in _NOTES}
    merged["type"] = types
    for alternative in alternatives:  # (no two share a keyword: their types differ)
        merged.update((k, v) for k, v in alternative.items() if k not in _NOTES and k != "type")
    return merged


_APPLICATORS = {"allOf", "anyOf", "oneOf", "if", "not", "patternProperties", "additionalProperties"}


def _closed(node: Any, defs: Mapping[str, Any]) -> Any:
    """`node` written the draft-07 way, to mean there what it means in 2020-12: each
    `{"$ref": D, "unevaluatedProperties": false}` (D a plain list of properties, as `$defs.defaults`
    refers to `$defs.settings`) as D's properties beside its own and `additionalProperties: false`;
    a `$ref` with other keywords beside it inside an `allOf`."""
    if isinstance(node, list):
        return [_closed(item, defs) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {
        k: v if k in ("const", "enum", "examples", "default") else _closed(v, defs)
        for k, v in node.items()
    }
    ref = out.get("$ref")
    target = defs.get(ref.rsplit("/", 1)[-1]) if isinstance(ref, str) else None
    if (
        out.get("unevaluatedProperties") is False
        and isinstance(target, dict)
        and set(target) <= {"description", "type", "properties"}
        and not _APPLICATORS & set(out)
    ):
        del out["$ref"], out["unevaluatedProperties"]
        out["properties"] = {**target.get("properties", {}), **out.get("properties", {})}
        out["additionalProperties"] = False
        if "type" in target:
            out.setdefault("type", target["type"])
    if "$ref" in out and set(out) - _ANNOTATIONS - {"$ref"}:
        # draft-07 ignores the keywords beside a `$ref`; 2020-12 applies them with it
        out["allOf"] = [{"$ref": out.pop("$ref")}, *out.get("allOf", [])]
    return out


_ANNOTATIONS = {"description", "examples", "default", "title", "$comment", "$defs"}


def _keywords_reached(node: object, defs: dict[str, Any], seen: set[str] | None = None) -> set[str]:
    """The keys of every schema object `node` holds or reaches through `#/$defs/...` references
    (the `$defs` it does not reach do not count)."""
    seen = set() if seen is None else seen
    found: set[str] = set()
    if isinstance(node, list):
        for item in node:
            found |= _keywords_reached(item, defs, seen)
    elif isinstance(node, dict):
        found |= {k for k in node if k != "$defs"}
        for key, value in node.items():
            if key == "$defs":
                continue
            if key == "$ref" and isinstance(value, str) and value not in seen:
                seen.add(value)
                found |= _keywords_reached(defs.get(value.rsplit("/", 1)[-1]), defs, seen)
            elif key not in ("const", "enum", "examples", "default"):
                found |= _keywords_reached(value, defs, seen)
    return found


def _errors(validator: _Lazy, instance: object) -> Iterable[ValidationError]:
    """jsonschema's errors of `instance`, none without asking it when the compiled check accepts it."""
    if _accepts(validator, (instance,)):
        return ()
    return validator.iter_errors(instance)


def _accepts(validator: _Lazy, instances: Iterable[object]) -> bool:
    """Whether the compiled check (see _fast) accepts every one of `instances`: one loop for all
    the tasks of a spec that one validator checks costs less than a call of _errors for each."""
    fast = _fast(validator)
    if fast is None:
        return False
    try:
        for instance in instances:
            fast(instance)
    except Exception:  # refused, or a value the compiled code cannot judge: jsonschema decides
        return False
    return True


def _schema_problems(doc: Document) -> list[Diagnostic]:
    top, group, by_operator, whole_task = _validators()
    out = [d for error in _errors(top, doc.data) for d in _diagnose_schema_error(doc, error)]
    checks: list[tuple[SpecPath, _Lazy, dict[str, Any]]] = []  # (path, validator, node) in order
    # The nodes of each validator, checked together: in a valid spec, that is all.
    batches: dict[int, tuple[_Lazy, list[dict[str, Any]]]] = {}
    pending: list[tuple[SpecPath, object]] = [(("tasks",), doc.data.get("tasks"))]
    while pending:  # every task and group, nested ones too
        prefix, nodes = pending.pop()
        for node_id, node in nodes.items() if isinstance(nodes, dict) else ():
            if not isinstance(node, dict):
                continue  # the schema around it said so
            path = (*prefix, node_id)
            if "tasks" in node:
                validator = group
                pending.append(((*path, "tasks"), node["tasks"]))
            else:
                op = node.get("operator")
                closed = (
                    by_operator.get(op) if isinstance(op, str) and "wait_for" not in node else None
                )
                validator = closed or whole_task  # import paths, wait_for, unknown operators: rare
            checks.append((path, validator, node))
            batches.setdefault(id(validator), (validator, []))[1].append(node)
    passed = {key for key, (validator, members) in batches.items() if _accepts(validator, members)}
    for path, validator, node in checks if len(passed) < len(batches) else ():
        if id(validator) not in passed:  # (in the spec's order, as the errors were found before)
            out += [
                d
                for error in _errors(validator, node)
                for d in _diagnose_schema_error(doc, error, path)
            ]
    return out


@cache
def _timezones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def validate(doc: Document) -> list[Diagnostic]:
    """All problems of one loaded spec, sorted by position."""
    found = _schema_problems(doc) + _rule_problems(doc)
    found += [
        doc.diag(path, message, hint, code=Code.ENVIRONMENT)
        for path, message, hint in doc.environment_problems
    ]
    unique = {(d.line, d.column, d.message): d for d in found}
    return sorted(unique.values(), key=Diagnostic.sort_key)


def validate_defaults(doc: Document) -> list[Diagnostic]:
    """All problems of a defaults.yaml: the spec's keys but NOT_SHARED, none of them required."""
    found = [
        d
        for error in _defaults_validator().iter_errors(doc.data)
        for d in _diagnose_schema_error(doc, error)
    ]
    found += _rule_problems(doc)
    found += [
        doc.diag(path, message, hint, code=Code.ENVIRONMENT)
        for path, message, hint in doc.environment_problems
    ]
    unique = {(d.line, d.column, d.message): d for d in found}
    return sorted(unique.values(), key=Diagnostic.sort_key)


@cache
def _defaults_validator() -> Draft202012Validator:
    s = json.loads(json.dumps(schema()))  # a copy: merged into a spec, nothing here is required
    s["properties"] = {k: v for k, v in s["properties"].items() if k not in NOT_SHARED}
    s.pop("required")
    s.pop("if", None)  # a family's rule (for_each needs a dag_id): families are not shared
    s.pop("then", None)
    s["properties"]["alerts"].pop("required")
    import jsonschema

    return jsonschema.Draft202012Validator(s)


def default_dag_id(doc: Document) -> str:
    dag_id = doc.data.get("dag_id") if isinstance(doc.data, dict) else None
    return dag_id if isinstance(dag_id, str) else doc.path.stem


def duplicate_dag_ids(docs: list[Document]) -> list[Diagnostic]:
    """One error per spec whose dag_id another spec of the same build uses too."""
    by_id: dict[str, list[Document]] = {}
    for doc in docs:
        by_id.setdefault(default_dag_id(doc), []).append(doc)
    out: list[Diagnostic] = []
    for dag_id, same in by_id.items():
        for doc in same if len(same) > 1 else []:
            others = ", ".join(o.display for o in same if o is not doc)
            path: SpecPath = ("dag_id",) if "dag_id" in doc.data else ()
            out.append(
                doc.diag(
                    path,
                    f"dag_id '{dag_id}' is also used by {others}",
                    "every pipeline needs its own dag_id: set `dag_id:` in one of them",
                    code=Code.DUPLICATE_DAG_ID,
                )
            )
    return out


def _nodes(doc: Document) -> list[structure.Node]:
    """The tasks and groups of a loaded spec, nested ones too (see structure.nodes)."""
    return structure.nodes(doc.data.get("tasks") if isinstance(doc.data, dict) else None)


def task_ids(doc: Document) -> list[str]:
    """The task ids of a loaded spec as Airflow names them (a group's tasks as GROUP.TASK)."""
    return [n.full_id for n in _nodes(doc) if not n.is_group]


class SpecLookup(Protocol):
    """The specs beyond a build: the one of a dag_id (None: no such spec), or all by dag_id."""

    @overload
    def __call__(self, dag_id: str) -> Document | None: ...
    @overload
    def __call__(self, dag_id: None) -> dict[str, Document]: ...


@overload
def _no_others(dag_id: str) -> Document | None: ...
@overload
def _no_others(dag_id: None) -> dict[str, Document]: ...
def _no_others(dag_id: str | None) -> Document | dict[str, Document] | None:
    """The SpecLookup that knows no specs beyond the build."""
    return None if dag_id else {}


def cross_dag_problems(
    docs: list[Document],
    others: SpecLookup = _no_others,
    invalid: dict[str, str] | None = None,
) -> list[Diagnostic]:
    """Every `wait_for` that names a DAG, or a task of it, that no spec defines. The DAGs are looked up
    among `docs` (the specs of the build), then through `others(dag_id)`: a Document or None
    (`others(None)`: all it knows, by dag_id). `invalid` maps the dag_ids of the build's invalid
    specs to those specs: waiting for one of them is reported as that, not as an unknown DAG."""
    invalid = invalid or {}
    by_id = {default_dag_id(d): d for d in docs}
    out: list[Diagnostic] = []
    for doc in docs:
        for n in _nodes(doc):
            task_id, wait = n.full_id, n.spec.get("wait_for")
            if not isinstance(wait, dict) or not isinstance(wait.get("dag"), str):
                continue
            dag = wait["dag"]
            path = (*n.path, "wait_for")
            if dag == default_dag_id(doc):
                out.append(
                    doc.diag(
                        (*path, "dag"),
                        f"task '{task_id}' waits for its own DAG '{dag}'",
                        "use `dependencies:` for tasks of the same DAG",
                        code=Code.WAIT_FOR,
                    )
                )
                continue
            other = by_id.get(dag) or others(dag)
            if other is None and dag in invalid:
                out.append(
                    doc.diag(
                        (*path, "dag"),
                        f"task '{task_id}' waits for DAG '{dag}', whose spec {invalid[dag]} is invalid",
                        f"fix the errors reported for {invalid[dag]}; this spec is checked against it then",
                        code=Code.WAIT_FOR,
                    )
                )
                continue
            if other is None:
                out.append(
                    doc.diag(
                        (*path, "dag"),
                        f"task '{task_id}' waits for DAG '{dag}', which no spec defines",
                        did_you_mean(dag, {**others(None), **by_id})
                        or "name the dag_id of a spec built together with this one "
                        "(specs are looked up in the build and in this spec's folder)",
                        code=Code.WAIT_FOR,
                    )
                )
                continue
            known = task_ids(other)
            if isinstance(wait.get("task"), str) and wait["task"] not in known:
                out.append(
                    doc.diag(
                        (*path, "task"),
                        f"task '{task_id}' waits for task {_quoted(wait['task'])}, "
                        f"which DAG '{dag}' does not have",
                        did_you_mean(wait["task"], known)
                        or f"DAG '{dag}' has: " + ", ".join(known),
                        code=Code.WAIT_FOR,
                    )
                )
    return out


def unproduced_assets(docs: list[Document], others: SpecLookup = _no_others) -> list[Diagnostic]:
    """A warning for every asset a schedule waits for that no task's `outlets` (in the build or in
    the specs beside it) updates: such a DAG would never run, unless something outside updates it.
    Assets are told apart by name (values.asset_key); an alias is filled as tasks run: never warned."""
    waiting = [
        (d, _asset_schedule(d.data.get("schedule")))
        for d in docs
        if isinstance(d.data, dict) and _asset_schedule(d.data.get("schedule")) is not None
    ]
    if not waiting:
        return []  # nothing waits for an asset: no need to read the other specs
    everything = {**others(None), **{default_dag_id(d): d for d in docs}}
    made: set[str] = set()
    for doc in everything.values():
        for n in _nodes(doc):
            outlets = n.spec.get("outlets")
            if isinstance(outlets, list):
                made |= {values.asset_key(a) for a in outlets if isinstance(a, (str, dict))}
    out: list[Diagnostic] = []
    for doc, condition in waiting:
        assets = values.assets_in(condition)  # type: ignore[arg-type]  # the schema checked it
        names = [values.asset_key(a) for a in assets if not (isinstance(a, dict) and "alias" in a)]
        for asset in dict.fromkeys(names):
            if asset not in made:
                d = doc.diag(
                    ("schedule",),
                    f"no task of these specs updates asset '{asset}'",
                    "list it in the `outlets` of the task that writes it; ignore this when something outside "
                    "dagforge updates it",
                    code=Code.ASSET,
                )
                out.append(replace(d, severity=Severity.WARNING))
    return out


def _asset_schedule(schedule: object) -> object:
    """The asset condition a schedule waits for (the `assets` of a time-or-assets one), or None."""
    if values.schedule_kind(schedule) != values.ScheduleKind.ASSETS:
        return None
    return schedule.get("assets") if isinstance(schedule, dict) and "time" in schedule else schedule


# ---- JSON Schema ---------------------------------------------------------------------------------


# The settings every task takes, as a hint names them: too many to list them all.
_EVERY_TASK = (
    "the settings every task takes: dependencies, retries, retry_delay, pool, trigger_rule, "
    "depends_on_past, doc_md and the other BaseOperator arguments (the schema lists them all)"
)
# Why a task setting is not one of the `defaults:` (see $defs.defaults), and what to write instead.
_NOT_A_DEFAULT = {
    "alerts": "the spec's top-level `alerts:` are every task's already; a task's own `alerts:` "
    "change them for it",
    "outlets": "give `outlets:` to the tasks that update the assets",
    "inlets": "give `inlets:` to the tasks that read the assets",
    "params": "the spec's top-level `params:` reach every task (`{{ params.NAME }}`)",
}


def _dotted(path: SpecPath) -> str:
    return ".".join(str(p) for p in path) or "the spec"


def _is_node(path: SpecPath) -> bool:
    """Whether `path` leads to a task or group mapping: tasks, ID (, tasks, ID ...)."""
    return len(path) >= 2 and len(path) % 2 == 0 and all(p == "tasks" for p in path[0::2])


def _node_name(path: SpecPath, inst: object) -> str:
    full = ".".join(str(p) for p in path[1::2])
    return (
        f"group '{full}'"
        if isinstance(inst, dict) and isinstance(inst.get("tasks"), dict)
        else f"task '{full}'"
    )


def _pattern_problem(
    doc: Document, path: SpecPath, kind: object, inst: Any, sch: Any
) -> list[Diagnostic] | None:
    """A duration, an import path, a dag_id, a date or a macro that does not read as one; None for
    any other error."""
    if kind == "oneOf" and path[:1] in (("start_date",), ("end_date",)):
        return _date_form_problem(doc, path, inst)
    if kind == "oneOf" and path[:1] == ("user_defined_macros",):
        return _macro_form_problem(doc, path, inst)
    duration = _is_duration(path)
    if kind == "pattern" or (kind in ("oneOf", "anyOf") and duration):
        if duration:
            return [
                doc.diag(
                    path,
                    f"{_dotted(path)}: {_quoted(inst)} is not a duration",
                    values.DURATION_HINT,
                    code=Code.DURATION,
                )
            ]
        if path and (form := _form_patterns().get(sch.get("pattern"))):
            what, example = form
            return [
                doc.diag(
                    path,
                    f"{_dotted(path)}: {_quoted(inst)} is not {what}",
                    _control_hint(inst) or f"write it as {example}",
                    code=Code.VALUE_FORM,
                )
            ]
        if path and path[-1] == "dag_id":
            return [
                doc.diag(
                    path,
                    f"dag_id {_quoted(inst)} has characters Airflow does not allow",
                    _control_hint(inst) or "use letters, digits, `_`, `.` and `-` (at most 250)",
                    code=Code.BAD_NAME,
                )
            ]
    return None


def _date_form_problem(doc: Document, path: SpecPath, inst: object) -> list[Diagnostic]:
    """A start or end date that is neither a text nor `{before_today: DURATION}`."""
    if isinstance(inst, dict) and set(inst) == {"before_today"}:
        return []  # a duration that is none: _check_before_today says so, at it
    return [
        doc.diag(
            path,
            f"{_dotted(path)}: {_quoted(inst)} is no date",
            "write a date like 2024-01-31, a datetime like 2024-01-31T06:00:00, or "
            "`{before_today: 2d}` for a date relative to the day the file is parsed",
            code=Code.DATE,
        )
    ]


def _macro_form_problem(doc: Document, path: SpecPath, inst: object) -> list[Diagnostic]:
    """The macros at `path` that are neither a `module:name` text nor a mapping of macros (a text
    that is no reference: _check_dag_settings says so)."""
    if isinstance(inst, dict) and inst:
        return [d for k, v in inst.items() for d in _macro_form_problem(doc, (*path, k), v)]
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,99}", str(path[-1])):
        return [
            doc.diag(
                path,
                f"macro name {_quoted(path[-1])} is no name a template can use",
                "use letters, digits and `_` (at most 100), not starting with a digit",
                key=True,
                code=Code.BAD_NAME,
            )
        ]
    if isinstance(inst, str):
        return []
    return [
        doc.diag(
            path,
            f"macro '{'.'.join(map(str, path[1:]))}': {_quoted(inst)} is neither a `module:name` "
            "reference nor a mapping of macros",
            "name a Python object, e.g. my_team.dates:shift, or nest names: "
            "`{shift: my_team.dates:shift}`",
            code=Code.CALLABLE,
        )
    ]


def _diagnose_schema_error(
    doc: Document, error: ValidationError, prefix: SpecPath = ()
) -> list[Diagnostic]:
    path = prefix + tuple(error.absolute_path)
    kind = error.validator
    # The part of the spec that failed, and the schema it failed: any JSON, read as each keyword
    # (`kind`) has it (jsonschema's stubs add its Unset, which iter_errors never gives).
    inst: Any = error.instance
    sch: Any = error.schema
    name = _dotted(path)
    if kind == "anyOf" and _required_argument(sch):  # an argument missing, inline and in `expand`
        kind, error.message = "required", f"'{_required_argument(sch)}' is a required property"
    if kind == "required":
        return _missing_key(doc, path, inst, error.message.split("'")[1])
    if kind in ("additionalProperties", "unevaluatedProperties"):
        return _unknown_keys(doc, path, inst)
    if "propertyNames" in error.schema_path and kind == "not" and path[-1:] == ("defaults",):
        return [
            doc.diag(
                (*path, str(inst)),
                f"'{inst}' cannot be in `defaults:`",
                _NOT_A_DEFAULT.get(str(inst), ""),
                key=True,
                code=Code.UNKNOWN_KEY,
            )
        ]
    if "propertyNames" in error.schema_path:
        bad = str(inst)
        return [
            doc.diag(
                (*path, bad),
                f"{_quoted(bad)} is not a valid name here",
                _control_hint(bad) or _name_hint(path, bad),
                key=True,
                code=Code.BAD_NAME,
            )
        ]
    if kind == "type":
        expected = sch["type"] if isinstance(sch["type"], str) else " or ".join(sch["type"])
        return [
            doc.diag(
                path,
                f"{name} must be {_article(expected)}, not {_type_name(inst)}",
                _node_hint(doc, path, inst) if _is_node(path) else _type_hint(path, inst, expected),
                code=Code.TYPE,
            )
        ]
    if (found := _pattern_problem(doc, path, kind, inst, sch)) is not None:
        return found
    if (inner := _inner_error(error, path)) is not None:
        return _diagnose_schema_error(doc, inner, prefix)
    if (found := _explain_value(doc, path, kind, inst, sch)) is not None:
        return found
    if kind == "enum":
        hint = did_you_mean(inst, sch["enum"]) or "choose one of: " + ", ".join(
            map(str, sch["enum"])
        )
        return [doc.diag(path, f"{name}: '{inst}' is not allowed", hint, code=Code.ENUM)]
    if kind == "not" and _is_node(path):
        return [
            doc.diag(
                (*path, "wait_for"),
                f"{_node_name(path, inst)} has both `operator` and `wait_for`",
                key=True,
                hint="a task either runs an operator or waits for another DAG: split it into two tasks",
                code=Code.WAIT_FOR,
            )
        ]
    if kind == "uniqueItems":
        return [
            doc.diag(
                path, f"{name} lists the same item twice", "remove the repeat", code=Code.UNIQUE
            )
        ]
    if kind == "minProperties" and path == ("tasks",):
        return [
            doc.diag(
                path,
                "tasks is empty",
                'add at least one task, e.g. `extract: {operator: bash, bash_command: "echo hi"}`',
                code=Code.MISSING_KEY,
            )
        ]
    # Remaining keywords (minimum, minItems, minLength, anyOf of values ...) read fine as jsonschema says them.
    return [doc.diag(path, f"{name}: {error.message}", code=Code.SCHEMA)]


# Settings whose value is one mapping or a list of them (or a list or a mapping): an error in the
# mapping is said as the mapping's own, not as "not valid under any of the given schemas".
_ONE_SHAPE_MAPPINGS = ("deadline", "access_control", "schedule")


def _is_duration(path: SpecPath) -> bool:
    """Whether the value at `path` is a duration (a setting's, or a deadline's interval)."""
    return bool(path) and (
        path[-1] in _duration_keys() or (path[0] == "deadline" and path[-1] == "interval")
    )


def _inner_error(error: ValidationError, path: SpecPath) -> ValidationError | None:
    """For a mapping where a mapping or a list is taken: the deepest error in the mapping itself."""
    if not (error.validator == "anyOf" and path and isinstance(error.instance, dict)):
        return None
    if path[0] not in _ONE_SHAPE_MAPPINGS and not {"inlets", "outlets"} & set(path[-2:]):
        return None

    def flat(errors: Iterable[ValidationError]) -> Iterator[ValidationError]:
        for e in errors:
            yield from flat(e.context) if e.validator == "anyOf" and e.context else [e]

    inner = [e for e in flat(error.context or ()) if e.validator != "type"]
    return max(inner, key=lambda e: len(e.absolute_path)) if inner else None


@cache
def _form_patterns() -> dict[str, tuple[str, str]]:
    """The schema's patterns of import paths -> what they are, and how to write one."""
    d = schema()["$defs"]
    return {
        d["class_path"]["pattern"]: ("the import path of a class", "package.module.ClassName"),
        d["function_path"]["pattern"]: (
            "the import path of a function",
            "package.module:function (a colon before the function's name)",
        ),
    }


def _missing_key(doc: Document, path: SpecPath, inst: Any, key: str) -> list[Diagnostic]:
    """The error for the mapping `inst` at `path` without its required `key`."""
    if _is_node(path) and isinstance(inst.get("expand"), dict) and key in inst["expand"]:
        return []  # given through `expand:`
    kwargs = inst.get("expand_kwargs") if _is_node(path) else None
    if isinstance(kwargs, dict) or (
        isinstance(kwargs, list)
        and kwargs
        and all(isinstance(m, dict) and key in m for m in kwargs)
    ):
        return []  # given by every mapping of `expand_kwargs:`, or maybe by the upstream's output
    what = _node_name(path, inst) if _is_node(path) else _dotted(path)
    # a key given that is not a setting and reads like the missing one: most likely misspelt (an
    # operator without a schema of its own takes any name, so nothing else would say so)
    settings = _node_keys() if _is_node(path) else set()
    typo = next(
        (k for k in inst if isinstance(k, str) and k not in settings and did_you_mean(k, [key])),
        None,
    )
    if typo is not None:
        return [
            doc.diag(
                (*path, typo),
                f"{what} is missing the required key '{key}'",
                f"'{typo}' is given: did you mean '{key}'?",
                key=True,
                code=Code.MISSING_KEY,
            )
        ]
    hint = f"add `{key}:`"
    if key == "start_date":
        hint = "add `start_date: 2024-01-01` (the first day the schedule counts from)"
    elif key != "operator" and "operator" in inst:
        hint = f"operator '{inst['operator']}' needs `{key}:`"
    return [
        doc.diag(path, f"{what} is missing the required key '{key}'", hint, code=Code.MISSING_KEY)
    ]


_TRUE, _FALSE = ("true", "yes", "on", "y"), ("false", "no", "off", "n")


def _name_hint(path: SpecPath, bad: str) -> str:
    """How to write a name the schema refuses: a task id, else an argument name."""
    if path and path[-1] == "tasks":
        fixed = re.sub(r"[^A-Za-z0-9_.-]+", "_", bad).strip("_")[:250] or "my_task"
        return f"a task id has letters, digits, `_`, `.` and `-` only (at most 250), e.g. '{fixed}'"
    return "use letters, digits, `_`, `.` or `-` (at most 250); argument names must be Python identifiers"


def _type_hint(path: SpecPath, inst: object, expected: str) -> str:
    key = path[-1] if path and isinstance(path[-1], str) else None
    if isinstance(inst, bool) and "string" in expected:
        return "YAML reads yes/no/on/off/true/false as booleans: put the value in quotes"
    if isinstance(inst, (int, float)) and "string" in expected:
        return "put the value in quotes to make it text"
    if not isinstance(inst, str) or not key:
        return ""
    text = inst.strip().lower()
    if "boolean" in expected and text in _TRUE + _FALSE:  # `catchup: "true"`, `on_failure: "yes"`
        return f"remove the quotes: `{key}: {'true' if text in _TRUE else 'false'}`"
    if expected in ("integer", "number") and re.fullmatch(r"[-+]?[0-9]+(\.[0-9]*)?", text):
        return f"remove the quotes: `{key}: {text}` (quotes make it text)"
    if expected in ("integer", "number"):
        return "write a number, without quotes"
    if "boolean" in expected:
        return "write true or false, without quotes"
    return ""


def _node_hint(doc: Document, path: SpecPath, inst: object) -> str:
    """Why a task or group is not a mapping. Most often the indentation: a task's keys written at
    the column of the task ids make each key a task of its own (`tasks.operator`)."""
    column = doc.where(path, key=True)[1]
    key = path[-1]
    if inst is None:
        return (
            f"write the keys of '{key}' on the lines below it, indented more than it "
            f"(at column {column + 2}), e.g. `operator: bash`"
        )
    if key in _node_keys():
        return (
            f"bad indentation: `{key}` is a key of a task, but it stands at the column of the "
            f"task ids; indent it more than the task id above it (at column {column + 2})"
        )
    return f'a task is a mapping of keys, e.g. `{key}: {{operator: bash, bash_command: "echo hi"}}`'


@cache
def _node_keys() -> frozenset[str]:
    """Every key a task or group takes, for any built-in operator."""
    defs = schema()["$defs"]
    return frozenset(
        key
        for name in ("task", "group", *(f"op_{op}" for op, short in SHORT.items() if short.schema))
        for key in defs[name].get("properties", {})
    )


def _explain_value(
    doc: Document, path: SpecPath, kind: object, inst: Any, sch: Any
) -> list[Diagnostic] | None:
    """The schema's limits on a number, an operator, a param's type, said plainly (None: other)."""
    if kind == "anyOf" and path and path[-1] == "operator":
        return [_unknown_operator(doc, path, inst)]
    if kind == "anyOf" and len(path) > 2 and path[-1] == "expand_kwargs" and _is_node(path[:-1]):
        return [_bad_expand_kwargs(doc, path, inst)]
    if kind == "pattern" and _control_hint(inst):
        return [
            doc.diag(
                path,
                f"{_dotted(path)}: {_quoted(inst)} has a line break or another control character",
                _control_hint(inst),
                code=Code.BAD_NAME,
            )
        ]
    if kind in ("minimum", "maximum") and path == ("schedule",):
        return []  # _check_schedule says it, for a duration written as text too
    if kind in ("minimum", "maximum") and sch[kind] in _INT32:
        more, limit = kind == "maximum", sch[kind]
        return [
            doc.diag(
                path,
                f"{_dotted(path)}: {inst} is {'more' if more else 'less'} than Airflow can store",
                f"Airflow keeps it in a 32-bit database column: "
                f"{'at most' if more else 'at least'} {limit}",
                code=Code.RANGE,
            )
        ]
    if kind == "anyOf" and len(path) == 3 and path[0] == "params" and path[2] == "type":
        types = schema()["$defs"]["param_type"]["enum"]
        return [
            doc.diag(
                path,
                f"params.{path[1]}.type: {_quoted(inst)} is not a type",
                did_you_mean(inst, types) or "use one of: " + ", ".join(types),
                code=Code.PARAM,
            )
        ]
    return None


def _quoted(value: object) -> str:
    """'value' in a message; a value with a line break or another control character as Python writes
    it ('a\\n'), so that it cannot break the message's line or pass for another message."""
    text = str(value)
    return f"'{text}'" if text.isprintable() else repr(text)


def _control_hint(value: object) -> str:
    """The hint for text with a line break or another invisible character in it, else ''."""
    if not isinstance(value, str) or value.isprintable():
        return ""
    return (
        "remove the line break or other control character from it (a YAML `|` or `>` block "
        "ends with a line break: write `|-`, or put the value on the key's line)"
    )


def _article(t: str) -> str:
    names = {
        "string": "text",
        "integer": "a whole number",
        "boolean": "true or false",
        "object": "a mapping of keys",
        "array": "a list",
        "null": "null",
        "number": "a number",
    }
    return " or ".join(names.get(x, x) for x in t.split(" or "))


def _type_name(value: object) -> str:
    return {
        bool: "a boolean",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "a mapping",
        type(None): "empty (null)",
    }.get(type(value), type(value).__name__) + (
        f" ({value!r})" if isinstance(value, (bool, int, float)) else ""
    )


def _allowed_keys(path: SpecPath, inst: Any) -> set[str]:
    s = schema()
    if not path:
        return set(s["properties"])
    if _is_node(path) and isinstance(inst.get("tasks"), dict):
        return set(s["$defs"]["group"]["properties"])
    if path == ("defaults",) or (path[-1] == "defaults" and _is_node(path[:-1])):
        return set(default_settings())
    if _is_node(path):
        keys = set(task_settings())
        op = inst.get("operator")
        if op in SHORT and SHORT[op].schema:  # the others take any argument name
            keys |= set(SHORT[op].arguments)
        return keys
    if path == ("schedule",):
        return set(s["$defs"]["schedule_mapping"]["else"]["properties"])
    if path[0] == "schedule" or {"inlets", "outlets"} & set(path[-2:]):  # a condition or an asset
        keys = set(s["$defs"]["asset_mapping"]["properties"])
        return keys if {"inlets", "outlets"} & set(path[-2:]) else keys | {"any", "all"}
    if path[-1] == "wait_for":
        return set(s["$defs"]["wait_for"]["properties"])
    if path[-1] == "callbacks":  # the DAG run's events, or a task's
        spec = s["properties"]["callbacks"] if len(path) == 1 else s["$defs"]["task_callbacks"]
        return set(spec["properties"])
    if path[-1] == "alerts":
        return (
            set(s["properties"]["alerts"]["properties"])
            if len(path) == 1
            else set(s["$defs"]["task"]["properties"]["alerts"]["properties"])
        )
    return set()


def _unknown_keys(doc: Document, path: SpecPath, inst: Any) -> list[Diagnostic]:
    if _is_node(path) and "wait_for" not in inst and not isinstance(inst.get("tasks"), dict):
        op = inst.get("operator")
        if not isinstance(op, str) or not _valid_operator(op):
            return []  # the unknown operator is the problem; its arguments cannot be judged
        if op in SHORT and not SHORT[op].schema:
            return []  # any argument name: `build` checks them against the class's signature
    allowed = _allowed_keys(path, inst)
    if not path and doc.path.name in DEFAULTS_NAMES:
        allowed -= set(NOT_SHARED)
    where = (
        _node_name(path, inst)
        if _is_node(path)
        else _dotted(path)
        if path
        else "the defaults file"
        if doc.path.name in DEFAULTS_NAMES
        else "the spec"
    )
    out = []
    for key in inst:
        if key in allowed:
            continue
        hint = _airflow_habit(path, key, inst) or did_you_mean(key, allowed)
        if not path and key in NOT_SHARED and key not in allowed:
            hint = f"a defaults.yaml shares settings; `{key}` belongs in each spec"
        elif not hint and _is_node(path) and "operator" in inst:
            own = sorted(allowed - set(task_settings()))
            hint = (
                f"operator '{inst.get('operator')}' takes "
                + (f"{', '.join(own)} and " if own else "")
                + _EVERY_TASK
            )
        elif not hint and path[-1:] == ("defaults",):
            hint = "a `defaults:` takes task settings: " + _EVERY_TASK.split("dependencies, ")[1]
        elif not hint:
            hint = "allowed keys: " + ", ".join(sorted(allowed))
        out.append(
            doc.diag(
                (*path, key),
                f"unknown key '{key}' in {where}",
                hint,
                key=True,
                code=Code.UNKNOWN_KEY,
            )
        )
    return out


def _airflow_habit(path: SpecPath, key: str, inst: Any) -> str:
    """dagforge's way to say what the unknown `key` says in an Airflow DAG file, or ''."""
    where = "spec" if not path else "task" if _is_node(path) else None
    value = inst.get(key)
    if where and key == "email":
        emails = value if isinstance(value, list) else [value]
        shown = ", ".join(str(e) for e in emails) if len(str(emails)) < 80 else "..."
        return f"dagforge mails through `alerts:`: write `alerts: {{emails: [{shown}]}}`"
    if where and key in ("email_on_failure", "email_on_retry"):
        return (
            f"dagforge mails through `alerts:`: write `alerts: {{{key.removeprefix('email_')}: "
            f"{'true' if value else 'false'}}}` (with `emails:` there or in the spec's `alerts:`)"
        )
    if where == "task" and "wait_for" in inst and key in _WAIT_FOR_KEYS:
        wait = inst["wait_for"] if isinstance(inst["wait_for"], dict) else {}
        dag = wait.get("dag") if isinstance(wait.get("dag"), str) else "..."
        given = value if isinstance(value, (str, int)) and len(str(value)) < 40 else "..."
        return f"`{key}` goes inside `wait_for:`, e.g. `wait_for: {{dag: {dag}, {key}: {given}}}`"
    if where == "spec" and key == "schedule_interval":
        return "Airflow 2's `schedule_interval` is `schedule:` here"
    if where == "spec" and key == "default_args":
        return (
            "a spec's default_args are its `defaults:` (any task setting, for every task; a "
            "group's `defaults:` for the tasks in it), or a defaults.yaml beside it for every spec"
        )
    return ""


_WAIT_FOR_KEYS = ("timeout", "poke_interval", "mode", "execution_delta")


def _valid_operator(op: str) -> bool:
    return op in SHORT or "." in op


def _unknown_operator(doc: Document, path: SpecPath, inst: object) -> Diagnostic:
    short = tuple(SHORT)
    hint = (
        _control_hint(inst)
        or did_you_mean(inst, short)
        or (
            "use a built-in short name (" + ", ".join(short) + ") or a full import path like "
            "airflow.providers.standard.operators.bash.BashOperator"
        )
    )
    return doc.diag(path, f"unknown operator {_quoted(inst)}", hint, code=Code.UNKNOWN_OPERATOR)


# ---- Rules the schema cannot express ----------------------------------------------------------


def _rule_problems(doc: Document) -> list[Diagnostic]:
    data = doc.data
    out: list[Diagnostic] = []
    if (
        "dag_id" not in data
        and not _ID.fullmatch(doc.path.stem)
        and doc.path.name not in DEFAULTS_NAMES
    ):
        out.append(
            doc.diag(
                (),
                f"the file name '{doc.path.stem}' is not a valid dag_id",
                "add `dag_id: my_pipeline` or rename the file (letters, digits, `_`, `.`, `-`)",
                code=Code.BAD_NAME,
            )
        )
    out += _check_schedule(doc, data.get("schedule"))
    tz = data.get("timezone")
    if isinstance(tz, str) and tz not in _timezones():
        out.append(
            doc.diag(
                ("timezone",),
                f"unknown time zone '{tz}'",
                values.zone_suggestion(tz)
                or did_you_mean(tz, _timezones())
                or "use an IANA name like UTC, Europe/Berlin or Asia/Seoul",
                code=Code.TIMEZONE,
            )
        )
    elif isinstance(tz, str) and (offset := values.fixed_offset(tz)):
        warning = doc.diag(
            ("timezone",),
            f"time zone '{tz}' is {offset} all year, without summer time",
            values.zone_suggestion(tz) + " (the local clock, summer time included)",
            code=Code.TIMEZONE,
        )
        out.append(replace(warning, severity=Severity.WARNING))
    dates: dict[str, datetime] = {}
    zone = tz if isinstance(tz, str) and tz in _timezones() else "UTC"
    for key in ("start_date", "end_date"):
        out += _check_before_today(doc, key, data.get(key))
        if isinstance(data.get(key), str):
            hint = "write a date like 2024-01-31 or a datetime like 2024-01-31T06:00:00"
            try:
                dates[key] = values.parse_when(data[key])
                hint = f"use a date from {values.EARLIEST.date()} to {values.LATEST.date()}"
                values.instant(dates[key], zone)
            except ValueError as e:
                dates.pop(key, None)
                out.append(doc.diag((key,), f"{key}: {e}", hint, code=Code.DATE))
            else:
                out += _check_clock_change(doc, key, dates[key], zone)
    if len(dates) == 2:
        try:
            if dates["end_date"] <= dates["start_date"]:
                out.append(
                    doc.diag(
                        ("end_date",),
                        "end_date is not after start_date",
                        "move end_date later or remove it",
                        code=Code.DATE,
                    )
                )
        except TypeError:
            out.append(
                doc.diag(
                    ("end_date",),
                    "start_date and end_date mix a UTC offset with none",
                    "give both or neither an offset (the `timezone` key is usually enough)",
                    code=Code.DATE,
                )
            )
    out += _check_durations(doc, (), data)
    out += _check_spec_defaults(doc, data.get("defaults"))
    out += _check_numbers(doc, (), data)
    out += _check_scheduling(doc, data)
    out += _check_params(doc, data.get("params"))
    out += _check_doc_md(doc, data.get("doc_md"))
    out += _check_dag_settings(doc, data)
    out += _check_emails(
        doc,
        ("alerts", "emails"),
        data.get("alerts", {}).get("emails") if isinstance(data.get("alerts"), dict) else None,
    )
    tasks = data.get("tasks")
    if isinstance(tasks, dict):
        dag_emails = isinstance(data.get("alerts"), dict) and bool(data["alerts"].get("emails"))
        all_nodes = structure.nodes(tasks)
        for n in all_nodes:
            if n.is_group:
                out += _check_group(doc, n)
            elif n.mapping:
                out += _check_task(doc, n.full_id, n.spec, dag_emails, n.path)
        edges = structure.task_edges(all_nodes)  # once: the checks below share it
        out += _check_tree(doc, all_nodes)
        out += _check_dependencies(doc, all_nodes, edges)
        out += _check_mapping(doc, all_nodes)
        out += _check_taskflow(doc, all_nodes)
        out += _check_branches(doc, all_nodes, edges)
        out += _check_forms(doc, all_nodes, data)
    return out


def _operators(all_nodes: list[structure.Node]) -> set[str]:
    """The operators (short names, import paths) the tasks use, each once."""
    return {
        op for n in all_nodes if isinstance(op := n.spec.get("operator"), str) and not n.is_group
    }


def _check_taskflow(doc: Document, all_nodes: list[structure.Node]) -> list[Diagnostic]:
    """`operator: task` calls its function with `op_kwargs` as keyword arguments (so each is a
    parameter name), maps it with `expand` alone (the mapped call takes no positional arguments),
    and has no `expand_kwargs`."""
    if not any(is_taskflow(op) for op in _operators(all_nodes)):
        return []  # (most specs: a look at each operator name, not at each task)
    out: list[Diagnostic] = []
    for n in all_nodes:
        if n.is_group or not is_taskflow(n.spec.get("operator")):
            continue
        kwargs = n.spec.get("op_kwargs")
        expand = n.spec.get("expand")
        for key in kwargs if isinstance(kwargs, dict) else ():
            if isinstance(expand, dict) and key in expand:
                out.append(
                    doc.diag(
                        (*n.path, "expand", key),
                        f"'{key}' is given both in op_kwargs and in `expand`",
                        "keep one: op_kwargs are the same for every mapped instance, `expand` "
                        "values make one instance each",
                        key=True,
                        code=Code.EXPAND,
                    )
                )
            elif not (isinstance(key, str) and key.isidentifier() and not keyword.iskeyword(key)):
                out.append(
                    doc.diag(
                        (*n.path, "op_kwargs", key),
                        f"{_quoted(key)} cannot be a parameter of the function",
                        "name a parameter of python_callable (letters, digits and `_`)",
                        key=True,
                        code=Code.BAD_NAME,
                    )
                )
        for key, why in (
            ("expand_kwargs", "map it with `expand:` over the function's own arguments"),
            ("op_args", "a mapped `task` takes its fixed arguments as op_kwargs"),
        ):
            if key in n.spec and (key == "expand_kwargs" or "expand" in n.spec):
                out.append(
                    doc.diag(
                        (*n.path, key),
                        f"task '{n.full_id}' (operator: task) cannot have `{key}`"
                        + (" with `expand`" if key == "op_args" else ""),
                        why,
                        key=True,
                        code=Code.EXPAND,
                    )
                )
    return out


def _check_branches(
    doc: Document, all_nodes: list[structure.Node], edges: Mapping[tuple[str, str], SpecPath]
) -> list[Diagnostic]:
    """A warning for a branch task that no task depends on: its downstream tasks are the choices
    its python_callable returns, so with none there is nothing to choose from (and Airflow fails
    the task when the callable returns a task id that is not downstream of it). `edges`: the
    spec's structure.task_edges."""
    if not any(is_branch(op) for op in _operators(all_nodes)):
        return []  # (most specs)
    ups = {up for up, _ in edges}
    out = []
    for n in all_nodes:
        if n.is_group or not is_branch(n.spec.get("operator")) or n.full_id in ups:
            continue
        d = doc.diag(
            (*n.path, "operator"),
            f"branch task '{n.full_id}' has no downstream task to choose",
            f"add `dependencies: [{n.full_id}]` to each task it may choose; its python_callable "
            "returns the id (or a list of ids) of the ones to run, the others are skipped",
            code=Code.BRANCH,
        )
        out.append(replace(d, severity=Severity.WARNING))
    return out


def _check_reference(doc: Document, path: SpecPath, ref: object, what: str) -> list[Diagnostic]:
    """A `module.path:name` reference (python_callable, macro, filter, callback): a dotted
    identifier, a colon and an identifier, no keyword; the generated file imports it."""
    if not isinstance(ref, str):
        return []
    if _import_path(ref, _CALLABLE):
        return []
    return [
        doc.diag(
            path,
            f"{what} {_quoted(ref)} is not a `module:name` reference",
            _control_hint(ref)
            or "write the module's dotted path, a colon, and the name in it, e.g. my_team.alerts:late",
            code=Code.CALLABLE,
        )
    ]


def _check_dag_settings(doc: Document, data: Mapping[str, Any]) -> list[Diagnostic]:
    """The DAG settings the schema cannot judge: owner links, template folders, references."""
    out: list[Diagnostic] = []
    for owner, link in (data.get("owner_links") or {}).items():
        if isinstance(link, str) and not _link(link):
            out.append(
                doc.diag(
                    ("owner_links", owner),
                    f"owner_links: {_quoted(link)} for {_quoted(owner)} is not a link Airflow takes",
                    "write an http(s) URL like https://wiki.example.com/team, or mailto:someone@example.com",
                    code=Code.DAG_SETTING,
                )
            )
    for i, folder in enumerate(data.get("template_searchpath") or ()):
        if isinstance(folder, str):
            out += _check_template_folder(doc, ("template_searchpath", i), folder)
    for key, what in (("user_defined_macros", "macro"), ("user_defined_filters", "filter")):
        for path, ref in _leaves((key,), data.get(key)):  # a macro may be a mapping of them
            name = ".".join(map(str, path[1:]))
            out += _check_reference(doc, path, ref, f"{what} '{name}':")
    deadline = data.get("deadline")
    alerts = deadline if isinstance(deadline, list) else [deadline] if deadline else []
    for i, alert in enumerate(alerts):
        base: SpecPath = ("deadline", i) if isinstance(deadline, list) else ("deadline",)
        if isinstance(alert, dict):
            out += _check_reference(doc, (*base, "callback"), alert.get("callback"), "callback")
            out += _check_deadline_arguments(doc, (*base, "callback"), alert.get("callback"))
            out += _check_durations(doc, base, alert, ("interval",))
    if data.get("fail_fast") is True and isinstance(data.get("tasks"), dict):
        out += _check_fail_fast(doc, structure.nodes(data["tasks"]))
    return out


def _leaves(path: SpecPath, value: object) -> Iterator[tuple[SpecPath, object]]:
    """The values under the mapping `value`, through nested mappings, each with its path."""
    for key, item in value.items() if isinstance(value, dict) else ():
        if isinstance(item, dict):
            yield from _leaves((*path, key), item)
        else:
            yield (*path, key), item


def _check_deadline_arguments(doc: Document, path: SpecPath, callback: object) -> list[Diagnostic]:
    """The keyword arguments of a deadline's `{function: ...}`: plain values. Airflow stores them
    with the DAG (SyncCallback's kwargs are serialized), so no object, function or task output."""
    out: list[Diagnostic] = []

    def visit(where: SpecPath, value: object) -> None:
        if isinstance(value, dict) and (
            form := next((f for f in _VALUE_FORMS if f in value), None)
        ):
            out.append(
                doc.diag(
                    (*where, form),
                    f"a deadline callback's arguments are plain values, not `{form}:`",
                    "Airflow stores them with the DAG as data: give text, numbers, lists or "
                    "mappings (the function can make what it needs from them)",
                    key=True,
                    code=Code.VALUE_FORM,
                )
            )
        elif isinstance(value, dict):
            for k, v in value.items():
                visit((*where, k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                visit((*where, i), v)

    if isinstance(callback, dict):
        for k, v in callback.items():
            if k != "function":
                visit((*path, k), v)
    return out


_VALUE_FORMS = ("object", "function", "output_of")


def _link(link: str) -> bool:
    """Whether Airflow's DAG takes `link` as an owner link (its _validate_owner_links, 2.10 and 3)."""
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    if parts.scheme == "mailto":
        return bool(parts.path)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and link == link.strip()


def _check_template_folder(doc: Document, path: SpecPath, folder: str) -> list[Diagnostic]:
    """A template_searchpath folder: relative to the spec's folder, inside it, and there."""
    home = doc.path.parent.resolve()
    try:
        found = (home / folder).resolve()
    except (OSError, RuntimeError, ValueError):
        found = None
    if found is None or not found.is_relative_to(home) or Path(folder).is_absolute():
        return [
            doc.diag(
                path,
                f"template_searchpath: {_quoted(folder)} is outside the spec's folder",
                "name a folder in the spec's folder or below it, relative to that folder "
                "(absolute paths, '..' and symlinks that lead out of it are refused)",
                code=Code.DAG_SETTING,
            )
        ]
    if not found.is_dir():
        return [
            doc.diag(
                path,
                f"template_searchpath: {_quoted(folder)} is not a folder next to the spec",
                "create it, or name the folder that holds the templates (relative to the spec's folder)",
                code=Code.DAG_SETTING,
            )
        ]
    return []


# The trigger rules a task of a fail_fast DAG may have (Airflow's FailFastDagInvalidTriggerRule).
_FAIL_FAST_RULES = ("all_success", "all_done_setup_success")


def _check_fail_fast(doc: Document, all_nodes: list[structure.Node]) -> list[Diagnostic]:
    """Each trigger_rule (of a task, or in a group's defaults) that a fail_fast DAG refuses."""
    out: list[Diagnostic] = []
    for n in all_nodes:
        spec: Any = n.spec
        path = n.path
        if n.is_group:
            spec, path = n.spec.get("defaults"), (*n.path, "defaults")
        if isinstance(spec, dict):
            out += _fail_fast_rule(doc, path, spec.get("trigger_rule"))
    return out


def _fail_fast_rule(doc: Document, path: SpecPath, rule: object) -> list[Diagnostic]:
    if not isinstance(rule, str) or rule in _FAIL_FAST_RULES:
        return []
    return [
        doc.diag(
            (*path, "trigger_rule"),
            f"trigger_rule '{rule}' in a DAG with `fail_fast: true`: Airflow refuses the DAG",
            "a fail_fast DAG's tasks keep trigger_rule all_success; drop fail_fast or this trigger_rule",
            code=Code.DAG_SETTING,
        )
    ]


def _check_before_today(doc: Document, key: str, value: object) -> list[Diagnostic]:
    """`{before_today: DURATION}`: a duration (the schema checks its form; too long is an error
    here), and a warning that the date moves every day, which Airflow advises against."""
    if not isinstance(value, dict) or "before_today" not in value:
        return []
    try:
        values.parse_duration(value["before_today"])
    except ValueError as e:
        return [
            doc.diag((key, "before_today"), f"{key}: {e}", values.DURATION_HINT, code=Code.DATE)
        ]
    warning = doc.diag(
        (key, "before_today"),
        f"{key} moves with the day the file is parsed",
        "Airflow advises a fixed date (`2024-01-01`): a moving one can start runs again or skip "
        "them; keep `before_today` only for a DAG that already does this",
        code=Code.DATE,
    )
    return [replace(warning, severity=Severity.WARNING)]


def _check_clock_change(doc: Document, key: str, when: datetime, zone: str) -> list[Diagnostic]:
    """A wall-clock time that a daylight-saving change skips (an error: it names no instant) or
    repeats (a warning: Airflow, through pendulum, takes the later of the two)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(zone)
    wall = when.astimezone(tz).replace(tzinfo=None) if when.tzinfo else when
    change = values.clock_change(wall, tz)
    if change is None:
        return []
    kind, left, shown = change
    clock = f"{wall:%Y-%m-%d %H:%M}"
    if kind == "skipped":
        return [
            doc.diag(
                (key,),
                f"{key}: {clock} does not exist in {zone}: the clocks jump from "
                f"{left:%H:%M} to {shown:%H:%M} that day",
                f"use a time outside the gap, like {wall + (shown - left):%Y-%m-%dT%H:%M} "
                "(where Airflow would move it)",
                code=Code.DATE,
            )
        ]
    return [
        replace(
            doc.diag(
                (key,),
                f"{key}: {clock} happens twice in {zone} (the clocks go back from {left:%H:%M} "
                f"to {shown:%H:%M}); Airflow takes the second time",
                f"to be sure which one runs, use a time outside {shown:%H:%M}-{left:%H:%M}",
                code=Code.DATE,
            ),
            severity=Severity.WARNING,
        )
    ]


def _check_numbers(doc: Document, path: SpecPath, value: object) -> list[Diagnostic]:
    """NaN and infinity anywhere in the spec (YAML's .nan, .inf): JSON has no such numbers, and
    Airflow serializes DAGs, their arguments and params as JSON. A loop, not recursion: a spec may
    nest deeper than Python's recursion limit allows a recursive walk."""
    if not _has_non_finite(value):  # the usual case, found without building every value's path
        return []
    out: list[Diagnostic] = []
    pending = [(path, value)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, dict):
            pending += [((*path, k), v) for k, v in value.items()]
        elif isinstance(value, list):
            pending += [((*path, i), v) for i, v in enumerate(value)]
        elif isinstance(value, float) and not math.isfinite(value):
            what = "NaN" if math.isnan(value) else "infinity"
            out.append(
                doc.diag(
                    path,
                    f"{_dotted(path)}: {what} is not a number Airflow can store",
                    "JSON, in which Airflow stores a DAG, has no NaN or infinity: "
                    "write a finite number, or put the value in quotes to make it text",
                    code=Code.NUMBER,
                )
            )
    return out


def _has_non_finite(value: object) -> bool:
    """Whether a NaN or infinity is anywhere in `value`: _check_numbers' walk, without the paths."""
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            inside: Iterable[object] = value.values()
        elif isinstance(value, list):
            inside = value
        else:
            if isinstance(value, float) and not math.isfinite(value):
                return True
            continue
        for v in inside:
            if type(v) is not str:  # (most values: text, which holds no number)
                pending.append(v)
    return False


def _check_tree(doc: Document, all_nodes: list[structure.Node]) -> list[Diagnostic]:
    """Groups nested deeper than MAX_GROUP_DEPTH, and ids that grow past Airflow's 250 characters
    with their groups' ids in front: each reported once, at the outermost node that goes over."""
    out: list[Diagnostic] = []
    reported: set[str] = set()
    for n in all_nodes:
        if n.parent in reported:
            reported.add(n.full_id)
            continue
        # The shortest task id a group can hold is its id, a dot and one character.
        length = len(n.full_id) + (2 if n.is_group else 0)
        if n.is_group and n.depth > MAX_GROUP_DEPTH:
            message = f"group '{n.full_id}' is nested {n.depth} groups deep"
            hint = f"nest at most {MAX_GROUP_DEPTH} groups inside each other"
        elif length > MAX_ID_LENGTH:
            what = "a task id in group" if n.is_group else "task id"
            message = f"{what} '{n.full_id}' is longer than Airflow's {MAX_ID_LENGTH} characters"
            hint = (
                "shorten this id or its groups' ids: a task's id in Airflow is GROUP.SUBGROUP.TASK"
            )
        else:
            continue
        reported.add(n.full_id)
        out.append(doc.diag(n.path, message, hint, key=True, code=Code.BAD_NAME))
    return out


def _check_asset(doc: Document, path: SpecPath, asset: object) -> list[Diagnostic]:
    """What Airflow would refuse or warn about in an asset URI, found without Airflow."""
    from urllib.parse import urlsplit

    if not isinstance(asset, str):
        return []
    try:
        parsed = urlsplit(asset)
    except ValueError as e:
        return [
            doc.diag(
                path,
                f"asset '{asset}' is not a valid URI: {e}",
                "write it like s3://bucket/key or a plain name",
                code=Code.ASSET,
            )
        ]
    if parsed.scheme.lower() == "airflow":
        return [
            doc.diag(
                path,
                f"asset '{asset}': the URI scheme 'airflow' is reserved by Airflow",
                "use another scheme, like s3:// or file://",
                code=Code.ASSET,
            )
        ]
    if parsed.password:
        return [
            doc.diag(
                path,
                f"asset '{asset}' holds a password",
                "never put credentials in an asset URI: use a connection",
                code=Code.ASSET,
            )
        ]
    return []


def _check_assets(doc: Document, path: SpecPath, condition: object) -> list[Diagnostic]:
    if isinstance(condition, str):
        return _check_asset(doc, path, condition)
    if isinstance(condition, dict) and values.is_asset(condition):
        return _check_asset_mapping(doc, path, condition)
    if isinstance(condition, list):
        return [d for i, item in enumerate(condition) for d in _check_assets(doc, (*path, i), item)]
    if isinstance(condition, dict):
        return [
            d for key, items in condition.items() for d in _check_assets(doc, (*path, key), items)
        ]
    return []


def _check_asset_mapping(doc: Document, path: SpecPath, asset: dict[str, Any]) -> list[Diagnostic]:
    """An asset written out: a name or a URI (a valid one), or an alias alone (with its group)."""
    if "alias" in asset:
        extra = [k for k in ("name", "uri", "extra") if k in asset]
        if extra:
            return [
                doc.diag(
                    (*path, extra[0]),
                    f"an asset alias takes no `{extra[0]}`",
                    "an alias names no data itself: write `{alias: NAME}` (and a `group`), and "
                    "give the assets their own mappings",
                    key=True,
                    code=Code.ASSET,
                )
            ]
        return []
    if "name" not in asset and "uri" not in asset:
        return [
            doc.diag(
                path,
                "an asset needs a `name` or a `uri`",
                "add `uri: s3://bucket/key` or `name: orders` (or both)",
                code=Code.ASSET,
            )
        ]
    return _check_asset(doc, (*path, "uri"), asset["uri"]) if "uri" in asset else []


def _check_asset_or_time(doc: Document, value: dict[str, Any]) -> list[Diagnostic]:
    """`schedule: {time: ..., assets: ...}`: both given, the time a cron, preset or duration."""
    path: SpecPath = ("schedule",)
    if "time" not in value or "assets" not in value or {"any", "all"} & value.keys():
        return [
            doc.diag(
                path,
                "a schedule on a time or assets takes exactly `time` and `assets`",
                'write `schedule: {time: "0 2 * * *", assets: [s3://lake/orders]}`, or '
                "`schedule: {any: [...]}` for assets alone",
                code=Code.SCHEDULE,
            )
        ]
    time = value["time"]
    if time in ("@once", "@continuous") or values.schedule_kind(time) == values.ScheduleKind.ASSETS:
        return [
            doc.diag(
                (*path, "time"),
                f"schedule.time: {_quoted(time)} is no repeating time",
                "use a cron expression, a preset such as @daily, or a duration such as 6h",
                code=Code.SCHEDULE,
            )
        ]
    return _check_schedule(doc, time, (*path, "time")) + _check_assets(
        doc, (*path, "assets"), value["assets"]
    )


def _check_schedule(
    doc: Document, value: object, path: SpecPath = ("schedule",)
) -> list[Diagnostic]:
    kind = values.schedule_kind(value)
    if kind == values.ScheduleKind.TIMETABLE:
        return []  # a value form: _check_forms
    if kind == "assets" and isinstance(value, dict) and {"time", "assets"} & value.keys():
        return _check_asset_or_time(doc, value)
    if kind == "assets" and isinstance(value, dict) and len(value) > 1:  # any and all
        return [
            doc.diag(
                path,
                "schedule: give `any` or `all`, not both",
                "nest one in the other, e.g. `{any: [s3://a, {all: [s3://b, s3://c]}]}`",
                code=Code.SCHEDULE,
            )
        ]
    if kind == "assets":
        return _check_assets(doc, path, value)
    if kind == "preset" and value not in values.PRESETS:
        return [
            doc.diag(
                path,
                f"unknown schedule preset '{value}'",
                did_you_mean(value, values.PRESETS) or "use one of " + " ".join(values.PRESETS),
                code=Code.SCHEDULE,
            )
        ]
    if kind == "duration":
        try:
            every = values.parse_duration(value)
        except ValueError as e:
            return [doc.diag(path, f"schedule: {e}", values.DURATION_HINT, code=Code.SCHEDULE)]
        if not values.SCHEDULE_MIN <= every <= values.SCHEDULE_MAX:
            return [
                doc.diag(
                    path,
                    f"schedule: {value!r} is "
                    f"{'too short' if every < values.SCHEDULE_MIN else 'too long'} "
                    "for a time between runs",
                    "give from 1 second (1s) to 3650 days (3650d); "
                    "for runs only when triggered, remove `schedule:` or write `schedule: null`",
                    code=Code.SCHEDULE,
                )
            ]
    if kind == "cron" and isinstance(value, str):
        fields = value.split()
        hint = "a cron expression has 5 fields: minute hour day-of-month month day-of-week, e.g. '0 2 * * *'"
        if len(fields) == 1 and f"@{value}" in values.PRESETS:  # `schedule: daily`
            return [
                doc.diag(
                    path,
                    f"schedule '{value}' is not a cron expression or a preset",
                    f"did you mean '@{value}'? (presets start with `@`)",
                    code=Code.SCHEDULE,
                )
            ]
        if len(fields) != 5:
            return [
                doc.diag(
                    path,
                    f"schedule '{value}' has {len(fields)} fields, not 5",
                    hint,
                    code=Code.CRON,
                )
            ]
        valid, never = _cron_verdict(value)
        if not valid:
            field = values.cron_field_problem(value)
            return [
                doc.diag(
                    path,
                    f"schedule '{value}' is not a valid cron expression"
                    + (f": {field}" if field else ""),
                    hint,
                    code=Code.CRON,
                )
            ]
        if never:
            return [
                doc.diag(
                    path,
                    f"schedule '{value}' never runs: {never}",
                    "pick days that every month named has (at most 29 for February, 30 for April, "
                    "June, September and November), or write `L` for the last day of the month",
                    code=Code.CRON,
                )
            ]
    return []


@lru_cache(maxsize=256)
def _cron_verdict(value: str) -> tuple[bool, str]:
    """Whether croniter reads a cron expression, and why it never runs (or ''): a function of its
    text alone, kept per process (the specs of a build share a few schedules; each costs croniter
    two expansions)."""
    from croniter import croniter

    if not croniter.is_valid(value):
        return False, ""
    return True, _cron_never(croniter(value).expanded)


_MONTHS = (
    "January February March April May June July August September October November December"
).split()
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February 29 comes every 4 years


def _cron_never(expanded: Sequence[Sequence[object]]) -> str:
    """Why a valid cron expression (croniter's expanded fields) never matches a date, or ''.
    Only the days of the month can do that, and only when the day of the week is `*`: with both
    given, cron runs on either."""
    _, _, day_field, month_field, weekdays = expanded
    days = [d for d in day_field if isinstance(d, int)]
    if weekdays != ["*"] or day_field == ["*"] or len(days) < len(day_field):  # `L`: no number
        return ""
    months = (
        range(1, 13) if month_field == ["*"] else [m for m in month_field if isinstance(m, int)]
    )
    if any(d <= _MONTH_DAYS[m - 1] for m in months for d in days):
        return ""
    named = [_MONTHS[m - 1] for m in months]
    has = "has" if len(named) == 1 else "have"
    return f"{', '.join(named)} {has} no day {', '.join(map(str, days))}"


def _check_scheduling(doc: Document, data: dict[str, Any]) -> list[Diagnostic]:
    schedule = data.get("schedule")
    if isinstance(schedule, dict) and "time" in schedule:  # the timetable of its time part
        schedule = schedule["time"]
    out: list[Diagnostic] = []
    if "timetable" in data and not values.cron_like(schedule):
        out.append(
            doc.diag(
                ("timetable",),
                f"timetable applies to cron schedules, not to {schedule!r}",
                "remove `timetable:`, or give a cron expression or a preset like @daily",
                code=Code.SCHEDULE,
            )
        )
    runs = data.get("max_active_runs")
    if schedule == "@continuous" and isinstance(runs, int) and runs != 1:
        out.append(
            doc.diag(
                ("max_active_runs",),
                f"a @continuous schedule runs one run at a time, not {runs}",
                "remove `max_active_runs:` (dagforge sets 1) or set it to 1",
                code=Code.SCHEDULE,
            )
        )
    return out


def _check_params(doc: Document, params: object) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for name, spec in (params or {}).items() if isinstance(params, dict) else ():
        if not isinstance(spec, dict) or "default" not in spec:
            continue  # the schema says so
        if not _param_validator().is_valid(spec):
            continue  # a misspelt type or a bad limit: the spec's schema reports it
        rules = {k: v for k, v in spec.items() if k not in ("default", "description")}
        import jsonschema  # here: most specs have no params with a default

        try:
            jsonschema.Draft202012Validator(rules).validate(spec["default"])
        except jsonschema.ValidationError as e:
            out.append(
                doc.diag(
                    ("params", name, "default"),
                    f"params.{name}: the default {spec['default']!r} does not fit: {e.message}",
                    "change the default or the param's type and limits",
                    code=Code.PARAM,
                )
            )
        except jsonschema.SchemaError:
            pass  # a bad keyword value: the spec's schema reports it
    return out


@cache
def _param_validator() -> Draft202012Validator:
    import jsonschema

    return jsonschema.Draft202012Validator({"$ref": "#/$defs/param", "$defs": schema()["$defs"]})


def _check_doc_md(doc: Document, value: object) -> list[Diagnostic]:
    path: SpecPath = ("doc_md",)
    text = value
    if isinstance(value, dict) and isinstance(value.get("file"), str):
        path = ("doc_md", "file")
        try:
            text = read_beside(doc, value["file"])
        except Unreadable as e:
            return [
                doc.diag(
                    path,
                    f"cannot read doc_md file '{value['file']}': {e}",
                    e.hint,
                    code=Code.DOC_MD,
                )
            ]
    if isinstance(text, str) and text.endswith(".md"):
        # Airflow's DAG opens a doc_md that ends in ".md" as a file, from the folder the DAG
        # processor runs in, and shows that file's text instead: a spec must not make it read files.
        return [
            doc.diag(
                path,
                "doc_md text that ends in `.md` is opened by Airflow as the name of a file",
                "end the text with something else (a full stop, a line break), or name a file beside"
                " the spec with `doc_md: {file: notes.md}`",
                code=Code.DOC_MD,
            )
        ]
    return []


def target_problems(doc: Document, target: targets.Target) -> list[Diagnostic]:
    """The task settings a valid spec gives (on a task, in a group's or in the spec's `defaults:`)
    that Airflow `target` does not take, or not as given."""
    places: list[tuple[SpecPath, Any]] = [(("defaults",), doc.data.get("defaults"))]
    for n in structure.nodes(doc.data["tasks"]):
        if n.is_group:
            places.append(((*n.path, "defaults"), n.spec.get("defaults")))
        else:
            places.append((n.path, n.spec))
    out: list[Diagnostic] = []
    for path, given in places:
        for key, value in given.items() if isinstance(given, dict) else ():
            if key in target.missing_settings:
                message = f"{target.label} has no task setting '{key}'"
                hint = target.missing_settings[key]
            elif key in target.flag_settings and not isinstance(value, bool):
                message = f"{target.label} takes only true or false as '{key}'"
                hint = f"write `{key}: true` (the factor 2), or build for Airflow 3"
            else:
                continue
            out.append(doc.diag((*path, key), message, hint, key=True, code=Code.TARGET))
    return out + [
        doc.diag(
            path,
            f"{feature} is not available on {target.label}: {target.unsupported[feature]}",
            f"remove `{path[-1]}`, or build for another Airflow version (--airflow)",
            key=True,
            code=Code.TARGET,
        )
        for feature, path in unsupported_uses(doc)
        if feature in target.unsupported
    ]


def unsupported_uses(doc: Document) -> list[tuple[str, tuple[str | int, ...]]]:
    """(feature, where) for each use of a feature some target lacks (targets.Target.unsupported)."""
    data = doc.data
    found: list[tuple[str, tuple[str | int, ...]]] = [
        (key, (key,)) for key in ("deadline", "access_control") if key in data
    ]
    places: list[tuple[tuple[str | int, ...], object]] = [(("schedule",), data.get("schedule"))]
    if isinstance(data.get("tasks"), dict):
        for n in structure.nodes(data["tasks"]):
            if not n.is_group:
                places += [((*n.path, k), n.spec.get(k)) for k in ("inlets", "outlets")]
    for path, condition in places:
        for where, asset in _assets_at(path, condition):
            if isinstance(asset, dict) and "alias" in asset and path == ("schedule",):
                found.append(("an asset alias in a schedule", (*where, "alias")))
            elif isinstance(asset, dict):
                given = [k for k in ("name", "group") if k in asset]
                found += [("an asset's name or group", (*where, k)) for k in given[:1]]
    return found


def _assets_at(path: tuple[str | int, ...], condition: object) -> list[tuple[tuple, object]]:
    """(where, asset) for every asset in a schedule, inlets or outlets value (any shape)."""
    if isinstance(condition, dict) and "time" in condition:  # {time: ..., assets: ...}
        return _assets_at((*path, "assets"), condition.get("assets"))
    if values.is_asset(condition):
        return [(path, condition)]
    if isinstance(condition, list):
        return [x for i, item in enumerate(condition) for x in _assets_at((*path, i), item)]
    if isinstance(condition, dict):
        return [x for k, v in condition.items() for x in _assets_at((*path, k), v)]
    return []


def _check_spec_defaults(doc: Document, given: object) -> list[Diagnostic]:
    """The spec's `defaults:`: its durations; and `owner`, `retries`, `retry_delay` given at the top
    of the spec (the v1 spelling) too, one of which would be ignored. Where one of the two comes
    from a defaults.yaml, the spec's own wins (model.spec_defaults): no error."""
    if not isinstance(given, dict):
        return []
    return _check_durations(doc, ("defaults",), given) + [
        doc.diag(
            ("defaults", key),
            f"'{key}' is given both at the top of the spec and in `defaults:`",
            f"keep one: the top-level `{key}:` is the older spelling of `defaults: {{{key}: ...}}`",
            key=True,
            code=Code.DEFAULTS,
        )
        for key in DAG_SETTINGS
        if key in given
        and key in doc.data
        and (key,) not in doc.origins
        and ("defaults", key) not in doc.origins
        and ("defaults",) not in doc.origins
    ]


def _check_durations(
    doc: Document,
    prefix: SpecPath,
    mapping: Mapping[str, object],
    keys: Iterable[str] | None = None,
) -> list[Diagnostic]:
    """The duration-shaped values of `keys` (default: every duration key) in `mapping` that are not
    durations (absent or other values: the schema already said what they must be)."""
    if keys is None and _duration_key_set().isdisjoint(mapping):
        return []  # (most tasks: one look at their few keys)
    return [
        doc.diag((*prefix, key), f"{key}: {error}", values.DURATION_HINT, code=Code.DURATION)
        for key in (_duration_keys() if keys is None else keys)
        if key in mapping and (error := _not_a_duration(mapping[key])) is not None
    ]


def _not_a_duration(value: object) -> str | None:
    """Why `value` is no duration when it is duration-shaped (values.schedule_kind's DURATION: a
    number, or text like `5m`), else None (any other value too)."""
    return _duration_error(value) if isinstance(value, (str, int)) else None


@lru_cache(maxsize=1024, typed=True)  # typed: True is no 1
def _duration_error(value: str | int) -> str | None:
    """_not_a_duration of text or a number: a function of the value alone, kept per process (the
    tasks and specs of a build share a few durations)."""
    if values.schedule_kind(value) != values.ScheduleKind.DURATION:
        return None
    try:
        values.parse_duration(value)
    except ValueError as e:
        return str(e)
    return None


def _duration_problem(doc: Document, path: SpecPath, value: object) -> list[Diagnostic]:
    """[] when `value` is a duration, else its error, at `path` (which ends with its key)."""
    try:
        values.parse_duration(value)
    except ValueError as e:
        return [doc.diag(path, f"{path[-1]}: {e}", values.DURATION_HINT, code=Code.DURATION)]
    return []


def _check_emails(doc: Document, path: SpecPath, addresses: object) -> list[Diagnostic]:
    """Check one address or a list of them; `path` leads to the key that holds them."""
    located: list[tuple[SpecPath, object]]
    if isinstance(addresses, str):
        located = [(path, addresses)]
    else:
        located = [
            ((*path, i), a) for i, a in enumerate(addresses if isinstance(addresses, list) else [])
        ]
    out: list[Diagnostic] = []
    for where, address in located:
        if not isinstance(address, str):
            continue  # the schema reports the type
        if problem := _email_problem(address):
            out.append(
                doc.diag(
                    where,
                    f"'{address}' is not a valid email address: {problem}",
                    "write it like name@example.com",
                    code=Code.EMAIL,
                )
            )
    return out


@lru_cache(maxsize=1024)
def _email_problem(address: str) -> str:
    """Why `address` is not a valid email address, or '': a function of the text alone, kept per
    process (the specs of a build share a few addresses)."""
    import email_validator

    try:
        email_validator.validate_email(address, check_deliverability=False)
    except email_validator.EmailNotValidError as e:
        return str(e) or "email_validator refuses it"
    return ""


def _check_group(doc: Document, n: structure.Node) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    if not structure.GROUP_ID.fullmatch(n.local_id):
        out.append(
            doc.diag(
                n.path,
                f"'{n.local_id}' cannot be a group id",
                "a group id has letters, digits, `_` and `-` only (no dots)",
                key=True,
                code=Code.BAD_NAME,
            )
        )
    if isinstance(n.spec.get("defaults"), dict):
        out += _check_durations(doc, (*n.path, "defaults"), n.spec["defaults"])
    return out


def _check_task(
    doc: Document,
    task_id: str,
    task: dict[str, Any],
    dag_emails: bool,
    base: SpecPath | None = None,
) -> list[Diagnostic]:
    base = base or ("tasks", task_id)
    out = _check_durations(doc, base, task)
    alerts = task.get("alerts")
    if isinstance(alerts, dict):
        out += _check_emails(doc, (*base, "alerts", "emails"), alerts.get("emails"))
        if (
            not dag_emails
            and "emails" not in alerts
            and (alerts.get("on_failure", True) or alerts.get("on_retry"))
        ):
            out.append(
                doc.diag(
                    (*base, "alerts"),
                    f"task '{task_id}' has alerts but no one to mail",
                    "add `emails: [someone@example.com]` here or under the spec's `alerts:`",
                    code=Code.EMAIL,
                )
            )
    wait = task.get("wait_for")
    if isinstance(wait, dict):
        out += _check_durations(
            doc,
            (*base, "wait_for"),
            {k: v for k, v in wait.items() if isinstance(v, str)},
            ("execution_delta", "poke_interval", "timeout"),
        )
    if isinstance(task.get("outlets"), list):
        out += _check_assets(doc, (*base, "outlets"), task["outlets"])
    op = task.get("operator")
    if op == "email":
        for key in ("to", "cc", "bcc", "from_email"):
            out += _check_emails(doc, (*base, key), task.get(key))
    for key, ref in task.items() if "wait_for" not in task else ():
        if isinstance(ref, str) and _callable_key(key) and not _import_path(ref, _CALLABLE):
            out.append(
                doc.diag(
                    (*base, key),
                    f"{key} {_quoted(ref)} is not a `module:function` reference",
                    _control_hint(ref)
                    or "write the module's dotted path, a colon, and the function name, "
                    "e.g. etl.transform:run",
                    code=Code.CALLABLE,
                )
            )
    command = task.get("bash_command")
    if isinstance(command, str) and command.endswith(_TEMPLATE_EXT):  # (few commands: a look)
        out += _check_bash_template(doc, base, op, command)
    short = SHORT.get(op) if isinstance(op, str) else None
    for key in short.durations if short else ():
        if key in task:
            out += _duration_problem(doc, (*base, key), task[key])
    # The standard provider's classes are in Airflow 2.10 itself: only other providers can be missing.
    if (
        short
        and not short.schema
        and short.package != STANDARD
        and not _distribution_installed(short.package)
    ):
        out.append(
            replace(
                doc.diag(
                    (*base, "operator"),
                    f"operator '{op}' needs {short.package}, which is not installed here",
                    f"`pip install {short.package}` where Airflow runs, and here to have its "
                    "arguments checked by `dagforge validate` and `build` (for the pre-commit hook: "
                    "add it to the hook's `additional_dependencies`)",
                    code=Code.PROVIDER_MISSING,
                ),
                severity=Severity.WARNING,
            )
        )
    if isinstance(op, str) and ("." in op or (short and not short.schema)):
        for key in task:
            out += _not_an_argument(doc, (*base, key))
    return out


# model.is_callable_argument of a task's key, kept per key: asked of every key of every task, whose
# names repeat from task to task.
_callable_key = lru_cache(maxsize=1024)(is_callable_argument)

_TEMPLATE_EXT = (".sh", ".bash")  # BashOperator's template_ext


def _check_bash_template(
    doc: Document, base: SpecPath, op: object, command: object
) -> list[Diagnostic]:
    """A warning for a bash_command that ends in `.sh` or `.bash`: Airflow's BashOperator reads it
    as the name of a Jinja template file (its `template_ext`), looked up in the DAG's folder and
    `template_searchpath`; a script elsewhere fails the task with TemplateNotFound."""
    bash = op == "bash" or (isinstance(op, str) and op.endswith(".BashOperator"))
    if not bash or not isinstance(command, str) or not command.endswith(_TEMPLATE_EXT):
        return []
    folders = doc.data.get("template_searchpath")
    if isinstance(folders, list) and any(
        isinstance(f, str) and (doc.path.parent / f / command).is_file() for f in folders
    ):
        return []  # a template file in the spec's template_searchpath: what Airflow reads
    d = doc.diag(
        (*base, "bash_command"),
        f"Airflow reads bash_command {_quoted(command)} as a template file, not as a command: "
        "unless that file is in the DAG's folder, the task fails with TemplateNotFound",
        f'to run it as a command, end it with a space: `bash_command: "{command} "` (any command '
        "that ends in .sh is read as a file name, `bash ./run.sh` too)",
        code=Code.BASH_TEMPLATE,
    )
    return [replace(d, severity=Severity.WARNING)]


def _not_an_argument(doc: Document, path: SpecPath) -> list[Diagnostic]:
    """The error for the key `path` ends with, when no operator argument can have that name."""
    key = path[-1]
    if key in RESERVED_ARGUMENTS or (isinstance(key, str) and keyword.iskeyword(key)):
        return [
            doc.diag(
                path,
                f"'{key}' cannot be passed as an operator argument",
                "dagforge sets it itself"
                if key in RESERVED_ARGUMENTS
                else "it is a Python keyword",
                key=True,
                code=Code.BAD_NAME,
            )
        ]
    return []


@cache
def _distribution_installed(name: str) -> bool:
    """Whether a package is installed, read from its metadata: nothing of it (or of Airflow) is imported."""
    import importlib.metadata  # here: its import (and email's) costs every command 15 ms

    try:
        importlib.metadata.distribution(name)
        return True
    except importlib.metadata.PackageNotFoundError:
        return False


def _check_mapping(doc: Document, all_nodes: list[structure.Node]) -> list[Diagnostic]:
    """`expand:` keys (and the keys of `expand_kwargs:` mappings) are arguments the operator takes,
    not also given inline; `output_of` names a task that comes earlier in the spec (the generated file
    refers to it by then); `expand` and `expand_kwargs` are not both given."""
    out: list[Diagnostic] = []
    by_id = {n.full_id: n for n in all_nodes}
    order = {n.full_id: i for i, n in enumerate(all_nodes)}

    def upstream(path: SpecPath, n: structure.Node, value: object) -> list[Diagnostic]:
        """The problem of an `{output_of: TASK}` at `path`, if any."""
        if not isinstance(value, dict) or not isinstance(value.get("output_of"), str):
            return []
        where = (*path, "output_of")
        return _producer_problem(doc, where, n, value["output_of"], by_id, order, Code.EXPAND)

    for n in all_nodes:
        if n.is_group or ("expand" not in n.spec and "expand_kwargs" not in n.spec):
            continue  # (most tasks: nothing to check, and `takes` below costs)
        expand, kwargs = n.spec.get("expand"), n.spec.get("expand_kwargs")
        op = n.spec.get("operator")
        short = SHORT.get(op) if isinstance(op, str) else None
        takes = (
            _allowed_keys(n.path, {"operator": op}) - set(task_settings())
            if short and short.schema
            else None
        )
        if "expand" in n.spec and "expand_kwargs" in n.spec:
            out.append(
                doc.diag(
                    (*n.path, "expand_kwargs"),
                    f"task '{n.full_id}' has both `expand` and `expand_kwargs`",
                    "keep one: `expand` maps each argument over a list of its own, "
                    "`expand_kwargs` maps over whole mappings of arguments; "
                    "move the `expand` arguments into each mapping",
                    key=True,
                    code=Code.EXPAND,
                )
            )
        for key, value in expand.items() if isinstance(expand, dict) else ():
            path = (*n.path, "expand", key)
            out += _mapped_argument(doc, n, path, op, takes, "expand")
            out += upstream(path, n, value)
        out += upstream((*n.path, "expand_kwargs"), n, kwargs)
        if not isinstance(kwargs, list) or not all(isinstance(m, dict) and m for m in kwargs):
            continue  # {output_of: ...} (checked above), or a shape the schema reports
        for i, mapping in enumerate(kwargs):
            for key in mapping:
                path = (*n.path, "expand_kwargs", i, key)
                out += _mapped_argument(doc, n, path, op, takes, "expand_kwargs")
                if short and key in short.durations:
                    out += _duration_problem(doc, path, mapping[key])
        if takes is None:  # else each argument is checked above, and any may be left out
            out += _disagreeing_mappings(doc, (*n.path, "expand_kwargs"), kwargs)
    return out


def _mapped_argument(
    doc: Document,
    n: structure.Node,
    path: SpecPath,
    op: object,
    takes: set[str] | None,
    where: str,
) -> list[Diagnostic]:
    """The problem of the mapped argument `path` ends with (under `expand` or in a mapping of
    `expand_kwargs`): a name no argument can have, one given inline too, one the operator (of a
    schema of its own: `takes`) has not, a python_callable (the generated file imports that one)."""
    key = path[-1]
    if not str(key).isprintable():
        return []  # a line break in the name: the schema's propertyNames says so
    if bad := _not_an_argument(doc, path):
        return bad
    if where == "expand_kwargs" and not (isinstance(key, str) and key.isidentifier()):
        return [
            doc.diag(
                path,
                f"{_quoted(key)} cannot be an operator argument",
                _name_hint(path, str(key)),
                key=True,
                code=Code.BAD_NAME,
            )
        ]
    if key in n.spec:
        return [
            doc.diag(
                path,
                f"'{key}' is given both inline and in `{where}`",
                f"keep one: inline values are the same for every mapped instance, `{where}` values "
                "make one instance each",
                key=True,
                code=Code.EXPAND,
            )
        ]
    if key == "python_callable" and takes_callable(op):
        return [
            doc.diag(
                path,
                f"python_callable cannot be mapped (in `{where}`)",
                "give one `python_callable: module:function` inline and map its arguments "
                "(op_args, op_kwargs) instead",
                key=True,
                code=Code.EXPAND,
            )
        ]
    if takes is not None and key not in takes:
        return [
            doc.diag(
                path,
                f"operator '{op}' has no argument '{key}' to expand",
                did_you_mean(key, takes)
                or ("it takes: " + ", ".join(sorted(takes)) if takes else "it takes no arguments"),
                key=True,
                code=Code.EXPAND,
            )
        ]
    return []


@lru_cache(maxsize=1024)
def _import_path(text: str, form: re.Pattern[str]) -> bool:
    """Whether `text` is an import path of that form: identifiers, none a Python keyword. Kept per
    process: the tasks and specs of a build name the same few functions and classes."""
    return bool(form.fullmatch(text)) and not any(
        keyword.iskeyword(part) for part in re.split(r"[.:]", text)
    )


# The value forms: their key, what they name, the pattern of that and an example.
_FORMS = {
    "object": ("a class", _CLASS, "package.module.ClassName"),
    "function": ("a function", _CALLABLE, "package.module:function"),
}
_FORM_KEYS = (*_FORMS, "output_of")  # the keys that make a mapping a value form, in that order


def _check_forms(
    doc: Document, all_nodes: list[structure.Node], data: dict[str, Any]
) -> list[Diagnostic]:
    """The value forms in every operator argument (at any depth) and callback: `{object: ...}` and
    `{function: ...}` name a class or function by a plain import path and take keyword arguments;
    `{output_of: TASK}` names a task that comes earlier in the spec (the generated file refers to
    it by then), and only in a task's arguments. The schema checks the callbacks' shape."""
    out: list[Diagnostic] = []
    forms = _Forms(doc, all_nodes, out)
    forms.callbacks(("callbacks",), data.get("callbacks"))
    schedule = data.get("schedule")
    if isinstance(schedule, dict) and values.is_timetable(schedule):
        forms.keyword_in(("schedule",), "object", schedule["object"])
        for k, v in schedule.items():  # (the schema checks its class path and keyword names)
            if k != "object":
                forms.visit(("schedule", k), v, None)
    deadline = data.get("deadline")
    for i, alert in enumerate(deadline if isinstance(deadline, list) else [deadline]):
        callback = alert.get("callback") if isinstance(alert, dict) else None
        if isinstance(callback, dict):  # (a `module:function` text: _check_dag_settings)
            where: SpecPath = ("deadline", i) if isinstance(deadline, list) else ("deadline",)
            forms.keyword_in((*where, "callback"), "function", callback.get("function"))
    places: list[tuple[SpecPath, object]] = [(("defaults",), data.get("defaults"))]
    places += [((*n.path, "defaults"), n.spec.get("defaults")) for n in all_nodes if n.is_group]
    for path, defaults in places:  # the spec's and each group's
        for k, v in defaults.items() if isinstance(defaults, dict) else ():
            if k == "callbacks":
                forms.callbacks((*path, k), v)
            else:
                forms.visit((*path, k), v, None)
    for n in all_nodes:
        for key, value in n.spec.items() if not n.is_group else ():
            if key == "callbacks":
                forms.callbacks((*n.path, key), value)
            elif isinstance(value, (dict, list)) and structure.is_argument(key):  # (visit's)
                forms.visit((*n.path, key), value, n)
    return out


class _Forms:
    """Walks values for _check_forms, adding the problems to `out`."""

    def __init__(self, doc: Document, all_nodes: list[structure.Node], out: list[Diagnostic]):
        self.doc, self.out, self.all_nodes = doc, out, all_nodes

    @cached_property
    def by_id(self) -> dict[str, structure.Node]:  # (only for an `output_of`: few specs have one)
        return {n.full_id: n for n in self.all_nodes}

    @cached_property
    def order(self) -> dict[str, int]:
        return {n.full_id: i for i, n in enumerate(self.all_nodes)}

    def visit(self, path: SpecPath, value: object, n: structure.Node | None) -> None:
        """`value` at `path`, in task `n`'s arguments (None: elsewhere, no `output_of` then). Only a
        list or a mapping can hold a form: other values are not visited (nor their paths made)."""
        if isinstance(value, list):
            for i, v in enumerate(value):
                if isinstance(v, (dict, list)):
                    self.visit((*path, i), v, n)
            return
        if not isinstance(value, dict):
            return
        form = next((k for k in _FORM_KEYS if k in value), None)
        if form == "output_of":
            self.out += _output_of(self.doc, path, value, n, self.by_id, self.order)
            return
        if form is not None:
            self.named(path, form, value[form])
        for k, v in value.items():
            if form is None:
                if isinstance(v, (dict, list)):
                    self.visit((*path, k), v, n)
            elif k != form:
                self.argument(path, k, value[form], v, n)

    def argument(
        self, path: SpecPath, k: object, named: object, v: object, n: structure.Node | None
    ) -> None:
        """The keyword argument `k: v` of an `{object:}` or `{function:}` naming `named`."""
        if _import_path(str(k), _IDENTIFIER):
            self.visit((*path, str(k)), v, n)
            return
        self.out.append(
            self.doc.diag(
                (*path, str(k)),
                f"{_quoted(k)} cannot be a keyword argument of {named!s}",
                "a keyword argument's name is a Python identifier (not a keyword)",
                key=True,
                code=Code.VALUE_FORM,
            )
        )

    def named(self, path: SpecPath, form: str, named: object) -> None:
        """The import path of an `{object:}` or `{function:}`: a dotted identifier, never code."""
        what, pattern, example = _FORMS[form]
        if not isinstance(named, str) or not _import_path(named, pattern):
            self.out.append(
                self.doc.diag(
                    (*path, form),
                    f"`{form}:` must name {what} by its import path, not {_quoted(named)}",
                    _control_hint(named) or _keyword_hint(named) or f"write it as {example}",
                    code=Code.VALUE_FORM,
                )
            )

    def callbacks(self, path: SpecPath, spec: object) -> None:
        """The arguments of each callback of a `callbacks:` (their own shape is the schema's)."""
        for event, items in spec.items() if isinstance(spec, dict) else ():
            for i, item in enumerate(items if isinstance(items, list) else []):
                form = (
                    next((f for f in _FORMS if f in item), None) if isinstance(item, dict) else None
                )
                if isinstance(item, str):  # (located at the text itself: doc.where's fallback)
                    self.keyword_in((*path, event, i), "function", item)
                elif form:
                    self.keyword_in((*path, event, i), form, item[form])
                for k, v in item.items() if form else ():
                    if k != form:
                        self.argument((*path, event, i), k, item[form], v, None)

    def keyword_in(self, path: SpecPath, form: str, named: object) -> None:
        """Where the schema checks an import path's shape (callbacks, a timetable, a deadline's
        function), its parts must not be Python keywords either (`class.x:f` fits the pattern, but
        `from class.x import f` is no Python): said as `named` says it."""
        _, pattern, _ = _FORMS[form]
        if isinstance(named, str) and pattern.fullmatch(named):
            self.named(path, form, named)


def _keyword_hint(named: object) -> str | None:
    """The hint for an import path with a Python keyword in it (`class.x`), which no module, class
    or function can be named."""
    parts = re.split(r"[.:]", named) if isinstance(named, str) else []
    found = next((part for part in parts if keyword.iskeyword(part)), None)
    return f"'{found}' is a Python keyword: no module or name can be called so" if found else None


def _output_of(
    doc: Document,
    path: SpecPath,
    value: dict[str, Any],
    n: structure.Node | None,
    by_id: Mapping[str, structure.Node],
    order: Mapping[str, int],
) -> list[Diagnostic]:
    """The problems of one `{output_of: TASK, key: K}` of task `n` (None: not in a task's arguments)."""
    name = value["output_of"]
    where = (*path, "output_of")
    if n is None:
        return [
            doc.diag(
                where,
                "`output_of:` passes a task's output to an argument of a task, not here",
                "give it in an operator argument of the task that needs it",
                code=Code.VALUE_FORM,
            )
        ]
    for k in value:
        if k not in ("output_of", "key"):
            return [
                doc.diag(
                    (*path, k),
                    f"`output_of:` takes no {_quoted(k)}",
                    did_you_mean(str(k), ["key"]) or "it takes `key:` only",
                    key=True,
                    code=Code.VALUE_FORM,
                )
            ]
    if not isinstance(name, str) or not isinstance(value.get("key", ""), str):
        bad = "output_of" if not isinstance(name, str) else "key"
        return [
            doc.diag(
                (*path, bad),
                f"`{bad}:` must be text, not {_quoted(value[bad])}",
                "write a task id" if bad == "output_of" else "write the XCom key as text",
                code=Code.VALUE_FORM,
            )
        ]
    if structure.resolve(name, n, by_id) == n.full_id:
        return [
            doc.diag(
                where,
                f"task '{n.full_id}' takes its own output",
                "name an upstream task",
                code=Code.VALUE_FORM,
            )
        ]
    return _producer_problem(doc, where, n, name, by_id, order, Code.VALUE_FORM)


def _producer_problem(
    doc: Document,
    where: SpecPath,
    n: structure.Node,
    name: str,
    by_id: Mapping[str, structure.Node],
    order: Mapping[str, int],
    code: Code,
) -> list[Diagnostic]:
    """The problem of task `n` taking the output of task `name` (`output_of:` at `where`, in an
    argument or in a mapping, as `code` says): no such task, or one that comes after `n` (the
    generated file defines the tasks in the spec's order and refers to the producer by then)."""
    mapped = code == Code.EXPAND  # in `expand:`/`expand_kwargs:`, else in an argument
    takes = "expands over" if mapped else "takes"
    why = "" if mapped else " (the generated file defines the tasks in the spec's order)"
    up = structure.resolve(name, n, by_id)
    if up is None or by_id[up].is_group:
        tasks = [task_id for task_id, m in by_id.items() if not m.is_group]
        return [
            doc.diag(
                where,
                f"task '{n.full_id}' {takes} the output of unknown task {_quoted(name)}",
                did_you_mean(name, tasks) or "name a task of this spec",
                code=code,
            )
        ]
    if order[up] >= order[n.full_id]:
        return [
            doc.diag(
                where,
                f"task '{n.full_id}' {takes} the output of '{up}', which comes after it",
                f"move '{up}' above '{n.full_id}' in the spec{why}",
                code=code,
            )
        ]
    return []


def _disagreeing_mappings(
    doc: Document, path: SpecPath, mappings: list[dict[str, Any]]
) -> list[Diagnostic]:
    """A warning at each mapping of `expand_kwargs` whose keys differ from the first one's: an
    argument one instance gets and another does not is most often a misspelt name."""
    first = set(mappings[0])
    out = []
    for i, mapping in enumerate(mappings[1:], start=1):
        extra, missing = set(mapping) - first, first - set(mapping)
        if not extra and not missing:
            continue
        said = []
        if extra:
            said.append("has " + ", ".join(f"'{k}'" for k in sorted(extra)))
        if missing:
            said.append("lacks " + ", ".join(f"'{k}'" for k in sorted(missing)))
        guess = next(
            (did_you_mean(k, missing) for k in sorted(extra) if did_you_mean(k, missing)), ""
        )
        key = sorted(extra)[0] if extra else None
        d = doc.diag(
            (*path, i, key) if key is not None else (*path, i),
            f"mapping {i + 1} of expand_kwargs {' and '.join(said)}, unlike the first",
            guess
            or "give every mapping the same arguments: one that a mapping lacks takes the "
            "operator's default in that task instance",
            key=key is not None,
            code=Code.EXPAND,
        )
        out.append(replace(d, severity=Severity.WARNING))
    return out


_KWARGS_HINT = (
    "write a list of argument mappings, one task instance each, e.g. "
    '`expand_kwargs: [{bash_command: "echo 1"}, {bash_command: "echo 2"}]`, '
    "or `expand_kwargs: {output_of: TASK}` for the list of mappings an upstream task returns"
)


def _bad_expand_kwargs(doc: Document, path: SpecPath, inst: object) -> Diagnostic:
    """The error for an `expand_kwargs:` that is neither a list of mappings nor `{output_of:}`, at
    the first item that is not a mapping of arguments (or at the value)."""
    if isinstance(inst, list):
        for i, item in enumerate(inst):
            if not isinstance(item, dict) or not item:
                what = "an empty mapping" if isinstance(item, dict) else _type_name(item)
                return doc.diag(
                    (*path, i),
                    f"item {i + 1} of expand_kwargs must be a mapping of operator arguments, "
                    f"not {what}",
                    _KWARGS_HINT,
                    code=Code.EXPAND,
                )
        what = "an empty list"
    elif isinstance(inst, dict) and "output_of" in inst:
        return doc.diag(
            (*path, "output_of"),
            f"expand_kwargs: output_of must name a task, not {_type_name(inst['output_of'])}",
            "write the upstream task's id, e.g. `expand_kwargs: {output_of: list_jobs}`",
            code=Code.EXPAND,
        )
    elif isinstance(inst, dict):
        what = "a mapping without `output_of`"
    else:
        what = _type_name(inst)
    return doc.diag(
        path,
        f"expand_kwargs must be a list of argument mappings or {{output_of: TASK}}, not {what}",
        _KWARGS_HINT,
        code=Code.EXPAND,
    )


def _check_dependencies(
    doc: Document, all_nodes: list[structure.Node], edges: Mapping[tuple[str, str], SpecPath]
) -> list[Diagnostic]:
    """Unknown dependencies, dependencies on a node's own group or tasks, and cycles among `edges`
    (the spec's structure.task_edges)."""
    out: list[Diagnostic] = []
    by_id: dict[str, structure.Node] = {}
    for n in all_nodes:
        if n.full_id in by_id:
            out.append(
                doc.diag(
                    n.path,
                    f"two tasks or groups would both have the id '{n.full_id}'",
                    "rename one: a group's tasks are named GROUP.TASK",
                    key=True,
                    code=Code.BAD_NAME,
                )
            )
        by_id.setdefault(n.full_id, n)
    for n in all_nodes:
        deps = n.spec.get("dependencies")
        if not isinstance(deps, list):
            continue
        for i, dep in enumerate(deps):
            if not isinstance(dep, str):
                continue
            if n.parent is None and dep != n.full_id and dep in by_id and by_id[dep].parent is None:
                continue  # (most dependencies: a node of the DAG on another, neither in a group)
            what = f"{'group' if n.is_group else 'task'} '{n.full_id}'"
            path = (*n.path, "dependencies", i)
            up = structure.resolve(dep, n, by_id)
            if up == n.full_id:
                out.append(
                    doc.diag(
                        path,
                        f"{what} depends on itself",
                        "remove it from its own dependencies",
                        code=Code.SELF_DEPENDENCY,
                    )
                )
            elif up is None:
                near = [m.local_id for m in all_nodes if m.parent == n.parent] + list(by_id)
                inside = [m.full_id for m in all_nodes if m.local_id == dep and m.parent]
                out.append(
                    doc.diag(
                        path,
                        f"{what} depends on unknown task {_quoted(dep)}",
                        (
                            f"did you mean '{inside[0]}'? from outside its group, a task is "
                            "named by its full id, GROUP.TASK"
                            if inside
                            else ""
                        )
                        or did_you_mean(dep, near)
                        or "known tasks: " + ", ".join(by_id),
                        code=Code.UNKNOWN_DEPENDENCY,
                    )
                )
            # (when neither is in a group, neither holds the other: no need to look)
            elif (n.parent is not None or by_id[up].parent is not None) and (
                up in structure.ancestors(n, by_id)
                or n.full_id in structure.ancestors(by_id[up], by_id)
            ):
                out.append(
                    doc.diag(
                        path,
                        f"{what} depends on '{up}', which contains it or is inside it",
                        "depend on tasks and groups beside it, not on its own group or its own tasks",
                        code=Code.CYCLE,
                    )
                )
    graph: dict[str, list[str]] = {n.full_id: [] for n in all_nodes if not n.is_group}
    for up, down in edges:
        graph[down].append(up)
    try:
        if _has_cycle(graph):  # graphlib's search for the cycle costs: only when there is one
            graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as e:
        cycle = e.args[1]  # each node is an upstream of the next one
        out.append(
            doc.diag(
                edges[cycle[0], cycle[1]],  # the dependency (or `output_of`) that made the edge
                "dependency cycle: " + " -> ".join(cycle),
                "a pipeline cannot loop: remove one of these dependencies",
                code=Code.CYCLE,
            )
        )
    return out


def _has_cycle(graph: Mapping[str, list[str]]) -> bool:
    """Whether the graph (each node -> its upstream nodes, as graphlib takes it) has a cycle: what
    remains once every node whose upstream nodes are all removed is removed (Kahn's algorithm)."""
    waiting = {node: len(ups) for node, ups in graph.items()}
    downstream: dict[str, list[str]] = {}
    for node, ups in graph.items():
        for up in ups:
            downstream.setdefault(up, []).append(node)
    ready = [node for node, count in waiting.items() if not count]
    ready += [up for up in downstream if up not in graph]  # (graphlib adds them, upstream of none)
    while ready:
        for down in downstream.get(ready.pop(), ()):
            waiting[down] -= 1
            if not waiting[down]:
                ready.append(down)
    return any(waiting.values())
