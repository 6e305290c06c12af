"""Step 4, render: a Pipeline through the Jinja2 template into Python source.

Every value from the spec reaches the source through the `py` filter, which writes it as a Python
literal (or as a call of a known constructor); no spec text is ever spliced in as code or used as
template source.
"""

from __future__ import annotations

import keyword
import math
import sys
from dataclasses import dataclass
from datetime import time, timedelta
from functools import cache
from typing import Any

import jinja2

from . import targets, values
from .model import (
    MAIL_CLASS,
    TASK_EVENTS,
    Alerts,
    CodeRef,
    Function,
    Group,
    Instance,
    Moment,
    Output,
    Pipeline,
    Task,
    XCom,
    nest,
)
from .operators import is_taskflow

LINE_LENGTH = 88  # black's: a task call that fits is written on one line, as black would write it
TRIPLE = '"' * 3  # opens and closes a block of text (see _block)
NOTIFIER = CodeRef(*MAIL_CLASS, "SmtpNotifier")
PARTIAL = CodeRef("functools", "partial", "partial")


@dataclass(frozen=True)
class Mail:
    """An alert callback in the generated file: `SmtpNotifier(to=[...])` or the DAG's success mail."""

    cls: str
    to: tuple[str, ...]


@dataclass(frozen=True)
class TaskOutput:
    """`var.output` (`var.output["key"]`): the XCom of the task the generated module binds to `var`
    (a Python identifier)."""

    var: str
    key: str | None = None


@dataclass(frozen=True)
class Call:
    """A call of a class the generated module imports, with literal arguments."""

    func: str
    args: tuple[object, ...] = ()
    kwargs: tuple[tuple[str, object], ...] = ()  # (name, value) pairs


@dataclass(frozen=True)
class Name:
    """A name the generated module binds (a constant of dagforge's tables, never spec text)."""

    text: str

    def code(self) -> str:
        return self.text


@dataclass(frozen=True)
class Beside:
    """A path relative to the generated file's folder: joined to its `__file__` at import time."""

    path: str

    def code(self) -> str:
        return f"os.path.join(os.path.dirname(__file__), {py(self.path)})"


# A deadline's `reference:` -> its DeadlineReference constant.
DEADLINE_REFERENCES = {
    "dagrun_queued_at": "DAGRUN_QUEUED_AT",
    "dagrun_logical_date": "DAGRUN_LOGICAL_DATE",
}
DEADLINE_MODULE = "airflow.sdk"


