"""The library API: `build` and `validate` run the steps in order over a set of specs.

load -> validate -> model -> render -> format -> verify -> write. A spec that fails a step is
reported and left out; the others go on. Nothing reaches the output folder unverified (when Airflow
is there to verify with) and nothing reaches it half-written.
"""

from __future__ import annotations

import gc
import os
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

from . import config, defaults, diagram, drift, scaffold, stamp, targets
from .diagnostics import Diagnostic, has_errors
from .load import Document, LoadError, display_path, find_specs, load
from .model import CodeRef, Pipeline, build_model
from .validate import (
    cross_dag_problems,
    default_dag_id,
    duplicate_dag_ids,
    schema_path,
    unproduced_assets,
    validate_defaults,
)
from .validate import validate as validate_document
from .write import orphans, remove_stale, write_atomic

PARALLEL_ABOVE = 8  # more specs than this to build: load, validate, render and format them in a pool of processes


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
    verified: bool = False  # this build loaded its file in Airflow's DagBag and compared it
    unverified: str = ""  # a file written unverified: why, in a few words

    @property
    def ok(self) -> bool:
        return self.internal_error is None and not has_errors(self.diagnostics)

    def guard(self, step, *args):
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
    # Why the build verified nothing ("--no-verify", "Airflow is not installed", ...), if so.
    not_verified: str = ""
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

    @property
    def built(self) -> list[SpecResult]:
        """The specs whose file this build wrote."""
        return [s for s in self.specs if s.ok and s.output and not s.up_to_date]

    @property
    def verified(self) -> bool:
        """Whether this build wrote files and verified every one of them."""
        return bool(self.built) and all(s.verified for s in self.built)


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


def validate(
    paths=("specs",),
    airflow: str = targets.DEFAULT,
    import_timeout: float | None = None,
    verify: bool = True,
) -> BuildResult:
    """Check every spec under `paths`; writes nothing. Unless `verify` is False, also what build
    checks before loading a file, with the Airflow installed (for `airflow`): the operator classes'
    signatures against the arguments, and the python_callables (in the verification child: see
    `_verify`). Without Airflow, a warning says which checks did not run."""
    from . import verify as verifier

    result, docs = _check(paths)
    good = [s for s in result.specs if s.ok]
    for spec in good:
        spec.pipeline = spec.guard(build_model, docs[spec.path])
    good = [s for s in good if s.ok and _needs_code_check(s.pipeline)]
    if not verify or not good:
        return result
    if not verifier.airflow_installed():
        result.warnings.append(
            f"not checked: {_CODE_CHECKS} (they need Airflow: pip install 'dagforge[airflow]')"
        )
    else:
        try:
            _verify(good, docs, targets.target(airflow), import_timeout, out=None)
        except verifier.AirflowVersionMismatch as e:
            result.warnings.append(f"not checked: {_CODE_CHECKS} ({e})")
    return result


_CODE_CHECKS = "operator arguments against the classes' signatures, python_callables"


def _needs_code_check(p: Pipeline) -> bool:
    """Whether a task of `p` has something to check in Airflow that the schema does not cover: an
    operator given by import path or a short name without a schema of its own, a python_callable."""
    from .operators import SHORT

    return any(
        not (SHORT.get(t.operator_given) and SHORT[t.operator_given].schema)
        or isinstance(t.arguments.get("python_callable"), CodeRef)
        for t in p.tasks
    )


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
    """
    from . import verify as verifier

    target = targets.target(airflow)
    progress = progress or (lambda stage, done, total: None)
    out = Path(output)
    # Each spec goes on from validation to its generated file in the same worker: one pass, no barrier.
    result, docs = _check(
        paths,
        up_to_date=None if force else _up_to_date(out, target.airflow),
        then=partial(_prepare, airflow=target.airflow, out=out, force=force),
        progress=progress,
    )
    good = [
        s for s in result.specs if s.ok and not s.up_to_date
    ]  # still ok after the checks across specs
    result.rendered = len(good)
    insist = verify is True
    if verify is None:
        verify = verifier.airflow_installed()
        result.not_verified = "" if verify else "Airflow is not installed"
    elif not verify:
        result.not_verified = "--no-verify"
    if verify and good:
        progress("verifying with Airflow's DagBag", 0, len(good))  # Airflow starts up first
        try:
            _verify(
                good,
                docs,
                target,
                import_timeout,
                out=out,
                insist=insist,
                progress=lambda done, total: progress(
                    "verifying with Airflow's DagBag", done, total
                ),
            )
        except verifier.AirflowVersionMismatch as e:
            result.not_verified = str(e)
            if insist:  # nothing is written unverified when verification was asked for
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
    for i, spec in enumerate(good):
        if spec.ok:
            spec.output = out / f"{spec.pipeline.dag_id}.py"
            write_atomic(spec.output, spec.code)
        progress("writing", i + 1, len(good))
    if not result.problems:
        written = {s.display: s.output for s in result.specs if s.output}
        result.removed = remove_stale(out, written)
    return result


def check(paths=("specs",), output="generated_dags", airflow: str = targets.DEFAULT) -> CheckResult:
    """Compare `output` with what `build --airflow AIRFLOW` would write there: stale, hand-edited,
    missing and orphaned files (see drift.py). Writes nothing and never imports Airflow."""
    airflow = targets.target(airflow).airflow
    out = Path(output)
    result, docs = _check(paths, CheckResult, up_to_date=_up_to_date(out, airflow))
    files = {}
    for spec in result.specs:
        if spec.up_to_date:
            files[spec.display] = spec.output
            continue
        if spec.ok:
            spec.pipeline = spec.guard(_pipeline, docs.get(spec.path), airflow)
        if not spec.ok:
            continue
        p = spec.pipeline
        files[spec.display] = file = out / f"{p.dag_id}.py"
        found = spec.guard(
            drift.compare,
            spec.display,
            spec.source_lines,
            file,
            p.input_sha256,
            lambda: generate(p, airflow),
        )
        if found:
            result.drift.append(found)
    if not result.problems:
        kept = {
            f.resolve() for f in files.values()
        }  # a spec that moved is drift of its file, not an orphan
        result.drift += [
            drift.orphaned(path, moved_to)
            for path, moved_to in orphans(out, files)
            if path.resolve() not in kept
        ]
    return result


def graph(spec, format: str = "mermaid") -> GraphResult:
    """The task graph of one spec as Mermaid or DOT text, or as SVG text or PNG bytes through Graphviz."""
    result, p = _one(spec, GraphResult)
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
    result, p = _one(spec, ExplainResult)
    if p is not None:
        from . import describe  # cron words and run times: only for explain

        result.text = result.specs[0].guard(describe.explain, p, after or datetime.now(UTC))
    return result


def new(name: str, template: str = "etl", folder="specs") -> Path:
    """Write a commented starter spec `folder/name.yaml`; raises scaffold.ScaffoldError, never overwrites."""
    return scaffold.new_spec(name, template, folder)


def schema() -> str:
    """The JSON Schema of a spec, as text (for editors and check-jsonschema)."""
    return schema_path().read_text("utf-8")


def _one(spec, kind) -> tuple[BuildResult, Pipeline | None]:
    """Load, validate and model exactly one spec file."""
    result, docs = _check([spec], kind)
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
    only.pipeline = only.guard(build_model, docs[only.path])
    return result, only.pipeline


def _pipeline(doc: Document, airflow: str) -> Pipeline:
    """The model of a valid spec, with the input hash its generated file for `airflow` is stamped with."""
    p = build_model(doc)
    p.input_sha256 = stamp.input_sha256(p.source, doc.text, airflow, inputs=p.inputs)
    return p


def _current(target: Path, input_sha256: str) -> str | None:
    """The text of `target` when it is exactly what build would write for this input, else None."""
    text = stamp.read_file(target)
    return text if text is not None and stamp.read_stamp(text).current(input_sha256) else None


def _prepare(doc: Document, airflow: str, out: Path, force: bool) -> dict:
    """For a valid spec, the SpecResult fields of its generated file: its model, the notes for the
    target, and its code, from `out` when the file there is current (and not `force`), else rendered."""
    p = _pipeline(doc, airflow)
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
    whenever black's thousands of objects trip the collector: about 15% less CPU time."""
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


