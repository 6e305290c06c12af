"""Step 1, load: find spec files and read each into plain data that remembers where every value stood.

Only safe YAML is read. Tags other than the plain JSON-like ones are refused before anything is
constructed from them, duplicate keys are an error, and timestamps stay strings (the validator
parses them, so a bad date is an error at its line instead of a crash inside PyYAML).

Hostile input ends in a located error, never a hang or a crash: a file is refused by its size and
type before it is read, control characters, nesting deeper than MAX_DEPTH, aliases and merge keys
that expand past MAX_NODES and integers too long to print are all errors at their line.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn, Protocol, TypeAlias, cast

import yaml

from .diagnostics import Code, Diagnostic, visible

SPEC_SUFFIXES = (".yaml", ".yml")
MAX_BYTES = 1024 * 1024  # a pipeline spec is a few KiB; anything near this is a mistake
MAX_NODES = 100_000  # bounds alias and merge-key expansion ("billion laughs")
MAX_DEPTH = 100  # lists and mappings in lists and mappings: far below Python's recursion limit
MAX_INT_DIGITS = 4300  # Python's default limit for int <-> str: a longer integer cannot be printed
DEFAULTS_NAMES = (
    "defaults.yaml",
    "defaults.yml",
)  # shared defaults of a folder (defaults.py), not specs
BLOCKS_FOLDER = "blocks"  # the blocks of the specs at and below its parent (reuse.py), not specs

# A value of a spec as load gives it: what JSON holds (timestamps stay text, see _convert).
Json: TypeAlias = str | int | float | bool | list["Json"] | dict[str, "Json"] | None
# Where a value stands in a spec: the keys and list indexes from the top, () for the whole spec.
SpecPath: TypeAlias = tuple[str | int, ...]
Position: TypeAlias = tuple[int, int]  # (line, column), both from 1
# A problem load notes for validate to report: (path, message, hint).
Problem: TypeAlias = tuple[SpecPath, str, str]

_T = "tag:yaml.org,2002:"
_STR = _T + "str"
_SEQ = _T + "seq"
_MAP = _T + "map"
_MERGE = _T + "merge"  # `<<`
_ALLOWED_TAGS = {_T + t for t in ("str", "int", "float", "bool", "null", "timestamp", "seq", "map")}
_constructor = yaml.constructor.SafeConstructor()

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# The safe loader's implicit resolvers (tag, regexp) by the first character of a plain value ('' for
# the empty value), as Resolver.resolve looks them up. It has no path resolvers and none for any
# first character (key None), which _Loader.resolve leaves out.
_IMPLICIT = {first: tuple(r) for first, r in _BaseLoader.yaml_implicit_resolvers.items()}
assert not _BaseLoader.yaml_path_resolvers and None not in _IMPLICIT
# The tags of plain values that resolvers were tried on: keys, `true`, numbers repeat within and
# across specs. Emptied when full, so that it stays small in a long run (serve, watch).
_TAGS: dict[str, str] = {}


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]  # (a class chosen at run time)
    """PyYAML's safe loader with a cheaper Resolver: the composer asks it for the tag of every
    node (and calls descend/ascend_resolver around each), and PyYAML's general methods took a
    sixth of load's time. These give the same tags for the safe loader's resolvers."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        """The tag of a node without an explicit one; `implicit` is (plain, quoted) for a scalar."""
        if kind is yaml.ScalarNode:
            resolvers = implicit[0] and _IMPLICIT.get(value[:1])  # plain: typed by its text
            if not resolvers:
                return _STR
            tag = _TAGS.get(value)
            if tag is None:
                tag = next((tag for tag, regexp in resolvers if regexp.match(value)), _STR)
                if len(_TAGS) >= 4096:
                    _TAGS.clear()
                _TAGS[value] = tag
            return tag
        return _SEQ if kind is yaml.SequenceNode else _MAP

    # They track the path to the node for path resolvers, and there are none.
    def descend_resolver(self, current_node: yaml.Node | None, current_index: object) -> None:
        pass

    def ascend_resolver(self) -> None:
        pass


# What YAML does not allow in a stream (PyYAML's reader refuses it with a bare "unacceptable
# character"): control characters except tab and line breaks, surrogates, U+FFFE and U+FFFF.
_NOT_YAML = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")  # YAML's, as the marks count lines
# In a path: anything that would break a line of output or a comment in the generated file.
_BAD_IN_PATH = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass
class Document:
    """One spec: its data and, for every path into it, where the value (and its key) stands."""

    path: Path
    display: str  # the path as messages name it
    text: str
    # The spec's top mapping (load refuses any other kind). Its values are Json, but what each key
    # holds is known only once validate has checked it against the schema: later steps read it
    # as validated data, without narrowing every value again.
    data: dict[str, Any] = field(default_factory=dict)
    positions: dict[SpecPath, Position] = field(default_factory=dict)  # of each value
    key_positions: dict[SpecPath, Position] = field(default_factory=dict)  # of each key
    # ${VAR} substituted: name -> its value, None when its default was used
    environment: dict[str, str | None] = field(default_factory=dict)
    environment_problems: list[Problem] = field(default_factory=list)  # validate reports them
    # path -> "file:line" of each value inherited from a defaults.yaml
    origins: dict[SpecPath, str] = field(default_factory=dict)
    # the defaults.yaml files it inherits from: display -> text
    inherited: dict[str, str] = field(default_factory=dict)
    # the blocks its tasks use (reuse.py): display -> text
    blocks: dict[str, str] = field(default_factory=dict)
    # where a block's tasks were put (the group's `tasks` path) -> (the block's display, the use
    # site "file:line"): positions under that path are lines of the block file
    regions: dict[SpecPath, tuple[str, str]] = field(default_factory=dict)
    item: int | None = None  # the for_each item this document is the DAG of (reuse.py)

    def where(self, path: Iterable[str | int], key: bool = False) -> Position:
        """Position of the value at `path` (of its key with key=True), else of its nearest parent."""
        at = tuple(path)
        if key and at in self.key_positions:
            return self.key_positions[at]
        while at not in self.positions and at:
            at = at[:-1]
        return self.positions.get(at, (1, 1))

    def diag(
        self,
        path: Iterable[str | int],
        message: str,
        hint: str = "",
        key: bool = False,
        code: Code = Code.SPEC,
    ) -> Diagnostic:
        path = tuple(path)
        line, col = self.where(path, key)
        file, used_by = self.file_of(path)
        note = f" (used by {used_by})" if used_by else ""
        return Diagnostic(file, line, col, message + note, hint, code)

    def file_of(self, path: SpecPath) -> tuple[str, str]:
        """(the display of the file the value at `path` was written in, the use site of the block
        it comes from or ''): the spec, or a block whose tasks were put there."""
        for n in range(len(path), 0, -1) if self.regions else ():
            if path[:n] in self.regions:
                return self.regions[path[:n]]
        return self.display, ""

    def site(self, path: SpecPath) -> str:
        """ "file:line" of the key of `path`, in the file it was written in."""
        return f"{self.file_of(path)[0]}:{self.where(path, key=True)[0]}"


class LoadError(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


class TooLarge(Exception):
    """A spec or defaults file larger than MAX_BYTES (refused before it is read)."""


def find_specs(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[Path], list[Diagnostic]]:
    """Spec files named by `paths` (files, or folders searched recursively), sorted, no repeats. A
    defaults.yaml given by name stands for the specs it applies to (as a pre-commit hook passes it).
    A spec must stay inside the folder it was found in (a file named alone: its own folder),
    symlinks followed, and its path must hold no control character (see path_problem)."""
    found: list[Path] = []
    problems: list[Diagnostic] = []
    for given in paths:
        p = Path(given)
        if p.is_file() and p.name in DEFAULTS_NAMES:
            p = p.parent
        elif p.is_file() and p.parent.name == BLOCKS_FOLDER:  # a block: the specs that may use it
            p = p.parent.parent
        if p.is_dir():
            root = p
            files = sorted(
                f
                for f in p.rglob("*")
                if f.suffix in SPEC_SUFFIXES
                and f.is_file()
                and f.name not in DEFAULTS_NAMES
                and not any(  # hidden, or blocks: not specs
                    part.startswith(".") or part == BLOCKS_FOLDER
                    for part in f.relative_to(p).parent.parts
                )
                and not f.name.startswith(".")
            )
        elif p.is_file():
            root, files = p.parent, [p]
        else:
            why = "not a regular file or folder" if p.exists() else "no such file or folder"
            problems.append(Diagnostic(visible(str(given)), 0, 0, why, code=Code.USAGE))
            continue
        inside = root.resolve()
        for f in files:
            problem, real = _placed(f, root, inside)
            if problem:
                problems.append(problem)
            else:
                found.append(real)
    return list(dict.fromkeys(found)), problems


def path_problem(path: Path, root: Path | None = None) -> Diagnostic | None:
    """Why the spec or defaults file `path` may not be read, or None. Its name (as given and as
    resolved) must hold no control character: a newline in it would split a line of every message
    and of the generated file's header. With symlinks followed it must lie inside the folder `root`
    (when given): a link to a file elsewhere (/etc/passwd) is not a spec, and its lines would show
    in messages."""
    return _placed(path, root, None if root is None else Path(root).resolve())[0]


def _placed(path: Path, root: Path | None, inside: Path | None) -> tuple[Diagnostic | None, Path]:
    """path_problem's verdict, with `root` already resolved (`inside`), and the resolved path."""
    real = _resolved(path)
    bad = _bad_character(path, real)
    if bad:
        return bad, real
    if root is not None and inside is not None and not real.is_relative_to(inside):
        return Diagnostic(
            visible(display_path(path)),
            0,
            0,
            f"the path leads (through a symlink) to {visible(real.as_posix())}, outside "
            f"{visible(Path(root).as_posix())}",
            "a spec (or a symlink to one) must lie inside the folder given; copy the file there, "
            "or name the folder it is in",
            code=Code.USAGE,
        ), real
    return None, real


