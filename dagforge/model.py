"""Step 3, model: a validated spec as typed objects, defaults applied. Knows nothing of Airflow or Jinja."""

from __future__ import annotations

import functools
import hashlib
import keyword
import os
import posixpath
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeAlias

from . import structure, targets, values
from .load import Document, SpecPath
from .operators import SHORT
from .schemas import duration_settings, task_setting_set, task_settings
from .version import version

# Task settings (schemas.task_settings) that choose the operator or place the task in the graph.
_PLACING = ("operator", "wait_for", "expand", "expand_kwargs", "dependencies")
# Task settings a Task has a field of its own for.
_OWN_FIELDS = ("retries", "retry_delay", "execution_timeout", "alerts", "callbacks")
# Arguments that take a callable: a `module:function` text in them is that function, imported.
CALLABLE_ARGUMENTS = ("python_callable", "execution_date_fn", "response_check", "response_filter")
# The events of `callbacks:`: a task's (its `on_EVENT_callback` arguments) and a DAG run's.
TASK_EVENTS = ("on_execute", "on_success", "on_failure", "on_retry", "on_skipped")
DAG_EVENTS = ("on_success", "on_failure")


def is_callable_argument(argument: object) -> bool:
    """Whether an operator argument takes a callable, so a `module:function` text in it is one."""
    return isinstance(argument, str) and (
        argument in CALLABLE_ARGUMENTS or argument.endswith("_callable")
    )


@functools.cache
def _duration_keys() -> frozenset[str]:
    """schemas.duration_settings() as a set: asked of every key of every task."""
    return frozenset(duration_settings())


def passed_settings() -> tuple[str, ...]:
    """The task settings the generated file passes to the operator as written (trigger_rule, pool,
    queue, ...), in the schema's order: every setting but those that place the task or have a field."""
    return tuple(k for k in task_settings() if k not in _PLACING + _OWN_FIELDS)


# The task settings that are the DAG's own fields in the model (Pipeline.owner, ...): the spec gives
# them at its top (the v1 spelling) or in its `defaults:`.
DAG_SETTINGS = ("owner", "retries", "retry_delay")


DEFAULT_RETRY_DELAY = timedelta(minutes=5)
# The class of the alert mails (render.NOTIFIER), imported under its own name, which _TAKEN keeps.
MAIL_CLASS = ("airflow.providers.smtp.notifications.smtp", "SmtpNotifier")
# Names the generated module binds itself; task variables must not shadow them.
_TAKEN = {
    "DAG",
    "dag",
    "pendulum",
    "timedelta",
    "partial",
    "SmtpNotifier",
    "DagSuccessMail",
} | targets.NAMES


@dataclass(frozen=True)
class Moment:
    """A wall-clock date and time in an IANA time zone."""

    local: datetime  # naive: read in `timezone`
    timezone: str
    # `{before_today: DURATION}`: the generated file computes it when parsed (today's midnight in
    # `timezone` minus it); `local` is then what it is on the day of the build.
    before_today: timedelta | None = None


@dataclass(frozen=True)
class CodeRef:
    """A reference to a Python object that the generated module imports (e.g. a python_callable)."""

    module: str
    name: str
    alias: str


# Keyword arguments of an Instance or a Function: (name, value) pairs, in spec order.
Keywords: TypeAlias = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Instance:
    """`{object: module.Class, ...}`: an instance of an imported class, made with these arguments."""

    cls: CodeRef
    kwargs: Keywords = ()


@dataclass(frozen=True)
class Function:
    """`{function: module:function, ...}` (or a `module:function` callback): the function itself,
    or with `kwargs` bound (functools.partial)."""

    func: CodeRef
    kwargs: Keywords = ()


@dataclass(frozen=True)
class XCom:
    """`{output_of: TASK, key: K}`: the output of an upstream task (`TASK.output["K"]`)."""

    task_id: str  # the producer's full id
    key: str | None = None


# A DAG's schedule: None (runs when triggered), a preset or cron text, the timedelta of a duration,
# an asset condition (a list or mapping of them: a lone asset URI is no schedule of its own), or a
# timetable object (an Instance).
Schedule: TypeAlias = str | timedelta | list[Any] | dict[str, Any] | Instance | None


def walk(value: object) -> list[object]:
    """`value` and every value inside it (in lists, mappings, an Instance's or Function's
    arguments), parents first."""
    out = [value]
    inner: Any = ()
    if isinstance(value, (Instance, Function)):
        inner = [v for _, v in value.kwargs]
    elif isinstance(value, dict):
        inner = value.values()
    elif isinstance(value, (list, tuple)):
        inner = value
    for v in inner:
        out += walk(v)
    return out


