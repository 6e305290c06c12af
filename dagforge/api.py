"""The library API: `build` and `validate` run the steps in order over a set of specs.

load -> validate -> model -> render -> format -> verify -> write. A spec that fails a step is
reported and left out; the others go on. Nothing reaches the output folder unverified (when Airflow
is there to verify with) and nothing reaches it half-written.
"""

from __future__ import annotations

import gc
import os
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path

from . import config, defaults, diagram, drift, scaffold, stamp, targets, values, write
from .diagnostics import Diagnostic, has_errors
from .load import (
    DEFAULTS_NAMES,
    Document,
    LoadError,
    TooLarge,
    display_path,
    find_specs,
    load,
    read_bounded,
)
from .model import Pipeline, build_model
from .schemas import path as schema_path
from .validate import (
    cross_dag_problems,
    default_dag_id,
    duplicate_dag_ids,
    unproduced_assets,
    validate_defaults,
)
from .validate import validate as validate_document
from .write import OutputError, foreign, orphans, remove_stale, write_atomic

PARALLEL_ABOVE = 8  # more specs than this to build: load, validate, render and format them in a pool of processes
LOCK_TIMEOUT = 600.0  # seconds to wait for another build of the folder (DAGFORGE_LOCK_TIMEOUT)


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
    up_to_date: bool = (
        False  # its output already was what build writes: not rendered, verified or written
    )

    @property
    def ok(self) -> bool:
        return self.internal_error is None and not has_errors(self.diagnostics)

    def run_step(self, step, *args):
        """Run one step for this spec; an unexpected exception marks the spec, not the whole build."""
        try:
            return step(*args)
        except Exception:
            self.internal_error = traceback.format_exc()
            return None


@dataclass
class BuildResult:
    specs: list[SpecResult] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # about the paths given, not a spec
    verified: bool = False
    removed: list[Path] = field(default_factory=list)  # generated files whose spec is gone
    warnings: list[str] = field(default_factory=list)  # about the build as a whole, not a spec
    rendered: int = 0  # specs rendered by this build (the up-to-date ones are not)
    workers: int = 1  # processes that loaded, validated and rendered them

    @property
    def ok(self) -> bool:
        return not self.problems and all(s.ok for s in self.specs)

    @property
    def invalid(self) -> list[SpecResult]:
        return [s for s in self.specs if not s.ok]


@dataclass
class CheckResult(BuildResult):
    drift: list[drift.Drift] = field(default_factory=list)  # what build would change, file by file

    @property
    def ok(self) -> bool:
        return super().ok and not self.drift


@dataclass
class GraphResult(BuildResult):
    picture: str | bytes | None = None  # bytes for png


@dataclass
class ExplainResult(BuildResult):
    text: str | None = None


def validate(paths=("specs",)) -> BuildResult:
    """Check every spec under `paths`; writes nothing."""
    result, _ = _load_and_check(paths)
    return result


