"""Drift: how the output folder differs from what `dagforge build` would write. Reads, never writes.

Four kinds, each named with its file and the way to fix it:
- missing:     a valid spec has no generated file;
- hand-edited: the generated file is not what dagforge wrote: its output-sha256 no longer matches,
               or it claims the current input but its bytes differ from a fresh render
               (`dagforge build` would overwrite the edit), or it has no dagforge header at
               all (build refuses to overwrite it: someone else's file sits where the DAG goes);
- stale:       the file is intact but was made from another input (the spec, its path, an
               environment value, a defaults.yaml or doc_md file, dagforge's version or templates
               changed since: the header's inputs-sha256 line tells which), so `dagforge build`
               would write it anew;
- orphaned:    a generated file whose spec is gone (or now writes another file), among the specs
               checked: build removes it (write.orphans decides for both).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from . import stamp, write
from .diagnostics import Code, Diagnostic
from .load import display_path


class DriftKind(StrEnum):
    MISSING = "missing"
    HAND_EDITED = "hand-edited"
    STALE = "stale"
    ORPHANED = "orphaned"


KINDS = tuple(DriftKind)
FIX = "run `dagforge build` on the same specs, with the same `-o`"


@dataclass
class Drift:
    kind: DriftKind
    output: Path
    spec: str | None  # the spec's path as messages name it (None for an orphan whose spec is gone)
    diagnostic: Diagnostic
    lines: list[str]  # the lines of the file the diagnostic points into (for the caret)
    actual: str | None  # what is there (None: nothing)
    expected: str | None = None  # what build would write (None: nothing, or not computed)

    def diff(self) -> str:
        """A unified diff from what is there to what `dagforge build` would write."""
        name = self.output.as_posix()
        before = (self.actual or "").splitlines(keepends=True)
        after = (self.expected or "").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            f"{name} (on disk)" if self.actual is not None else "/dev/null",
            f"{name} (dagforge build)" if self.expected is not None else "/dev/null",
        )
        return "".join(
            line if line.endswith("\n") else line + "\n\\ No newline at end of file\n"
            for line in lines
        )


def compare(
    spec: str, spec_lines: list[str], output: Path, expected: str, source: str | None = None
) -> Drift | None:
    """The drift of one valid spec's generated file, or None when it is byte for byte `expected`,
    what build would write now. Only the bytes decide: the header's hashes are a plain sha256 anyone
    can recompute, so they only help to name the kind of drift. `source` is how the file's header
    names the spec (write.source_name)."""
    name = output.as_posix()
    actual = stamp.read_file(output)
    if actual is None:
        d = Diagnostic(
            spec, 0, 0, f"{name} is missing: it is generated from this spec", FIX, code=Code.MISSING
        )
        return Drift(DriftKind.MISSING, output, spec, d, spec_lines, None, expected)
    if actual == expected:
        return None
    found = stamp.read_stamp(actual)
    # Intact and claiming the current input, yet different: edited, its output-sha256 recomputed.
    now = stamp.read_stamp(expected)
    claims_current = found.hashes.get("input") == now.hashes.get("input")
    if found.source is None or ("output" in found.hashes and (not found.intact or claims_current)):
        line = _first_difference(actual, expected)
        if found.source is not None:
            what = f"was edited by hand: `dagforge build` would overwrite it with the DAG of {spec}"
            hint = f"make the change in {spec} instead, then {FIX}"
        else:  # someone else's file where the DAG goes: build refuses to overwrite it
            what = (
                f"is not a dagforge file: `dagforge build` will not write the DAG of {spec} there"
            )
            hint = f"give {spec} another dag_id, or move or delete {name} yourself"
        message = f"{name} {what}"
        d = Diagnostic(name, line, 1, message, hint, code=Code.HAND_EDITED)
        return Drift(DriftKind.HAND_EDITED, output, spec, d, actual.splitlines(), actual, expected)
    why = _why(found, now, spec, source, output.parent)
    d = Diagnostic(spec, 0, 0, f"{name} is stale: {why}", FIX, code=Code.STALE)
    return Drift(DriftKind.STALE, output, spec, d, spec_lines, actual, expected)


def orphaned(output: Path, moved_to: Path | None = None) -> Drift:
    """A generated file that build would remove: its spec is gone, or now generates `moved_to`."""
    name = output.as_posix()
    actual = stamp.read_file(output)
    found = stamp.read_stamp(actual or "")
    source = _named(found.source, found.legacy, output.parent) if found.source is not None else None
    why = (
        f"its spec {source} is gone"
        if moved_to is None
        else f"{source} now generates {moved_to.as_posix()}"
    )
    d = Diagnostic(
        name, 0, 0, f"{name} is orphaned: {why}", f"{FIX} (it removes the file)", code=Code.ORPHANED
    )
    return Drift(DriftKind.ORPHANED, output, source, d, [], actual, None)


def _named(source: str, legacy: bool, out: Path) -> str:
    """The spec a header names (`source`, `legacy`: its Stamp's), as messages name it."""
    return display_path(write.spec_path(source, legacy, out))


def _why(found: stamp.Stamp, now: stamp.Stamp, spec: str, source: str | None, out: Path) -> str:
    """Why an intact file is stale: what it was made from (its header, `found`) against what build
    would make it from now (`now`), naming each input whose digest differs."""
    if found.legacy or "input" not in found.hashes:
        return "it was generated by an older dagforge"
    if source is not None and found.source is not None and found.source != source:
        return f"it was generated from {_named(found.source, found.legacy, out)}"
    changed = sorted(
        (
            n
            for n in found.inputs.keys() | now.inputs.keys()
            if found.inputs.get(n) != now.inputs.get(n)
        ),
        key=_input_order,
    )
    if not found.inputs or not changed:  # a header from before the inputs-sha256 line, or a
        # change no digest of it covers (the header's hashes can be recomputed by anyone)
        return f"{spec} (or dagforge's version or templates) changed since it was generated"
    names = [_input_name(n, spec) for n in changed]
    joined = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"{joined} changed since it was generated"


_KINDS = ("spec", "env", "defaults", "doc_md", "generator", "airflow")


def _input_order(name: str) -> tuple[int, str]:
    kind = name.partition(":")[0]
    return (_KINDS.index(kind) if kind in _KINDS else len(_KINDS), name)


def _input_name(name: str, spec: str) -> str:
    """An input of stamp.input_digests as a message names it."""
    kind, _, rest = name.partition(":")
    if name == "spec":
        return spec
    if name == "generator":
        return "dagforge's version or templates"
    if name == "airflow":
        return "the target Airflow version (--airflow)"
    if kind == "env":
        return f"the environment variable {rest}"
    if kind in ("defaults", "doc_md"):  # relative to the spec's folder (model.build_model)
        return display_path(Path(os.path.normpath(Path(spec).parent / rest)))
    return name


def _first_difference(actual: str, expected: str) -> int:
    """The 1-based line of `actual` where it first differs from `expected`, its hash lines aside
    (unless only they differ)."""
    a, b = actual.splitlines(keepends=True), expected.splitlines(keepends=True)
    differ = [i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y]
    for i in differ:
        if not (stamp.is_hash_line(a[i]) and stamp.is_hash_line(b[i])):
            return i + 1
    if len(a) != len(b):
        return min(len(a), len(b)) + 1 if len(a) > len(b) else max(len(a), 1)
    return differ[0] + 1 if differ else 1