@dataclass(frozen=True)
class Deadline:
    """A deadline alert: `callback` runs when a run is not done `interval` after `reference`."""

    reference: str  # dagrun_queued_at | dagrun_logical_date (the schema's enum)
    interval: timedelta
    callback: CodeRef
    where: SpecPath = ("deadline",)  # its mapping in the spec, for located messages
    kwargs: tuple[tuple[str, Any], ...] = ()  # bound to the callback: plain values (JSON data)


@dataclass
class DagSettings:
    """The DAG's own settings beyond the schedule (all optional: Airflow's defaults otherwise)."""

    display_name: str | None = None
    owner_links: dict[str, str] = field(default_factory=dict)
    native: bool = False  # render_template_as_native_obj
    # template folders as the generated file names them: relative to its own folder (see _searchpath)
    searchpath: tuple[str, ...] = ()
    template_folders: tuple[str, ...] = ()  # the same, as the spec names them (from its folder)
    macros: dict[str, CodeRef] = field(default_factory=dict)
    filters: dict[str, CodeRef] = field(default_factory=dict)
    paused: bool | None = None  # is_paused_upon_creation
    fail_fast: bool = False
    access_control: dict[str, Any] | None = None
    deadlines: tuple[Deadline, ...] = ()


@dataclass(frozen=True)
class Alerts:
    emails: tuple[str, ...] = ()
    on_failure: bool = True
    on_retry: bool = False
    on_success: bool = False

    @property
    def failure_to(self) -> tuple[str, ...]:
        return self.emails if self.on_failure else ()

    @property
    def retry_to(self) -> tuple[str, ...]:
        return self.emails if self.on_retry else ()


@dataclass(frozen=True)
class Param:
    """One run parameter: its default and its JSON Schema keywords (type, enum, minimum ...)."""

    default: object
    schema: tuple[tuple[str, Any], ...]  # (keyword, value) pairs, in spec order


@dataclass
class Task:
    task_id: str
    var: str  # the Python variable the generated module binds it to
    operator: CodeRef  # the operator class
    arguments: dict[str, Any]  # operator keyword arguments, in spec order
    dependencies: tuple[str, ...]
    retries: int
    retry_delay: timedelta
    execution_timeout: timedelta | None
    alerts: Alerts
    # the settings the task or its groups' defaults give: retries, pool, ...
    overrides: dict[str, Any]
    where: SpecPath = ()  # the path of the task's mapping in the spec, for located messages
    local_id: str = ""  # its id within its group (the task_id argument); task_id is the full id
    # mapped arguments: name -> literal list | Output
    expand: dict[str, list[Any] | Output] = field(default_factory=dict)
    # mapped over whole sets of arguments (`expand_kwargs`): a literal list of mappings | Output
    expand_kwargs: list[dict[str, Any]] | Output | None = None
    group: str | None = None  # the full id of its group
    operator_given: str = ""  # `operator:` as the spec writes it (a short name or an import path)
    inherited: frozenset[str] = frozenset()  # keys of `overrides` only its groups' defaults give

    @property
    def callbacks(self) -> dict[str, tuple[Any, ...]]:
        """Its `callbacks:` (its own, else its groups' defaults'): event -> Functions and Instances."""
        callbacks: dict[str, tuple[Any, ...]] = self.overrides.get("callbacks", {})
        return callbacks


@dataclass(frozen=True)
class Output:
    """The list an upstream task returns (its XCom), as an `expand:` or `expand_kwargs:` value."""

    task_id: str


@dataclass(frozen=True)
class Group:
    """A task group: its tasks are named `group_id.TASK`."""

    group_id: str  # the full id, with the ids of the groups it is in
    local_id: str
    parent: str | None
    tooltip: str | None
    var: str = ""  # the Python variable the generated module binds it to
    # its own `defaults:`, durations as timedeltas
    defaults: dict[str, Any] = field(default_factory=dict)
    where: SpecPath = ()  # the path of the group's mapping in the spec


