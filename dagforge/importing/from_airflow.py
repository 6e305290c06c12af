"""`dagforge import --from airflow`: plain Python DAG files, loaded with Airflow's DagBag, written as
one spec per DAG for what a spec can say; what cannot be recovered from the loaded DAG (a callable
defined inside a function, an object of no spec form) is a warning naming the task and argument.

Imports Airflow (it loads the files); the CLI imports this module only for `--from airflow`.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..diagnostics import Code, Diagnostic, Severity
from ..operators import SHORT
from .result import Converted, ImportResult, ImportUsageError
from .values import format_duration
from .verify import NOT_ARGUMENTS as _NOT_ARGUMENTS
from .writer import check_ids, write_specs

_BY_CLASS = {f"{s.module}.{s.name}": name for name, s in SHORT.items()}
_DURATIONS = {name: set(s.durations) for name, s in SHORT.items()}
_ALWAYS_DURATIONS = {"retry_delay", "execution_timeout"}
# BaseOperator settings a v1 spec takes on each task, with Airflow's defaults (left out when equal).
_SETTINGS: dict[str, Any] = {
    "trigger_rule": "all_success",
    "pool": "default_pool",
    "pool_slots": 1,
    "priority_weight": 1,
    "max_active_tis_per_dag": None,
    "executor_config": {},
}


def find_python(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(f for f in p.rglob("*.py") if f.is_file())
        elif p.is_file():
            found.append(p)
        else:
            raise ImportUsageError(f"{p.as_posix()}: no such file or folder")
    return found


def import_airflow(
    paths: list[str],
    out: str | os.PathLike[str] = "specs",
    force: bool = False,
    verify: bool = True,
    dags_folder: str | os.PathLike[str] = ".",
) -> ImportResult:
    """Load the Python DAG files in `paths` and write a spec per DAG into `out`; `dags_folder` goes
    on sys.path first, as Airflow puts its dags folder there (the files' own imports)."""
    import logging
    import sys
    import warnings

    from .. import targets
    from ..verify import load_dagbag

    result = ImportResult()
    files = find_python(paths)
    folder = str(Path(dags_folder).resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)
    if not files:
        raise ImportUsageError("no Python files found")
    logging.disable(logging.CRITICAL)  # Airflow's own logging: what matters comes back as warnings
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            originals: dict[str, Any] = {}
            for file in files:
                bag = load_dagbag(file, targets.target("3"))
                for where, error in bag.import_errors.items():
                    last = str(error).strip().splitlines()[-1]
                    result.problems.append(Diagnostic(where, 0, 0, f"cannot load: {last}"))
                for dag_id in sorted(bag.dags):
                    dag = bag.dags[dag_id]
                    originals[dag_id] = dag
                    result.dags.append(convert(dag, file))
            check_ids(result.dags)
            result.written, problems = write_specs(result.dags, Path(out), force, kind="Airflow")
            result.problems += problems
            if verify and result.written and not problems:
                _verify(result, originals)
                result.verified = True
    finally:
        logging.disable(logging.NOTSET)
    return result


def _verify(result: ImportResult, originals: dict[str, Any]) -> None:
    from .verify import compare, dagforge_dags

    ours, problems = dagforge_dags([c for c in result.dags if c.written])
    for conv in result.dags:
        if conv.written is None:
            continue
        problem = problems.get(conv.dag_id)
        if problem:
            conv.notes.append(_warn(conv, f"the converted spec does not build: {problem}"))
        elif conv.dag_id in ours:
            for diff in compare(originals[conv.dag_id], ours[conv.dag_id], "Python"):
                conv.notes.append(_warn(conv, f"differs from the Python DAG: {diff}"))
            conv.compared = True


def _warn(conv: Converted, message: str) -> Diagnostic:
    return Diagnostic(
        conv.source.as_posix(),
        0,
        0,
        f"DAG {conv.dag_id}: {message}",
        "",
        Code.SPEC,
        Severity.WARNING,
    )


# ---------------------------------------------------------------------------------------------
# One DAG


def convert(dag: Any, file: Path) -> Converted:
    conv = Converted(dag.dag_id, file, {})
    spec: dict[str, Any] = {}
    if dag.description:
        spec["description"] = dag.description
    if dag.doc_md:
        spec["doc_md"] = dag.doc_md
    args = dict(dag.default_args or {})
    if args.get("owner") not in (None, "airflow"):
        spec["owner"] = args["owner"]
    tz = dag.timezone.name
    spec["schedule"] = _schedule(dag.timetable, tz, spec, conv)
    spec["start_date"] = _moment(dag.start_date or args.get("start_date"), tz)
    if dag.end_date:
        spec["end_date"] = _moment(dag.end_date, tz)
    if tz != "UTC":
        spec["timezone"] = tz
    if dag.catchup:
        spec["catchup"] = True
    if dag.tags:
        spec["tags"] = sorted(dag.tags)
    _limits(dag, spec)
    if args.get("retries"):
        spec["retries"] = args["retries"]
    delay = args.get("retry_delay")
    if isinstance(delay, dt.timedelta) and delay != dt.timedelta(minutes=5):
        spec["retry_delay"] = format_duration(delay)
    alerts = _alerts(args.get("on_failure_callback"), args.get("on_retry_callback"))
    success = _recipients(dag.on_success_callback, "DagSuccessMail")
    if success:
        alerts = alerts or {"emails": success, "on_failure": False}
        alerts["on_success"] = True
    if alerts:
        spec["alerts"] = alerts
    if dag.params:
        spec["params"] = _params(dag.params)
    _dag_settings(dag, args, spec, conv)
    spec["tasks"] = _group(dag.task_group, dag, args, conv, _group_links(dag))
    conv.spec = spec
    return conv


def _dag_settings(dag: Any, args: dict[str, Any], spec: dict[str, Any], conv: Converted) -> None:
    """The DAG settings beside schedule and dates, its callbacks, and default_args as `defaults:`."""
    if dag.dag_display_name != dag.dag_id:
        spec["dag_display_name"] = dag.dag_display_name
    if dag.render_template_as_native_obj:
        spec["render_template_as_native_obj"] = True
    if dag.is_paused_upon_creation is not None:
        spec["is_paused_upon_creation"] = dag.is_paused_upon_creation
    if getattr(dag, "fail_fast", False):
        spec["fail_fast"] = True
    if getattr(dag, "owner_links", None):
        spec["owner_links"] = dict(dag.owner_links)
    macros = _macros(dag.user_defined_macros or {}, "", conv)
    if macros:
        spec["user_defined_macros"] = macros
    where = "the DAG's default_args"
    dag_callbacks = _callbacks(
        {e: getattr(dag, f"{e}_callback", None) for e in ("on_success", "on_failure")},
        "the DAG",
        conv,
        _DAG_MAILS,
    )
    if dag_callbacks:
        spec["callbacks"] = dag_callbacks
    defaults = _default_args_settings(
        {k: v for k, v in args.items() if k not in ("owner", "retries", "retry_delay")}, {}
    )
    callbacks = _callbacks(
        {e: args.get(f"{e}_callback") for e in _EVENTS}, where, conv, _TASK_MAILS
    )
    if callbacks:
        defaults["callbacks"] = callbacks
    if defaults:
        spec["defaults"] = defaults


def _limits(dag: Any, spec: dict[str, Any]) -> None:
    from airflow.configuration import conf

    if dag.max_active_runs != conf.getint("core", "max_active_runs_per_dag"):
        spec["max_active_runs"] = dag.max_active_runs
    if dag.max_active_tasks != conf.getint("core", "max_active_tasks_per_dag"):
        spec["max_active_tasks"] = dag.max_active_tasks
    if dag.dagrun_timeout:
        spec["dagrun_timeout"] = format_duration(dag.dagrun_timeout)


def _schedule(timetable: Any, tz: str, spec: dict[str, Any], conv: Converted) -> Any:
    from ..verify import _loaded_condition

    kind = type(timetable).__name__
    expression = getattr(timetable, "expression", None) or getattr(timetable, "_expression", None)
    if kind in ("CronTriggerTimetable", "CronDataIntervalTimetable") and expression:
        if kind == "CronDataIntervalTimetable":
            spec["timetable"] = "interval"
        return expression
    delta = getattr(timetable, "delta", None) or getattr(timetable, "_delta", None)
    if kind == "DeltaTriggerTimetable" and isinstance(delta, dt.timedelta):
        return format_duration(delta)
    if kind in ("NullTimetable",):
        return None
    if kind == "OnceTimetable":
        return "@once"
    if kind == "ContinuousTimetable":
        return "@continuous"
    if kind == "AssetTriggeredTimetable":
        condition = _loaded_condition(timetable.asset_condition)
        if isinstance(condition, dict) and list(condition) == ["all"]:
            if all(isinstance(c, str) for c in condition["all"]):
                return condition["all"]
        return condition
    conv.notes.append(_warn(conv, f"a {kind} schedule has no spec form (v1); written as none"))
    return None


def _moment(value: Any, tz: str) -> Any:
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(tz))  # plain datetime and date below, not pendulum's
    moment = dt.datetime(*local.timetuple()[:6])
    return moment.date() if moment.time() == dt.time() else moment