def build(
    paths=("specs",),
    output="generated_dags",
    verify: bool | None = None,
    force: bool = False,
    progress=None,
    airflow: str = targets.DEFAULT,
    import_timeout: float | None = None,
) -> BuildResult:
    """Validate, generate for Airflow `airflow` ("3" or "2"), verify (default: when Airflow is
    installed) and write every valid spec.

    A spec whose generated file is up to date (see stamp.py) is skipped unless `force`. `progress`,
    when given, is called as progress(stage, done, total) while the build goes on. Verifying, one
    import of the user's code may take `import_timeout` seconds (default: config.import_timeout()).
    A file that dagforge did not write is never overwritten or removed (see write.py); an output
    folder that cannot be written is a problem of the build (exit 2), not of a spec.
    """
    from . import verify as verifier

    out = Path(output)
    try:
        write.check_folder(out)  # before any work: `-o` names a file, or a link to nowhere
    except OutputError as e:
        return BuildResult(problems=[_environment(str(e))])
    target = targets.target(airflow)
    progress = progress or (lambda stage, done, total: None)
    # Each spec goes on from validation to its generated file in the same worker: one pass, no barrier.
    result, docs = _load_and_check(
        paths,
        up_to_date=None if force else _up_to_date(out, target.airflow),
        then=partial(_prepare, airflow=target.airflow, out=out, force=force),
        progress=progress,
    )
    good = [
        s for s in result.specs if s.ok and not s.up_to_date
    ]  # still ok after the checks across specs
    result.rendered = len(good)
    verify_required = verify is True
    if verify is None:
        verify = verifier.airflow_installed()
    if verify and good:
        progress("verifying with Airflow's DagBag", 0, 0)
        if import_timeout is None:
            import_timeout = config.import_timeout()
        try:
            _verify(good, docs, out, target, import_timeout)
            result.verified = True
        except verifier.AirflowVersionMismatch as e:
            if verify_required:  # nothing is written unverified when verification was asked for
                result.problems.append(
                    Diagnostic(
                        "dagforge",
                        0,
                        0,
                        f"cannot verify: {e}; nothing was written: "
                        "run the build where that version is installed, or without --verify",
                        code="verify",
                    )
                )
                return result
            result.warnings.append(f"not verified: {e} (pass --no-verify to build without trying)")
    if good or out.is_dir():  # else there is nothing to write or remove: no folder is made
        timeout = float(os.environ.get("DAGFORGE_LOCK_TIMEOUT", LOCK_TIMEOUT))
        try:
            with write.locked(out, timeout, partial(_waiting, out)):
                _write(result, good, docs, out, paths, progress)
        except OutputError as e:
            result.problems.append(_environment(str(e)))
    return result


def _waiting(out: Path) -> None:
    print(
        f"dagforge: waiting for another build of {out.as_posix()} to finish",
        file=sys.stderr,
        flush=True,
    )


def _environment(message: str) -> Diagnostic:
    """A problem of where build writes (a full disk, a read-only folder): exit 2, as for usage."""
    return Diagnostic("dagforge", 0, 0, message, code="environment")


def _write(result: BuildResult, good: list[SpecResult], docs, out: Path, paths, progress) -> None:
    """Write the files of `good` and remove the orphans, holding the output folder's lock: another
    build's remove_stale must not see this one's temporary files (nor this one's the other's)."""
    for i, spec in enumerate(good):
        file = out / f"{spec.pipeline.dag_id}.py"
        if spec.ok and foreign(file):
            spec.diagnostics.append(_foreign(docs[spec.path], file))
        elif spec.ok:
            try:
                write_atomic(file, spec.code)
            except OSError as e:  # the disk is full, the folder read-only: the next ones fail too
                result.problems.append(
                    _environment(f"cannot write {file.as_posix()}: {e.strerror or e}")
                )
                return
            spec.output = file
        progress("writing", i + 1, len(good))
    if result.problems:  # a path given is missing: what is gone from it cannot be told
        return
    try:
        result.removed = remove_stale(out, {s.path: s.output for s in result.specs}, _scope(paths))
    except OSError as e:
        result.problems.append(_environment(f"cannot remove {e.filename}: {e.strerror or e}"))


def _foreign(doc: Document, file: Path) -> Diagnostic:
    """A spec whose file would replace one dagforge did not write: at its dag_id, if it has one."""
    line, col = doc.where(("dag_id",), key=True) if ("dag_id",) in doc.key_positions else (0, 0)
    return Diagnostic(
        doc.display,
        line,
        col,
        f"{file.as_posix()} exists and was not written by dagforge: build does not overwrite it",
        f"give this spec another dag_id, or move or delete {file.as_posix()} yourself",
        code="foreign",
    )


