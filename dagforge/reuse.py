"""Reuse: blocks (parameterized task groups) and families (one spec, many DAGs).

Runs on a loaded spec, after its defaults.yaml and before validate; what it gives validate is a
plain spec again: no `for_each`, no `use`.

A family is a spec with `for_each:`, a list of mappings; it becomes one Document per item, with
`${{ key }}` replaced by the item's value everywhere in the spec (values and keys).

A block is `blocks/NAME.yaml` (`use: NAME@2` reads `blocks/NAME@2.yaml`) in the nearest `blocks`
folder at or above the spec that has it (up to the working folder when the spec is inside it). A task
`{use: NAME, with: {...}}` becomes a task group whose tasks are the block's, with `${{ name }}`
replaced by the parameters. The positions of the block's values are copied with them, and the
Document notes that they are lines of the block file (Document.regions), so that every later
diagnostic about them points into the block and names the use site.

`${{ name }}` alone as a value gives the value with its type; inside text, the value as text (JSON
for what is not a string). Airflow's `{{ ... }}` and environment `${VAR}` are other syntaxes: never
touched. `$${{` is a literal `${{`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from .diagnostics import Code, Diagnostic, did_you_mean, has_errors
from .load import (
    BLOCKS_FOLDER,
    MAX_NODES,
    SPEC_SUFFIXES,
    Document,
    LoadError,
    SpecPath,
    load,
    path_problem,
)

USE_KEYS = (
    "use",
    "with",
    "dependencies",
    "tooltip",
    "defaults",
)  # what a task that uses a block takes
BLOCK_KEYS = ("description", "parameters", "tasks")
PARAMETER_KEYS = (
    "type",
    "default",
    "description",
    "enum",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "items",
)
TYPES = ("string", "integer", "number", "boolean", "array", "object", "null")
BLOCK_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}(?:@[A-Za-z0-9_.-]{1,50})?")  # NAME or NAME@VERSION
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# `$${{` (a literal `${{`), or `${{ ... }}` (a substitution), or a `${{` that is never closed
_SUBSTITUTION = re.compile(r"\$\$\{\{|\$\{\{(?:(?P<inner>.*?)\}\})?")
_WHOLE = re.compile(r"\$\{\{\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
MAX_NESTING = 20  # blocks inside blocks: far more than anyone writes, short of a runaway


# ---------------------------------------------------------------------------------------------
# Substitution


@dataclass
class _Copy:
    """Copies a value of `source` (at `src`) to `target` (at `dst`), replacing `${{ name }}` from
    `values`; notes the positions of what it copies in `target`, and the names it found unknown."""

    source: Document
    target: Document
    values: Mapping[str, Any]
    # where (in `target`) a name is unknown, or a `${{` malformed: (path, name, at the key?)
    unknown: list[tuple[SpecPath, str, bool]] = field(default_factory=list)
    malformed: list[tuple[SpecPath, bool]] = field(default_factory=list)
    twice: list[SpecPath] = field(default_factory=list)  # keys two keys become

    def value(self, value: Any, src: SpecPath, dst: SpecPath) -> Any:
        if src in self.source.positions:
            self.target.positions[dst] = self.source.positions[src]
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, v in value.items():
                new = self.text(key, (*dst, key), key=True) if "${{" in key else key
                new = new if isinstance(new, str) else json.dumps(new)
                if new in out:  # `a_${{ n }}` beside `a_1`: one would silently replace the other
                    self.twice.append((*dst, new))
                if (*src, key) in self.source.key_positions:
                    self.target.key_positions[(*dst, new)] = self.source.key_positions[(*src, key)]
                out[new] = self.value(v, (*src, key), (*dst, new))
            return out
        if isinstance(value, list):
            return [self.value(v, (*src, i), (*dst, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "${{" in value:
            return self.text(value, dst)
        return value

    def text(self, text: str, path: SpecPath, key: bool = False) -> Any:
        whole = _WHOLE.fullmatch(text)
        if whole and not key:
            name = whole["name"]
            if name in self.values:
                return self.values[name]
            self.unknown.append((path, name, key))
            return text

        def one(m: re.Match[str]) -> str:
            if m.group(0) == "$${{":
                return "${{"
            inner = (m["inner"] or "").strip()
            if m["inner"] is None or not NAME.fullmatch(inner):
                self.malformed.append((path, key))
                return m.group(0)
            if inner not in self.values:
                self.unknown.append((path, inner, key))
                return m.group(0)
            value = self.values[inner]
            return value if isinstance(value, str) else json.dumps(value)

        return _SUBSTITUTION.sub(one, text)

    def problems(self, doc: Document, what: str, hint: str) -> list[Diagnostic]:
        """The names found unknown and the malformed `${{`, located in `doc` (the target)."""
        out = [
            doc.diag(
                path,
                f"`${{{{ {name} }}}}` names no {what}",
                " ".join(filter(None, [did_you_mean(name, self.values), hint])),
                key=key,
                code=Code.REUSE,
            )
            for path, name, key in self.unknown
        ]
        out += [
            doc.diag(
                path,
                "`${{` starts no substitution here",
                f"write `${{{{ name }}}}` with a {what}, or `$${{{{` for a literal `${{{{`",
                key=key,
                code=Code.REUSE,
            )
            for path, key in self.malformed
        ]
        out += [
            doc.diag(
                path,
                f"two keys are '{path[-1]}' once `${{{{ }}}}` is substituted",
                "rename one of them: a mapping holds each key once",
                key=True,
                code=Code.REUSE,
            )
            for path in self.twice
        ]
        return out


# ---------------------------------------------------------------------------------------------
# Families


def family(doc: Document) -> tuple[list[Document], list[Diagnostic]]:
    """The DAGs of a spec: one Document per `for_each` item (or the spec alone), `${{ key }}`
    replaced by the item's values, and the problems. With an error, no Document."""
    data = doc.data
    items = data.get("for_each")
    if "for_each" not in data:
        if "${{" not in doc.text:
            return [doc], []
        copy = _Copy(doc, doc, {})  # for a `$${{` (and to report any `${{ name }}`)
        plain = copy.value(data, (), ())
        if not copy.unknown and not copy.malformed and not copy.twice:
            doc.data = plain
            return [doc], []
        return [], copy.problems(
            doc,
            "for_each key of this spec (it has no for_each)",
            "`${{ name }}` substitutes a for_each key, or a block's parameter inside a block; "
            "write `$${{` for a literal `${{`",
        )
    problems = _family_problems(doc, items)
    if problems or not isinstance(items, list):
        return [], problems
    docs: list[Document] = []
    body = {k: v for k, v in data.items() if k != "for_each"}
    for i, item in enumerate(items):
        one = replace(  # what expand notes of its blocks is this item's own
            doc,
            data={},
            positions={},
            key_positions={},
            environment=dict(doc.environment),
            blocks={},
            regions={},
            item=i,
        )
        copy = _Copy(doc, one, item)
        one.data = copy.value(body, (), ())
        missing: set[str] = set()
        for path, name, key in copy.unknown:
            if name in missing:
                continue
            missing.add(name)
            where = f"line {one.where(path, key)[0]}"
            problems.append(
                doc.diag(
                    ("for_each", i),
                    f"for_each item {i + 1} has no key '{name}', which the spec uses at {where}",
                    f"give every item a `{name}:`"
                    + (f" ({did_you_mean(name, item)})" if did_you_mean(name, item) else ""),
                    code=Code.REUSE,
                )
            )
        copy.unknown = []  # said above, at the item
        copy.malformed = copy.malformed if i == 0 else []  # the same in every item
        problems += copy.problems(one, "for_each key", "")
        docs.append(one)
    return ([] if has_errors(problems) else docs), _unique(problems)