def _resolved(path: Path) -> Path:
    """`path` with symlinks followed; as given when it cannot be (a NUL in it: _bad_character says so)."""
    try:
        return path.resolve()
    except (OSError, ValueError):
        return path


def _bad_character(path: Path, real: Path | None = None) -> Diagnostic | None:
    """The problem with `path` when it (as given or resolved, `real` if known) holds a control
    character, or None."""
    bad = _BAD_IN_PATH.search(str(path))
    if not bad:  # (as given first: resolving a path with a NUL in it fails)
        bad = _BAD_IN_PATH.search(str(_resolved(path) if real is None else real))
    if not bad:
        return None
    return Diagnostic(
        visible(display_path(path)),
        0,
        0,
        f"the path holds the control character U+{ord(bad.group()):04X}",
        "rename the file or folder: a spec's path is shown in messages and in the generated file",
        code=Code.USAGE,
    )


def read_bounded(path: Path) -> bytes:
    """The bytes of the spec or defaults file `path`. What is not a regular file is refused before
    anything is read (a FIFO would wait for a writer, /dev/zero never ends), and so is a file larger
    than MAX_BYTES (TooLarge); at most MAX_BYTES + 1 bytes are read, so a file that grows meanwhile
    cannot fill memory either. Other failures are OSError."""
    # O_NONBLOCK: opening a FIFO does not wait for a writer (regular files read as usual).
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = (
                "a folder"
                if stat.S_ISDIR(info.st_mode)
                else "a FIFO"
                if stat.S_ISFIFO(info.st_mode)
                else "a device or socket"
            )
            raise OSError(f"it is {kind}, not a regular file")
        if info.st_size > MAX_BYTES:
            raise TooLarge(f"file is {info.st_size} bytes; a spec may be at most {MAX_BYTES}")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(info.st_size + 1)  # (not MAX_BYTES + 1: that allocates it each time)
            if len(data) > info.st_size:  # longer than it says (it grows, or is in /proc): read on
                data += f.read(MAX_BYTES + 1 - len(data))
    finally:
        os.close(fd)
    if len(data) > MAX_BYTES:
        raise TooLarge(f"file is more than {MAX_BYTES} bytes, the most a spec may be")
    return data