def _scope(paths) -> list[Path]:
    """The files and folders a build was given, resolved (a defaults.yaml stands for its folder, as
    in find_specs): only a generated file whose spec lies in them can be an orphan."""
    given = [Path(p).resolve() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    return [p.parent if p.name in DEFAULTS_NAMES and p.is_file() else p for p in given]


def check(paths=("specs",), output="generated_dags", airflow: str = targets.DEFAULT) -> CheckResult:
    """Compare `output` with what `build --airflow AIRFLOW` would write there: stale, hand-edited,
    missing and orphaned files (see drift.py). Writes nothing and never imports Airflow."""
    airflow = targets.target(airflow).airflow
    out = Path(output)
    result, docs = _load_and_check(paths, CheckResult, up_to_date=_up_to_date(out, airflow))
    files = {}  # spec path -> the file it writes
    for spec in result.specs:
        if spec.up_to_date:
            files[spec.path] = spec.output
            continue
        if spec.ok:
            spec.pipeline = spec.run_step(_pipeline, docs.get(spec.path), airflow, out)
        if not spec.ok:
            continue
        p = spec.pipeline
        files[spec.path] = file = out / f"{p.dag_id}.py"
        found = spec.run_step(
            drift.compare,
            spec.display,
            spec.source_lines,
            file,
            p.input_sha256,
            lambda: generate(p, airflow),
            p.source,
        )
        if found:
            result.drift.append(found)
    if not result.problems:
        kept = {
            f.resolve() for f in files.values()
        }  # a spec that moved is drift of its file, not an orphan
        result.drift += [
            drift.orphaned(path, moved_to)
            for path, moved_to in orphans(out, files, _scope(paths))
            if path.resolve() not in kept
        ]
    return result


def graph(spec, format: str = "mermaid") -> GraphResult:
    """The task graph of one spec as Mermaid or DOT text, or as SVG text or PNG bytes through Graphviz."""
    result, p = _load_one_spec(spec, GraphResult)
    if p is not None:
        try:
            result.picture = diagram.draw(p, format)
        except (diagram.GraphvizMissing, diagram.GraphvizTimeout) as e:
            hint = (
                diagram.GRAPHVIZ_HINT
                if isinstance(e, diagram.GraphvizMissing)
                else "check that `dot -V` answers, or use --format mermaid or --format dot"
            )
            result.problems.append(
                Diagnostic(result.specs[0].display, 0, 0, str(e), hint, code="graphviz")
            )
    return result


def explain(spec, after: datetime | None = None) -> ExplainResult:
    """One spec in plain words: schedule, next runs after `after` (default: now), task policies, order."""
    result, p = _load_one_spec(spec, ExplainResult)
    if p is not None:
        from . import describe  # cron words and run times: only for explain

        result.text = result.specs[0].run_step(
            describe.describe_pipeline, p, after or datetime.now(UTC)
        )
    return result


def new(name: str, template: str = "etl", folder="specs") -> Path:
    """Write a commented starter spec `folder/name.yaml`; raises scaffold.ScaffoldError, never overwrites."""
    return scaffold.new_spec(name, template, folder)


def schema() -> str:
    """The JSON Schema of a spec, as text (for editors and check-jsonschema)."""
    return schema_path().read_text("utf-8")


def _load_one_spec(spec, kind) -> tuple[BuildResult, Pipeline | None]:
    """Load, validate and model exactly one spec file."""
    result, docs = _load_and_check([spec], kind)
    if not result.problems and len(result.specs) != 1:
        result.problems.append(
            Diagnostic(
                str(spec),
                0,
                0,
                f"expected one spec file, found {len(result.specs)}",
                "name a single .yaml file",
                code="usage",
            )
        )
    if result.problems or not result.specs[0].ok:
        return result, None
    only = result.specs[0]
    only.pipeline = only.run_step(build_model, docs[only.path])
    return result, only.pipeline


def _pipeline(doc: Document, airflow: str, out: Path) -> Pipeline:
    """The model of a valid spec, with the input hash its generated file in `out` for `airflow` is
    stamped with."""
    p = build_model(doc, write.source_name(doc.path, out))
    p.input_sha256 = stamp.input_sha256(p.source, doc.text, airflow, inputs=p.inputs)
    return p


def _current(target: Path, input_sha256: str) -> str | None:
    """The text of `target` when it is exactly what build would write for this input, else None."""
    text = stamp.read_file(target)
    return text if text is not None and stamp.read_stamp(text).current(input_sha256) else None


def _prepare(doc: Document, airflow: str, out: Path, force: bool) -> dict:
    """For a valid spec, the SpecResult fields of its generated file: its model, the notes for the
    target, and its code, from `out` when the file there is current (and not `force`), else rendered."""
    p = _pipeline(doc, airflow, out)
    notes = _target_notes(p, doc, targets.target(airflow))
    file = out / f"{p.dag_id}.py"
    current = None if force else _current(file, p.input_sha256)
    if current is not None:
        return {"pipeline": p, "notes": notes, "code": current, "output": file, "up_to_date": True}
    return {"pipeline": p, "notes": notes, "code": generate(p, airflow)}


def generate(p: Pipeline, airflow: str = targets.DEFAULT) -> str:
    """The generated file of one model for Airflow `airflow`: rendered, formatted, sealed."""
    from .format import format_source  # black and Jinja2 load only when something is rendered
    from .render import render

    return stamp.seal(format_source(render(p, airflow)))


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
    )


