"""`dagforge diff`: what a change to the specs changes for the running DAGs.

The specs at a git revision are read with git (`git ls-tree`, `git cat-file`) into a temporary
folder, never checked out in the user's tree, with their blocks, defaults.yaml and doc_md files;
both sides go through load -> validate -> model, and the models are compared DAG by DAG (by
dag_id, so a family's DAGs and a spec that moved are compared too). Values are compared as they are
shown (`show`), so two models that only name an import differently are the same.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from . import describe
from .api import BuildResult, SpecResult, _load_and_check
from .diagnostics import Code, Diagnostic
from .load import BLOCKS_FOLDER, DEFAULTS_NAMES, SPEC_SUFFIXES, Document
from .model import (
    Alerts,
    CodeRef,
    Function,
    Instance,
    Moment,
    Output,
    Pipeline,
    Task,
    XCom,
    build_model,
)

# A file bigger than this at the base revision is no spec, block or doc_md (load refuses them too).
LARGEST = 4 * 1024 * 1024


class DiffUsageError(Exception):
    """A revision or a folder diff cannot work with: not a git repository, an unknown revision."""


@dataclass(frozen=True)
class Change:
    """One semantic change. kind: dag or task (key: added, removed, renamed), edge (key: added,
    removed; the edge as `up >> down`), setting (key: the setting's name, `alerts.on_failure` for
    the recipients of an event, one change per recipient or tag added or removed), argument (key:
    the operator argument's name)."""

    kind: str
    key: str
    task: str | None  # the task it is about; None for the DAG's own settings and its edges
    before: str | None  # as shown (see `show`); None when it was not there
    after: str | None
    file: str = ""  # where it is in the working tree now, for annotations ("" when gone)
    line: int = 0


# The DAG's settings that decide when it runs: a change to one lists the runs that appear and go.
RUN_SETTINGS = ("schedule", "start_date", "end_date", "catchup")


@dataclass
class DagDiff:
    dag_id: str
    status: str  # added, removed, changed
    spec: str  # its spec file (now, or at the base when it is gone)
    changes: list[Change] = field(default_factory=list)
    runs_added: list[datetime] = field(default_factory=list)  # with a change of RUN_SETTINGS
    runs_removed: list[datetime] = field(default_factory=list)
    before: Pipeline | None = None
    after: Pipeline | None = None

    @property
    def runs_after(self) -> Change | None:
        """The last change of those that move the next runs, which they are shown after."""
        moving = [c for c in self.changes if c.task is None and c.key in RUN_SETTINGS]
        return moving[-1] if moving else None

    @property
    def renamed(self) -> dict[str, str]:
        """Old task id -> new task id."""
        return {
            c.before or "": c.after or ""
            for c in self.changes
            if c.kind == "task" and c.key == "renamed"
        }


@dataclass(frozen=True)
class Invalid:
    """A problem of a spec invalid at the base or now: its DAGs are not compared."""

    diagnostic: Diagnostic  # at the base: its message says so, its line is the base's
    lines: list[str]  # of the file it points into, on its side
    at_base: bool


@dataclass
class DiffResult:
    base: str
    dags: list[DagDiff] = field(default_factory=list)
    invalid: list[Invalid] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.dags or self.invalid)


# -- reading the base revision ------------------------------------------------------------------


def _git(args: list[str], cwd: Path, data: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, input=data, capture_output=True)
    except FileNotFoundError:
        raise DiffUsageError("git is not installed") from None
    if proc.returncode != 0:
        said = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DiffUsageError(said[-1] if said else f"git {args[0]} failed")
    return proc.stdout


def _toplevel(cwd: Path) -> Path:
    try:
        out = _git(["rev-parse", "--show-toplevel"], cwd)
    except DiffUsageError:
        raise DiffUsageError(
            f"{cwd} is not in a git repository: diff compares with a git revision"
        ) from None
    return Path(out.decode().strip())


def _commit(ref: str, top: Path) -> str:
    if ref.startswith("-"):  # never an option of git's
        raise DiffUsageError(f"unknown revision {ref!r}")
    try:
        return _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top).decode().strip()
    except DiffUsageError:
        raise DiffUsageError(
            f"unknown revision {ref!r}: name a branch, tag or commit (git log shows them)"
        ) from None