def display_path(path: Path) -> str:
    """The path relative to the working folder when it is inside it, else as given."""
    # The usual case, said cheaply (load names every spec): an absolute path below the working
    # folder whose rest has no `..` is that rest, which is what the general way below gives.
    here = os.getcwd()
    text = str(path)
    below = here.rstrip("/") + "/"
    rest = text[len(below) :]
    if (
        os.sep == "/"
        and text.startswith(below)
        and rest[:1] not in ("", "/")
        and ".." not in rest.split("/")
    ):
        return rest
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
    real = _resolved(path)
    bad = _bad_character(path, real)  # names the character, shows the path escaped
    if bad:
        raise LoadError(bad)
    display = display_path(real)

    def fail(message: str, hint: str = "", line: int = 0, col: int = 0) -> NoReturn:
        raise LoadError(Diagnostic(display, line, col, message, hint, code=Code.YAML))

    try:
        raw = read_bounded(path)
    except TooLarge as e:
        fail(str(e), "split it into several specs", 1, 1)
    except OSError as e:
        fail(
            f"cannot read the file: {e.strerror or e}",
            "name a regular file that exists and that you may read",
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
    except yaml.reader.ReaderError:  # a character YAML does not allow, at an index of libyaml's
        _fail_not_yaml(text, fail)
        raise
    except RecursionError:  # the pure-Python composer, when libyaml is not installed
        _fail_too_deep(text, fail)
        raise
    except yaml.MarkedYAMLError as e:
        if "nesting depth" in str(e.problem):  # libyaml's own limit (1000 levels)
            _fail_too_deep(text, fail)
        mark = e.problem_mark or e.context_mark
        problem = e.problem or str(e)
        hint = (mark and syntax_hint(text, mark.line, mark.column)) or (
            "fix the YAML syntax at this point"
        )
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
            f"the {'defaults file' if path.name in DEFAULTS_NAMES else 'spec'} is {kind}, "
            "not a mapping of keys",
            "write `key: value` lines, e.g. `dag_id: my_pipeline`",
            m.line + 1,
            m.column + 1,
        )
    budget = [MAX_NODES]
    data = _convert(root, (), doc, budget, fail)
    doc.data = cast(dict[str, Json], data)  # root is a MappingNode (checked above): data is a dict
    return doc


