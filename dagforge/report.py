"""Reporting a result: compiler-style text, one JSON document, or GitHub Actions workflow commands.

- text: `file:line:col: error: message`, the source line with a caret and a hint, on stderr; what
  was written or removed on stdout; a summary line on stderr.
- json: one document on stdout with every diagnostic (file, line, column, code, message, hint).
- github: one `::error file=…,line=…,col=…::…` workflow command per diagnostic on stdout, so GitHub
  shows each problem inline on a pull request; the summary stays a plain line.

Exit codes: 0 all good, 1 a spec is invalid or a generated file is out of date, 2 usage error or
an output folder that cannot be written (disk full, read-only), 3 internal error.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import TextIO

from . import reuse
from .api import BuildResult, SpecResult
from .diagnostics import Code, Diagnostic, visible
from .version import version

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
FORMATS = ("text", "json", "github")
_VERBS = {"build": "built", "validate": "valid", "check": "checked", "catalog": "catalogued"}


def findings(result: BuildResult) -> list[tuple[Diagnostic, list[str]]]:
    """Every diagnostic of a result, each with the lines of the file it points into."""
    found: list[tuple[Diagnostic, list[str]]] = [(d, []) for d in result.problems]
    for spec in result.specs:
        found += [(d, spec.lines_of(d)) for d in spec.diagnostics]
        if spec.internal_error:
            found.append(
                (
                    Diagnostic(
                        spec.display,
                        0,
                        0,
                        f"internal error: {_last_line(spec.internal_error)}",
                        "this is a dagforge bug: please report it (--debug shows the traceback)",
                        code=Code.INTERNAL,
                    ),
                    [],
                )
            )
    found += [(d.diagnostic, d.lines) for d in getattr(result, "drift", [])]
    return found


def exit_code(result: BuildResult) -> int:
    if any(s.internal_error for s in result.specs):
        return EXIT_INTERNAL
    if result.problems or not result.specs:
        return EXIT_USAGE
    return EXIT_OK if result.ok else EXIT_INVALID


def summary(result: BuildResult, command: str) -> str:
    """The closing line of a validate, build or check ("" for the commands about one spec, when
    no spec was found: the problem or "no spec files" says it, and when the output folder could
    not be written: its one error line says it all)."""
    if command not in _VERBS or not result.specs:
        return ""
    if any(p.code == Code.ENVIRONMENT for p in result.problems):
        return ""
    if command == "build":
        return visible(_build_summary(result))
    # spec files (a family's DAGs are one spec, see reuse.py)
    bad = len({s.path for s in result.invalid})
    good = len({s.path for s in result.specs}) - bad
    text = f"{good} spec{'s' * (good != 1)} {_VERBS[command]}, {bad} invalid"
    if command == "check":
        drift = getattr(result, "drift", [])
        if drift:
            files = f"{len(drift)} generated file{'s' * (len(drift) != 1)}"
            text += (
                f"; {files} out of date: run `dagforge build` on the same specs, with the same `-o`"
            )
        elif result.ok and result.specs:
            text += "; every generated file is up to date"
    return text


LISTED = 3  # files named in a summary line; the others are counted


def _build_summary(result: BuildResult) -> str:
    """What a build did, counted: `2 built, 1 already up to date, 0 invalid`, then what of what it
    wrote was verified (`; 2 verified with Airflow's DagBag`, `; not verified (--no-verify)`,
    `; 1 verified, 1 not: churn.py (...)`)."""
    built = result.built
    counts = [f"{len(built)} built"]
    fresh = sum(1 for s in result.specs if s.ok and s.up_to_date)
    if fresh:
        counts.append(f"{fresh} already up to date")
    unwritten = [s for s in result.specs if s.ok and not s.output]
    if unwritten:
        counts.append(f"{len(unwritten)} valid but not written")
    counts.append(f"{len(result.invalid)} invalid")
    text = ", ".join(counts)
    if not built and not unwritten:
        return text  # nothing that verification was about
    if result.not_verified:
        return text + f"; not verified ({result.not_verified})"
    verified = [s for s in built if s.verified]
    if len(verified) == len(built):
        return text + f"; {len(built)} verified with Airflow's DagBag"
    others = [s for s in built if not s.verified]
    named = ", ".join(
        f"{s.output.name} ({s.unverified})" if s.unverified else s.output.name
        for s in others[:LISTED]
        if s.output  # always: `built` holds only the specs whose file was written
    )
    more = f" and {len(others) - LISTED} more" if len(others) > LISTED else ""
    return text + f"; {len(verified)} verified, {len(others)} not: {named}{more}"


def counts(result: BuildResult) -> dict[str, int]:
    """The counts of a build's summary, for --format json."""
    return {
        "built": len(result.built),
        "up_to_date": sum(1 for s in result.specs if s.ok and s.up_to_date),
        "invalid": len(result.invalid),
        "verified": sum(1 for s in result.built if s.verified),
    }


