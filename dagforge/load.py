"""Step 1, load: find spec files and read each into plain data that remembers where every value stood.

Only safe YAML is read. Tags other than the plain JSON-like ones are refused before anything is
constructed from them, duplicate keys are an error, and timestamps stay strings (the validator
parses them, so a bad date is an error at its line instead of a crash inside PyYAML).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import Diagnostic

SPEC_SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 1024 * 1024  # a pipeline spec is a few KiB; anything near this is a mistake
MAX_NODES = 100_000  # bounds alias expansion ("billion laughs")
DEFAULTS_NAMES = (
    "defaults.yaml",
    "defaults.yml",
)  # shared defaults of a folder (defaults.py), not specs

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_T = "tag:yaml.org,2002:"
_ALLOWED_TAGS = {_T + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
_constructor = yaml.constructor.SafeConstructor()


@dataclass
class Document:
    """One spec: its data and, for every path into it, where the value (and its key) stands."""

    path: Path
    display: str  # the path as messages name it
    text: str
    data: object = None
    positions: dict = field(default_factory=dict)  # path tuple -> (line, col) of the value
    key_positions: dict = field(default_factory=dict)  # path tuple -> (line, col) of the key
    environment: dict = field(
        default_factory=dict
    )  # ${VAR} substituted: name -> its value, None when its default was used
    environment_problems: list = field(
        default_factory=list
    )  # (path, message, hint): validate reports them
    origins: dict = field(
        default_factory=dict
    )  # path -> "file:line" of each value inherited from a defaults.yaml
    inherited: dict = field(
        default_factory=dict
    )  # the defaults.yaml files it inherits from: display -> text

    def where(self, path, key: bool = False) -> tuple[int, int]:
        """Position of the value at `path` (of its key with key=True), else of its nearest parent."""
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while path not in self.positions and path:
            path = path[:-1]
        return self.positions.get(path, (1, 1))

    def diag(self, path, message: str, hint: str = "", key: bool = False, code: str = "spec"):
        line, col = self.where(path, key)
        return Diagnostic(self.display, line, col, message, hint, code)


class LoadError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def find_specs(paths) -> tuple[list[Path], list[Diagnostic]]:
    """Spec files named by `paths` (files, or folders searched recursively), sorted, no repeats. A
    defaults.yaml given by name stands for the specs it applies to (as a pre-commit hook passes it)."""
    found, problems = [], []
    for given in paths:
        p = Path(given)
        if p.is_file() and p.name in DEFAULTS_NAMES:
            p = p.parent
        if p.is_dir():
            found += sorted(
                f
                for f in p.rglob("*")
                if f.suffix in SPEC_SUFFIXES
                and f.is_file()
                and f.name not in DEFAULTS_NAMES
                and not any(
                    part.startswith(".") for part in f.relative_to(p).parts
                )  # hidden: not specs
            )
        elif p.is_file():
            found.append(p)
        else:
            problems.append(Diagnostic(str(given), 0, 0, "no such file or folder", code="usage"))
    unique = list(dict.fromkeys(f.resolve() for f in found))
    return unique, problems


def display_path(path: Path) -> str:
    """The path relative to the working folder when it is inside it, else as given."""
    try:
        return (
            Path(os.path.relpath(path)).as_posix()
            if path.is_relative_to(Path.cwd())
            else path.as_posix()
        )
    except ValueError:
        return path.as_posix()


def load(path: Path) -> Document:
    """Read one spec file. Raises LoadError with a located diagnostic when it is not usable YAML."""
    path = Path(path)
    display = display_path(path.resolve())

    def fail(message, hint="", line=0, col=0):
        raise LoadError(Diagnostic(display, line, col, message, hint, code="yaml"))

    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            fail(
                f"file is {size} bytes; a spec may be at most {MAX_BYTES}",
                "split it into several specs",
                1,
                1,
            )
        raw = path.read_bytes()
    except OSError as e:
        fail(
            f"cannot read the file: {e.strerror or e}",
            "check that it exists and that you may read it",
        )
    if raw.startswith(b"\xef\xbb\xbf"):
        fail("file starts with a byte-order mark", "save it as UTF-8 without BOM", 1, 1)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        fail(f"byte 0x{raw[e.start]:02x} is not UTF-8", "save the file as UTF-8", line, col)

    doc = Document(path, display, text)
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        problem = e.problem or str(e)
        hint = "fix the YAML syntax at this point"
        if mark and text[mark.index : mark.index + 1] == "\t":
            problem, hint = "a tab is used for indentation", "indent with spaces, never tabs"
        fail(
            f"invalid YAML: {problem}",
            hint,
            mark.line + 1 if mark else 0,
            mark.column + 1 if mark else 0,
        )
    if not nodes or nodes[0] is None:
        fail("file is empty", "a spec is a mapping with at least start_date and tasks", 1, 1)
    if len(nodes) > 1:
        m = nodes[1].start_mark
        fail(
            "file holds more than one YAML document",
            "keep one pipeline per file",
            m.line + 1,
            m.column + 1,
        )
    root = nodes[0]
    if not isinstance(root, yaml.MappingNode):
        m = root.start_mark
        kind = "a list" if isinstance(root, yaml.SequenceNode) else "a single value"
        fail(
            f"the spec is {kind}, not a mapping of keys",
            "write `key: value` lines, e.g. `dag_id: my_pipeline`",
            m.line + 1,
            m.column + 1,
        )
    budget = [MAX_NODES]
    doc.data = _convert(root, (), doc, budget, fail)
    return doc


def _convert(node, path, doc: Document, budget, fail):
    budget[0] -= 1
    mark = node.start_mark
    if budget[0] < 0:
        fail(
            f"the spec expands to more than {MAX_NODES} values",
            "an alias (*name) repeats too much: write the values out or nest aliases less",
            mark.line + 1,
            mark.column + 1,
        )
    doc.positions[path] = (mark.line + 1, mark.column + 1)
    if node.tag not in _ALLOWED_TAGS:
        fail(
            f"YAML tag '{node.tag.replace(_T, '!!')}' is not allowed",
            "specs hold plain values only: remove the tag",
            mark.line + 1,
            mark.column + 1,
        )
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(node, path, doc, budget, fail)
    if isinstance(node, yaml.SequenceNode):
        return [_convert(n, path + (i,), doc, budget, fail) for i, n in enumerate(node.value)]
    if node.tag == _T + "timestamp":
        return node.value  # kept as text: the validator parses dates with a clear message
    try:
        value = _constructor.yaml_constructors[node.tag](_constructor, node)
    except (ValueError, yaml.YAMLError) as e:
        fail(
            f"cannot read value {node.value!r}: {e}",
            "quote it to keep it as text",
            mark.line + 1,
            mark.column + 1,
        )
    return substitute(value, path, doc) if isinstance(value, str) and "$" in value else value


# `${NAME}` or `${NAME:-default}`; `$${` is a literal `${`. Anything else after `${` is a mistake.
_REFERENCE = re.compile(
    r"\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)


def substitute(text: str, path: tuple, doc: Document, environ=None) -> str:
    """`text` with every ${NAME} (or ${NAME:-default}) replaced from the environment, at load time.
    An unset NAME without a default, or a `${` that starts no reference, is noted in
    doc.environment_problems; the text keeps it as written."""
    environ = os.environ if environ is None else environ

    def replace(m: re.Match) -> str:
        whole = m.group(0)
        if whole == "$${":
            return "${"
        name = m.group("name")
        if name is None:
            doc.environment_problems.append(
                (
                    path,
                    "`${` starts no environment reference here",
                    "write ${NAME} or ${NAME:-default}, or `$${` for a literal `${` (as in a bash command)",
                )
            )
            return whole
        if name in environ:
            doc.environment[name] = environ[name]
            return environ[name]
        if m.group("default") is not None:
            doc.environment.setdefault(name, None)
            return m.group("default")
        hint = (
            f"set {name} where dagforge runs, give a default (${{{name}:-value}}), "
            f"or write $${{{name}}} for a literal ${{{name}}}"
        )
        doc.environment_problems.append((path, f"environment variable '{name}' is not set", hint))
        return whole

    return _REFERENCE.sub(replace, text)


def _convert_mapping(node, path, doc, budget, fail):
    result, seen = {}, {}
    for key_node, value_node in _merged_pairs(node, fail):
        km = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode):
            fail("a key must be a plain name", "write `name: value`", km.line + 1, km.column + 1)
        key = key_node.value  # keys stay text: `on:` or `1:` name things, they are not booleans
        if key in seen:
            fail(
                f"duplicate key '{key}' (first defined at line {seen[key]})",
                "YAML keeps only the last one: remove or rename one of them",
                km.line + 1,
                km.column + 1,
            )
        seen[key] = km.line + 1
        doc.key_positions[path + (key,)] = (km.line + 1, km.column + 1)
        result[key] = _convert(value_node, path + (key,), doc, budget, fail)
    return result


def _merged_pairs(node, fail):
    """The mapping's key/value node pairs with YAML merge keys (`<<: *anchor`) applied."""
    own, merged = [], []
    for key_node, value_node in node.value:
        if key_node.tag == _T + "merge":
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    m = src.start_mark
                    fail(
                        "`<<` merges only mappings",
                        "point `<<` at a mapping anchor",
                        m.line + 1,
                        m.column + 1,
                    )
                merged += _merged_pairs(src, fail)
        else:
            own.append((key_node, value_node))
    own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
    inherited, taken = [], set()
    for k, v in merged:
        if k.value not in own_keys and k.value not in taken:
            inherited.append((k, v))
            taken.add(k.value)
    return inherited + own
