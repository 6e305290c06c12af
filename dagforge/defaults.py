"""Shared defaults: a `defaults.yaml` in a spec folder applies to every spec below it.

The files are looked up from the spec's folder up to the working folder (only the spec's own folder
when the spec is outside it), so a stray defaults.yaml elsewhere on the machine never applies. The
farthest applies first and the nearest wins; the spec itself wins over all. Mappings merge key by
key, lists and plain values replace. Every inherited value remembers the file and line it came from.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from .diagnostics import Diagnostic, has_errors
from .load import DEFAULTS_NAMES as NAMES
from .load import Document, Json, LoadError, SpecPath, TooLarge, load, path_problem, read_bounded

NOT_SHARED = ("dag_id", "tasks", "for_each")  # what only a spec itself can say


@dataclass
class Defaults:
    doc: Document | None
    problems: list[Diagnostic] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)  # the file's lines, to show its problems in


def folders(folder: Path) -> list[Path]:
    """The folders whose defaults file applies to the specs in `folder`, the nearest first: it and
    those above it up to the working folder, when it is inside that."""
    folder, cwd = folder.resolve(), Path.cwd().resolve()
    out = [folder]
    if folder.is_relative_to(cwd):
        while folder != cwd:
            folder = folder.parent
            out.append(folder)
    return out


def chain(spec: Path) -> list[Path]:
    """The defaults files that apply to `spec`, the farthest first. Looked up once per folder until
    forget() (a build calls it when it starts): the specs of a folder share the answer."""
    return list(_chain_of(os.path.dirname(os.path.realpath(spec)), os.getcwd()))


@cache
def _chain_of(folder: str, cwd: str) -> tuple[Path, ...]:
    found: list[Path] = []
    for f in reversed(folders(Path(folder))):
        found += [f / name for name in NAMES if (f / name).is_file()][:1]
    return tuple(found)


def forget() -> None:
    """Look the defaults files up again (one may have appeared or gone since the last build)."""
    _chain_of.cache_clear()


def read(path: Path, check: Callable[[Document], list[Diagnostic]]) -> Defaults:
    """One defaults file, loaded and checked with `check(doc) -> diagnostics`. Like a spec, it must
    lie (symlinks followed) inside the folders it is looked up in (see chain)."""
    cwd = Path.cwd().resolve()
    problem = path_problem(path, cwd if path.parent.is_relative_to(cwd) else path.parent)
    if problem:
        return Defaults(None, [problem])
    try:
        doc = load(path)
    except LoadError as e:
        return Defaults(None, [e.diagnostic], _lines(path))
    problems = check(doc)
    lines = doc.text.splitlines() if problems else []
    return Defaults(doc if not has_errors(problems) else None, problems, lines)


def _lines(path: Path) -> list[str]:
    """The lines of a defaults file that did not load (read as load reads it: bounded)."""
    try:
        return read_bounded(path).decode("utf-8").splitlines()
    except (OSError, TooLarge, UnicodeDecodeError):
        return []


def apply(doc: Document, files: list[Document]) -> None:
    """Merge the defaults `files` (farthest first) under the spec `doc`, in place; note the origin
    of every inherited value in doc.origins (path -> "file:line")."""
    if not files:
        return
    merged: dict[str, Json] = {}
    origins: dict[SpecPath, str] = {}
    for d in files:
        merged = _merge_mappings(merged, d.data, (), d, origins)
    spec_paths = set(doc.positions)
    doc.data = _merge_mappings(merged, doc.data, (), None, origins)
    doc.origins = {p: o for p, o in origins.items() if p not in spec_paths}
    doc.inherited = {d.display: d.text for d in files}
    doc.environment.update({k: v for d in files for k, v in d.environment.items()})


def _merge(
    base: Json, over: Json, path: SpecPath, source: Document | None, origins: dict[SpecPath, str]
) -> Json:
    if isinstance(base, dict) and isinstance(over, dict):
        return _merge_mappings(base, over, path, source, origins)
    return _note(over, path, source, origins)


def _merge_mappings(
    base: dict[str, Json],
    over: dict[str, Json],
    path: SpecPath,
    source: Document | None,
    origins: dict[SpecPath, str],
) -> dict[str, Json]:
    out = dict(base)
    for key, value in over.items():
        out[key] = (
            _merge(base.get(key), value, (*path, key), source, origins)
            if key in base
            else _note(value, (*path, key), source, origins)
        )
    return out


def _note(
    value: Json, path: SpecPath, source: Document | None, origins: dict[SpecPath, str]
) -> Json:
    """`value`, noting where it came from (a replaced value forgets its old origins)."""
    for p in [p for p in origins if p[: len(path)] == path]:
        del origins[p]
    if source is not None:
        origins[path] = f"{source.display}:{source.where(path)[0]}"
    return value