def _params(params: Any) -> dict[str, Any]:
    from ..verify import _params as loaded

    keep = {
        "default",
        "type",
        "description",
        "enum",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
    }
    return {k: {a: b for a, b in v.items() if a in keep} for k, v in loaded(params).items()}


def _recipients(callbacks: Any, kind: str) -> list[str]:
    found: list[str] = []
    for cb in callbacks if isinstance(callbacks, list | tuple) else [callbacks]:
        if type(cb).__name__ == kind:
            to = getattr(cb, "to", None)
            found += [to] if isinstance(to, str) else list(to or [])
    return found


def _alert_state(on_failure: Any, on_retry: Any) -> dict[str, Any]:
    failure = _recipients(on_failure, "SmtpNotifier")
    retry = _recipients(on_retry, "SmtpNotifier")
    return {"emails": failure or retry, "on_failure": bool(failure), "on_retry": bool(retry)}


def _alerts(on_failure: Any, on_retry: Any) -> dict[str, Any] | None:
    failure = _recipients(on_failure, "SmtpNotifier")
    retry = _recipients(on_retry, "SmtpNotifier")
    if not failure and not retry:
        return None
    alerts: dict[str, Any] = {"emails": failure or retry}
    if not failure:
        alerts["on_failure"] = False
    if retry:
        alerts["on_retry"] = True
    return alerts