@dataclass
class Pipeline:
    dag_id: str
    source: str  # the spec's path as the header names it (written as a literal: any text is safe)
    source_sha256: str
    description: str | None
    owner: str
    schedule: Schedule
    start_date: Moment
    end_date: Moment | None
    timezone: str
    catchup: bool
    tags: tuple[str, ...]
    max_active_runs: int | None
    max_active_tasks: int | None
    timetable: values.Timetable  # how a cron schedule is read
    params: dict[str, Param]
    doc_md: str | None
    dagrun_timeout: timedelta | None
    retries: int
    retry_delay: timedelta
    alerts: Alerts
    # the DAG run's `callbacks:`: event (on_success, on_failure) -> Functions and Instances
    callbacks: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    tasks: list[Task] = field(default_factory=list)
    # with a time schedule: the asset condition that also starts a run (AssetOrTimeSchedule)
    or_assets: values.AssetCondition | None = None
    settings: DagSettings = field(default_factory=DagSettings)
    groups: list[Group] = field(default_factory=list)
    layout: list[str] = field(
        default_factory=list
    )  # task and group ids in spec order, groups before their tasks
    # The `>>` statements of the generated file: (upstream task or group ids, downstream id), in the
    # order they must run (see structure.links); the edges mapping makes are not among them.
    links: list[tuple[tuple[str, ...], str]] = field(default_factory=list)
    generator: str = field(default_factory=lambda: f"dagforge {version()}")
    input_sha256: str = (
        ""  # the spec and the generator together (see stamp.py); set before rendering
    )
    # what shaped it besides the spec's text: name -> text
    inputs: dict[str, str] = field(default_factory=dict)
    # each input's own short digest (stamp.input_digests); set with input_sha256
    input_digests: str = ""
    # with a defaults.yaml: "key" / "key.sub" -> (value, "file:line") of every setting
    origins: dict[str, tuple[Any, str]] = field(default_factory=dict)
    # the spec's `defaults:` but DAG_SETTINGS, durations as timedeltas: the DAG's default_args
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def schedule_kind(self) -> values.ScheduleKind:
        if isinstance(self.schedule, Instance):
            return values.ScheduleKind.TIMETABLE
        return (
            values.schedule_kind(self.schedule)
            if not isinstance(self.schedule, timedelta)
            else values.ScheduleKind.DURATION
        )

    @property
    def edges(self) -> list[tuple[str, str]]:
        return [(up, t.task_id) for t in self.tasks for up in t.dependencies]

    @property
    def data_edges(self) -> set[tuple[str, str]]:
        """(producer, consumer) of every task output (XCom) a task takes: in an argument, or
        mapped over in `expand`."""
        out = set()
        for t in self.tasks:
            for value in walk([t.arguments, t.overrides, list(t.expand.values())]):
                if isinstance(value, (XCom, Output)):
                    out.add((value.task_id, t.task_id))
        return out