# `key: value` or `- key: value` (a greedy value, stripped after: a lazy one before ` *$` would take
# quadratic time on a long line of spaces).
_KEY_VALUE = re.compile(r"(?P<indent> *)(?:- +)?(?P<key>[^\s:#'\"][^:#]*?):(?: +(?P<value>.*))?")


def syntax_hint(text: str, line: int, column: int) -> str:
    """What most likely causes a YAML syntax error at the 0-based `line` and `column`, for the
    mistakes a new user makes: a value that starts with `*` (YAML reads an alias: an unquoted cron
    like `*/15 * * * *`), a line indented to a column no key above it starts at, a value with `: `
    in it. '' when it is none of these."""
    lines = _LINE_BREAK.split(text)
    if line >= len(lines):
        return ""
    here = lines[line]
    m = _KEY_VALUE.fullmatch(here)
    key, value = (m["key"], (m["value"] or "").rstrip(" ")) if m else ("", "")
    shown = value if len(value) <= 60 and len(key) <= 60 else None
    if m is not None and value.startswith("*") and column >= m.start("value"):
        return "a value that starts with `*` is a YAML alias: put it in quotes" + (
            f', `{key}: "{shown}"`' if shown else ""
        )
    indent = len(here) - len(here.lstrip(" "))
    above: list[
        tuple[int, int]
    ] = []  # (indentation, line number) of the lines that enclose this one, nearest first
    for number in range(line - 1, -1, -1):
        text_above = lines[number]
        if not text_above.strip() or text_above.lstrip().startswith("#"):
            continue
        width = len(text_above) - len(text_above.lstrip(" "))
        if not above or width < above[-1][0]:
            above.append((width, number))
    if above and indent not in {w for w, _ in above}:
        width, number = max(((w, n) for w, n in above if w < indent), default=above[-1])
        near = _KEY_VALUE.fullmatch(lines[number])
        like = (
            f", like `{near['key']}:` on line {number + 1}"
            if near and len(near["key"]) <= 60
            else ""
        )
        return (
            f"bad indentation: this line starts at column {indent + 1}, where no key above it "
            f"starts; put it at the column of the keys it belongs with (column {width + 1}{like}); "
            "the keys inside a key are indented more than that key"
        )
    if m is not None and ": " in value and column > m.start("value"):
        return "a value with `: ` in it must be quoted" + (f': `{key}: "{shown}"`' if shown else "")
    return ""


class _Fail(Protocol):
    """What load's `fail` is: it raises LoadError at (line, col) and never returns."""

    def __call__(self, message: str, hint: str = "", line: int = 0, col: int = 0) -> NoReturn: ...


