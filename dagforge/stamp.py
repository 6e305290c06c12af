"""The generated header's hashes: what went into a file, and whether the file is still what came out.

    # source-sha256: the spec's bytes
    # input-sha256:  the spec's bytes and path, the target Airflow version, dagforge's version, its
    #                templates and its schema, and what else the spec reads at build time
    # inputs-sha256: a short digest of each of those inputs apart, so that check can name the one
    #                that changed (drift.py)
    # output-sha256: the file itself, without this line

Any change of the spec, of the target, of dagforge or of its templates changes input-sha256; an
edit of the file breaks output-sha256, unless whoever edited it recomputed that line, which anyone
can. So the hashes say what a file claims to be made from and help name a drift (drift.py), but
they never prove a file current: build and check render it again and compare the bytes. Within one
version, black's major version is pinned (pyproject.toml) and black keeps its stable style for a
major version, so the formatter needs no place in the hash.
"""

from __future__ import annotations

import ast
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path

from .schemas import path as schema_path
from .version import version
from .write import parse_header

_TEMPLATES = Path(__file__).parent / "templates"
_LINE = re.compile(r"^# (?P<name>source|input|output)-sha256: (?P<value>\S+)$")
_OUTPUT_LINE = re.compile(r"^# output-sha256: \S+\n", re.M)
_INPUTS_LINE = re.compile(r"^# inputs-sha256: (?P<value>.*)$")
# one `name=digest` of the inputs line: a plain name bare, any other as a Python string literal
_PLAIN = re.compile(r"[\w.:/@+-]+", re.ASCII)
_ENTRY = re.compile(
    r"""(?P<name>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[^\s"'=]+)=(?P<digest>[0-9a-f]+)"""
)
# hex digits of a digest on the inputs line: enough to tell two versions of one input apart
_SHORT = 12
_HEADER_LINES = 8  # the hashes sit in the first lines; nothing further down is ever read as one


@cache
def generator_digest() -> str:
    """A hash of everything of dagforge's own that shapes a generated file, besides the spec. Code
    changes come with a new version; within one, `build --force` re-renders everything."""
    h = hashlib.sha256()
    parts = [("version", version().encode()), ("schema", schema_path().read_bytes())]
    parts += [
        (f"templates/{f.name}", f.read_bytes()) for f in sorted(_TEMPLATES.iterdir()) if f.is_file()
    ]
    for name, data in parts:
        h.update(_framed(name.encode()) + _framed(data))
    return h.hexdigest()


def input_sha256(
    source: str,
    spec_text: str,
    airflow: str,
    generator: str | None = None,
    inputs: Mapping[str, str] | None = None,
) -> str:
    """The hash of all a generated file is made from: the spec (its path and bytes), the Airflow
    version it is written for, the generator, and `inputs`: what else shaped it (a doc_md file, the
    environment values it substituted, the defaults.yaml files it inherits), name -> text."""
    h = hashlib.sha256()
    parts: tuple[bytes, ...] = (
        source.encode("utf-8", "surrogateescape"),  # a file name that is not UTF-8 hashes too
        spec_text.encode("utf-8"),
        airflow.encode(),
        (generator or generator_digest()).encode(),
    )
    parts += tuple(f"{k}\0{v}".encode() for k, v in sorted((inputs or {}).items()))
    for part in parts:
        h.update(_framed(part))
    return h.hexdigest()


def input_digests(
    spec_text: str,
    airflow: str,
    generator: str | None = None,
    inputs: Mapping[str, str] | None = None,
) -> str:
    """The inputs-sha256 line's value: `name=digest` for the spec's bytes, the target Airflow version,
    the generator and each of `inputs` (as input_sha256 takes them), sorted by name. A digest of an
    environment value says no more than the generated file does, into which the value went."""
    digests = {
        "spec": _short("spec", spec_text),
        "airflow": _constant(airflow, "airflow"),  # (the same for every spec of a build)
        "generator": _constant(generator or generator_digest(), "generator"),
        **{name: _short(name, value) for name, value in (inputs or {}).items()},
    }
    return " ".join(
        f"{name if _PLAIN.fullmatch(name) else repr(name)}={digest}"
        for name, digest in sorted(digests.items())
    )