def build_model(doc: Document, source: str | None = None) -> Pipeline:
    """The Pipeline of a spec that passed validation; `source` is how its generated file's header
    names it (write.source_name), else as messages name it."""
    data = doc.data
    tz = data.get("timezone", "UTC")
    alerts = _alerts(data.get("alerts") or {}, Alerts())
    shared = spec_defaults(doc)  # every task's settings
    retry_delay = _duration(shared.pop("retry_delay", None)) or DEFAULT_RETRY_DELAY
    schedule, or_assets = _schedule(data.get("schedule"))
    p = Pipeline(
        dag_id=data.get("dag_id", doc.path.stem),
        source=doc.display if source is None else source,
        source_sha256=hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
        description=data.get("description"),
        owner=shared.pop("owner", "airflow"),
        schedule=schedule,
        start_date=_moment(data["start_date"], tz),
        end_date=_moment(data["end_date"], tz) if "end_date" in data else None,
        timezone=tz,
        catchup=data.get("catchup", False),
        tags=tuple(data.get("tags", ())),
        max_active_runs=data.get("max_active_runs", 1 if schedule == "@continuous" else None),
        max_active_tasks=data.get("max_active_tasks"),
        timetable=values.Timetable(data.get("timetable", "trigger")),
        params={name: _param(spec) for name, spec in data.get("params", {}).items()},
        doc_md=None,
        dagrun_timeout=_duration(data.get("dagrun_timeout")),
        retries=shared.pop("retries", 0),
        retry_delay=retry_delay,
        alerts=alerts,
        or_assets=or_assets,
    )
    p.origins = _sources(doc) if doc.origins else {}
    p.inputs.update(_file_inputs(doc))
    for (
        name,
        value,
    ) in doc.environment.items():  # the output depends on them: so does its input hash
        p.inputs[f"env:{name}"] = "\0unset" if value is None else value
    doc_md = data.get("doc_md")
    if isinstance(doc_md, dict):
        p.doc_md = read_beside(doc, doc_md["file"])
        p.inputs[f"doc_md:{doc_md['file']}"] = p.doc_md
    else:
        p.doc_md = doc_md
    names = set(_TAKEN)
    refs: dict[tuple[str, str], CodeRef] = {}

    def ref(module: str, name: str) -> CodeRef:
        if (module, name) not in refs:
            # the alert mails' class, named by the user too (a notifier): the same import
            alias = name if (module, name) == MAIL_CLASS else _unique(name, names, prefix=module)
            refs[module, name] = CodeRef(module, name, alias)
        return refs[module, name]

    all_nodes = structure.nodes(data["tasks"])
    by_id = {n.full_id: n for n in all_nodes}
    for n in all_nodes:  # operator classes first: they keep their own names
        if not n.is_group:
            ref(*_operator_path(_operator(n.spec)))
    if values.is_timetable(p.schedule):  # its class is imported like any object's
        p.schedule = Forms(ref).value(p.schedule)
    p.callbacks = _callbacks(data.get("callbacks", {}), Forms(ref))
    p.defaults = _settings(shared, Forms(ref))
    upstream: dict[str, list[str]] = {}
    all_links = structure.links(all_nodes)  # once: the edges and the statements come from it
    for up, down in structure.task_edges(all_nodes, all_links):  # mapping's edges too: Airflow
        upstream.setdefault(down, []).append(up)  # adds them itself
    p.links = _statements(all_links)
    order = {n.full_id: i for i, n in enumerate(all_nodes)}
    for n in all_nodes:
        p.layout.append(n.full_id)
        if n.is_group:
            p.groups.append(
                Group(
                    n.full_id,
                    n.local_id,
                    n.parent,
                    n.spec.get("tooltip"),
                    _unique(n.full_id, names, prefix="group"),
                    _settings(n.spec.get("defaults", {}), Forms(ref)),
                    n.path,
                )
            )
            continue
        own, inherited = n.spec, {}  # (most tasks: no defaults, no group; nothing to merge)
        if shared or n.parent is not None:
            inherited = dict(shared)  # the spec's defaults, then its groups'
            # callbacks per event, as Airflow merges default_args (each on_EVENT_callback alone)
            events: dict[str, Any] = dict(shared.get("callbacks", {}))
            for group in reversed(structure.ancestors(n, by_id)):  # the outermost first
                inherited.update(by_id[group].spec.get("defaults", {}))  # (nearest wins)
                events.update(by_id[group].spec.get("defaults", {}).get("callbacks", {}))
            inherited = {k: v for k, v in inherited.items() if k not in n.spec}  # its own keys win
            own = {**n.spec, **inherited}
            if events:
                own["callbacks"] = {**events, **n.spec.get("callbacks", {})}
        forms = Forms(ref, functools.partial(_resolve, node=n, by_id=by_id))
        task = _task(n.full_id, own, p, names, ref, forms)
        task.local_id, task.group, task.where = n.local_id, n.parent, n.path
        task.inherited = frozenset(inherited)
        _map(task, n, by_id)
        task.dependencies = tuple(sorted(set(upstream.get(n.full_id, ())), key=order.__getitem__))
        p.tasks.append(task)
    p.settings = _dag_settings(data, p.source, ref)
    return p


def _map(task: Task, n: structure.Node, by_id: dict[str, structure.Node]) -> None:
    """Set the task's mapping: `expand` (a literal list or {output_of: ...} per argument) and
    `expand_kwargs` (a literal list of argument mappings, or {output_of: ...})."""
    if "expand" not in n.spec and "expand_kwargs" not in n.spec:  # most tasks: not mapped
        return

    def output(over: dict[str, str]) -> Output:
        producer = structure.resolve(over["output_of"], n, by_id)
        assert producer is not None  # validate reports an `output_of` naming no task
        return Output(producer)

    for key, over in n.spec.get("expand", {}).items():
        task.expand[key] = output(over) if isinstance(over, dict) else over
    kwargs = n.spec.get("expand_kwargs")
    if isinstance(kwargs, dict):
        task.expand_kwargs = output(kwargs)
    elif kwargs is not None:
        short = SHORT.get(task.operator_given)
        durations = short.durations if short else ()
        task.expand_kwargs = [
            {k: values.parse_duration(v) if k in durations else v for k, v in m.items()}
            for m in kwargs
        ]