def _family_problems(doc: Document, items: Any) -> list[Diagnostic]:
    if not isinstance(items, list) or not items:
        return [
            doc.diag(
                ("for_each",),
                "for_each must be a list of one or more mappings",
                "write one `- key: value` item per DAG, e.g. `for_each: [{region: eu}, {region: us}]`",
                code=Code.TYPE,
            )
        ]
    problems = []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not item:
            problems.append(
                doc.diag(
                    ("for_each", i),
                    f"for_each item {i + 1} is not a mapping of keys",
                    "write `- {region: eu}`: the keys are substituted as `${{ region }}`",
                    code=Code.TYPE,
                )
            )
            continue
        for key in item:
            if not NAME.fullmatch(key):
                problems.append(
                    doc.diag(
                        ("for_each", i, key),
                        f"'{key}' cannot be a for_each key",
                        "a key is a name: letters, digits and `_`, not starting with a digit",
                        key=True,
                        code=Code.BAD_NAME,
                    )
                )
    dag_id = doc.data.get("dag_id")
    if not (isinstance(dag_id, str) and "${{" in dag_id):
        at = ("dag_id",) if "dag_id" in doc.data else ("for_each",)
        problems.append(
            doc.diag(
                at,
                "the dag_id of a spec with for_each must contain a `${{ key }}`",
                "each item makes one DAG, and each DAG needs its own id: "
                "e.g. `dag_id: sync_${{ region }}`",
                key=at == ("for_each",),
                code=Code.MISSING_KEY
                if at == ("for_each",)
                else Code.BAD_NAME,  # (the schema: if/then)
            )
        )
    return problems