def needed(given: list[str], cwd: Path, top: Path) -> list[str]:
    """What loading the specs under `given` (paths relative to `cwd`) reads, as paths relative to
    the repository's top `top`: each folder given (a file's own folder: its doc_md files and the
    specs beside it that cross-DAG checks read), and the defaults files and blocks folders from
    there up to the working folder (see defaults.chain, reuse.folders)."""
    out: set[Path] = set()
    for name in given:
        path = Path(os.path.normpath(cwd / name))
        is_file = path.is_file() if path.exists() else path.suffix in SPEC_SUFFIXES
        folder = path.parent if is_file else path
        if folder.name == BLOCKS_FOLDER:  # a block given: the specs that may use it
            folder = folder.parent
        out.add(folder)
        while folder != cwd and folder != folder.parent:
            folder = folder.parent
            out.update(folder / f for f in (*DEFAULTS_NAMES, BLOCKS_FOLDER))
        out.update(cwd / f for f in (*DEFAULTS_NAMES, BLOCKS_FOLDER))
    return sorted({p.relative_to(top).as_posix() for p in out if p.is_relative_to(top)})


def snapshot(top: Path, commit: str, paths: list[str], into: Path) -> None:
    """The files at and under `paths` (relative to the repository's top `top`) at `commit`,
    written under `into` at their repository paths: blobs as files, symlinks as symlinks."""
    pathspecs = [f":(literal){p}" for p in paths]  # a name is a name, never a pattern
    listing = _git(["ls-tree", "-r", "-z", "-l", "--full-tree", commit, "--", *pathspecs], top)
    wanted: list[tuple[str, str, str]] = []  # (mode, object, path)
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw = entry.partition(b"\t")
        mode, kind, obj, size = meta.decode().split()
        if kind != "blob" or int(size) > LARGEST:  # submodules, and what no spec reads
            continue
        wanted.append((mode, obj, os.fsdecode(raw)))
    if not wanted:
        return
    data = _git(["cat-file", "--batch"], top, "".join(f"{o}\n" for _, o, _ in wanted).encode())
    at = 0
    root = into.resolve()
    for mode, _, name in wanted:
        header_end = data.index(b"\n", at)  # "<object> blob <size>"
        length = int(data[at:header_end].split()[2])
        body = data[header_end + 1 : header_end + 1 + length]
        at = header_end + 1 + length + 1
        dest = root / name
        if not dest.resolve().is_relative_to(root):  # git stores no `..`; never write outside
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if mode == "120000":
            os.symlink(os.fsdecode(body), dest)
        else:
            dest.write_bytes(body)


# -- loading both sides ---------------------------------------------------------------------------


@dataclass
class _Side:
    pipelines: dict[str, tuple[Pipeline, Document, SpecResult]] = field(default_factory=dict)
    invalid: list[SpecResult] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)  # paths given that are not there
    problems: list[Diagnostic] = field(default_factory=list)


def _side(paths: list[str]) -> _Side:
    """Load, validate and model the specs under `paths` (relative to the working folder)."""
    side = _Side()
    result, docs = _load_and_check(paths, BuildResult)
    for problem in result.problems:
        if problem.code == Code.USAGE and problem.message == "no such file or folder":
            side.missing.add(problem.path)
        else:
            side.problems.append(problem)
    for spec in result.specs:
        if spec.ok and spec.key in docs:
            p = spec.run_step(build_model, docs[spec.key])
            if p is not None:
                side.pipelines[p.dag_id] = (p, docs[spec.key], spec)
                continue
        side.invalid.append(spec)
    return side