def _fail_not_yaml(text: str, fail: _Fail) -> None:
    """Fail at the first character YAML does not allow, naming it (PyYAML only says "unacceptable
    character" at a position that libyaml counts in bytes)."""
    bad = _NOT_YAML.search(text)
    if bad:
        lines = _LINE_BREAK.split(text[: bad.start()])
        code = ord(bad.group())
        fail(
            f"{'control ' if code < 0xA0 else ''}character U+{code:04X} is not allowed in YAML",
            f'delete it; to put it in a value, write it as the escape "\\u{code:04x}" '
            "inside double quotes",
            len(lines),
            len(lines[-1]) + 1,
        )


def _fail_too_deep(text: str, fail: _Fail) -> None:
    """Fail at the first list or mapping nested more than MAX_DEPTH levels, found in the parser's
    flat stream of events (for when composing the nodes gave up on the depth itself). With the
    pure-Python parser: libyaml's reads a flow collection to its end (or its own limit) first."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH + 1:  # the root mapping is the first level, as path () in _convert
                _fail_at(event.start_mark, fail, *_TOO_DEEP)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


_TOO_DEEP = (
    f"lists and mappings are nested more than {MAX_DEPTH} levels deep",
    "flatten the structure (or remove an alias that contains itself)",
)
_TOO_MANY = (
    f"the spec expands to more than {MAX_NODES} values",
    "an alias (*name) or merge key (<<) repeats too much: "
    "write the values out or nest aliases less",
)


class _Mark(Protocol):
    """Where a node or event starts (PyYAML's Mark, or libyaml's)."""

    line: int  # from 0
    column: int


def _fail_at(mark: _Mark | None, fail: _Fail, message: str, hint: str) -> NoReturn:
    """fail() at `mark`; PyYAML types an event's mark as optional, though its parser sets it."""
    fail(message, hint, mark.line + 1 if mark else 0, mark.column + 1 if mark else 0)


def _convert(
    node: yaml.Node, path: SpecPath, doc: Document, budget: list[int], fail: _Fail
) -> Json:
    """The value of `node` (at `path`), with its position and every position below it noted in
    `doc`. `budget` holds the number of nodes still allowed (see MAX_NODES)."""
    mark = node.start_mark
    budget[0] -= 1
    if budget[0] < 0:
        _fail_at(mark, fail, *_TOO_MANY)
    if len(path) > MAX_DEPTH:  # deeper data would crash the recursion here and in every later step
        _fail_at(mark, fail, *_TOO_DEEP)
    doc.positions[path] = (mark.line + 1, mark.column + 1)
    if (
        node.tag == _STR
        and type(node) is yaml.ScalarNode
        and (node.style or node.value[:1] not in _NUMBER_START)
    ):  # most values, the quick way: text that YAML 1.1 and 1.2 read alike (see below)
        text = node.value  # (what SafeConstructor's construct_yaml_str gives)
        return substitute(text, path, doc) if "$" in text else text
    # A plain value's type was guessed from its text; plain text (most values) that cannot look
    # like a YAML 1.2 number is the same in both versions, so it skips the closer look.
    if (
        isinstance(node, yaml.ScalarNode)
        and not node.style  # plain
        and (node.tag != _STR or node.value[:1] in _NUMBER_START)
    ):
        surprise = _yaml11_surprise(node, doc.text)
        if surprise:
            _fail_at(mark, fail, *surprise)
    if node.tag not in _ALLOWED_TAGS:
        fail(
            f"YAML tag '{node.tag.replace(_T, '!!')}' is not allowed",
            "specs hold plain values only: remove the tag",
            mark.line + 1,
            mark.column + 1,
        )
    if node.tag == _STR and isinstance(node, yaml.ScalarNode):  # most values: the text itself
        text = node.value  # (what SafeConstructor's construct_yaml_str gives)
        return substitute(text, path, doc) if "$" in text else text
    if isinstance(node, yaml.MappingNode):
        return _convert_mapping(node, path, doc, budget, fail)
    if isinstance(node, yaml.SequenceNode):
        return _convert_sequence(node, path, doc, budget, fail)
    if node.tag == _T + "timestamp":
        return node.value  # kept as text: the validator parses dates with a clear message
    try:
        value = _constructor.yaml_constructors[node.tag](_constructor, node)
    except (ValueError, yaml.YAMLError) as e:
        if node.tag != _T + "int":  # a well-formed int fails only by its length (checked below)
            fail(
                f"cannot read value {_short(node.value)}: {e}",
                "quote it to keep it as text",
                mark.line + 1,
                mark.column + 1,
            )
        value = _INT_LIMIT
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:  # str() of it would fail later
        fail(
            f"the integer has more than {MAX_INT_DIGITS} digits",
            "write a smaller number, or quote it to keep it as text",
            mark.line + 1,
            mark.column + 1,
        )
    return substitute(value, path, doc) if isinstance(value, str) and "$" in value else value