def py(value: object, block: bool = False) -> str:
    """Python source that evaluates to `value`. With `block`, a text of several lines is written as a
    triple-quoted block, line by line, when that is exact (see _block); nested values never are."""
    if type(value) is str:  # most values: the checks below are for the other kinds
        return _text(value, block)
    if isinstance(value, CodeRef):
        return value.alias
    if isinstance(value, (TaskOutput, Instance, Function)):
        return _form(value)
    if isinstance(value, (Name, Beside)):
        return value.code()
    if isinstance(value, Mail):
        return f"{value.cls}(to={py(list(value.to))})"
    if isinstance(value, Call):
        given = [py(a) for a in value.args] + [f"{k}={py(v)}" for k, v in value.kwargs]
        return f"{value.func}({', '.join(given)})"
    if isinstance(value, Moment):
        return _moment(value)
    if isinstance(value, timedelta):
        return _timedelta(value)
    if isinstance(value, float) and not math.isfinite(value):
        return f"float({str(value)!r})"
    if isinstance(value, str):
        return _text(value, block)
    if isinstance(value, (int, float, bool)) or value is None:
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{py(k)}: {py(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no Python literal for {type(value).__name__}")


def _moment(value: Moment) -> str:
    if value.before_today is not None:
        # what dag-factory's `start_date: 2 days` computes, in pendulum's arithmetic
        return f"pendulum.today({py(value.timezone)}) - {_timedelta(value.before_today)}"
    w = value.local
    parts = [w.year, w.month, w.day] + ([w.hour, w.minute, w.second] if w.time() != time() else [])
    if w.microsecond:
        parts.append(w.microsecond)
    return f"pendulum.datetime({', '.join(map(str, parts))}, tz={py(value.timezone)})"


def _form(value: TaskOutput | Instance | Function) -> str:
    """A task's output, an instance, a function (with arguments bound): only imported names,
    identifiers and literals."""
    if isinstance(value, TaskOutput):
        return f"{value.var}.output" + (f"[{py(value.key)}]" if value.key is not None else "")
    if isinstance(value, Instance):
        return f"{value.cls.alias}({_keywords(value.kwargs)})"
    if not value.kwargs:
        return value.func.alias
    return f"{PARTIAL.alias}({value.func.alias}, {_keywords(value.kwargs)})"


def _keywords(kwargs: tuple[tuple[str, object], ...]) -> str:
    # the names are Python identifiers (validate checks them), never code
    return ", ".join(f"{k}={py(v)}" for k, v in kwargs)


def _bind(value: object, var: dict[str, str]) -> Any:
    """`value` with each XCom as the TaskOutput of its producer's variable (`var`: task id -> it)."""
    if type(value) is str:  # most values: none of the kinds below
        return value
    if isinstance(value, XCom):
        return TaskOutput(var[value.task_id], value.key)
    if isinstance(value, Instance):
        return Instance(value.cls, tuple((k, _bind(v, var)) for k, v in value.kwargs))
    if isinstance(value, Function):
        return Function(value.func, tuple((k, _bind(v, var)) for k, v in value.kwargs))
    if isinstance(value, dict):
        return {k: _bind(v, var) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_bind(v, var) for v in value]
    return value


def _callback_args(
    callbacks: dict[str, tuple[Any, ...]],
    alerts: Alerts | None,
    events: frozenset[str] | set[str] = frozenset(),
) -> dict[str, object]:
    """`on_EVENT_callback` arguments: for each event of `callbacks` and of `events`, the alert mail
    of `alerts` (None: no mail is written here) and the callbacks, both fire. An event with a mail
    alone gets the notifier itself, one with nothing None (it replaces what default_args give)."""
    mails = {
        "on_failure": alerts.failure_to if alerts else (),
        "on_retry": alerts.retry_to if alerts else (),
    }
    out: dict[str, object] = {}
    for event in TASK_EVENTS:
        if event not in callbacks and event not in events:
            continue
        mail = [Mail(NOTIFIER.alias, mails[event])] if mails.get(event) else []
        given = [*mail, *callbacks.get(event, ())]
        out[f"{event}_callback"] = given if event in callbacks else given[0] if given else None
    return out


def _text(value: str, block: bool) -> str:
    """py() of a text."""
    if block and "\n" in value and _block(value):  # most texts have one line: no _block
        # the backslash ends the opening line without a line break: the text starts at column 0
        return f"{TRIPLE}\\\n{value}{TRIPLE}"
    text = repr(value)
    # black's quotes (double, unless that needs more escapes), so that black has less to redo
    return f'"{text[1:-1]}"' if text[0] == "'" and '"' not in value else text


def _block(text: str) -> bool:
    """Whether `text` has several lines and is written exactly by itself in a triple-quoted block:
    it holds only line breaks and the characters repr() writes as themselves (no backslash, no
    control character such as a carriage return, no U+2028 or bidi override), and no three double
    quotes in a row nor one at its end, which would close the block early. Any other text is
    written by repr(), escapes and all."""
    return (
        "\n" in text.rstrip("\n")
        and TRIPLE not in text
        and not text.endswith('"')
        and "\\" not in text
        and all(c == "\n" or c.isprintable() for c in text)
    )


def _timedelta(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    parts = {
        "days": days,
        "hours": rest // 3600,
        "minutes": rest % 3600 // 60,
        "seconds": rest % 60,
    }
    given = [f"{k}={v}" for k, v in parts.items() if v]
    return f"timedelta({', '.join(given) or 'seconds=0'})"


class _Environment(jinja2.Environment):
    def getitem(self, obj: Any, argument: Any) -> Any:
        # dag.py.j2 looks each task's macro up as `operators[name]`, in the imported
        # operators.py.j2: a module, which takes no subscript, so that Jinja's own getitem tries one
        # and catches the TypeError before it asks for the attribute, twice a task. The attribute
        # first gives the same macro, or the same Undefined when there is none.
        if isinstance(obj, jinja2.environment.TemplateModule) and isinstance(argument, str):
            return self.getattr(obj, argument)
        return super().getitem(obj, argument)


@cache
def _environment() -> jinja2.Environment:
    env = _Environment(
        loader=jinja2.PackageLoader("dagforge", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
        auto_reload=False,  # the templates are part of the package: no stat of them per render
    )
    env.filters["py"] = py
    return env


def render(p: Pipeline, airflow: targets.Target | str | int = targets.DEFAULT) -> str:
    """Unformatted Python source of the DAG file for the target Airflow (a Target, or "3" or "2")."""
    target = targets.target(airflow)
    default_args: dict[str, object] = {
        "owner": p.owner,
        "retries": p.retries,
        "retry_delay": p.retry_delay,
        # the spec's `defaults:`; their callbacks below, with the alert mails (both fire)
        **{k: v for k, v in p.defaults.items() if k != "callbacks"},
    }
    if p.alerts.failure_to:
        default_args["on_failure_callback"] = Mail(NOTIFIER.alias, p.alerts.failure_to)
    if p.alerts.retry_to:
        default_args["on_retry_callback"] = Mail(NOTIFIER.alias, p.alerts.retry_to)
    default_args.update(_callback_args(p.defaults.get("callbacks", {}), p.alerts))
    var = {t.task_id: t.var for t in p.tasks} | {g.group_id: g.var for g in p.groups}
    tree = _tree(p, target, var, default_args)
    success_mail = (
        Mail("DagSuccessMail", p.alerts.emails) if p.alerts.on_success and p.alerts.emails else None
    )
    # the DAG run's callbacks: the success mail and the spec's `callbacks:` both fire
    dag_callbacks: dict[str, object] = {}
    if success_mail:
        dag_callbacks["on_success_callback"] = success_mail
    for event, given in p.callbacks.items():
        mail = [success_mail] if success_mail and event == "on_success" else []
        dag_callbacks[f"{event}_callback"] = [*mail, *given]
    params = {name: Call(target.param[1], (v.default,), v.schema) for name, v in p.params.items()}
    timetable = target.timetable(p)  # asked by the imports and the schedule
    return (
        _environment()
        .get_template("dag.py.j2")
        .render(
            p=p,
            imports=_imports(p, target, timetable),
            schedule=_schedule(p, target, timetable),
            default_args=default_args,
            success_mail=success_mail,
            dag_callbacks=dag_callbacks,
            tree=tree,
            task_group=target.task_group[1],
            params=params,
            dag_settings=_dag_settings(p, target),
            # a dependency on a group is written with the group, as Airflow users write it:
            # `extract >> transform`, Airflow itself expands it to the group's first or last tasks
            links=[([var[u] for u in ups], var[down]) for ups, down in p.links],
        )
    )


@dataclass
class Entry:
    """One entry of the generated `with DAG(...)` block: a task, or a task group with its entries."""

    task: Task | None = None
    args: list[str] | None = None  # keyword arguments as source, `task_id=`/`group_id=` first
    group: Group | None = None
    children: list[Entry] | None = None
    call: str | None = None  # a TaskFlow task: the whole expression that makes it
    # `with TaskGroup(args) as var:`, a task that is not mapped `var = Operator(args)`: on one line
    # when black keeps it so (see _one_line), else None (one argument a line)
    line: str | None = None
    # a mapped task: `.expand(...)`'s arguments, an output as the TaskOutput of its producer
    expand: dict[str, object] | None = None
    # `.expand_kwargs(...)`: the literal list of argument mappings, or the upstream's output
    expand_kwargs: object = None


def _taskflow(
    t: Task, pairs: list[tuple[str, Any]], target: targets.Target, var: dict[str, str]
) -> Entry:
    """`task(python_callable=f, task_id=..., ...)(*op_args, **op_kwargs).operator`, as `@task`
    does it; mapped: `task(...).partial(**op_kwargs).expand(...)`. `.operator` is the decorated
    operator the call makes, so that the rest of the file uses it as any other task."""
    decorator = ", ".join(
        f"{k}={py(_bind(v, var), block=True)}"
        for k, v in pairs
        if k not in ("op_args", "op_kwargs")
    )
    op_args = [py(_bind(v, var)) for v in t.arguments.get("op_args") or ()]
    op_kwargs = _call_keywords(t.arguments.get("op_kwargs") or {}, var)
    if t.expand:
        fixed = f".partial({op_kwargs})" if op_kwargs else ""
        calls = f"{fixed}.expand({_call_keywords(_expand(t, var), var)})"
    else:
        calls = f"({', '.join([*op_args, op_kwargs] if op_kwargs else op_args)})"
    return Entry(task=t, call=f"{target.task[1]}({decorator}){calls}.operator")


def _expand(t: Task, var: dict[str, str]) -> dict[str, object]:
    """A task's `expand:`, each output as the TaskOutput of its producer's variable."""
    return {
        k: TaskOutput(var[v.task_id]) if isinstance(v, Output) else v for k, v in t.expand.items()
    }


def _call_keywords(given: dict[str, Any], var: dict[str, str]) -> str:
    """Keyword arguments of a call: `name=value` where the name is an identifier (validate
    requires it), else `**{"name": value}`: a key is always data, never code."""
    plain = {k: v for k, v in given.items() if k.isidentifier() and not keyword.iskeyword(k)}
    rest = {k: v for k, v in given.items() if k not in plain}
    out = [f"{k}={py(_bind(v, var))}" for k, v in plain.items()]
    return ", ".join(out + ([f"**{py(_bind(rest, var))}"] if rest else []))


def _tree(
    p: Pipeline, target: targets.Target, var: dict[str, str], dag_defaults: dict[str, Any]
) -> list[Entry]:
    """The tasks and groups nested as the spec nests them, in spec order."""
    groups = {g.group_id: g for g in p.groups}
    tasks = {t.task_id: t for t in p.tasks}
    top: list[Entry] = []
    inside: dict[str, list[Entry]] = {}
    # What the tasks of each group get from default_args: Airflow (2.10 and 3) merges a TaskGroup's
    # default_args over its parent group's and those over the DAG's; a task's own arguments win.
    effective: dict[str | None, dict[str, Any]] = {None: dag_defaults}
    pad: dict[str | None, str] = {None: ""}  # where the `with` line of each group starts
    for node_id in p.layout:
        if node_id in groups:
            g = groups[node_id]
            outer = effective[g.parent]
            defaults = {k: v for k, v in g.defaults.items() if k != "callbacks"}
            defaults.update(_callback_args(g.defaults.get("callbacks", {}), p.alerts))
            effective[node_id] = {**outer, **defaults}
            pad[node_id] = pad[g.parent] + "    "
            args = [f"group_id={py(g.local_id)}"]
            if g.tooltip is not None:
                args.append(f"tooltip={py(g.tooltip)}")
            # only what differs from the enclosing group (or the DAG): the file stays minimal
            changed = {k: v for k, v in defaults.items() if k not in outer or outer[k] != v}
            if changed:
                args.append(_spread("default_args=", changed, pad[node_id] + "    "))
            entry = Entry(group=g, args=args, children=inside.setdefault(node_id, []))
            entry.line = _one_line(
                f"with {target.task_group[1]}({', '.join(args)}) as {g.var}:", pad[node_id]
            )
            parent = g.parent
        else:
            t = tasks[node_id]
            settings = _task_settings(t, target, effective[t.group])
            pairs = [("task_id", t.local_id), *t.arguments.items(), *settings.items()]
            if is_taskflow(t.operator_given):
                entry = _taskflow(t, pairs, target, var)
            else:
                # most values are texts: _text at once, not through _bind and py
                args = [
                    f"{k}={_text(v, True) if type(v) is str else py(_bind(v, var), block=True)}"
                    for k, v in pairs
                ]
                entry = Entry(task=t, args=args)
                if t.expand:
                    entry.expand = _expand(t, var)
                if t.expand_kwargs is not None:
                    entry.expand_kwargs = (
                        TaskOutput(var[t.expand_kwargs.task_id])
                        if isinstance(t.expand_kwargs, Output)
                        else t.expand_kwargs
                    )
                if not t.expand and t.expand_kwargs is None:
                    call = f"{t.var} = {t.operator.alias}({', '.join(args)})"
                    entry.line = _one_line(call, pad[t.group] + "    ")
            parent = t.group
        (top if parent is None else inside.setdefault(parent, [])).append(entry)
    return top


def _one_line(line: str, pad: str) -> str | None:
    """`line` if black keeps it on one line at indent `pad`: it fits LINE_LENGTH and holds no line
    break (a text written as a block has them). None: the template writes one argument a line."""
    return line if len(pad) + len(line) <= LINE_LENGTH and "\n" not in line else None


def _spread(head: str, value: object, pad: str) -> str:
    """`head` and the literal of `value`, the last item of a line at `pad` that ends in a comma: on
    one line when that fits, else a dict one entry a line (each spread the same way) with trailing
    commas, the layout black keeps as it is (its "magic trailing comma")."""
    line = head + py(value)
    if not isinstance(value, dict) or not value or len(pad + line + ",") <= LINE_LENGTH:
        return line
    inner = pad + "    "
    entries = "".join(f"{inner}{_spread(f'{py(k)}: ', v, inner)},\n" for k, v in value.items())
    return f"{head}{{\n{entries}{pad}}}"


def _dag_settings(p: Pipeline, target: targets.Target) -> list[tuple[str, object]]:
    """The DAG's keyword arguments for its settings beyond the schedule, those the spec gives."""
    s = p.settings
    given: list[tuple[str, object]] = []
    if s.display_name is not None:
        given.append(("dag_display_name", s.display_name))
    if s.owner_links:
        given.append(("owner_links", s.owner_links))
    if s.native:
        given.append(("render_template_as_native_obj", True))
    if s.searchpath:
        given.append(("template_searchpath", [Beside(f) for f in s.searchpath]))
    if s.macros:
        given.append(("user_defined_macros", nest(s.macros)))
    if s.filters:
        given.append(("user_defined_filters", s.filters))
    if s.paused is not None:
        given.append(("is_paused_upon_creation", s.paused))
    if s.fail_fast:
        given.append((target.fail_fast, True))
    if s.access_control is not None:
        given.append(("access_control", s.access_control))
    alerts = [
        Call(
            "DeadlineAlert",
            kwargs=(
                ("reference", Name(f"DeadlineReference.{DEADLINE_REFERENCES[d.reference]}")),
                ("interval", d.interval),
                # SyncCallback(fn, kwargs={...}): Airflow calls fn(context=..., **kwargs)
                (
                    "callback",
                    Call("SyncCallback", (d.callback,), (("kwargs", dict(d.kwargs)),))
                    if d.kwargs
                    else Call("SyncCallback", (d.callback,)),
                ),
            ),
        )
        for d in s.deadlines
    ]
    if alerts:
        given.append(("deadline", alerts[0] if len(alerts) == 1 else alerts))
    return given


def _task_settings(t: Task, target: targets.Target, outer: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the settings the spec gives this task itself (beyond the DAG's; what
    its groups' defaults give it comes from their TaskGroup's default_args, `outer`)."""
    if not t.overrides:  # most tasks: the DAG's settings are theirs
        return {}
    settings = {
        k: v
        for k, v in t.overrides.items()
        if k not in ("alerts", "callbacks") and k not in t.inherited
    }
    for key in ("inlets", "outlets"):
        if key in settings:
            settings[key] = [_assets(a, target) for a in settings[key]]
    own_alerts = "alerts" in t.overrides
    if own_alerts or ("callbacks" in t.overrides and "callbacks" not in t.inherited):
        # An argument replaces what default_args give for that event: it holds the mail and the
        # callbacks, and an event the groups around give callbacks for is written too.
        around = {k.removesuffix("_callback") for k in outer if k.endswith("_callback")}
        mailed = {"on_failure", "on_retry"} if own_alerts else set()
        given = _callback_args(t.callbacks, t.alerts, around | mailed)
        if not own_alerts:  # only what differs from default_args
            given = {k: v for k, v in given.items() if v != outer.get(k)}
        settings.update(given)
    return settings


def _schedule(p: Pipeline, target: targets.Target, cls: tuple[str, str] | None) -> object:
    """The value of the DAG's `schedule=`: None, a preset, calls of timetable or asset classes (`cls`,
    the timetable's: target.timetable(p))."""
    if isinstance(p.schedule, (list, dict)):  # ScheduleKind.ASSETS
        return _assets(p.schedule, target)
    if cls is None:
        return p.schedule  # None, "@once" or a timetable object: the same on every version
    if cls == target.duration:
        timetable = Call(cls[1], (p.schedule,))
    else:
        timetable = Call(cls[1], (p.schedule,), (("timezone", p.timezone),))
    if p.or_assets is None:
        return timetable
    return Call(  # a run at each time, and whenever the assets are updated
        target.asset_or_time[1],
        kwargs=(
            ("timetable", timetable),
            (target.asset_or_time_assets, _assets(p.or_assets, target)),
        ),
    )


def _assets(condition: values.AssetCondition, target: targets.Target) -> object:
    """An asset schedule as calls: a list is all of them (`[Asset(...), ...]`), a mapping AssetAny/AssetAll;
    an asset written out is `Asset(name=..., uri=..., group=..., extra=...)` with what it gives."""
    if isinstance(condition, str):
        return Call(target.asset[1], (condition,))
    if isinstance(condition, dict) and "alias" in condition:
        given = tuple((k, condition[k]) for k in ("group",) if k in condition)
        return Call(target.asset_alias[1], (condition["alias"],), given)
    if isinstance(condition, dict) and values.is_asset(condition):
        return Call(
            target.asset[1],
            kwargs=tuple(
                (k, condition[k]) for k in ("name", "uri", "group", "extra") if k in condition
            ),
        )
    if isinstance(condition, list):
        return [_assets(c, target) for c in condition]
    [(kind, items)] = condition.items()
    cls = target.asset_any if kind == "any" else target.asset_all
    return Call(cls[1], tuple(_assets(c, target) for c in items))


def _asset_classes(
    condition: values.AssetCondition, target: targets.Target
) -> set[tuple[str, str]]:
    if isinstance(condition, dict) and "alias" in condition:
        return {target.asset_alias}
    if values.is_asset(condition):
        return {target.asset}
    if isinstance(condition, list):
        return set().union(*(_asset_classes(c, target) for c in condition))
    assert isinstance(condition, dict)  # any/all
    [(kind, items)] = condition.items()
    return {target.asset_any if kind == "any" else target.asset_all}.union(
        *(_asset_classes(c, target) for c in items)
    )


def _asset_imports(p: Pipeline, target: targets.Target) -> set[tuple[str, str, str]]:
    """The asset classes the schedule, inlets and outlets use, as (module, name, alias)."""
    used = (
        _asset_classes(p.schedule, target)
        if isinstance(p.schedule, (list, dict))  # ScheduleKind.ASSETS
        else set()
    )
    if p.or_assets is not None:
        used |= _asset_classes(p.or_assets, target) | {target.asset_or_time}
    for t in p.tasks:
        for key in ("inlets", "outlets"):
            if key in t.overrides:  # few tasks have them
                used |= set().union(*(_asset_classes(a, target) for a in t.overrides[key]))
    return {(*cls, cls[1]) for cls in used}


def _settings_imports(p: Pipeline) -> set[tuple[str, str, str]]:
    """What the DAG's settings use: macros, filters, deadline classes and callbacks, `os`."""
    s = p.settings
    names = {(r.module, r.name, r.alias) for r in [*s.macros.values(), *s.filters.values()]}
    if s.searchpath:
        names.add(("os", "", ""))  # `import os`: see section()
    if s.deadlines:
        names |= {
            (DEADLINE_MODULE, n, n) for n in ("DeadlineAlert", "DeadlineReference", "SyncCallback")
        }
        names |= {(d.callback.module, d.callback.name, d.callback.alias) for d in s.deadlines}
    return names


def _imports(
    p: Pipeline, target: targets.Target, timetable: tuple[str, str] | None
) -> list[list[str]]:
    """Import lines in the sections and order isort (and ruff's `I` rules) write with their defaults:
    the standard library, then everything else; `import x` before `from x import y`. `timetable`:
    target.timetable(p)."""
    names = {("datetime", "timedelta", "timedelta"), (*target.dag, target.dag[1])}
    if timetable:
        names.add((*timetable, timetable[1]))
    if p.params:
        names.add((*target.param, target.param[1]))
    if p.groups:
        names.add((*target.task_group, target.task_group[1]))
    names |= _asset_imports(p, target) | _settings_imports(p)
    for root in (p.schedule, p.callbacks, p.defaults, *(g.defaults for g in p.groups)):
        _code_refs(root, names)
    for t in p.tasks:
        if is_taskflow(t.operator_given):  # `task(...)` makes its operator
            names.add((*target.task, target.task[1]))
        else:
            names.add((*target.home(t.operator.module, t.operator.name), t.operator.alias))
        _code_refs(t.arguments, names)
        if t.overrides:  # most tasks have no settings of their own
            _code_refs(t.overrides, names)
    alerting = (
        p.alerts.failure_to
        or p.alerts.retry_to
        or any(t.alerts.failure_to or t.alerts.retry_to for t in p.tasks if "alerts" in t.overrides)
    )
    if alerting:
        names.add((NOTIFIER.module, NOTIFIER.name, NOTIFIER.alias))

    def section(modules: set[str], froms: set[tuple[str, str, str]]) -> list[str]:
        by_module: dict[str, list[tuple[str, str]]] = {}
        modules = modules | {module for module, name, _ in froms if not name}
        froms = {f for f in froms if f[1]}
        for module, name, alias in froms:
            by_module.setdefault(module, []).append((name, alias))
        lines = [f"import {m}" for m in sorted(modules, key=_module_order)]
        for module in sorted(by_module, key=_module_order):
            members = sorted(by_module[module], key=lambda na: (*_member_order(na[0]), na[1]))
            # isort's default (combine_as_imports off): the plain names on one line, then each
            # renamed one on its own
            plain = [n for n, a in members if a == n]
            if plain:
                lines.append(f"from {module} import {', '.join(plain)}")
            lines += [f"from {module} import {n} as {a}" for n, a in members if a != n]
        return lines

    stdlib = {n for n in names if _stdlib(n[0])}
    return [g for g in (section(set(), stdlib), section({"pendulum"}, names - stdlib)) if g]


def _code_refs(value: object, names: set[tuple[str, str, str]]) -> None:
    """Add to `names` the import of every object `value` refers to, at any depth (the CodeRefs
    model.walk finds: of an Instance's class, a Function, a reference itself), and
    functools.partial for a Function with arguments bound."""
    if type(value) is str:  # most values: none of the kinds below
        return
    if isinstance(value, CodeRef):
        names.add((value.module, value.name, value.alias))
    elif isinstance(value, (Instance, Function)):
        ref = value.cls if isinstance(value, Instance) else value.func
        names.add((ref.module, ref.name, ref.alias))
        if isinstance(value, Function) and value.kwargs:
            names.add((PARTIAL.module, PARTIAL.name, PARTIAL.alias))
        for _, v in value.kwargs:
            _code_refs(v, names)
    elif isinstance(value, dict):
        for v in value.values():
            if type(v) is not str:  # a task's arguments are mostly texts: no call for them
                _code_refs(v, names)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _code_refs(v, names)


def _stdlib(module: str) -> bool:
    return module.partition(".")[0] in sys.stdlib_module_names


def _module_order(module: str) -> tuple[str, str]:
    return (module.lower(), module)


def _member_order(name: str) -> tuple[int, str, str]:
    """isort's order-by-type: CONSTANTS, then Classes, then functions and variables."""
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return (kind, name.lower(), name)
