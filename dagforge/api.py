"""The library API: `build` and `validate` run the steps in order over a set of specs.

load -> validate -> model -> render -> format -> verify -> write. A spec that fails a step is
reported and left out; the others go on. Nothing reaches the output folder unverified (when Airflow
is there to verify with) and nothing reaches it half-written.
"""

from __future__ import annotations

import os
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import lru_cache, partial
from pathlib import Path
from typing import TypeVar, overload

from . import (
    advice,
    concurrency,
    config,
    defaults,
    diagram,
    drift,
    reuse,
    scaffold,
    stamp,
    targets,
    values,
    write,
)
from .diagnostics import Code, Diagnostic, Severity, has_errors
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
from .model import CodeRef, Pipeline, build_model, code
from .options import Options
from .schemas import path as schema_path
from .validate import (
    cross_dag_problems,
    default_dag_id,
    duplicate_dag_ids,
    target_problems,
    unproduced_assets,
    validate_defaults,
)
from .validate import validate as validate_document
from .write import OutputError, foreign, orphans, remove_stale, write_atomic

LOCK_TIMEOUT = 600.0  # seconds to wait for another build of the folder (DAGFORGE_LOCK_TIMEOUT)

# What a build is given: one spec file or folder, or several (see load.find_specs).
Paths = str | Path | Iterable[str | os.PathLike[str]]
# progress(stage, done, total), called while a build goes on (see progress.TerminalProgress).
Progress = Callable[[str, int, int], object]
T = TypeVar("T")
R = TypeVar("R", bound="BuildResult")


@dataclass(frozen=True)
class Prepared:
    """What a pool worker found out about a valid spec beyond validating it (see `_prepare`,
    `_prove`), for its SpecResult."""

    pipeline: Pipeline | None = None  # not sent back when it is not needed (a proven file)
    code: str | None = None  # the generated file
    output: Path | None = None  # the file that is already this code, or whose drift check shows
    up_to_date: bool = False  # the file in the output folder is byte for byte `code`
    notes: tuple[Diagnostic, ...] = ()  # where the spec means something else on the target
    advice: advice.Own | None = None  # its own advice, worked out beside its model

    def apply(self, spec: SpecResult) -> None:
        spec.pipeline, spec.code, spec.output = self.pipeline, self.code, self.output
        spec.up_to_date, spec.advice = self.up_to_date, self.advice
        spec.diagnostics += self.notes


# A step a valid spec goes on to in the worker that validated it.
Then = Callable[[Document], Prepared]
# A spec's DAG: its file, and its for_each item in a family (reuse.py), else None.
Key = tuple[Path, int | None]


@dataclass
class SpecResult:
    path: Path
    display: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    source_lines: list[str] = field(default_factory=list)
    # The lines of the defaults.yaml files its diagnostics point into, by their display path.
    inherited_lines: dict[str, list[str]] = field(default_factory=dict)
    pipeline: Pipeline | None = None
    code: str | None = None  # the formatted DAG file
    output: Path | None = None  # where it was written
    internal_error: str | None = None  # a traceback: dagforge failed on this spec (a bug)
    # its output already was, byte for byte, what build writes: rendered to compare, not verified
    # or written
    up_to_date: bool = False
    verified: bool = False  # this build loaded its file in Airflow's DagBag and compared it
    unverified: str = ""  # a file written unverified: why, in a few words
    item: int | None = None  # the for_each item whose DAG this is, in a family (reuse.py)
    advice: advice.Own | None = None  # worked out in the worker (advice.own); else by advice.apply

    @property
    def key(self) -> Key:
        return self.path, self.item

    @property
    def ok(self) -> bool:
        return self.internal_error is None and not has_errors(self.diagnostics)

    def lines_of(self, d: Diagnostic) -> list[str]:
        """The lines of the file the diagnostic `d` points into: the spec or a defaults.yaml."""
        return self.source_lines if d.path == self.display else self.inherited_lines.get(d.path, [])

    def run_step(self, step: Callable[..., T], *args: object) -> T | None:
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
    rendered: int = 0  # specs generated anew (the up-to-date ones are rendered only to compare)
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