_INT_LIMIT = 10**MAX_INT_DIGITS


def _short(text: str, most: int = 40) -> str:
    """repr(text), cut to about `most` characters: a message never echoes a whole huge value."""
    return repr(text if len(text) <= most else text[:most] + "...")


# YAML 1.2's core schema, as editors and JSON Schema tools read a plain value; the rest is text.
_YAML12 = re.compile(
    r"(?P<null>~|null|Null|NULL|)|(?P<bool>true|True|TRUE|false|False|FALSE)"
    r"|(?P<int>[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)"
    r"|(?P<float>[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
)
# The values both versions read alike (most numbers, true, false, null): no closer look needed.
_SAME = re.compile(
    r"[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*(?:[eE][-+][0-9]+)?)?"
    r"|true|True|TRUE|false|False|FALSE|~|null|Null|NULL|"
)
# What a plain value YAML 1.2 reads as a number starts with.
_NUMBER_START = frozenset("+-.0123456789")
_OCTAL_11 = re.compile(r"[-+]?0+[1-7][0-7]+")  # octal in YAML 1.1, decimal in 1.2, and they differ


def _yaml11_surprise(node: yaml.ScalarNode, text: str) -> tuple[str, str] | None:
    """(message, hint) when the plain value `node` means one thing in YAML 1.1, as PyYAML reads it,
    and another in YAML 1.2, as the author's editor and JSON Schema tools read it: `on`, `yes`,
    `no`, `off` (booleans in 1.1, text in 1.2), `010` (8 and 10), `2:00` (120 and text), `1_000`,
    `0b1`, or `1e3` and `0o7` (text in 1.1, numbers in 1.2). Such a value is refused rather than
    read either way, so that a spec means what every tool shows it to mean: quotes or the plain
    form (`true`, `10`) say it for sure."""
    value = node.value
    if _SAME.fullmatch(value):
        return None
    m = _YAML12.fullmatch(value)
    new = m.lastgroup if m and m.lastgroup else "str"  # (a match always has a last group)
    old = node.tag.removeprefix(_T)
    old = "str" if old == "timestamp" else old  # dates are kept as text (see _convert)
    octal = old == "int" and _OCTAL_11.fullmatch(value)
    if (old == new or {old, new} <= {"int", "float"}) and not octal:
        return None
    start, end = node.start_mark.index, node.end_mark.index
    if "!" in text[start:end]:  # an explicit tag (`!!str on`) says what is meant
        return None
    message = (
        f"`{value}` is {_reading(old, node, 11)} in YAML 1.1 "
        f"but {_reading(new, node, 12)} in YAML 1.2"
    )
    if "bool" in (old, new):
        return (
            message,
            f"write true or false for a boolean, or put it in quotes ('{value}') for text",
        )
    if {old, new} & {"int", "float"}:
        return (
            message,
            f"write the number in plain digits, or put it in quotes ('{value}') for text",
        )
    return message, f"put it in quotes ('{value}') for text"


def _reading(tag: str, node: yaml.ScalarNode, version: int) -> str:
    """How YAML `version` (11 or 12) reads the plain value `node` that it tags `tag`, in words."""
    value = node.value
    if tag not in ("str", "bool", "int", "float"):
        return "null" if tag == "null" else f"a '!!{tag}'"
    if len(value) > 20:  # only short values are worth computing and printing
        return {"str": "text", "bool": "a boolean"}.get(tag, "a number")
    if tag == "str":
        return f"the text '{value}'"
    if version == 11:
        return str(_constructor.yaml_constructors[node.tag](_constructor, node)).lower()
    if tag == "int":  # 1.2 reads `0o17` and `09`, which 1.1 takes for text
        return str(int(value[2:], 8) if value.startswith("0o") else int(value))
    return str(float(value)) if tag == "float" else value.lower()  # `1e3`; `true`, `false`


# `${NAME}` or `${NAME:-default}`; `$${` is a literal `${`. Anything else after `${` is a mistake,
# but for `${{ name }}` and `$${{`, which reuse.py substitutes (a block's parameter, a family's key).
_REFERENCE = re.compile(
    r"\$?\$\{\{|\$\$\{|\$\{(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\})?"
)