def diff(
    paths: Iterable[str | os.PathLike[str]] = ("specs",),
    base: str = "HEAD",
    after: datetime | None = None,
) -> DiffResult:
    """The semantic changes of the specs under `paths` from the git revision `base` to the working
    tree; the next runs that appear or disappear are those after `after` (default: now). Raises
    DiffUsageError when there is no repository or no such revision."""
    cwd = Path.cwd().resolve()
    top = _toplevel(cwd)
    commit = _commit(base, top)
    given = []
    for name in paths:
        path = Path(os.path.abspath(name))
        if not path.is_relative_to(top):
            raise DiffUsageError(f"{os.fspath(name)} is outside the git repository {top}")
        given.append(os.path.relpath(path, cwd))
    now = _side(given)
    try:
        with tempfile.TemporaryDirectory(prefix="dagforge-diff-") as tmp:
            snapshot(top, commit, needed(given, cwd, top), Path(tmp))
            here = Path(tmp, cwd.relative_to(top))
            here.mkdir(parents=True, exist_ok=True)
            with contextlib.chdir(here):  # the same relative paths, so the same displays
                then = _side(given)
    except OSError as e:  # a full disk, no temporary folder: the environment's, not a bug
        raise DiffUsageError(
            f"cannot write the specs at {base} into a temporary folder: {e.strerror or e}"
        ) from None
    if gone := sorted(now.missing & then.missing):
        raise DiffUsageError(f"{gone[0]}: no such file or folder, now or at {base}")
    if now.problems:  # a spec outside its folder, a control character in a path
        raise DiffUsageError(f"{now.problems[0].path}: {now.problems[0].message}")
    result = DiffResult(base)
    for spec in then.invalid:
        result.invalid += [Invalid(_at(d, base), spec.lines_of(d), True) for d in _problems(spec)]
    for spec in now.invalid:
        result.invalid += [Invalid(d, spec.lines_of(d), False) for d in _problems(spec)]
    skip = {s.display for s in then.invalid + now.invalid}
    moment = after or datetime.now(UTC)
    for dag_id in sorted(then.pipelines.keys() | now.pipelines.keys()):
        old, new = then.pipelines.get(dag_id), now.pipelines.get(dag_id)
        if (old and old[2].display in skip) or (new and new[2].display in skip):
            continue
        if old is None and new is not None:
            pipeline, doc, spec = new
            line = doc.where(("dag_id",), key=True)[0] if ("dag_id",) in doc.key_positions else 1
            change = Change("dag", "added", None, None, dag_id, spec.display, line)
            result.dags.append(DagDiff(dag_id, "added", spec.display, [change], after=pipeline))
        elif new is None and old is not None:
            change = Change("dag", "removed", None, dag_id, None)
            result.dags.append(DagDiff(dag_id, "removed", old[2].display, [change], before=old[0]))
        elif old and new:
            found = compare(old[0], new[0], new[1], moment)
            if found.changes:
                found.spec = new[2].display
                result.dags.append(found)
    return result


def _problems(spec: SpecResult) -> list[Diagnostic]:
    if spec.internal_error:
        last = spec.internal_error.strip().splitlines()[-1]
        return [Diagnostic(spec.display, 0, 0, f"internal error: {last}", code=Code.INTERNAL)]
    return [d for d in spec.diagnostics if d.severity == "error"]


def _at(d: Diagnostic, base: str) -> Diagnostic:
    return replace(d, message=f"at {base}: {d.message}")


# -- comparing two models -------------------------------------------------------------------------


def show(value: object) -> str:
    """A value as a diff shows it: durations and dates in words, code by its import path."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, timedelta):
        return describe.duration_words(value)
    if isinstance(value, Moment):
        return f"{value.local:%Y-%m-%d %H:%M} {value.timezone}"
    if isinstance(value, Output):
        return f"output of {value.task_id}"
    if isinstance(value, (CodeRef, Instance, Function, XCom)):
        return describe.value_words(value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    return repr(value)


_DAG_FIELDS = (
    "description",
    "owner",
    "start_date",
    "end_date",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "dagrun_timeout",
)
# Task settings with a field of their own in the model (their overrides are not compared again).
_TASK_FIELDS = ("retries", "retry_delay", "execution_timeout")


class _Where:
    """The file and line of a setting in the working tree's spec, for annotations."""

    def __init__(self, doc: Document):
        self.doc = doc

    def __call__(self, path: tuple[str | int, ...]) -> tuple[str, int]:
        origin = self.doc.origins.get(path)  # inherited from a defaults.yaml: "file:line"
        if origin:
            file, _, line = origin.rpartition(":")
            return file, int(line) if line.isdigit() else 0
        file, _ = self.doc.file_of(path)
        at = path  # the setting, else the nearest mapping it would be in: its key's line
        while at and at not in self.doc.positions:
            at = at[:-1]
        return file, self.doc.where(at, key=True)[0]