# ---------------------------------------------------------------------------------------------
# Groups and tasks


@dataclass
class _Links:
    """The dependencies set on task groups (`extract >> group`, `group >> load`, `a >> b` of two
    groups), which Airflow records on the groups besides the task edges they make: written as a
    group's (or a task's) `dependencies` on the group, and those task edges left out."""

    ups: dict[str, set[str]]  # a group or task id -> the task and group ids it depends on
    edges: set[tuple[str, str]]  # the task edges (upstream, downstream) they stand for


def _group_links(dag: Any) -> _Links:
    groups, stack = [], [dag.task_group]
    while stack:
        g = stack.pop()
        groups.append(g)
        stack += [c for c in g.children.values() if hasattr(c, "children")]
    by_id = {g.group_id: g for g in groups if g.group_id}
    task_ids = set(dag.task_dict)

    def leaves(node: str) -> set[str]:
        return {x.task_id for x in by_id[node].get_leaves()} if node in by_id else {node}

    def roots(node: str) -> set[str]:
        return {x.task_id for x in by_id[node].get_roots()} if node in by_id else {node}

    links = _Links({}, set())
    pairs = [(up, g.group_id) for g in by_id.values() for up in g.upstream_group_ids]
    # `a >> b` of two groups records a's last tasks among b's upstream tasks too: those are a
    pairs += [
        (up, g.group_id)
        for g in by_id.values()
        for up in g.upstream_task_ids
        if not any(up in leaves(a) for a in g.upstream_group_ids if a in by_id)
    ]
    pairs += [(g.group_id, down) for g in by_id.values() for down in g.downstream_task_ids]
    for up, down in pairs:
        if (up not in by_id and up not in task_ids) or (down not in by_id and down not in task_ids):
            continue
        made = {(u, d) for u in leaves(up) for d in roots(down)}
        # only where the edges it makes are all there (the group's first and last tasks are the
        # same now as when the dependency was set): then the spec's group dependency remakes them
        if made and all(d in task_ids and u in dag.task_dict[d].upstream_task_ids for u, d in made):
            links.ups.setdefault(down, set()).add(up)
            links.edges |= made
    return links