def _start_worker(parent: int) -> None:
    """In a pool worker: exit when the build process is gone (killed), instead of waiting forever.
    And collect garbage once per spec (`_one_in_worker`), over that spec's objects only, instead of
    whenever black's thousands of objects trip the collector, which costs more CPU time."""
    gc.freeze()
    gc.disable()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _one_in_worker(path: Path, then=None):
    try:
        return _load_and_validate_one(path, then)
    finally:
        gc.collect()  # this spec's garbage; what survives (caches) is frozen, not scanned again
        gc.freeze()


def _workers(jobs: int) -> int:
    """How many processes load, validate and render `jobs` specs: a pool only for more than a few."""
    return min(jobs, _cpus()) if jobs > PARALLEL_ABOVE and _cpus() > 1 else 1


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _load_and_check(
    paths, kind=BuildResult, up_to_date=None, then=None, progress=None
) -> tuple[BuildResult, dict[Path, Document]]:
    """Load and validate every spec under `paths` (in a pool of processes when there are many).

    With `up_to_date` (see `_up_to_date`), a spec it marks as up to date is not parsed again: it was
    valid when its generated file was written, from exactly what it is now. With `then` (see
    `_prepare`), each valid spec goes on to it in the same process; what it returns is set on the spec.
    """
    files, problems = find_specs([paths] if isinstance(paths, (str, Path)) else paths)
    result = kind(problems=problems)
    result.specs = [SpecResult(path, display_path(path)) for path in files]
    todo = [spec for spec in result.specs if not (up_to_date and up_to_date(spec))]
    result.workers = _workers(len(todo))
    docs, prepared = _load_and_validate(todo, then, progress)
    # An up-to-date spec whose dag_id a changed spec now takes too: parse it, so both are named.
    taken = {default_dag_id(doc) for doc in docs.values()}
    clashing = [s for s in result.specs if s.up_to_date and s.output.stem in taken]
    for spec in clashing:
        spec.up_to_date, spec.output, spec.code = False, None, None
    more_docs, more_prepared = _load_and_validate(clashing, then)
    docs.update(more_docs)
    prepared.update(more_prepared)
    by_display = {s.display: s for s in result.specs}
    for d in duplicate_dag_ids([docs[s.path] for s in result.specs if s.ok and s.path in docs]):
        by_display[d.path].diagnostics.append(d)
    valid = [docs[s.path] for s in result.specs if s.ok and s.path in docs]
    beside = _specs_beside(docs)
    invalid = {  # dag_id -> the spec that would define it, were it valid
        default_dag_id(docs[s.path]) if s.path in docs else s.path.stem: s.display
        for s in result.specs
        if not s.ok
    }
    for d in cross_dag_problems(valid, beside, invalid) + unproduced_assets(valid, beside):
        by_display[d.path].diagnostics.append(d)
    for (
        spec
    ) in result.specs:  # what `then` gave, for the specs still valid after the checks across specs
        if spec.ok and spec.path in prepared:
            fields = prepared[spec.path]
            spec.diagnostics += fields.pop("notes")
            for name, value in fields.items():
                setattr(spec, name, value)
    return result, docs