def _check(
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
        if seen.intact and seen.source not in intact:
            intact[seen.source] = (path, text, seen.hashes.get("input"))

    def mark(spec: SpecResult) -> bool:
        if spec.display not in intact:
            return False
        path, text, recorded = intact[spec.display]
        try:
            spec_text = spec.path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return False  # the full path reports it
        if any(m in spec_text for m in _OTHER_INPUTS) or any(m in text for m in _DEPENDS_ON_OTHERS):
            return False
        if (
            defaults.chain(spec.path)
            or stamp.input_sha256(spec.display, spec_text, airflow) != recorded
        ):
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
    try:
        return path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _target_notes(p: Pipeline, doc: Document, target: targets.Target) -> list[Diagnostic]:
    """Warnings where the spec means something else on the target than on Airflow 3."""
    if target.duration_note and p.schedule_kind == "duration":
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
    target: targets.Target,
    timeout: float | None = None,
    out: Path | None = None,
    insist: bool = False,
    progress=None,
) -> None:
    """Check `specs` in the verification child: their operator classes and callables and, with
    `out` (the folder the files go to), their generated files, loaded in Airflow's DagBag. Sets each
    spec's `verified`, or `unverified` (why not); with `insist`, a file that cannot be verified is
    an error of its spec. Without `out` (validate) nothing is rendered or loaded."""
    from .verify import AirflowVersionMismatch, verify

    if timeout is None:
        timeout = config.import_timeout()
    with tempfile.TemporaryDirectory(prefix="dagforge-stage-") as stage:
        staged = {}
        for spec in specs:
            if out is None:  # validate: the child only checks; the key only names the spec
                staged[spec.path] = spec
                continue
            f = Path(stage, f"{spec.pipeline.dag_id}.py")
            f.write_text(spec.code, encoding="utf-8")
            staged[f] = spec
        # Where Airflow would import the user's modules from: the dags folder and the working folder.
        try:
            found = verify(
                {f: s.pipeline for f, s in staged.items()},
                sys_path=[out.resolve(), Path.cwd()] if out else [Path.cwd()],
                airflow=target.airflow,
                timeout=timeout,
                load=out is not None,
                near=sorted({s.path.parent.resolve() for s in specs}),
                progress=progress,
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
            said = {d.line for d in spec.diagnostics if d.code == "provider-missing"}
            for x in findings:
                path = where.get(x.task_id, ()) + (
                    tuple(x.key) if isinstance(x.key, list) else (x.key,) if x.key else ()
                )
                severity, hint = x.severity, x.hint
                if severity == "warning" and x.unverified and insist:
                    # --verify: a file is written verified or not at all
                    severity = "error"
                    hint += "; or build without --verify to write the file unverified"
                elif severity == "warning" and doc.where(path)[0] in said:
                    continue  # validate already named the package to install
                at_key = x.key not in (None, "operator", "python_callable")
                spec.diagnostics.append(
                    replace(
                        doc.diag(path, x.message, hint, key=at_key, code="operator-check"),
                        severity=severity,
                    )
                )
            if out is not None:
                spec.verified = not found[f] and not any(x.unverified for x in findings)
                spec.unverified = next((x.why for x in findings if x.why), "")
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