@dataclass
class CatalogResult(BuildResult):
    written: list[Path] = field(default_factory=list)  # the catalog's files


def validate(
    paths: Paths = ("specs",),
    airflow: str = targets.DEFAULT,
    import_timeout: float | None = None,
    verify: bool = True,
) -> BuildResult:
    """Check every spec under `paths`; writes nothing. Unless `verify` is False, also what build
    checks before loading a file, with the Airflow installed (for `airflow`): the operator classes'
    signatures against the arguments, and the python_callables (in the verification child: see
    `_verify`). Without Airflow, a warning says which checks did not run."""
    from . import verify as verifier

    result, docs = _load_and_check(paths, BuildResult)
    for spec in result.specs:
        if spec.ok:
            # what the target version lacks is an error of validate too
            spec.diagnostics += target_problems(docs[spec.key], targets.target(airflow))
    good = [s for s in result.specs if s.ok]
    for spec in good:
        spec.pipeline = spec.run_step(build_model, docs[spec.key])
    good = [s for s in good if s.ok and s.pipeline and _needs_code_check(s.pipeline)]
    if not verify or not good:
        return result
    if not verifier.airflow_installed():
        result.warnings.append(
            f"not checked: {_CODE_CHECKS} (they need Airflow: pip install 'dagforge[airflow]')"
        )
    else:
        try:
            _verify(good, docs, Options.of(airflow, import_timeout=import_timeout), out=None)
        except verifier.AirflowVersionMismatch as e:
            result.warnings.append(f"not checked: {_CODE_CHECKS} ({e})")
    return result


_CODE_CHECKS = (
    "operator arguments against the classes' signatures, python_callables, callbacks, objects, "
    "macros, filters and deadline callbacks"
)


def _needs_code_check(p: Pipeline) -> bool:
    """Whether a task of `p` has something to check in Airflow that the schema does not cover: an
    operator given by import path or a short name without a schema of its own, a python_callable."""
    from .operators import SHORT

    s = p.settings
    return bool(code(p) or s.macros or s.filters or s.deadlines) or any(
        not (SHORT.get(t.operator_given) and SHORT[t.operator_given].schema)
        or isinstance(t.arguments.get("python_callable"), CodeRef)
        for t in p.tasks
    )


def build(
    paths: Paths = ("specs",),
    output: str | os.PathLike[str] = "generated_dags",
    verify: bool | None = None,
    force: bool = False,
    progress: Progress | None = None,
    airflow: str = targets.DEFAULT,
    import_timeout: float | None = None,
) -> BuildResult:
    """Validate, generate for Airflow `airflow` ("3" or "2"), verify (default: when Airflow is
    installed) and write every valid spec.

    A spec whose generated file is already byte for byte what it would write (rendered again to
    compare: see `_prepare`) is not verified or written again, unless `force`. `progress`,
    when given, is called as progress(stage, done, total) while the build goes on. Verifying, one
    import of the user's code may take `import_timeout` seconds (default: config.import_timeout()).
    A file that dagforge did not write is never overwritten or removed (see write.py); an output
    folder that cannot be written is a problem of the build (exit 2), not of a spec.
    """
    from . import verify as verifier

    options = Options.of(airflow, output, force=force, verify=verify, import_timeout=import_timeout)
    out = options.output
    try:
        write.check_folder(out)  # before any work: `-o` names a file, or a link to nowhere
    except OutputError as e:
        return BuildResult(problems=[_environment(str(e))])
    tell: Progress = progress or (lambda stage, done, total: None)
    # Each spec goes on from validation to its generated file in the same worker: one pass, no barrier.
    result, docs = _load_and_check(
        paths,
        BuildResult,
        then=partial(_prepare, options=options, moment=advice.moment()),
        progress=tell,
    )
    good = [
        s for s in result.specs if s.ok and not s.up_to_date
    ]  # still ok after the checks across specs
    result.rendered = len(good)
    verify_required = options.verify is True
    verifying = verifier.airflow_installed() if options.verify is None else options.verify
    if options.verify is None and not verifying:
        result.not_verified = "Airflow is not installed"
    elif not verifying:
        result.not_verified = "--no-verify"
    if verifying and good:
        tell("verifying with Airflow's DagBag", 0, len(good))  # Airflow starts up first
        try:
            _verify(
                good,
                docs,
                options,
                out=out,
                verify_required=verify_required,
                progress=lambda done, total: tell("verifying with Airflow's DagBag", done, total),
            )
        except verifier.AirflowVersionMismatch as e:
            result.not_verified = str(e)
            if verify_required:  # nothing is written unverified when verification was asked for
                result.problems.append(
                    Diagnostic(
                        "dagforge",
                        0,
                        0,
                        f"cannot verify: {e}; nothing was written: "
                        "run the build where that version is installed, or without --verify",
                        code=Code.VERIFY,
                    )
                )
                return result
            result.warnings.append(f"not verified: {e} (pass --no-verify to build without trying)")
    # Nothing to write (every spec failed, or verification failed them) and no folder yet: none is made.
    if any(s.ok for s in good) or out.is_dir():
        timeout = float(os.environ.get("DAGFORGE_LOCK_TIMEOUT", LOCK_TIMEOUT))
        try:
            with write.locked(out, timeout, partial(_waiting, out)):
                _write(result, good, docs, out, paths, tell)
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
    return Diagnostic("dagforge", 0, 0, message, code=Code.ENVIRONMENT)