def _dependencies(node: str, ups: set[str], prefix: str) -> list[str]:
    """A node's dependencies: a task or group of the same group by its own id, any other by its
    full id."""
    return [
        d.removeprefix(prefix)
        if prefix and d.startswith(prefix) and "." not in d.removeprefix(prefix)
        else d
        for d in sorted(ups)
    ]


def _group(
    group: Any, dag: Any, dag_args: dict[str, Any], conv: Converted, links: _Links
) -> dict[str, Any]:
    prefix = f"{group.group_id}." if group.group_id else ""
    out: dict[str, Any] = {}
    for child_id, child in group.children.items():
        key = child_id.removeprefix(prefix)
        if hasattr(child, "children"):
            entry: dict[str, Any] = {}
            if child.tooltip:
                entry["tooltip"] = child.tooltip
            own = dict(getattr(child, "default_args", None) or {})
            defaults = _default_args_settings(own, dag_args)
            callbacks = _callbacks(
                {
                    e: own.get(f"{e}_callback")
                    for e in _EVENTS
                    if f"{e}_callback" in own
                    and not _same_callbacks(own[f"{e}_callback"], dag_args.get(f"{e}_callback"))
                },
                f"group '{child.group_id}'",
                conv,
                _TASK_MAILS,  # the spec's alerts, which dagforge adds to a group's callbacks
            )
            if callbacks:
                defaults["callbacks"] = callbacks
            if defaults:
                entry["defaults"] = defaults
            entry["tasks"] = _group(child, dag, {**dag_args, **own}, conv, links)
            if child.group_id in links.ups:
                entry["dependencies"] = _dependencies(
                    child.group_id, links.ups[child.group_id], prefix
                )
            out[key] = entry
        else:
            out[key] = _task(child, prefix, dag_args, conv, links)
    return out


def _macros(given: dict[str, Any], prefix: str, conv: Converted) -> dict[str, Any]:
    """The DAG's macros as a spec names them: module-level functions (or classes), and mappings of
    them, nested the same way."""
    macros: dict[str, Any] = {}
    for name, value in given.items():
        inner = _macros(value, f"{prefix}{name}.", conv) if isinstance(value, dict) else None
        ref = None if isinstance(value, dict) else _function_ref(value)
        if inner or ref:
            macros[name] = inner or ref
        else:
            conv.notes.append(
                _warn(
                    conv,
                    f"user_defined_macros '{prefix}{name}' is no module-level function; dropped",
                )
            )
    return macros


def _task(
    task: Any, prefix: str, dag_args: dict[str, Any], conv: Converted, links: _Links
) -> dict[str, Any]:
    cls = getattr(task, "operator_class", None)
    cls = cls if isinstance(cls, type) else type(task)
    path = f"{cls.__module__}.{cls.__qualname__}"
    short = _BY_CLASS.get(path)
    out: dict[str, Any] = {"operator": short or path}
    given = getattr(task, "partial_kwargs", None)
    # a mapped `@task` keeps its function apart from the other arguments, and maps the function's
    # own arguments (op_kwargs_expand_input), not the operator's
    decorated = getattr(task, "op_kwargs_expand_input", None)
    for name, default in _own_parameters(cls).items():
        value = (
            given.get(name, default) if isinstance(given, dict) else getattr(task, name, default)
        )
        if decorated is not None and name == "python_callable":
            value = getattr(task, name, default)
        if _same(value, default):
            continue
        written = _value(value, name, short, task.task_id, conv)
        if written is not _DROP:
            out[name] = written
    expand = getattr(decorated or getattr(task, "expand_input", None), "value", None)
    if expand:
        out["expand"] = {
            k: _value(v, k, short, task.task_id, conv) for k, v in dict(expand).items()
        }
    if "external_task_id" in out:  # ExternalTaskSensor derives external_task_ids from it
        out.pop("external_task_ids", None)
    _settings(task, dag_args, out, conv)
    ups = {u for u in task.upstream_task_ids if (u, task.task_id) not in links.edges}
    ups |= links.ups.get(task.task_id, set())
    if ups:
        out["dependencies"] = _dependencies(task.task_id, ups, prefix)
    return out