def _unique(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return list(dict.fromkeys(diagnostics))


# ---------------------------------------------------------------------------------------------
# Blocks


@dataclass
class Block:
    name: str
    doc: Document
    problems: list[Diagnostic]  # of the file itself (its shape, its parameters' defaults)

    @property
    def parameters(self) -> dict[str, dict[str, Any]]:
        params = self.doc.data.get("parameters")
        return params if isinstance(params, dict) else {}

    @property
    def description(self) -> str:
        text = self.doc.data.get("description")
        return text if isinstance(text, str) else ""


def folders(spec: Path) -> list[Path]:
    """The blocks folders a spec may use, the nearest first: at and above its folder, up to the
    working folder when the spec is inside it. Unlike a defaults.yaml, a block applies only where a
    spec names it: a spec built from another folder still finds its blocks above it."""
    folder, cwd = spec.resolve().parent, Path.cwd().resolve()
    out = [folder / BLOCKS_FOLDER]
    while folder != cwd and folder != folder.parent:
        folder = folder.parent
        out.append(folder / BLOCKS_FOLDER)
    return [f for f in out if f.is_dir()]


def available(spec: Path) -> dict[str, Path]:
    """Every block a spec may use: name -> file (the nearest folder wins)."""
    found: dict[str, Path] = {}
    for folder in folders(spec):
        for f in _blocks_in(folder):
            found.setdefault(f.stem, f)
    return found


def _blocks_in(folder: Path) -> list[Path]:
    """The block files of a blocks folder, sorted; none when it cannot be listed (a folder that
    may not be read: a spec that names one of its blocks is told it is not found)."""
    try:
        files = sorted(folder.iterdir())
    except OSError:
        return []
    return [
        f
        for f in files
        if f.suffix in SPEC_SUFFIXES and BLOCK_NAME.fullmatch(f.stem) and f.is_file()
    ]


def read_block(name: str, path: Path) -> Block:
    """The block file `path`, loaded and its shape checked (cached by its version)."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _read_block(name, path, stamp)


@lru_cache(maxsize=256)
def _read_block(name: str, path: Path, mtime_ns: int) -> Block:
    cwd = Path.cwd().resolve()
    problem = path_problem(path, cwd if path.parent.is_relative_to(cwd) else path.parent)
    if problem:
        return Block(name, Document(path, problem.path, ""), [problem])
    try:
        doc = load(path)
    except LoadError as e:
        return Block(name, Document(path, e.diagnostic.path, ""), [e.diagnostic])
    return Block(name, doc, _block_problems(doc))


def _block_problems(doc: Document) -> list[Diagnostic]:
    """What is wrong with the shape of a block file (its tasks are checked where they are used)."""
    data = doc.data
    out = [
        doc.diag(
            (key,),
            f"a block takes no key '{key}'",
            " ".join(
                filter(
                    None,
                    [did_you_mean(key, BLOCK_KEYS), "a block has description, parameters, tasks"],
                )
            ),
            key=True,
            code=Code.UNKNOWN_KEY,
        )
        for key in data
        if key not in BLOCK_KEYS
    ]
    if not isinstance(data.get("tasks"), dict) or not data["tasks"]:
        out.append(
            doc.diag(
                ("tasks",) if "tasks" in data else (),
                "a block needs `tasks:`, a mapping of one or more tasks",
                "write its tasks as in a spec: `tasks: {extract: {operator: bash, ...}}`",
                key=True,
                code=Code.MISSING_KEY,
            )
        )
    if "description" in data and not isinstance(data["description"], str):
        out.append(doc.diag(("description",), "description must be text", "", code=Code.TYPE))
    params = data.get("parameters", {})
    if not isinstance(params, dict):
        out.append(
            doc.diag(
                ("parameters",),
                "parameters must be a mapping of names",
                "write `parameters: {table: {type: string}}`",
                code=Code.TYPE,
            )
        )
        return out
    for name, spec in params.items():
        at = ("parameters", name)
        if not NAME.fullmatch(name):
            out.append(
                doc.diag(
                    at,
                    f"'{name}' cannot be a parameter name",
                    "a parameter is a name: letters, digits and `_`, not starting with a digit",
                    key=True,
                    code=Code.BAD_NAME,
                )
            )
        if not isinstance(spec, dict):
            out.append(
                doc.diag(
                    at,
                    f"parameter '{name}' must be a mapping",
                    "write `{name}: {type: string, description: ...}`",
                    code=Code.TYPE,
                )
            )
            continue
        for key in spec:
            if key not in PARAMETER_KEYS:
                out.append(
                    doc.diag(
                        (*at, key),
                        f"a parameter takes no key '{key}'",
                        did_you_mean(key, PARAMETER_KEYS)
                        or f"a parameter takes {', '.join(PARAMETER_KEYS)}",
                        key=True,
                        code=Code.UNKNOWN_KEY,
                    )
                )
        kind = spec.get("type")
        for one in kind if isinstance(kind, list) else [kind]:
            if one is not None and one not in TYPES:
                out.append(
                    doc.diag(
                        (*at, "type"),
                        f"'{one}' is not a parameter type",
                        " ".join(
                            filter(None, [did_you_mean(one, TYPES), f"use {', '.join(TYPES)}"])
                        ),
                        code=Code.PARAM,
                    )
                )
        if "default" in spec and not out:
            for message in _misfits(spec, spec["default"]):
                out.append(
                    doc.diag(
                        (*at, "default"),
                        f"the default of '{name}' does not fit: {message}",
                        "change the default or the parameter's type",
                        code=Code.PARAM,
                    )
                )
    return out


def _misfits(spec: dict[str, Any], value: Any) -> list[str]:
    """Why `value` does not fit the parameter `spec` (JSON Schema keys), or nothing."""
    import jsonschema  # as validate does: only when there is something to check

    schema = {k: v for k, v in spec.items() if k not in ("default", "description")}
    try:
        validator = jsonschema.Draft202012Validator(schema)
        return [e.message for e in validator.iter_errors(value)]
    except jsonschema.SchemaError as e:
        return [f"the parameter itself is not valid: {e.message}"]


BlockFinder = Callable[[str], Block | None]


def finder(spec: Path) -> tuple[BlockFinder, Callable[[], list[str]]]:
    """(the block of a name or None, the names of every block there is) for the spec `spec`."""
    names: list[str] | None = None

    def all_names() -> list[str]:
        nonlocal names
        if names is None:
            names = sorted(available(spec))
        return names

    def find(name: str) -> Block | None:
        for folder in folders(spec):
            for suffix in SPEC_SUFFIXES:
                f = folder / f"{name}{suffix}"
                if f.is_file():
                    return read_block(name, f)
        return None

    return find, all_names


def expand(doc: Document, find: BlockFinder, names: Callable[[], list[str]]) -> list[Diagnostic]:
    """Replace every task of `doc` that uses a block by the block's task group, in place."""
    problems: list[Diagnostic] = []
    tasks = doc.data.get("tasks")
    if isinstance(tasks, dict):
        _expand_tasks(doc, tasks, ("tasks",), find, names, (), problems)
    return _unique(problems)


def _expand_tasks(
    doc: Document,
    tasks: dict[str, Any],
    path: SpecPath,
    find: BlockFinder,
    names: Callable[[], list[str]],
    using: tuple[str, ...],
    problems: list[Diagnostic],
) -> None:
    """Expand the uses among `tasks` (at `path`) and in the groups below; `using`: the blocks
    the ones at `path` are inside, the outermost first."""
    for task_id, node in list(tasks.items()):
        at = (*path, task_id)
        if not isinstance(node, dict):
            continue
        if "use" in node:
            group = _use(doc, node, at, find, names, using, problems)
            if group is not None:
                tasks[task_id] = group
        elif isinstance(node.get("tasks"), dict):
            _expand_tasks(doc, node["tasks"], (*at, "tasks"), find, names, using, problems)


def _use(
    doc: Document,
    node: dict[str, Any],
    at: SpecPath,
    find: BlockFinder,
    names: Callable[[], list[str]],
    using: tuple[str, ...],
    problems: list[Diagnostic],
) -> dict[str, Any] | None:
    """The task group a use of a block gives, or None (with its problems noted)."""
    name = node["use"]
    before = len(problems)
    for key in node:
        if key not in USE_KEYS:
            problems.append(
                doc.diag(
                    (*at, key),
                    f"a task that uses a block takes no key '{key}'",
                    " ".join(
                        filter(
                            None,
                            [
                                did_you_mean(key, USE_KEYS),
                                "it takes use, with, dependencies, tooltip and defaults (settings "
                                "for the block's tasks); the block's tasks are in the block",
                            ],
                        )
                    ),
                    key=True,
                    code=Code.UNKNOWN_KEY,
                )
            )
    if not isinstance(name, str) or not BLOCK_NAME.fullmatch(name):
        problems.append(
            doc.diag(
                (*at, "use"),
                f"{json.dumps(name)} is not a block name",
                "name a file of a blocks folder without .yaml: `use: load_table`, or "
                "`use: load_table@2` for blocks/load_table@2.yaml",
                code=Code.TYPE,
            )
        )
        return None
    if name in using:
        chain = " -> ".join((*using[using.index(name) :], name))
        problems.append(
            doc.diag(
                (*at, "use"),
                f"block '{name}' uses itself: {chain}",
                "a block may use other blocks, but not in a cycle",
                code=Code.CYCLE,
            )
        )
        return None
    if len(using) >= MAX_NESTING:
        problems.append(
            doc.diag(
                (*at, "use"),
                f"blocks are nested more than {MAX_NESTING} deep",
                "use fewer blocks inside blocks",
                code=Code.REUSE,
            )
        )
        return None
    block = find(name)
    if block is None:
        known = names()
        problems.append(
            doc.diag(
                (*at, "use"),
                f"no block '{name}' in a blocks folder at or above the spec",
                " ".join(
                    filter(
                        None,
                        [
                            did_you_mean(name, known),
                            f"blocks there: {', '.join(known)}"
                            if known
                            else "write it as blocks/NAME.yaml beside the spec or in a folder above",
                        ],
                    )
                ),
                code=Code.REUSE,
            )
        )
        return None
    site = doc.site(at)
    if block.problems:
        doc.blocks[block.doc.display] = block.doc.text
        problems += [replace(d, message=f"{d.message} (used by {site})") for d in block.problems]
        return None
    values = _arguments(doc, node, at, block, problems)
    if len(problems) > before:
        return None
    # The block's tasks, substituted, under the group's `tasks`; their lines are the block's.
    inside = (*at, "tasks")
    doc.regions[inside] = (block.doc.display, site)
    doc.blocks[block.doc.display] = block.doc.text
    doc.environment.update(block.doc.environment)
    copy = _Copy(block.doc, doc, values)
    tasks = copy.value(block.doc.data["tasks"], ("tasks",), inside)
    if len(doc.positions) > MAX_NODES:  # blocks that use blocks twice each, many levels deep
        problems.append(
            doc.diag(
                (*at, "use"),
                f"the blocks expand to more than {MAX_NODES} values",
                "use fewer blocks inside blocks, or split the spec",
                code=Code.REUSE,
            )
        )
        return None
    problems += copy.problems(
        doc, f"parameter of block '{name}'", "add it to the block's `parameters:`"
    )
    problems += [
        doc.diag((*inside, *p[1:]), m, h, code=Code.ENVIRONMENT)
        for p, m, h in block.doc.environment_problems
        if p[:1] == ("tasks",)
    ]
    if len(problems) > before:
        return None
    _expand_tasks(doc, tasks, inside, find, names, (*using, name), problems)
    group = {k: v for k, v in node.items() if k in ("dependencies", "tooltip", "defaults")}
    if "tooltip" not in group and block.description:
        group["tooltip"] = block.description
    return {"tasks": tasks, **group}


def _arguments(
    doc: Document, node: dict[str, Any], at: SpecPath, block: Block, problems: list[Diagnostic]
) -> dict[str, Any]:
    """The parameters' values of one use: its `with`, checked, and the defaults."""
    given = node.get("with", {})
    params = block.parameters
    if not isinstance(given, dict):
        problems.append(
            doc.diag(
                (*at, "with"),
                "with must be a mapping of the block's parameters",
                f"write `with: {{{', '.join(f'{p}: ...' for p in params)}}}`",
                code=Code.TYPE,
            )
        )
        return {}
    values: dict[str, Any] = {}
    for key, value in given.items():
        if key not in params:
            problems.append(
                doc.diag(
                    (*at, "with", key),
                    f"block '{block.name}' has no parameter '{key}'",
                    " ".join(
                        filter(
                            None,
                            [
                                did_you_mean(key, params),
                                f"its parameters: {', '.join(params)}"
                                if params
                                else "it has no parameters",
                            ],
                        )
                    ),
                    key=True,
                    code=Code.UNKNOWN_KEY,
                )
            )
            continue
        for message in _misfits(params[key], value):
            problems.append(
                doc.diag(
                    (*at, "with", key),
                    f"parameter '{key}' of block '{block.name}': {message}",
                    _describe(params[key]),
                    code=Code.TYPE,
                )
            )
        values[key] = value
    for key, spec in params.items():
        if key in given:
            continue
        if "default" in spec:
            values[key] = spec["default"]
        else:
            problems.append(
                doc.diag(
                    (*at, "with") if "with" in node else (*at, "use"),
                    f"block '{block.name}' needs the parameter '{key}'",
                    f"add `{key}: ...` to `with:` ({_describe(spec)})",
                    key="with" in node,
                    code=Code.MISSING_KEY,
                )
            )
    return values


def _describe(spec: dict[str, Any]) -> str:
    """A parameter in a few words: its type, choices and description."""
    parts = []
    if "type" in spec:
        parts.append(f"type {spec['type']}")
    if "enum" in spec:
        parts.append(f"one of {', '.join(json.dumps(v) for v in spec['enum'])}")
    if "minimum" in spec or "maximum" in spec:
        parts.append(f"from {spec.get('minimum', '...')} to {spec.get('maximum', '...')}")
    if isinstance(spec.get("description"), str):
        parts.append(spec["description"])
    return "; ".join(parts) or "any value"


def uses(data: Any) -> Iterator[tuple[SpecPath, str]]:
    """(path, block name) of every use of a block in a spec's data (for `dagforge blocks`)."""
    tasks = data.get("tasks") if isinstance(data, dict) else None

    def walk(tasks: Any, path: SpecPath) -> Iterator[tuple[SpecPath, str]]:
        for task_id, node in tasks.items() if isinstance(tasks, dict) else ():
            if isinstance(node, dict) and isinstance(node.get("use"), str):
                yield (*path, task_id, "use"), node["use"]
            elif isinstance(node, dict):
                yield from walk(node.get("tasks"), (*path, task_id, "tasks"))

    yield from walk(tasks, ("tasks",))


# ---------------------------------------------------------------------------------------------
# The catalog (`dagforge blocks`)


@dataclass
class Listed:
    """A block as `dagforge blocks` lists it."""

    block: Block
    used_by: list[str] = field(default_factory=list)  # "file:line" of each use


def catalog(paths: list[str]) -> tuple[list[Listed], list[Diagnostic]]:
    """Every block in the blocks folders at and below `paths` and above their specs, with the uses
    of each (in the specs there and in other blocks), and the problems with the paths given."""
    from .load import find_specs

    specs, problems = find_specs(paths)
    found: set[Path] = set()
    for given in map(Path, paths):
        if given.is_dir():
            found |= {
                f.resolve()
                for f in given.rglob(BLOCKS_FOLDER)
                if f.is_dir() and not any(p.startswith(".") for p in f.relative_to(given).parts)
            }
    for spec in specs:
        found |= {f.resolve() for f in folders(spec)}
    listed: dict[Path, Listed] = {}
    for folder in sorted(found):
        for f in _blocks_in(folder):
            listed[f] = Listed(read_block(f.stem, f))
    users: list[tuple[Path, Document]] = []
    for spec in specs:
        try:
            users.append((spec, load(spec)))
        except LoadError:
            continue  # `validate` says why
    users += [(f, item.block.doc) for f, item in listed.items() if item.block.doc.data]
    for at, doc in users:
        find, _ = finder(at)
        for path, name in uses(doc.data):
            block = find(name) if BLOCK_NAME.fullmatch(name) else None
            if block is not None and block.doc.path in listed:
                listed[block.doc.path].used_by.append(f"{doc.display}:{doc.where(path)[0]}")
    return list(listed.values()), problems