def _write(
    result: BuildResult,
    good: list[SpecResult],
    docs: dict[Key, Document],
    out: Path,
    paths: Paths,
    progress: Progress,
) -> None:
    """Write the files of `good` and remove the orphans, holding the output folder's lock: another
    build's remove_stale must not see this one's temporary files (nor this one's the other's)."""
    for i, spec in enumerate(good):
        # _prepare gave every spec in `good` its model and code
        assert spec.pipeline is not None and spec.code is not None
        file = out / f"{spec.pipeline.dag_id}.py"
        if spec.ok and foreign(file):
            spec.diagnostics.append(_foreign(docs[spec.key], file))
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
        result.removed = remove_stale(out, _outputs(result.specs), _scope(paths))
    except OSError as e:
        result.problems.append(_environment(f"cannot remove {e.filename}: {e.strerror or e}"))


def _outputs(specs: list[SpecResult]) -> dict[Path, list[Path] | None]:
    """Every spec -> the files it writes (a family writes several), None when it writes none."""
    files: dict[Path, list[Path] | None] = {}
    for spec in specs:
        mine = files.setdefault(spec.path, [])
        if mine is not None and spec.ok and spec.output:
            mine.append(spec.output)
        elif not spec.ok or not spec.output:
            files[spec.path] = None
    return files


def _foreign(doc: Document, file: Path) -> Diagnostic:
    """A spec whose file would replace one dagforge did not write: at its dag_id, if it has one."""
    line, col = doc.where(("dag_id",), key=True) if ("dag_id",) in doc.key_positions else (0, 0)
    return Diagnostic(
        doc.display,
        line,
        col,
        f"{file.as_posix()} exists and was not written by dagforge: build does not overwrite it",
        f"give this spec another dag_id, or move or delete {file.as_posix()} yourself",
        code=Code.FOREIGN,
    )