def _once_per_package(result: BuildResult) -> dict[int, int]:
    """The provider-missing warnings a text or github report shows: the first of each package, with
    how many more tasks need it (by id of the diagnostic); the others are left out."""
    first: dict[str, int] = {}  # package -> id of its first diagnostic
    shown: dict[int, int] = {}
    for spec in result.specs:
        for d in spec.diagnostics:
            if d.code == Code.PROVIDER_MISSING:
                key = d.hint  # it names the package
                if key in first:
                    shown[first[key]] += 1
                else:
                    first[key] = id(d)
                    shown[id(d)] = 0
    return shown


def _shown(d: Diagnostic, collapsed: dict[int, int]) -> Diagnostic | None:
    """`d` as a text or github report shows it (see _once_per_package), None to leave it out."""
    if d.code != Code.PROVIDER_MISSING:
        return d
    if id(d) not in collapsed:
        return None
    more = collapsed[id(d)]
    return (
        replace(d, message=d.message + f" (and {more} more task{'s' * (more != 1)})") if more else d
    )


def emit(
    result: BuildResult,
    command: str,
    fmt: str = "text",
    debug: bool = False,
    diff: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    verbose: bool = False,
) -> int:
    """Print a result in `fmt`; returns the exit code. `verbose`: name each file a build wrote."""
    out, err = out or sys.stdout, err or sys.stderr
    code = exit_code(result)
    if fmt == "json":
        print(json.dumps(document(result, command, code), indent=2), file=out)
        return code
    if fmt == "github":
        collapsed = _once_per_package(result)
        for d, _ in findings(result):
            shown = _shown(d, collapsed)
            if shown is not None:
                print(github_command(shown), file=out)
        for warning in getattr(result, "warnings", []):
            print(f"::warning title=dagforge::{_escape(visible(warning))}", file=out)
        if debug:
            for spec in result.specs:
                if spec.internal_error:
                    print(_traceback(spec.internal_error), file=err)
    else:
        _text(result, command, debug, out, err, verbose)
    if diff:
        for d in getattr(result, "drift", []):
            out.write(d.diff())
    if summary(result, command):
        print(summary(result, command), file=err)
    if not result.specs and not result.problems:
        print("dagforge: no spec files (*.yaml, *.yml) found", file=err)
    return code


def _text(
    result: BuildResult,
    command: str,
    debug: bool,
    out: TextIO,
    err: TextIO,
    verbose: bool = False,
) -> None:
    """Compiler-style lines; every value in them is escaped (see diagnostics.visible)."""
    for problem in result.problems:
        print(problem.format(), file=err)
    collapsed = _once_per_package(result)
    for spec in result.specs:
        for d in spec.diagnostics:  # a defaults.yaml's problem points into that file, not the spec
            shown = _shown(d, collapsed)
            if shown is not None:
                print(shown.format(spec.lines_of(shown)), file=err)
        if spec.internal_error:
            if debug:
                print(_traceback(spec.internal_error), file=err)
            print(
                visible(f"{spec.display}: internal error: {_last_line(spec.internal_error)}")
                + ", please report it"
                + ("" if debug else " (--debug shows the traceback)"),
                file=err,
            )
        if verbose and command == "build" and spec.output and not spec.up_to_date:
            print(f"wrote {visible(spec.output.as_posix())}", file=out)
    for d in getattr(result, "drift", []):
        print(d.diagnostic.format(d.lines), file=err)
    for path in getattr(result, "removed", []):
        print(f"removed {visible(path.as_posix())} (its spec is gone)", file=out)
    for warning in getattr(result, "warnings", []):
        print(f"dagforge: warning: {visible(warning)}", file=err)