def compare(old: Pipeline, new: Pipeline, doc: Document, after: datetime) -> DagDiff:
    """What changed from `old` to `new` (the same dag_id); `doc` is `new`'s spec."""
    where = _Where(doc)
    out = DagDiff(new.dag_id, "changed", doc.display, before=old, after=new)
    add = out.changes.append

    def setting(key: str, before: object, after_: object, path: tuple[str | int, ...]) -> None:
        if show(before) != show(after_):
            add(Change("setting", key, None, show(before), show(after_), *where(path)))

    schedule = (old.schedule, old.timezone, old.timetable, old.or_assets)
    if show(schedule) != show((new.schedule, new.timezone, new.timetable, new.or_assets)):
        words = describe.schedule_words(old), describe.schedule_words(new)
        add(Change("setting", "schedule", None, *words, *where(("schedule",))))
    for key in _DAG_FIELDS:
        setting(key, getattr(old, key), getattr(new, key), (key,))
    if out.runs_after is not None:
        out.runs_added, out.runs_removed = _runs(old, new, after)
    _members(add, "tags", None, old.tags, new.tags, where(("tags",)))
    _alerts(add, None, old.alerts, new.alerts, where(("alerts", "emails")), dag=True)
    for event in sorted(old.callbacks.keys() | new.callbacks.keys()):
        path = ("callbacks", event)
        setting(f"callbacks.{event}", old.callbacks.get(event), new.callbacks.get(event), path)
    for name in old.params.keys() | new.params.keys():
        before, after_ = old.params.get(name), new.params.get(name)
        setting(
            f"params.{name}", before and before.default, after_ and after_.default, ("params", name)
        )
    if (old.doc_md or "") != (new.doc_md or ""):
        add(
            Change(
                "setting",
                "doc_md",
                None,
                _first(old.doc_md),
                _first(new.doc_md),
                *where(("doc_md",)),
            )
        )
    for key in vars(new.settings):
        setting(key, getattr(old.settings, key), getattr(new.settings, key), (key,))
    _tasks(out, old, new, where)
    return out


def _first(text: str | None) -> str | None:
    """A documentation text by its first line."""
    if text is None:
        return None
    first, _, rest = text.strip().partition("\n")
    return first + (" ..." if rest.strip() else "")


def _members(
    add: Any,
    key: str,
    task: str | None,
    before: Iterable[str],
    after: Iterable[str],
    at: tuple[str, int],
) -> None:
    """One change per member added to or removed from a set (tags, recipients)."""
    old, new = list(before), list(after)
    for gone in [m for m in old if m not in new]:
        add(Change("setting", key, task, gone, None, *at))
    for came in [m for m in new if m not in old]:
        add(Change("setting", key, task, None, came, *at))


def _alerts(
    add: Any, task: str | None, old: Alerts, new: Alerts, at: tuple[str, int], dag: bool = False
) -> None:
    """Recipients added and removed per event (a task's: failure and retry; the DAG's: success too)."""
    events = [("on_failure", "failure_to"), ("on_retry", "retry_to")]
    for event, attribute in events:
        _members(add, f"alerts.{event}", task, getattr(old, attribute), getattr(new, attribute), at)
    if dag:
        before = old.emails if old.on_success else ()
        after = new.emails if new.on_success else ()
        _members(add, "alerts.on_success", task, before, after, at)


def _signature(t: Task) -> str:
    """A task's settings without its id and its place: equal for a renamed task."""
    return show(
        [
            t.operator_given or t.operator,
            t.retries,
            t.retry_delay,
            t.execution_timeout,
            t.alerts.failure_to,
            t.alerts.retry_to,
            t.arguments,
            t.overrides,
            t.expand,
            t.expand_kwargs,
        ]
    )