@lru_cache(maxsize=16)
def _constant(value: str, name: str) -> str:
    return _short(name, value)


def _short(name: str, value: str) -> str:
    data = _framed(name.encode("utf-8", "surrogateescape"))
    data += _framed(value.encode("utf-8", "surrogateescape"))
    return hashlib.sha256(data).hexdigest()[:_SHORT]


def _read_digests(value: str) -> dict[str, str]:
    """The name -> digest pairs of an inputs-sha256 line's value (what input_digests wrote)."""
    found: dict[str, str] = {}
    for entry in _ENTRY.finditer(value):
        name = entry["name"]
        if name[0] in "'\"":
            try:
                name = ast.literal_eval(name)
            except (ValueError, SyntaxError):
                continue
            if not isinstance(name, str):
                continue
        found.setdefault(name, entry["digest"])
    return found


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def seal(code: str) -> str:
    """Fill in the output-sha256 line of a formatted file."""
    around = _around_output_line(code)
    if around is None:
        raise ValueError("the generated code has no output-sha256 line")
    head, tail = around
    return f"{head}# output-sha256: {_output_hash(head, tail)}\n{tail}"


def _around_output_line(text: str) -> tuple[str, str] | None:
    """The text before and after the output-sha256 line (found once: every spec `check` proves is
    sealed again), or None when there is none."""
    line = _OUTPUT_LINE.search(text)
    return None if line is None else (text[: line.start()], text[line.end() :])


def _output_hash(head: str, tail: str = "") -> str:
    """The output hash of a file: of its text without the output-sha256 line (`head` + `tail`)."""
    h = hashlib.sha256(head.encode("utf-8"))
    h.update(tail.encode("utf-8"))
    return h.hexdigest()


@dataclass(frozen=True)
class Stamp:
    """What a file's header says about it."""

    source: str | None  # the spec named in the first line; None: not a dagforge file
    # "source" / "input" / "output" -> hex digest, as far as the header has them
    hashes: dict[str, str]
    intact: bool  # the header has an output-sha256 and the text matches it (or it was recomputed)
    legacy: bool = False  # an older header, naming the spec relative to the folder build ran in
    # input name ("spec", "generator", "airflow", "env:NAME", ...) -> short digest; empty for a
    # header from before the inputs-sha256 line
    inputs: dict[str, str] = field(default_factory=dict)


def read_stamp(text: str) -> Stamp:
    lines = [line.rstrip("\r") for line in text.split("\n", _HEADER_LINES)[:_HEADER_LINES]]
    header = parse_header(lines[0]) if lines else None
    hashes: dict[str, str] = {}
    inputs: dict[str, str] | None = None
    for line in lines[1:]:
        found = _LINE.match(line)
        if found:
            hashes.setdefault(found["name"], found["value"])
        elif inputs is None and (found := _INPUTS_LINE.match(line)):
            inputs = _read_digests(found["value"])
    around = _around_output_line(text) or (text, "")  # (no such line: the hash of the whole text)
    intact = bool(header) and "output" in hashes and hashes["output"] == _output_hash(*around)
    source, legacy = header or (None, False)
    return Stamp(source, hashes, intact, legacy, inputs or {})


def is_hash_line(line: str) -> bool:
    line = line.rstrip("\n")
    return bool(_LINE.match(line) or _INPUTS_LINE.match(line))


def read_file(path: Path) -> str | None:
    """The text of a generated file, or None when there is none (or it is not text)."""
    try:
        data = path.read_bytes()  # bytes: a changed line ending is an edit too
    except OSError:  # gone, a folder, unreadable: not a file build wrote (write.foreign says so)
        return None
    return data.decode("utf-8", errors="replace")