def _specs_beside(docs: dict[Path, Document]):
    """A lookup dag_id -> Document over the specs in the folders of `docs` that the build did not
    name (a hook that validates only the changed specs still knows the others). Loads them on first use."""
    found: dict[str, Document] | None = None

    def lookup(dag_id: str | None) -> Document | None:
        """The spec of `dag_id`; with None, a mapping of all of them (for did-you-mean hints)."""
        nonlocal found
        if found is None:
            found = {}
            files, _ = find_specs(sorted({path.parent for path in docs}))
            for path in files:
                if path in docs:
                    continue
                try:
                    doc = load(path)
                except Exception:
                    continue
                found.setdefault(default_dag_id(doc), doc)
        return found if dag_id is None else found.get(dag_id)

    return lookup


# In a generated file, the marks of a spec whose meaning depends on other specs (wait_for, assets).
_DEPENDS_ON_OTHERS = ("ExternalTaskSensor", "Asset", "Dataset")
# In a spec, the marks of inputs besides its own bytes (environment values, a doc_md file).
_OTHER_INPUTS = ("${", "doc_md")


def _up_to_date(out: Path, airflow: str):
    """A test `mark(spec) -> bool` that marks a spec up to date when its generated file in `out` is
    current, judged from the bytes alone, without parsing. Only for a spec whose output depends on
    nothing else: no defaults.yaml above it, no ${VAR}, no doc_md file, no other spec (wait_for,
    assets). The others take the full path, where their hash covers it all."""
    intact = {}  # the intact generated files, by the spec they name: source -> (file, text, input hash)
    for path in sorted(out.glob("*.py")) if out.is_dir() else ():
        text = stamp.read_file(path)
        seen = stamp.read_stamp(text or "")
        if seen.intact and not seen.legacy and seen.source not in intact:
            intact[seen.source] = (path, text, seen.hashes.get("input"))

    def mark(spec: SpecResult) -> bool:
        source = write.source_name(spec.path, out)
        if source not in intact:
            return False
        path, text, recorded = intact[source]
        try:
            spec_text = spec.path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return False  # the full path reports it
        if any(m in spec_text for m in _OTHER_INPUTS) or any(m in text for m in _DEPENDS_ON_OTHERS):
            return False
        if defaults.chain(spec.path) or stamp.input_sha256(source, spec_text, airflow) != recorded:
            return False
        spec.up_to_date, spec.output, spec.code = True, path, text
        return True

    return mark


def _load_and_validate(
    specs: list[SpecResult], then=None, progress=None
) -> tuple[dict[Path, Document], dict[Path, dict]]:
    """The documents of `specs` that loaded, and what `then` returned for the valid ones."""
    docs, prepared = {}, {}
    workers = _workers(len(specs))
    pool = _pool(workers) if workers > 1 else None
    paths = [s.path for s in specs]
    outcomes = (
        pool.map(partial(_one_in_worker, then=then), paths, chunksize=8)
        if pool
        else map(partial(_load_and_validate_one, then=then), paths)
    )
    with pool or nullcontext():
        for i, (spec, (doc, diagnostics, lines, error, then_gave)) in enumerate(
            zip(specs, outcomes)
        ):
            spec.diagnostics, spec.source_lines, spec.internal_error = diagnostics, lines, error
            if doc is not None:
                docs[spec.path] = doc
            if then_gave is not None:
                prepared[spec.path] = then_gave
            if progress:
                progress("building", i + 1, len(specs))
    return docs, prepared


@lru_cache(maxsize=64)
def _shared_defaults(path: Path, mtime_ns: int) -> defaults.Defaults:
    """One defaults.yaml, read and checked once per version of it (in each process)."""
    return defaults.read(path, validate_defaults)