def substitute(
    text: str, path: SpecPath, doc: Document, environ: Mapping[str, str] | None = None
) -> str:
    """`text` with every ${NAME} (or ${NAME:-default}) replaced from the environment, at load time.
    An unset NAME without a default, or a `${` that starts no reference, is noted in
    doc.environment_problems; the text keeps it as written."""
    environ = os.environ if environ is None else environ

    def replace(m: re.Match[str]) -> str:
        whole = m.group(0)
        if whole.endswith("{{"):  # reuse.py's
            return whole
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


def _convert_sequence(
    node: yaml.SequenceNode, path: SpecPath, doc: Document, budget: list[int], fail: _Fail
) -> list[Json]:
    result: list[Json] = []
    shallow = len(path) < MAX_DEPTH  # the items' paths are within the depth limit
    for i, item in enumerate(node.value):
        at = (*path, i)
        text = _text(item, at, doc, budget, fail) if shallow else None
        result.append(_convert(item, at, doc, budget, fail) if text is None else text)
    return result


def _text(
    node: yaml.Node, at: SpecPath, doc: Document, budget: list[int], fail: _Fail
) -> str | None:
    """_convert's first case (text that YAML 1.1 and 1.2 read alike: most values) for a list item
    or a mapping's value within the depth limit, without _convert's other checks; None for any
    other node, which _convert takes."""
    if node.tag != _STR or type(node) is not yaml.ScalarNode:
        return None
    text: str = node.value
    if not node.style and text[:1] in _NUMBER_START:
        return None
    budget[0] -= 1
    mark = node.start_mark
    if budget[0] < 0:
        _fail_at(mark, fail, *_TOO_MANY)
    doc.positions[at] = (mark.line + 1, mark.column + 1)
    return substitute(text, at, doc) if "$" in text else text


def _convert_mapping(
    node: yaml.MappingNode, path: SpecPath, doc: Document, budget: list[int], fail: _Fail
) -> dict[str, Json]:
    result: dict[str, Json] = {}
    pairs: list[_Pair] = node.value
    for key_node, _ in pairs:
        if key_node.tag == _MERGE:  # rare: only then the pairs need merging
            pairs = _merged_pairs(node, fail, budget)
            break
    key_positions = doc.key_positions
    shallow = len(path) < MAX_DEPTH  # the values' paths are within the depth limit
    for key_node, value_node in pairs:
        km = key_node.start_mark
        if not isinstance(key_node, yaml.ScalarNode):
            fail("a key must be a plain name", "write `name: value`", km.line + 1, km.column + 1)
        key = key_node.value  # keys stay text: `on:` or `1:` name things, they are not booleans
        at = (*path, key)
        if key in result:
            fail(
                f"duplicate key '{key}' (first defined at line {key_positions[at][0]})",
                "YAML keeps only the last one: remove or rename one of them",
                km.line + 1,
                km.column + 1,
            )
        key_positions[at] = (km.line + 1, km.column + 1)
        text = _text(value_node, at, doc, budget, fail) if shallow else None
        result[key] = _convert(value_node, at, doc, budget, fail) if text is None else text
    return result


_Pair: TypeAlias = tuple[yaml.Node, yaml.Node]  # a mapping's key node and value node


def _merged_pairs(
    node: yaml.MappingNode, fail: _Fail, budget: list[int], depth: int = 0
) -> list[_Pair]:
    """The mapping's key/value node pairs with YAML merge keys (`<<: *anchor`) applied. Every pair
    walked in a merged mapping counts against the alias budget, and merges nest at most MAX_DEPTH
    deep: `<<: [*a, *a]` doubled 40 times would otherwise walk 2**40 pairs."""
    own: list[_Pair] = []
    merged: list[_Pair] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
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
                if depth >= MAX_DEPTH:
                    _fail_at(src.start_mark, fail, *_TOO_DEEP)
                budget[0] -= len(src.value)
                if budget[0] < 0:
                    _fail_at(src.start_mark, fail, *_TOO_MANY)
                merged += _merged_pairs(src, fail, budget, depth + 1)
        else:
            own.append((key_node, value_node))
    own_keys = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
    inherited: list[_Pair] = []
    taken: set[str] = set()
    for k, v in merged:
        if k.value not in own_keys and k.value not in taken:
            inherited.append((k, v))
            taken.add(k.value)
    return inherited + own