def _dag_settings(
    data: dict[str, Any], source: str, ref: Callable[[str, str], CodeRef]
) -> DagSettings:
    """The DAG settings of a valid spec; `source` names the spec relative to the generated file."""
    deadlines = data.get("deadline") or []
    return DagSettings(
        display_name=data.get("dag_display_name"),
        owner_links=dict(data.get("owner_links", {})),
        native=data.get("render_template_as_native_obj", False),
        searchpath=tuple(_searchpath(source, f) for f in data.get("template_searchpath", ())),
        template_folders=tuple(data.get("template_searchpath", ())),
        macros=_refs(data.get("user_defined_macros", {}), ref),
        filters=_refs(data.get("user_defined_filters", {}), ref),
        paused=data.get("is_paused_upon_creation"),
        fail_fast=data.get("fail_fast", False),
        access_control=data.get("access_control"),
        deadlines=tuple(
            Deadline(
                d["reference"],
                values.parse_duration(d["interval"]),
                ref(*_deadline_callback(d["callback"]).split(":")),
                ("deadline", i) if isinstance(deadlines, list) else ("deadline",),
                tuple((k, v) for k, v in d["callback"].items() if k != "function")
                if isinstance(d["callback"], dict)
                else (),
            )
            for i, d in enumerate(deadlines if isinstance(deadlines, list) else [deadlines])
        ),
    )


def _refs(
    mapping: dict[str, Any], ref: Callable[[str, str], CodeRef], prefix: str = ""
) -> dict[str, CodeRef]:
    """name -> its reference; a macro that is a mapping of them by `name.key` (see nest). (Not a
    closure: one that calls itself is a reference cycle, and with it the model's `ref` and all it
    holds would wait for the garbage collector.)"""
    out: dict[str, CodeRef] = {}
    for name, given in mapping.items():
        if isinstance(given, dict):
            out.update(_refs(given, ref, f"{prefix}{name}."))
        else:
            out[prefix + name] = ref(*given.split(":"))
    return out


def _deadline_callback(callback: str | dict[str, Any]) -> str:
    """The `module:function` of a deadline's callback, given as that or as `{function: ...}`."""
    return callback["function"] if isinstance(callback, dict) else callback


def _searchpath(source: str, folder: str) -> str:
    """A template folder (relative to the spec's folder) relative to the generated file's folder:
    `source` is the spec's path from there (write.source_name), so the two stay together wherever
    the repository is checked out; the file joins it to its own `__file__` folder."""
    return posixpath.normpath(
        posixpath.join(posixpath.dirname(source), folder.replace(os.sep, "/"))
    )


def _schedule(given: Any) -> tuple[Schedule, values.AssetCondition | None]:
    """The schedule (a duration as a timedelta) and, for `{time: ..., assets: ...}`, the asset
    condition that starts a run too (its time is the schedule)."""
    or_assets = None
    if isinstance(given, dict) and "time" in given:
        given, or_assets = given["time"], given["assets"]
    if values.schedule_kind(given) == values.ScheduleKind.DURATION:
        given = values.parse_duration(given)
    return given, or_assets