def _load_and_validate_one(
    path: Path, then=None
) -> tuple[Document | None, list[Diagnostic], list[str], str | None, dict | None]:
    """(the document or None, its diagnostics, its lines, an internal error's traceback or None,
    what `then` returned for a valid spec or None)."""
    inherited: list[Diagnostic] = []
    try:
        doc = load(path)
        above = [_shared_defaults(f, f.stat().st_mtime_ns) for f in defaults.chain(path)]
        for shared in above:
            inherited += shared.problems
        defaults.apply(doc, [shared.doc for shared in above if shared.doc is not None])
    except LoadError as e:
        return None, [e.diagnostic], _lines(path), None, None
    except Exception:
        return None, [], [], traceback.format_exc(), None
    lines = doc.text.splitlines()
    try:
        diagnostics = inherited + validate_document(doc)
    except Exception:
        return doc, [], lines, traceback.format_exc(), None
    if then is None or has_errors(diagnostics):
        return doc, diagnostics, lines, None, None
    try:
        return doc, diagnostics, lines, None, then(doc)
    except Exception:
        return doc, diagnostics, lines, traceback.format_exc(), None


def _lines(path: Path) -> list[str]:
    """The lines of a spec that did not load, for its message (read as load reads it: bounded)."""
    try:
        return read_bounded(path).decode("utf-8").splitlines()
    except (OSError, TooLarge, UnicodeDecodeError):
        return []


def _target_notes(p: Pipeline, doc: Document, target: targets.Target) -> list[Diagnostic]:
    """Warnings where the spec means something else on the target than on Airflow 3."""
    if target.duration_note and p.schedule_kind == values.ScheduleKind.DURATION:
        note = doc.diag(
            ("schedule",),
            target.duration_note,
            "a cron schedule means the same on both versions",
            code="target",
        )
        return [replace(note, severity="warning")]
    return []


def _verify(
    specs: list[SpecResult],
    docs: dict[Path, Document],
    out: Path,
    target: targets.Target,
    timeout: float = config.DEFAULT_IMPORT_TIMEOUT,
) -> None:
    from .verify import AirflowVersionMismatch, verify

    with tempfile.TemporaryDirectory(prefix="dagforge-stage-") as stage:
        staged = {}
        for spec in specs:
            f = Path(stage, f"{spec.pipeline.dag_id}.py")
            f.write_text(spec.code, encoding="utf-8")
            staged[f] = spec
        # Where Airflow would import the user's modules from: the dags folder and the working folder.
        try:
            found = verify(
                {f: s.pipeline for f, s in staged.items()},
                sys_path=[out.resolve(), Path.cwd()],
                airflow=target.airflow,
                timeout=timeout,
            )
        except AirflowVersionMismatch:
            raise
        except Exception:
            for spec in specs:
                spec.internal_error = traceback.format_exc()
            return
        for f, findings in found.findings.items():
            spec, doc = staged[f], docs[staged[f].path]
            where = {t.task_id: t.where for t in spec.pipeline.tasks}
            lines_named = {d.line for d in spec.diagnostics if d.code == "provider-missing"}
            for finding in findings:
                path = where.get(finding.task_id, ()) + (
                    tuple(finding.key)
                    if isinstance(finding.key, list)
                    else (finding.key,)
                    if finding.key
                    else ()
                )
                if finding.severity == "warning" and doc.where(path)[0] in lines_named:
                    continue  # validate already named the package to install
                at_key = finding.key not in (None, "operator", "python_callable")
                spec.diagnostics.append(
                    replace(
                        doc.diag(
                            path, finding.message, finding.hint, key=at_key, code="operator-check"
                        ),
                        severity=finding.severity,
                    )
                )
        for f, problems in found.items():
            spec = staged[f]
            for problem in problems:
                spec.diagnostics.append(
                    docs[spec.path].diag(
                        (),
                        f"verification failed: {problem}",
                        "this is a dagforge bug unless it names your own module: please report it",
                        code="verify",
                    )
                )