def _work(t: Task) -> str:
    """What a task runs: its operator and its arguments."""
    return show([t.operator_given or t.operator, t.arguments, t.expand, t.expand_kwargs])


def _tasks(out: DagDiff, old: Pipeline, new: Pipeline, where: _Where) -> None:
    add = out.changes.append
    before = {t.task_id: t for t in old.tasks}
    after = {t.task_id: t for t in new.tasks}
    removed = [t for t in old.tasks if t.task_id not in after]
    added = [t for t in new.tasks if t.task_id not in before]
    renamed: dict[str, str] = {}
    # A removed task with the same settings, else one that runs the same operator with the same
    # arguments (its other settings changed too, or the DAG's that it inherits), each used once.
    for signature in (_signature, _work):
        for t in added:
            if t.task_id in renamed.values():
                continue
            match = next(
                (r for r in removed if r.task_id not in renamed and signature(r) == signature(t)),
                None,
            )
            if match is not None:
                renamed[match.task_id] = t.task_id
    tasks_at = where(("tasks",))
    for t in removed:
        if t.task_id in renamed:
            new_id = renamed[t.task_id]
            add(Change("task", "renamed", new_id, t.task_id, new_id, *where(after[new_id].where)))
        else:
            add(Change("task", "removed", t.task_id, t.task_id, None, *tasks_at))
    for t in added:
        if t.task_id not in renamed.values():
            add(Change("task", "added", t.task_id, None, t.task_id, *where(t.where)))
    old_edges = [(renamed.get(u, u), renamed.get(d, d)) for u, d in old.edges]
    kept, now = set(old_edges), set(new.edges)
    for up, down in old_edges:
        if (up, down) not in now:
            at = where((*after[down].where, "dependencies")) if down in after else tasks_at
            add(Change("edge", "removed", None, f"{up} >> {down}", None, *at))
    for up, down in new.edges:
        if (up, down) not in kept:
            at = where((*after[down].where, "dependencies"))
            add(Change("edge", "added", None, None, f"{up} >> {down}", *at))
    was_named = {n: o for o, n in renamed.items()}
    for t in new.tasks:
        was = before.get(was_named.get(t.task_id, t.task_id))
        if was is not None:
            _task(add, was, t, where)


def _task(add: Any, old: Task, new: Task, where: _Where) -> None:
    tid = new.task_id

    def one(kind: str, key: str, before: object, after: object, missing: bool = False) -> None:
        """With `missing`, None is an argument or setting the task does not give."""
        was = None if missing and before is None else show(before)
        now = None if missing and after is None else show(after)
        if was != now:
            add(Change(kind, key, tid, was, now, *where((*new.where, key))))

    one(
        "setting",
        "operator",
        old.operator_given or old.operator,
        new.operator_given or new.operator,
    )
    for key in _TASK_FIELDS:
        one("setting", key, getattr(old, key), getattr(new, key))
    _alerts(add, tid, old.alerts, new.alerts, where((*new.where, "alerts")))
    for key in dict.fromkeys([*old.arguments, *new.arguments]):
        one("argument", key, old.arguments.get(key), new.arguments.get(key), missing=True)
    for key in dict.fromkeys([*old.overrides, *new.overrides]):
        if key not in _TASK_FIELDS and key != "alerts":
            one("setting", key, old.overrides.get(key), new.overrides.get(key), missing=True)
    one("setting", "expand", old.expand or None, new.expand or None, missing=True)
    one("setting", "expand_kwargs", old.expand_kwargs, new.expand_kwargs, missing=True)


def _runs(old: Pipeline, new: Pipeline, after: datetime) -> tuple[list[datetime], list[datetime]]:
    """The runs of `new` that `old` did not have and the other way round, over the time both
    lists of next runs cover (the nearer of their last runs), in `new`'s and `old`'s time zones."""
    before, _ = describe.next_runs(old, after)
    now, _ = describe.next_runs(new, after)
    ends = [runs[-1] for runs in (before, now) if runs]
    if not ends:
        return [], []
    horizon = min(ends) if before and now else max(ends)
    gone = [r for r in before if r <= horizon and r not in now]
    came = [r for r in now if r <= horizon and r not in before]
    return came, gone