def _settings(task: Any, dag_args: dict[str, Any], out: dict[str, Any], conv: Converted) -> None:
    """The task settings that differ from those it inherits (`dag_args`: the DAG's default_args
    and its groups')."""
    if task.retries != dag_args.get("retries", 0):
        out["retries"] = task.retries
    delay = dag_args.get("retry_delay", dt.timedelta(minutes=5))
    if task.retry_delay != delay:
        out["retry_delay"] = format_duration(task.retry_delay)
    if task.execution_timeout and task.execution_timeout != dag_args.get("execution_timeout"):
        out["execution_timeout"] = format_duration(task.execution_timeout)
    for name, default in _SETTINGS.items():
        value = getattr(task, name, default)
        if value != dag_args.get(name, default) and value:
            written = _plain_setting(value)  # a TriggerRule is a str enum; a pod_override a V1Pod
            if written is _DROP:
                conv.notes.append(
                    _warn(conv, f"task '{task.task_id}': `{name}` has no spec form; dropped")
                )
            else:
                out[name] = written
    if task.queue and task.queue != dag_args.get("queue", _default_queue()):
        out["queue"] = task.queue
    for name, default in _base_settings().items():
        value = getattr(task, name, default)
        if name == "task_display_name" and value == task.task_id:
            continue
        if _plain_setting(value) != _plain_setting(dag_args.get(name, default)):
            written = _plain_setting(value)
            if written is not _DROP:
                out[name] = written
    outlets = [getattr(a, "name", None) or getattr(a, "uri", None) for a in task.outlets or []]
    if outlets:
        out["outlets"] = outlets
    # a task's alerts name the keys that differ from the DAG's (the others are inherited)
    mine = _alert_state(task.on_failure_callback, task.on_retry_callback)
    dags = _alert_state(dag_args.get("on_failure_callback"), dag_args.get("on_retry_callback"))
    differ = {k: v for k, v in mine.items() if v != dags[k] and (k != "emails" or v)}
    if differ:
        out["alerts"] = differ
    # a task's own callbacks: the events whose callbacks differ from those it inherits
    own = {
        e: getattr(task, f"{e}_callback", None)
        for e in _EVENTS
        if not _same_callbacks(getattr(task, f"{e}_callback", None), dag_args.get(f"{e}_callback"))
    }
    callbacks = _callbacks(own, f"task '{task.task_id}'", conv, _TASK_MAILS)
    if callbacks:
        out["callbacks"] = callbacks


# BaseOperator settings beyond those above, written where they differ from what the task inherits
# (Airflow's default, the DAG's and its groups' default_args).
_MORE_SETTINGS = (
    "depends_on_past",
    "ignore_first_depends_on_past",
    "wait_for_past_depends_before_skipping",
    "wait_for_downstream",
    "do_xcom_push",
    "max_active_tis_per_dagrun",
    "max_retry_delay",
    "retry_exponential_backoff",
    "weight_rule",
    "run_as_user",
    "task_display_name",
    "doc",
    "doc_md",
    "doc_json",
    "doc_yaml",
    "doc_rst",
    "map_index_template",
    "executor",
    "logger_name",
    "allow_nested_operators",
)


