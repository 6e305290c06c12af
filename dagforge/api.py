"""The library API: `build` and `validate` run the steps in order over a set of specs.

load -> validate -> model -> render -> format -> verify -> write. A spec that fails a step is
reported and left out; the others go on. Nothing reaches the output folder unverified (when Airflow
is there to verify with) and nothing reaches it half-written.
"""

from __future__ import annotations

import tempfile
import traceback
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import targets
from .diagnostics import Diagnostic
from .format import format_source
from .load import Document, LoadError, display_path, find_specs, load
from .model import Pipeline, build_model
from .render import render
from .validate import duplicate_dag_ids
from .validate import validate as validate_document
from .write import remove_stale, write_atomic


@dataclass
class SpecResult:
    path: Path
    display: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source_lines: list[str] = field(default_factory=list)
    pipeline: Pipeline | None = None
    code: str | None = None  # the formatted DAG file
    output: Path | None = None  # where it was written
    internal_error: str | None = None  # a traceback: dagforge failed on this spec (a bug)

    @property
    def ok(self) -> bool:
        return self.internal_error is None and not any(d.severity == "error" for d in self.diagnostics)

    def guard(self, step, *args):
        """Run one step for this spec; an unexpected exception marks the spec, not the whole build."""
        try:
            return step(*args)
        except Exception:  # noqa: BLE001 - reported as an internal error of this spec
            self.internal_error = traceback.format_exc()
            return None


@dataclass
class BuildResult:
    specs: list[SpecResult] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # about the paths given, not a spec
    verified: bool = False
    removed: list[Path] = field(default_factory=list)  # generated files whose spec is gone
    warnings: list[str] = field(default_factory=list)  # about the build as a whole, not a spec

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.specs)

    @property
    def invalid(self) -> list[SpecResult]:
        return [s for s in self.specs if not s.ok]


def validate(paths=("specs",)) -> BuildResult:
    """Check every spec under `paths`; writes nothing."""
    result, _ = _check(paths)
    return result


def build(paths=("specs",), output="generated_dags", verify: bool | None = None, airflow=targets.DEFAULT) -> BuildResult:
    """Validate, generate for Airflow `airflow` ("3" or "2"), verify (default: when Airflow is
    installed) and write every valid spec."""
    from . import verify as verifier

    target = targets.target(airflow)
    result, docs = _check(paths)
    for spec in result.specs:
        if spec.ok:
            spec.pipeline = spec.guard(build_model, docs.get(spec.path))
        if spec.ok:
            spec.code = spec.guard(lambda p: format_source(render(p, target.airflow)), spec.pipeline)
        if spec.ok:
            spec.diagnostics += _target_notes(spec.pipeline, docs[spec.path], target)
    good = [s for s in result.specs if s.ok]
    out = Path(output)
    insist = verify is True
    if verify is None:
        verify = verifier.airflow_installed()
    if verify and good:
        try:
            _verify(good, docs, out, target)
            result.verified = True
        except verifier.AirflowVersionMismatch as e:
            if insist:  # nothing is written unverified when verification was asked for
                result.problems.append(Diagnostic("dagforge", 0, 0, f"cannot verify: {e}; nothing was written: "
                                                  "run the build where that version is installed, or without --verify",
                                                  code="verify"))
                return result
            result.warnings.append(f"not verified: {e} (pass --no-verify to build without trying)")
    for spec in good:
        if spec.ok:
            spec.output = out / f"{spec.pipeline.dag_id}.py"
            write_atomic(spec.output, spec.code)
    if not result.problems:
        written = {s.display: s.output for s in result.specs if s.output}
        result.removed = remove_stale(out, written)
    return result


def _check(paths) -> tuple[BuildResult, dict[Path, Document]]:
    files, problems = find_specs([paths] if isinstance(paths, (str, Path)) else paths)
    result = BuildResult(problems=problems)
    docs: dict[Path, Document] = {}
    for path in files:
        spec = SpecResult(path, display_path(path))
        result.specs.append(spec)
        try:
            doc = load(path)
        except LoadError as e:
            spec.diagnostics.append(e.diagnostic)
            spec.source_lines = _lines(path)
            continue
        except Exception:  # noqa: BLE001 - an unreadable file, or a bug
            spec.internal_error = traceback.format_exc()
            continue
        spec.source_lines = doc.text.splitlines()
        spec.diagnostics += spec.guard(validate_document, doc) or []
        docs[path] = doc
    by_display = {s.display: s for s in result.specs}
    for d in duplicate_dag_ids([docs[s.path] for s in result.specs if s.ok and s.path in docs]):
        by_display[d.path].diagnostics.append(d)
    return result, docs


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _target_notes(p: Pipeline, doc: Document, target: targets.Target) -> list[Diagnostic]:
    """Warnings where the spec means something else on the target than on Airflow 3."""
    if target.duration_note and p.schedule_kind == "duration":
        note = doc.diag(("schedule",), target.duration_note,
                        "a cron schedule means the same on both versions", code="target")
        return [replace(note, severity="warning")]
    return []


def _verify(specs: list[SpecResult], docs: dict[Path, Document], out: Path, target: targets.Target) -> None:
    from .verify import AirflowVersionMismatch, verify

    with tempfile.TemporaryDirectory(prefix="dagforge-stage-") as stage:
        staged = {}
        for spec in specs:
            f = Path(stage, f"{spec.pipeline.dag_id}.py")
            f.write_text(spec.code, encoding="utf-8")
            staged[f] = spec
        # Where Airflow would import the user's modules from: the dags folder and the working folder.
        try:
            found = verify({f: s.pipeline for f, s in staged.items()}, sys_path=[out.resolve(), Path.cwd()],
                           airflow=target.airflow)
        except AirflowVersionMismatch:
            raise
        except Exception:  # noqa: BLE001 - the verifier itself failed: no spec can be called verified
            for spec in specs:
                spec.internal_error = traceback.format_exc()
            return
        for f, problems in found.items():
            spec = staged[f]
            for problem in problems:
                spec.diagnostics.append(docs[spec.path].diag(
                    (), f"verification failed: {problem}",
                    "this is a dagforge bug unless it names your own module: please report it", code="verify"))