def _last_line(text: str) -> str:
    return text.strip().split("\n")[-1]


def _traceback(text: str) -> str:
    """A traceback as lines of escaped text (its last line may quote a value)."""
    return "\n".join(visible(line) for line in text.rstrip().split("\n"))


def document(result: BuildResult, command: str, code: int) -> dict[str, object]:
    """The JSON document of a result."""
    doc: dict[str, object] = {
        "dagforge": version(),
        "command": command,
        "ok": code == EXIT_OK,
        "exit_code": code,
        "summary": summary(result, command),
        "diagnostics": [diagnostic_json(d) for d, _ in findings(result)],
        "specs": [_spec_json(s, command) for s in result.specs],
        "warnings": list(getattr(result, "warnings", [])),
    }
    if command == "build":
        doc["counts"] = counts(result)
        doc["not_verified"] = result.not_verified or None
        doc["rendered"] = result.rendered
        doc["removed"] = [p.as_posix() for p in result.removed]
    if command == "check":
        doc["drift"] = [
            {"kind": d.kind, "output": d.output.as_posix(), "spec": d.spec}
            for d in getattr(result, "drift", [])
        ]
    return doc


def diagnostic_json(d: Diagnostic) -> dict[str, object]:
    return {
        "file": d.path,
        "line": d.line,
        "column": d.column,
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "hint": d.hint,
    }


def _spec_json(spec: SpecResult, command: str) -> dict[str, object]:
    if spec.internal_error:
        status = "internal-error"
    elif not spec.ok:
        status = "invalid"
    elif command == "build":
        status = "up-to-date" if spec.up_to_date else ("written" if spec.output else "not-written")
    else:
        status = "valid"
    found: dict[str, object] = {
        "spec": spec.display,
        "dag_id": spec.pipeline.dag_id if spec.pipeline else None,
        "status": status,
        "output": spec.output.as_posix() if spec.output else None,
    }
    if command == "build":  # loaded in Airflow's DagBag by this build (an up-to-date file was not)
        found["verified"] = spec.verified
    return found


def github_command(d: Diagnostic) -> str:
    """A GitHub Actions workflow command that annotates the diagnostic's file and line."""
    props: dict[str, object] = {"file": visible(d.path)}
    if d.line:
        props.update(line=d.line, col=d.column)
    props["title"] = f"dagforge: {d.code}"
    # A line break of a value shows as `\n`; only the one before the hint is a real one.
    message = visible(d.message) + (f"\nhint: {visible(d.hint)}" if d.hint else "")
    level = "warning" if d.severity == "warning" else "error"
    attrs = ",".join(f"{k}={_escape(str(v), True)}" for k, v in props.items())
    return f"::{level} {attrs}::{_escape(message)}"


def _escape(text: str, prop: bool = False) -> str:
    """GitHub's escaping of workflow command data (and, for properties, of `:` and `,`)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def blocks_text(listed: list[reuse.Listed]) -> str:
    """`dagforge blocks`: each block, its file, description, parameters and uses."""
    out: list[str] = []
    for item in listed:
        block = item.block
        out.append(f"{block.name}  ({block.doc.display})")
        if block.description:
            out.append(f"  {block.description}")
        params = block.parameters
        width = max((len(name) for name in params), default=0)
        for name, spec in params.items():
            spec = spec if isinstance(spec, dict) else {}
            kind = spec.get("type", "any")
            given = f" = {json.dumps(spec['default'])}" if "default" in spec else ", required"
            about = f"  {spec['description']}" if isinstance(spec.get("description"), str) else ""
            out.append(f"  {name:<{width}}  {kind}{given}{about}")
        if not params:
            out.append("  (no parameters)")
        out.append(f"  used by: {', '.join(item.used_by) if item.used_by else 'no spec'}")
        out.append("")
    if not listed:
        out.append(
            "no blocks: write them as blocks/NAME.yaml beside the specs or in a folder above"
        )
    return "\n".join(visible(line) for line in out).rstrip("\n") + "\n"