def _base_settings() -> dict[str, Any]:
    """_MORE_SETTINGS with BaseOperator's defaults."""
    from airflow.sdk import BaseOperator

    params = inspect.signature(BaseOperator.__init__).parameters
    return {n: params[n].default for n in _MORE_SETTINGS if n in params}


def _plain_setting(value: Any) -> Any:
    """A setting's value as a spec writes it (a duration, an enum's text), _DROP when it has none."""
    if isinstance(value, dt.timedelta):
        return format_duration(value)
    value = getattr(value, "value", value)  # WeightRule, TriggerRule: str enums
    return _spec_value(value)


def _spec_value(value: Any) -> Any:
    """Plain data, with the kubernetes client models in it (an executor_config's pod_override),
    as a spec writes them; _DROP when a part of it has no spec form. A model's constructor takes
    each of its `openapi_types` as a keyword argument, and keeps it as the attribute of that name."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, list | tuple):
        items = [_spec_value(v) for v in value]
        return _DROP if _DROP in items else items
    if isinstance(value, dict):
        pairs = {k: _spec_value(v) for k, v in value.items() if isinstance(k, str)}
        return _DROP if len(pairs) < len(value) or _DROP in pairs.values() else pairs
    cls = type(value)
    types = getattr(cls, "openapi_types", None)
    if not (isinstance(types, dict) and cls.__module__.startswith("kubernetes.client.models.")):
        return _DROP
    kwargs: dict[str, Any] = {}
    for name in types:
        given = getattr(value, name, None)
        if given is not None:
            kwargs[name] = _spec_value(given)
    if _DROP in kwargs.values():
        return _DROP
    return {"object": f"kubernetes.client.{cls.__qualname__}", **kwargs}


def _default_args_settings(own: dict[str, Any], inherited: dict[str, Any]) -> dict[str, Any]:
    """default_args (the DAG's or a TaskGroup's) as `defaults:`: the task settings that differ from
    the inherited ones (the DAG's own owner, retries and retry_delay and the callbacks apart)."""
    from ..schemas import default_settings

    out: dict[str, Any] = {}
    for key in default_settings():
        if key not in own or key == "callbacks" or own[key] == inherited.get(key):
            continue
        value = _plain_setting(own[key])
        if value is not _DROP:
            out[key] = value
    return out


_EVENTS = ("on_execute", "on_success", "on_failure", "on_retry", "on_skipped")
# The alert mails that `alerts:` stands for, by event: the DAG's success mail, a task's mails on
# failure and retry (in default_args or its own). Any other notifier is a callback.
_DAG_MAILS = {"on_success": "DagSuccessMail"}
_TASK_MAILS = {"on_failure": "SmtpNotifier", "on_retry": "SmtpNotifier"}


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _same_callbacks(a: Any, b: Any) -> bool:
    from .verify import norm

    return bool(norm(_listed(a)) == norm(_listed(b)))


def _callbacks(
    given: dict[str, Any], owner: str, conv: Converted, mails: dict[str, str] | None = None
) -> dict[str, list[Any]]:
    """Callbacks by event as a spec's `callbacks:`: a module-level function, a partial of one with
    keyword arguments, a notifier whose constructor arguments it keeps as attributes. The alert
    mails are `alerts:`; any other callback is a warning, and its event is left out."""
    out: dict[str, list[Any]] = {}
    for event, value in given.items():
        mail = (mails or {}).get(event)
        items = [cb for cb in _listed(value) if type(cb).__name__ != mail]
        written = [_callback(cb) for cb in items]
        if _DROP in written:
            bad = items[written.index(_DROP)]
            conv.notes.append(
                _warn(
                    conv,
                    f"{owner}: {event}_callback {_describe(bad)} cannot be written in a spec (a "
                    "function defined inside another, a lambda, or an object whose arguments "
                    "it does not keep); the event's callbacks are left out",
                )
            )
        elif written:
            out[event] = written
    return out


def _describe(value: Any) -> str:
    name = getattr(value, "__qualname__", None) or type(value).__qualname__
    return f"'{name}'"


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


def _function_ref(func: Any) -> str | None:
    qualname = getattr(func, "__qualname__", "")
    if inspect.isfunction(func) and "<" not in qualname and "." not in qualname:
        return f"{func.__module__}:{qualname}"
    return None


def _callback(cb: Any) -> Any:
    """One callback as a spec callback, _DROP when none says it."""
    import functools

    ref = _function_ref(cb)
    if ref:
        return ref
    if isinstance(cb, functools.partial):
        ref = _function_ref(cb.func)
        if ref and not cb.args and _plain(cb.keywords):
            return {"function": ref, **{k: _plain_value(v) for k, v in cb.keywords.items()}}
        return _DROP
    if callable(getattr(cb, "notify", None)):
        return _notifier(cb)
    return _DROP


def _plain_value(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _notifier(obj: Any) -> Any:
    """A notifier as `{object: Class, <arguments>}` when each constructor argument is kept as an
    attribute of the same name (the arguments equal to their defaults left out)."""
    cls = type(obj)
    if "<" in cls.__qualname__ or "." in cls.__qualname__:
        return _DROP
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return _DROP
    kwargs: dict[str, Any] = {}
    for name, p in params.items():
        if name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if not hasattr(obj, name):
            if p.default is p.empty:
                return _DROP
            continue
        value = getattr(obj, name)
        if p.default is not p.empty and value == p.default:
            continue
        if not _plain(value):
            return _DROP
        kwargs[name] = _plain_value(value)
    return {"object": f"{cls.__module__}.{cls.__qualname__}", **kwargs}


def _default_queue() -> str:
    from airflow.configuration import conf

    return conf.get("operators", "default_queue")


def _own_parameters(cls: type) -> dict[str, Any]:
    """The constructor parameters of the classes below BaseOperator, with their defaults."""
    from airflow.sdk import BaseOperator

    found: dict[str, Any] = {}
    for klass in cls.__mro__:
        if klass is BaseOperator or not issubclass(klass, BaseOperator):
            break
        if "__init__" not in vars(klass):  # inherited: BaseOperator's own, not this class's
            continue
        try:
            params = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):
            continue
        for name, p in params.items():
            if (
                name in _NOT_ARGUMENTS
                or name.startswith("_")
                or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ):
                continue
            found.setdefault(name, None if p.default is p.empty else p.default)
    return found


def _same(value: Any, default: Any) -> bool:
    if value == default:
        return True
    if value in ([], {}, (), None) and default in ([], {}, (), None):
        return True
    return isinstance(value, list | tuple | set) and list(value) == [default]


_DROP = object()


def _value(value: Any, name: str, short: str | None, task_id: str, conv: Converted) -> Any:
    """An argument's value as a spec writes it; _DROP (with a warning) when it has no spec form."""
    if name in _DURATIONS.get(short or "", set()) and isinstance(value, int | float):
        value = dt.timedelta(seconds=value)  # sensors keep poke_interval and timeout in seconds
    elif value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, dt.timedelta):
        if name in _ALWAYS_DURATIONS or name in _DURATIONS.get(short or "", set()):
            return format_duration(value)
    if isinstance(value, list | tuple):
        items = [_value(v, name, short, task_id, conv) for v in value]
        return _DROP if _DROP in items else items
    if isinstance(value, dict):
        pairs = {str(k): _value(v, name, short, task_id, conv) for k, v in value.items()}
        return _DROP if _DROP in pairs.values() else pairs
    if hasattr(value, "operator") and hasattr(value, "key"):  # an XComArg
        ref = {"output_of": value.operator.task_id}
        return ref if value.key == "return_value" else {**ref, "key": value.key}
    if inspect.isfunction(value) and "<" not in value.__qualname__:
        return f"{value.__module__}:{value.__qualname__}"
    if (written := _spec_value(value)) is not _DROP:
        return written
    conv.notes.append(
        _warn(
            conv,
            f"task '{task_id}': argument `{name}` ({type(value).__name__}) cannot be recovered from "
            "the loaded DAG (a callable defined inside the file's functions, or an object); dropped",
        )
    )
    return _DROP