def _scope(paths: Paths) -> list[Path]:
    """The files and folders a build was given, resolved (a defaults.yaml stands for its folder, as
    in find_specs): only a generated file whose spec lies in them can be an orphan."""
    given = [Path(p).resolve() for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    return [p.parent if p.name in DEFAULTS_NAMES and p.is_file() else p for p in given]


def check(
    paths: Paths = ("specs",),
    output: str | os.PathLike[str] = "generated_dags",
    airflow: str = targets.DEFAULT,
) -> CheckResult:
    """Compare `output` with what `build --airflow AIRFLOW` would write there: stale, hand-edited,
    missing and orphaned files (see drift.py). Every valid spec's file is rendered again and
    compared byte for byte: the header's hashes prove nothing, anyone can recompute them. Writes
    nothing and never imports Airflow."""
    options = Options.of(airflow, output)
    out = options.output
    prove = partial(_prove, options=options, moment=advice.moment())
    result, _ = _load_and_check(paths, CheckResult, then=prove)
    files = _outputs(result.specs)  # every spec found -> the files it writes (None: invalid)
    for spec in result.specs:
        if spec.ok and not spec.up_to_date:
            source = spec.pipeline.source if spec.pipeline else None
            found = spec.run_step(
                drift.compare, spec.display, spec.source_lines, spec.output, spec.code, source
            )
            if found:
                result.drift.append(found)
    proven = {spec.output for spec in result.specs if spec.ok and spec.up_to_date and spec.output}
    if not result.problems and (gone := orphans(out, files, _scope(paths), proven)):
        kept = {
            f.resolve() for fs in files.values() for f in fs or ()
        }  # a spec that moved: drift of its file
        result.drift += [
            drift.orphaned(path, moved_to) for path, moved_to in gone if path.resolve() not in kept
        ]
    return result


def graph(spec: str | os.PathLike[str], format: str = "mermaid") -> GraphResult:
    """The task graph of one spec as Mermaid or DOT text, or as SVG text or PNG bytes through Graphviz."""
    result, pipelines = _load_one_spec(spec, GraphResult)
    if len(pipelines) > 1:
        result.problems.append(
            Diagnostic(
                result.specs[0].display,
                0,
                0,
                f"the spec is a family of {len(pipelines)} DAGs (for_each): graph draws one DAG",
                "its DAGs have the same tasks: draw a copy of the spec with one item in for_each",
                code=Code.USAGE,
            )
        )
    elif pipelines:
        p = pipelines[0]
        try:
            result.picture = diagram.draw(p, format)
        except (diagram.GraphvizMissing, diagram.GraphvizTimeout) as e:
            hint = (
                diagram.GRAPHVIZ_HINT
                if isinstance(e, diagram.GraphvizMissing)
                else "check that `dot -V` answers, or use --format mermaid or --format dot"
            )
            result.problems.append(
                Diagnostic(result.specs[0].display, 0, 0, str(e), hint, code=Code.GRAPHVIZ)
            )
    return result


def explain(spec: str | os.PathLike[str], after: datetime | None = None) -> ExplainResult:
    """One spec in plain words: schedule, next runs after `after` (default: now), task policies, order."""
    result, pipelines = _load_one_spec(spec, ExplainResult)
    if pipelines:
        from . import describe  # cron words and run times: only for explain

        texts = [  # a family's DAGs one after another
            result.specs[0].run_step(describe.describe_pipeline, p, after or datetime.now(UTC))
            for p in pipelines
        ]
        if all(t is not None for t in texts):
            result.text = "\n".join(t for t in texts if t is not None)
    return result


def make_catalog(
    paths: Paths = ("specs",),
    output: str | os.PathLike[str] = "catalog",
    now: datetime | None = None,
    dags_folder: str | os.PathLike[str] = "generated_dags",
) -> CatalogResult:
    """Write the static site of the specs under `paths` into `output` (see catalog.py): an index
    and a page per DAG, with the next runs after `now` (default: now) and links to the generated
    files in `dags_folder` that exist. Writes nothing when a spec is invalid; removes the pages of
    DAGs that are gone (only pages a catalog wrote)."""
    from . import catalog as site  # Jinja2, markdown-it and the layout: only for the catalog

    result, docs = _load_and_check(paths, CatalogResult)
    if result.problems or not result.ok:
        return result
    entries = []
    for s in result.specs:
        p = s.pipeline = s.run_step(build_model, docs[s.key])
        if p is None:
            return result
        generated = Path(dags_folder) / f"{p.dag_id}.py"
        entries.append(site.Entry(p, docs[s.key], generated if generated.is_file() else None))
    out = Path(output)
    files = site.site(entries, out, now or datetime.now(UTC))
    for s, entry in zip(result.specs, entries, strict=True):
        s.output = out / entry.page
    try:
        write.check_folder(out)
        result.written, result.removed = site.write(files, out)
    except OutputError as e:
        result.problems.append(_environment(str(e)))
    except OSError as e:
        why = e.strerror or str(e)
        result.problems.append(_environment(f"cannot write to {out.as_posix()}: {why}"))
    return result


def new(name: str, template: str = "etl", folder: str | Path = "specs") -> Path:
    """Write a commented starter spec `folder/name.yaml`; raises scaffold.ScaffoldError, never overwrites."""
    return scaffold.new_spec(name, template, folder)


def schema() -> str:
    """The JSON Schema of a spec, as text (for editors and check-jsonschema)."""
    return schema_path().read_text("utf-8")


def _load_one_spec(spec: str | os.PathLike[str], kind: type[R]) -> tuple[R, list[Pipeline]]:
    """Load, validate and model exactly one spec file: its DAG, or the DAGs of a family."""
    result, docs = _load_and_check([spec], kind)
    found = len({s.path for s in result.specs})
    if not result.problems and found != 1:
        result.problems.append(
            Diagnostic(
                str(spec),
                0,
                0,
                f"expected one spec file, found {found}",
                "name a single .yaml file",
                code=Code.USAGE,
            )
        )
    if result.problems or not all(s.ok for s in result.specs):
        return result, []
    for s in result.specs:
        s.pipeline = s.run_step(build_model, docs[s.key])
    return result, [s.pipeline for s in result.specs if s.pipeline is not None]


def _pipeline(doc: Document, options: Options) -> Pipeline:
    """The model of a valid spec, with the input hash its generated file is stamped with."""
    p = build_model(doc, write.source_name(doc.path, options.output))
    airflow = options.target.airflow
    p.input_sha256 = stamp.input_sha256(p.source, doc.text, airflow, inputs=p.inputs)
    p.input_digests = stamp.input_digests(doc.text, airflow, inputs=p.inputs)
    return p


def _prepare(doc: Document, options: Options, moment: datetime | None = None) -> Prepared:
    """For a valid spec, its model, the notes for the target, and its code; up_to_date when the
    file in the output folder already is that code byte for byte (and not `force`). Its header's
    hashes do not decide that: anyone can recompute them after an edit. With `moment`
    (advice.moment), its own advice too."""
    p = _pipeline(doc, options)
    mine = None if moment is None else advice.own(p, doc, moment)
    notes = tuple(_target_notes(p, doc, options.target))
    if has_errors(notes):  # the target cannot say it: nothing to render
        return Prepared(p, notes=notes, advice=mine)
    file = options.output / f"{p.dag_id}.py"
    have = None if options.force else stamp.read_file(file)
    code = generate(p, options.target, have)
    if have is not None and code == have:
        return Prepared(p, code, file, up_to_date=True, notes=notes, advice=mine)
    return Prepared(p, code, notes=notes, advice=mine)


def _prove(doc: Document, options: Options, moment: datetime | None = None) -> Prepared:
    """For a valid spec (in a pool worker), up_to_date when its file in the output folder is byte
    for byte what build writes now, proven by rendering it again; else the model and what build
    would write, for drift.compare. With `moment` (advice.moment), its own advice too: the model is
    here, and for a proven file it is not sent back."""
    p = _pipeline(doc, options)
    mine = None if moment is None else advice.own(p, doc, moment)
    file = options.output / f"{p.dag_id}.py"
    actual = stamp.read_file(file)
    code = generate(p, options.target, actual)
    if code == actual:
        return Prepared(output=file, up_to_date=True, advice=mine)
    return Prepared(p, code, file, advice=mine)


def generate(
    p: Pipeline, target: targets.Target | str = targets.DEFAULT, have: str | None = None
) -> str:
    """The generated file of one model for Airflow `airflow`: rendered, formatted, sealed.

    When the sealed render is already `have` and black is sure to leave it as it is (the template
    writes black's layout: format.settled), that is what black would give too, and black is not run.
    """
    from .format import (
        format_source,
        settled,
    )  # Jinja2 and black load only when something is rendered
    from .render import render

    source = render(p, target)
    if have is not None and stamp.seal(source) == have and settled(source):
        return have
    return stamp.seal(format_source(source))


def _load_and_check(
    paths: Paths, kind: type[R], then: Then | None = None, progress: Progress | None = None
) -> tuple[R, dict[Key, Document]]:
    """Load and validate every spec under `paths` (in a pool of processes when there are many).

    With `then` (see `_prepare`, `_prove`), each valid spec goes on to it in the same process; what
    it returns is set on the spec.
    """
    files, problems = find_specs([paths] if isinstance(paths, (str, Path)) else paths)
    result = kind(problems=problems)
    result.workers = concurrency.workers_for(len(files))
    result.specs, docs, prepared = _load_and_validate(
        [SpecResult(path, display_path(path)) for path in files], then, progress
    )
    by_display: dict[str, SpecResult] = {}
    for s in result.specs:  # (a family's DAGs share the file: its first DAG takes the messages)
        by_display.setdefault(s.display, s)
    for d in duplicate_dag_ids([docs[s.key] for s in result.specs if s.ok and s.key in docs]):
        by_display[d.path].diagnostics.append(d)
    valid = [docs[s.key] for s in result.specs if s.ok and s.key in docs]
    beside = _SpecsBeside({path for path, _ in docs})
    invalid = {  # dag_id -> the spec that would define it, were it valid
        default_dag_id(docs[s.key]) if s.key in docs else s.path.stem: s.display
        for s in result.specs
        if not s.ok
    }
    for d in cross_dag_problems(valid, beside, invalid) + unproduced_assets(valid, beside):
        by_display[d.path].diagnostics.append(d)
    for (
        spec
    ) in result.specs:  # what `then` gave, for the specs still valid after the checks across specs
        if spec.ok and spec.key in prepared:
            prepared[spec.key].apply(spec)
    advice.apply(result, docs)  # warnings on the valid specs: docs/advice.md
    return result, docs


class _SpecsBeside:
    """The specs in the folders of a build's specs that the build did not name (a hook that validates
    only the changed specs still knows the others), by dag_id: a validate.SpecLookup. Loads them on
    first use."""

    def __init__(self, docs: set[Path]) -> None:
        self._docs = docs
        self._found: dict[str, Document] | None = None

    def _all(self) -> dict[str, Document]:
        if self._found is None:
            self._found = {}
            files, _ = find_specs(sorted({path.parent for path in self._docs}))
            for path in files:
                if path in self._docs:
                    continue
                try:
                    dags = reuse.family(load(path))[0]  # a family's DAGs, with their blocks
                    for dag in dags:
                        reuse.expand(dag, *reuse.finder(path))
                except Exception:
                    continue
                for dag in dags:
                    self._found.setdefault(default_dag_id(dag), dag)
        return self._found

    @overload
    def __call__(self, dag_id: str) -> Document | None: ...
    @overload
    def __call__(self, dag_id: None) -> dict[str, Document]: ...
    def __call__(self, dag_id: str | None) -> Document | dict[str, Document] | None:
        """The spec of `dag_id`; with None, all of them (for did-you-mean hints)."""
        return self._all() if dag_id is None else self._all().get(dag_id)


def _load_and_validate(
    specs: list[SpecResult], then: Then | None = None, progress: Progress | None = None
) -> tuple[list[SpecResult], dict[Key, Document], dict[Key, Prepared]]:
    """The results of `specs` (one per DAG: a family's spec gives one per item), the documents
    that loaded, and what `then` returned for the valid ones."""
    out: list[SpecResult] = []
    docs: dict[Key, Document] = {}
    prepared: dict[Key, Prepared] = {}
    paths = [s.path for s in specs]
    defaults.forget()  # (before the pool starts: its workers inherit the empty memo)
    one = partial(_load_and_validate_one, then=then)
    with concurrency.mapped(one, paths, concurrency.workers_for(len(specs))) as outcomes:
        for i, (first, dags) in enumerate(zip(specs, outcomes, strict=True)):  # one per spec
            for doc, diagnostics, lines, error, then_gave, inherited in dags:
                spec = first if doc is None or doc.item is None else replace(first, item=doc.item)
                spec.diagnostics, spec.source_lines, spec.internal_error = (
                    diagnostics,
                    lines,
                    error,
                )
                spec.inherited_lines = inherited
                if doc is not None:
                    docs[spec.key] = doc
                if then_gave is not None:
                    prepared[spec.key] = then_gave
                out.append(spec)
            if progress:
                progress("building", i + 1, len(specs))
    return out, docs, prepared


@lru_cache(maxsize=64)
def _shared_defaults(path: Path, mtime_ns: int, cwd: str) -> defaults.Defaults:
    """One defaults.yaml, read and checked once per version of it (in each process) and working
    folder: its messages and recorded inputs name it relative to that folder."""
    return defaults.read(path, validate_defaults)


# What loading and validating one spec gave (see _load_and_validate_one).
Outcome = tuple[
    Document | None, list[Diagnostic], list[str], str | None, Prepared | None, dict[str, list[str]]
]


def _load_and_validate_one(path: Path, then: Then | None = None) -> list[Outcome]:
    """One outcome per DAG of the spec (a family's: per item, when all are valid; else one):
    (the document or None, its diagnostics, its lines, an internal error's traceback or None,
    what `then` returned for a valid spec or None, the lines of each defaults.yaml or block that
    a diagnostic points into, by its display path)."""
    inherited: list[Diagnostic] = []
    shown: dict[str, list[str]] = {}
    try:
        doc = load(path)
        here = os.getcwd()
        above = [_shared_defaults(f, f.stat().st_mtime_ns, here) for f in defaults.chain(path)]
        for shared in above:
            inherited += shared.problems
            shown.update({d.path: shared.lines for d in shared.problems})
        defaults.apply(doc, [shared.doc for shared in above if shared.doc is not None])
    except LoadError as e:
        return [(None, [e.diagnostic], _lines(path), None, None, {})]
    except Exception:
        return [(None, [], [], traceback.format_exc(), None, {})]
    lines = doc.text.splitlines()
    try:
        dags, problems = reuse.family(doc)
        find, names = reuse.finder(path)
        found: list[tuple[Document, list[Diagnostic]]] = []
        for dag in dags:
            expanded = reuse.expand(dag, find, names)
            shown.update({name: text.splitlines() for name, text in dag.blocks.items()})
            # a spec whose blocks could not be used is not validated: its tasks are not all there
            checked = expanded if has_errors(expanded) else expanded + validate_document(dag)
            found.append((dag, checked))
    except Exception:
        return [(doc, [], lines, traceback.format_exc(), None, shown)]
    if has_errors(problems) or not found:
        return [(doc, inherited + problems, lines, None, None, shown)]
    found = [(dag, inherited + problems + checked) for dag, checked in found]
    if len(found) > 1 and any(has_errors(d) for _, d in found):  # a family is built whole or not
        return [(found[0][0], _family_diagnostics(found), lines, None, None, shown)]
    out: list[Outcome] = []
    for dag, diagnostics in found:
        if then is None or has_errors(diagnostics):
            out.append((dag, diagnostics, lines, None, None, shown))
            continue
        try:
            out.append((dag, diagnostics, lines, None, then(dag), shown))
        except Exception:
            out.append((dag, diagnostics, lines, traceback.format_exc(), None, shown))
    return out


def _family_diagnostics(found: list[tuple[Document, list[Diagnostic]]]) -> list[Diagnostic]:
    """The diagnostics of a family's DAGs, each once: one that only some items have names them."""
    items: dict[Diagnostic, list[int]] = {}
    for i, (_, diagnostics) in enumerate(found):
        for d in diagnostics:
            items.setdefault(d, []).append(i + 1)
    return [
        d
        if len(which) == len(found)
        else replace(
            d,
            message=f"{d.message} (for_each item{'s' * (len(which) > 1)} "
            f"{', '.join(map(str, which))})",
        )
        for d, which in items.items()
    ]


def _lines(path: Path) -> list[str]:
    """The lines of a spec that did not load, for its message (read as load reads it: bounded)."""
    try:
        return read_bounded(path).decode("utf-8").splitlines()
    except (OSError, TooLarge, UnicodeDecodeError):
        return []


def _target_notes(p: Pipeline, doc: Document, target: targets.Target) -> list[Diagnostic]:
    """Errors for what the target does not have; warnings where the spec means something else on
    the target than on Airflow 3."""
    problems = target_problems(doc, target)
    notes = []
    if target.duration_note and p.schedule_kind == values.ScheduleKind.DURATION:
        notes.append(
            doc.diag(
                ("schedule",),
                target.duration_note,
                "a cron schedule means the same on both versions",
                code=Code.TARGET,
            )
        )
    for t in p.tasks:
        if t.operator_given in target.operator_notes:
            message, hint = target.operator_notes[t.operator_given]
            notes.append(doc.diag((*t.where, "operator"), message, hint, code=Code.TARGET))
    return problems + [replace(note, severity=Severity.WARNING) for note in notes]


def _verify(
    specs: list[SpecResult],
    docs: dict[Key, Document],
    options: Options,
    out: Path | None = None,
    verify_required: bool = False,
    progress: Callable[[int, int], object] | None = None,
) -> None:
    """Check `specs` in the verification child: their operator classes and callables and, with
    `out` (the folder the files go to), their generated files, loaded in Airflow's DagBag. Sets each
    spec's `verified`, or `unverified` (why not); with `verify_required`, a file that cannot be verified is
    an error of its spec. Without `out` (validate) nothing is rendered or loaded."""
    from .verify import AirflowVersionMismatch, verify

    timeout = options.import_timeout
    if timeout is None:
        timeout = config.import_timeout()
    with tempfile.TemporaryDirectory(prefix="dagforge-stage-") as stage:
        staged: dict[Path, SpecResult] = {}
        models: dict[Path, Pipeline] = {}  # the same keys
        for spec in specs:
            # validate and build model every spec they verify (build in _prepare, with its code)
            assert spec.pipeline is not None
            if out is None:  # validate: the child only checks; the key only names the spec
                key = spec.path if spec.item is None else Path(f"{spec.path}[{spec.item + 1}]")
                staged[key], models[key] = spec, spec.pipeline
                continue
            assert spec.code is not None
            f = Path(stage, f"{spec.pipeline.dag_id}.py")
            f.write_text(spec.code, encoding="utf-8")
            staged[f], models[f] = spec, spec.pipeline
        # Where Airflow would import the user's modules from: the dags folder and the working folder.
        try:
            found = verify(
                models,
                sys_path=[out.resolve(), Path.cwd()] if out else [Path.cwd()],
                airflow=options.target,
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
            spec, doc = staged[f], docs[staged[f].key]
            # each task's path in the spec (a finding with no task_id is about the whole file)
            where: dict[str | None, tuple] = {t.task_id: t.where for t in models[f].tasks}
            lines_named = {d.line for d in spec.diagnostics if d.code == Code.PROVIDER_MISSING}
            for finding in findings:
                path = where.get(finding.task_id, ()) + (
                    tuple(finding.key)
                    if isinstance(finding.key, list)
                    else (finding.key,)
                    if finding.key
                    else ()
                )
                severity, hint = Severity(finding.severity), finding.hint
                if severity == "warning" and finding.unverified and verify_required:
                    # --verify: a file is written verified or not at all
                    severity = Severity.ERROR
                    hint += "; or build without --verify to write the file unverified"
                elif severity == "warning" and doc.where(path)[0] in lines_named:
                    continue  # validate already named the package to install
                at_key = finding.key not in (None, "operator", "python_callable")
                spec.diagnostics.append(
                    replace(
                        doc.diag(path, finding.message, hint, key=at_key, code=Code.OPERATOR_CHECK),
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
                    docs[spec.key].diag(
                        (),
                        f"verification failed: {problem}",
                        "this is a dagforge bug unless it names your own module: please report it",
                        code=Code.VERIFY,
                    )
                )