def code(p: Pipeline) -> list[tuple[SpecPath, Instance | Function]]:
    """Every object and function the spec names (callbacks, `{object: ...}`, `{function: ...}`),
    with the path of its value in the spec: what verify checks in Airflow."""
    roots: list[tuple[SpecPath, object]] = [(("callbacks",), p.callbacks)]
    if isinstance(p.schedule, Instance):
        roots.append((("schedule",), p.schedule))
    roots += [((*g.where, "defaults"), g.defaults) for g in p.groups]
    for t in p.tasks:
        roots += [((*t.where, k), v) for k, v in t.arguments.items()]
        roots += [((*t.where, k), v) for k, v in t.overrides.items() if k not in t.inherited]
    out: list[tuple[SpecPath, Instance | Function]] = []

    def visit(path: SpecPath, value: object) -> None:
        # (a python_callable given as `module:function`, a CodeRef, verify checks with its op_kwargs)
        if isinstance(value, (Instance, Function)):
            out.append((path, value))
            for k, v in value.kwargs:
                visit((*path, k), v)
        elif isinstance(value, dict):
            for k, v in value.items():
                visit((*path, k), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                visit((*path, i), v)

    for path, value in roots:
        visit(path, value)
    return out


def _resolve(name: str, node: structure.Node, by_id: dict[str, structure.Node]) -> str | None:
    return structure.resolve(name, node, by_id)


def _statements(all_links: list[structure.Link]) -> list[tuple[tuple[str, ...], str]]:
    """The `>>` statements of the generated file (see Pipeline.links): the declared links in the
    order structure.links gives, the ones into the same node at the same depth as one `[a, b] >> c`.
    The edges mapping makes are left out: the file makes them with `.expand()` already."""
    out: list[tuple[tuple[str, ...], str]] = []
    last: tuple[str, int] | None = None
    for link in all_links:
        if link.implicit:
            continue
        if (link.down, link.scope) == last:
            out[-1] = ((*out[-1][0], link.up), link.down)
        else:
            out.append(((link.up,), link.down))
        last = (link.down, link.scope)
    return out


def spec_defaults(doc: Document) -> dict[str, Any]:
    """The spec's `defaults:` (as written) with the v1 top-level `owner`, `retries`, `retry_delay`
    folded in. Where both spellings give one, the spec's own wins over a defaults.yaml's; validate
    refuses both in the same file, and if both come from defaults.yaml files, `defaults:` wins."""
    out = dict(doc.data.get("defaults") or {})
    for key in DAG_SETTINGS:
        if key in doc.data and (
            key not in out or (_inherited(doc, ("defaults", key)) and not _inherited(doc, (key,)))
        ):
            out[key] = doc.data[key]
    return out


def _inherited(doc: Document, path: SpecPath) -> bool:
    """Whether the value at `path` comes from a defaults.yaml, not from the spec itself."""
    return any(path[:i] in doc.origins for i in range(1, len(path) + 1))


def _file_inputs(doc: Document) -> dict[str, str]:
    """The defaults.yaml files a spec inherits and the blocks its tasks use (reuse.py), as inputs:
    named from the spec's folder, as doc_md is, so that the input hash does not depend on the
    folder build runs in."""
    return {
        f"{kind}:{os.path.relpath(name, doc.path.parent).replace(os.sep, '/')}": text
        for kind, files in (("defaults", doc.inherited), ("block", doc.blocks))
        for name, text in files.items()
    }


def _sources(doc: Document) -> dict[str, tuple[Any, str]]:
    """Where each of the spec's settings (all but its tasks) came from: its own line or a defaults.yaml's."""
    out: dict[str, tuple[Any, str]] = {}

    def origin(path: SpecPath) -> str:
        return doc.origins.get(path) or f"{doc.display}:{doc.where(path)[0]}"

    for key, value in doc.data.items():
        if key == "tasks":
            continue
        if isinstance(value, dict) and key in ("alerts", "params", "defaults"):
            out.update(
                {
                    f"{key}.{sub}": (
                        v,
                        origin((key, sub))
                        if (key, sub) in doc.origins
                        else origin((key,))
                        if (key,) in doc.origins
                        else origin((key, sub)),
                    )
                    for sub, v in value.items()
                }
            )
        else:
            out[key] = (value, origin((key,)))
    return out


# The most a doc_md file may hold: a DAG's documentation (Airflow stores it with the DAG), not data.
DOC_MD_LIMIT = 256 * 1024
_NEXT_TO_SPEC = "name a Markdown file next to the spec (the path is relative to the spec's folder)"


class Unreadable(Exception):
    """Why a file a spec names is not read (the text) and how to fix that (`hint`)."""

    def __init__(self, why: str, hint: str = _NEXT_TO_SPEC):
        super().__init__(why)
        self.hint = hint


def read_beside(doc: Document, name: str, limit: int = DOC_MD_LIMIT) -> str:
    """The text of the file `name`, relative to the spec's folder; raises Unreadable.

    A spec is untrusted input, so only a regular file inside the spec's folder is read (symlinks
    followed first, so neither `..`, an absolute path nor a link leads out: no /etc/passwd or
    /proc/self/environ copied into a DAG), at most `limit` bytes (no /dev/zero eating the memory),
    and never a FIFO or a device (stat before opening; O_NONBLOCK: a FIFO swapped in cannot hang).
    """
    folder = doc.path.parent.resolve()
    try:
        path = (folder / name).resolve()
    except RuntimeError:  # Python < 3.13 says so for a loop of symlinks
        raise Unreadable("it is a loop of symlinks") from None
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        raise Unreadable(_reason(e)) from None
    if not path.is_relative_to(folder):
        raise Unreadable(
            "it is outside the spec's folder",
            "put the file in the spec's folder or below it and name it relative to that folder"
            " (absolute paths, '..' and symlinks that lead out of it are refused)",
        )
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
    try:
        _regular(os.stat(path).st_mode)  # before opening: opening a device can act on it
        with open(os.open(path, flags), "rb") as f:
            _regular(os.fstat(f.fileno()).st_mode)  # and what was opened: it may have been swapped
            data = f.read(limit + 1)
    except OSError as e:
        raise Unreadable(_reason(e)) from None
    if len(data) > limit:
        raise Unreadable(
            f"it is larger than {limit // 1024} KiB",
            "shorten it: doc_md is the DAG's page in Airflow; link to longer documents from it",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise Unreadable("it is not UTF-8 text", "save the file as UTF-8") from None


def _reason(e: Exception) -> str:
    return (getattr(e, "strerror", None) or str(e)).lower()  # "no such file or directory"


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a device"),
    (stat.S_ISBLK, "a device"),
    (stat.S_ISSOCK, "a socket"),
)


def _regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((kind for test, kind in _KINDS if test(mode)), "not a file")
        raise Unreadable(f"it is {kind}, not a regular file")


def _settings(spec: dict[str, Any], forms: Forms) -> dict[str, Any]:
    """Task settings (a group's `defaults`) in the model's terms: durations as timedeltas, callbacks
    and objects as Functions and Instances."""
    return {
        k: values.parse_duration(v)
        if k in _duration_keys()
        else _callbacks(v, forms)
        if k == "callbacks"
        else forms.value(v)
        for k, v in spec.items()
    }


class Forms:
    """Turns the spec's value forms into model values: `{object: ...}` into an Instance,
    `{function: ...}` into a Function, `{output_of: ...}` into an XCom, at any depth; their import
    paths into CodeRefs (through `ref`), producer ids into full ids (through `resolve`)."""

    def __init__(
        self,
        ref: Callable[[str, str], CodeRef],
        resolve: Callable[[str], str | None] = lambda name: name,
    ):
        self.ref, self.resolve = ref, resolve

    def value(self, v: Any) -> Any:
        if type(v) is str:  # most values: none of the forms below
            return v
        if isinstance(v, dict) and isinstance(v.get("object"), str):
            module, _, name = v["object"].rpartition(".")
            return Instance(self.ref(module, name), self._keywords(v, "object"))
        if isinstance(v, dict) and isinstance(v.get("function"), str):
            return Function(self.function(v["function"]).func, self._keywords(v, "function"))
        if isinstance(v, dict) and isinstance(v.get("output_of"), str):
            producer = self.resolve(v["output_of"])
            assert producer is not None  # validate reports an `output_of` naming no task
            return XCom(producer, v.get("key"))
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        if isinstance(v, list):
            return [self.value(x) for x in v]
        return v

    def function(self, path: str) -> Function:
        module, _, name = path.partition(":")
        return Function(self.ref(module, name))

    def callback(self, v: Any) -> Any:
        """A callback: `module:function` text is the function itself."""
        return self.function(v) if isinstance(v, str) else self.value(v)

    def _keywords(self, v: dict[str, Any], form: str) -> Keywords:
        return tuple((k, self.value(x)) for k, x in v.items() if k != form)


def _callbacks(spec: dict[str, Any], forms: Forms) -> dict[str, tuple[Any, ...]]:
    return {event: tuple(forms.callback(c) for c in items) for event, items in spec.items()}


def _param(spec: dict[str, Any]) -> Param:
    return Param(spec["default"], tuple((k, v) for k, v in spec.items() if k != "default"))


@functools.lru_cache(maxsize=256)  # asked twice a task, of a few names
def _operator_path(op: str) -> tuple[str, str]:
    """(module, class) of a short name, else of an import path (validate checks it has a dot)."""
    short = SHORT.get(op)
    if short is not None:
        return short.module, short.name
    module, _, name = op.rpartition(".")
    return module, name


def _duration(value: object) -> timedelta | None:
    return None if value is None else values.parse_duration(value)


def _moment(text: str | dict[str, Any], tz: str) -> Moment:
    if isinstance(text, dict):
        return _before_today(values.parse_duration(text["before_today"]), tz)
    when = values.parse_when(text)
    if when.tzinfo is not None:  # an explicit offset: the same instant, on the DAG's wall clock
        from zoneinfo import ZoneInfo

        when = when.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    # fold=1: a wall time the clock shows twice (validate warns) is the later one, as pendulum reads
    # the generated `pendulum.datetime(...)`; no other time depends on fold.
    return Moment(when.replace(fold=1), tz)


def nest(flat: dict[str, Any]) -> dict[str, Any]:
    """`{"a.b": x}` -> `{"a": {"b": x}}`: the macros as the spec nests them (names are
    identifiers, so a dot only ever separates them)."""
    out: dict[str, Any] = {}
    for name, value in flat.items():
        *outer, last = name.split(".")
        inner = out
        for part in outer:
            inner = inner.setdefault(part, {})
        inner[last] = value
    return out


def _before_today(delta: timedelta, tz: str) -> Moment:
    """Today's midnight in `tz` minus `delta`, as pendulum computes `pendulum.today(tz) - delta`
    (what the generated file says): on the wall clock when the duration has whole days (a
    repeated time is the later one), in elapsed time when it has none."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    midnight = datetime.combine(datetime.now(zone).date(), time())
    if delta.days:
        return Moment((midnight - delta).replace(fold=1), tz, delta)
    when = (midnight.replace(tzinfo=zone).astimezone(UTC) - delta).astimezone(zone)
    return Moment(when.replace(tzinfo=None, fold=1), tz, delta)


def _alerts(spec: dict[str, Any], inherited: Alerts) -> Alerts:
    return Alerts(
        emails=tuple(spec.get("emails", inherited.emails)),
        on_failure=spec.get("on_failure", inherited.on_failure),
        on_retry=spec.get("on_retry", inherited.on_retry),
        on_success=spec.get("on_success", inherited.on_success),
    )


def _operator(spec: dict[str, Any]) -> str:
    return "external_task_sensor" if "wait_for" in spec else spec["operator"]


def _wait_arguments(wait: dict[str, Any]) -> dict[str, Any]:
    """The ExternalTaskSensor arguments of a `wait_for:`."""
    arguments: dict[str, Any] = {"external_dag_id": wait["dag"]}
    if "task" in wait:
        arguments["external_task_id"] = wait["task"]
    arguments["mode"] = wait.get("mode", "reschedule")
    for key in ("execution_delta", "poke_interval", "timeout"):
        if key in wait:
            arguments[key] = values.parse_duration(wait[key])
    return arguments


def _task(
    task_id: str,
    spec: dict[str, Any],
    p: Pipeline,
    names: set[str],
    ref: Callable[[str, str], CodeRef],
    forms: Forms,
) -> Task:
    op = _operator(spec)
    settings, durations = task_setting_set(), _duration_keys()
    waits = "wait_for" in spec
    arguments: dict[str, Any] = _wait_arguments(spec["wait_for"]) if waits else {}
    overrides: dict[str, Any] = {}  # both in spec order: one pass over the task's keys
    for key, value in spec.items():
        if key not in settings:
            if waits:
                continue
            if isinstance(value, str):  # (most: a plain text, of no form below)
                arguments[key] = forms.function(value).func if is_callable_argument(key) else value
            else:
                arguments[key] = forms.value(value)
        elif key in durations:
            overrides[key] = values.parse_duration(value)
        elif key == "alerts":
            overrides[key] = _alerts(
                value, Alerts(p.alerts.emails, p.alerts.on_failure, p.alerts.on_retry)
            )
        elif key == "callbacks":
            overrides[key] = _callbacks(value, forms)
        elif key not in _PLACING:
            overrides[key] = forms.value(value)
    short = None if waits else SHORT.get(op)
    for key in short.durations if short is not None else ():  # the operator's own durations
        if key in arguments:
            arguments[key] = values.parse_duration(arguments[key])
    alerts = overrides.get("alerts", p.alerts)
    return Task(
        task_id=task_id,
        var=_variable(task_id, names),
        operator=ref(*_operator_path(op)),
        arguments=arguments,
        dependencies=tuple(spec.get("dependencies", ())),
        retries=spec.get("retries", p.retries),
        retry_delay=overrides.get("retry_delay", p.retry_delay),
        execution_timeout=overrides.get("execution_timeout"),
        alerts=alerts,
        overrides=overrides,
        where=("tasks", task_id),
        local_id=task_id,
        operator_given=spec.get("operator", op),
    )


def _variable(task_id: str, taken: set[str]) -> str:
    """The variable of a task: its own id (the id within its group) when that is a free identifier,
    as linters expect (ruff AIR001), else a unique name made from the full id."""
    own = task_id.rpartition(".")[2]
    if own.isidentifier() and own.isascii() and not keyword.iskeyword(own) and own not in taken:
        taken.add(own)
        return own
    return _unique(task_id, taken)


def _unique(name: str, taken: set[str], prefix: str = "") -> str:
    """A Python identifier for `name` that no other name of the module uses yet."""
    base = re.sub(r"\W", "_", name, flags=re.ASCII)
    if base[0].isdigit() or keyword.iskeyword(base) or base in taken:
        base = re.sub(r"\W", "_", f"{prefix}_{base}" if prefix else f"task_{base}", flags=re.ASCII)
    candidate, n = base, 2
    while candidate in taken or keyword.iskeyword(candidate):
        candidate, n = f"{base}_{n}", n + 1
    taken.add(candidate)
    return candidate
