"""Verification of `dagforge import`: load each source with dag-factory itself and each converted
spec's build with Airflow's DagBag, in this process, and compare the two DAGs field by field.

The only part of the importer that imports Airflow (and dag-factory).
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..diagnostics import Severity
from .result import At, Converted, ImportResult

# BaseOperator attributes compared on every task (besides the operator's own arguments).
_TASK_FIELDS = (
    "owner",
    "retries",
    "retry_delay",
    "retry_exponential_backoff",
    "max_retry_delay",
    "start_date",
    "end_date",
    "depends_on_past",
    "wait_for_downstream",
    "trigger_rule",
    "pool",
    "pool_slots",
    "queue",
    "priority_weight",
    "weight_rule",
    "execution_timeout",
    "executor_config",
    "max_active_tis_per_dag",
    "do_xcom_push",
    "doc_md",
    "inlets",
    "outlets",
    "on_execute_callback",
    "on_success_callback",
    "on_failure_callback",
    "on_retry_callback",
    "on_skipped_callback",
    "email",
    "map_index_template",
    "multiple_outputs",
    "ignore_first_depends_on_past",
    "wait_for_past_depends_before_skipping",
    "max_active_tis_per_dagrun",
    "task_display_name",
    "run_as_user",
    "executor",
    "resources",
    "doc",
    "doc_json",
    "doc_yaml",
    "doc_rst",
    "logger_name",
    "allow_nested_operators",
)
# Callback arguments: Airflow calls a single callable and a list of callables alike.
_CALLBACK_FIELDS = {
    "on_execute_callback",
    "on_success_callback",
    "on_failure_callback",
    "on_retry_callback",
    "on_skipped_callback",
}
_DAG_FIELDS = (
    "description",
    "catchup",
    "max_active_runs",
    "max_active_tasks",
    "dagrun_timeout",
    "render_template_as_native_obj",
    "template_searchpath",
    "user_defined_macros",
    "is_paused_upon_creation",
    "on_success_callback",
    "on_failure_callback",
    "access_control",
    "dag_display_name",
    "owner_links",
    "fail_fast",
    "user_defined_filters",
)
_YML_DAG = "## YML DAG"  # dag-factory appends the YAML it read to every DAG's doc_md


def can_verify() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("dagfactory", "airflow"))


def verify_import(result: ImportResult, defaults_dir: Path, dags_folder: Path) -> None:
    """Add a warning to every converted DAG whose built DAG differs from dag-factory's."""
    import logging
    import warnings

    # Airflow's and dag-factory's own logging (deprecations, "Filling up the DagBag", the
    # tracebacks of files that fail) is not for the user: what matters comes back as warnings.
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _verify(result, defaults_dir, dags_folder)
    finally:
        logging.disable(logging.NOTSET)


def _verify(result: ImportResult, defaults_dir: Path, dags_folder: Path) -> None:
    folder = str(dags_folder.resolve())
    if folder not in sys.path:
        sys.path.insert(0, folder)  # as Airflow puts its dags folder there
    theirs = _dag_factory_dags(result, defaults_dir)
    ours, build_problems = dagforge_dags([c for c in result.dags if c.written])
    for conv in result.dags:
        if conv.written is None:
            continue
        at = _dag_at(conv)
        problem = build_problems.get(conv.dag_id)
        if problem:
            conv.notes.append(at.warn(f"the converted spec does not build yet: {problem}"))
            continue
        their = theirs.get((conv.source.resolve(), conv.dag_id))
        if isinstance(their, str):
            conv.notes.append(at.warn(f"not verified: {their}"))
            continue
        our = ours.get(conv.dag_id)
        if our is None or their is None:
            conv.notes.append(at.warn("not verified: the DAG was not found after the build"))
            continue
        for diff in compare(their, our):
            conv.notes.append(at.warn(f"differs from dag-factory's DAG: {diff}"))
        conv.compared = True


def _dag_at(conv: Converted) -> At:
    from ..load import load

    doc = load(conv.source)
    return At(doc, (conv.dag_id,))


def _dag_factory_dags(result: ImportResult, defaults_dir: Path) -> dict[tuple[Path, str], Any]:
    from dagfactory.dagfactory import _DagFactory

    found: dict[tuple[Path, str], Any] = {}
    for source in sorted({c.source.resolve() for c in result.dags if c.written}):
        names = [c.dag_id for c in result.dags if c.source.resolve() == source]
        try:
            dags = _DagFactory(
                str(source), defaults_config_path=str(defaults_dir.resolve())
            ).build_dags()
        except Exception as e:  # the user's file: whatever dag-factory raises is its verdict
            for name in names:
                found[(source, name)] = f"dag-factory cannot load it: {type(e).__name__}: {e}"
            continue
        for name in names:
            found[(source, name)] = dags.get(name, "dag-factory made no such DAG")
    return found


def dagforge_dags(convs: list[Converted]) -> tuple[dict[str, Any], dict[str, str]]:
    """Build the written specs into a temporary folder and load them in Airflow's DagBag: the DAGs
    by dag_id, and why a spec did not build, by dag_id."""
    import dagforge

    from .. import targets
    from ..verify import load_dagbag

    problems: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="dagforge-import-") as tmp:
        built = dagforge.build([str(c.written) for c in convs], tmp, verify=False, force=True)
        for spec in built.specs:
            errors = [d for d in spec.diagnostics if d.severity == Severity.ERROR]
            if spec.internal_error:
                problems[Path(spec.path).stem] = "dagforge failed on it (a bug)"
            elif errors:  # the file is <dag_id>.yaml
                problems[Path(spec.path).stem] = "; ".join(
                    f"{d.line}:{d.column}: {d.message}" for d in errors[:3]
                )
        for d in built.problems:
            for c in convs:
                problems.setdefault(c.dag_id, d.message)
        bag = load_dagbag(tmp, targets.target("3"))
        for file, error in bag.import_errors.items():
            problems.setdefault(Path(file).stem, str(error).strip().splitlines()[-1])
        return dict(bag.dags), problems


# ---------------------------------------------------------------------------------------------
# The comparison


def compare(theirs: Any, ours: Any, source: str = "dag-factory") -> list[str]:
    """Every field in which two DAGs differ, as `what: the source's value != the spec's`."""
    diffs: list[str] = []

    def check(what: str, a: object, b: object) -> None:
        a, b = norm(a), norm(b)
        if a != b:
            diffs.append(f"{what}: {_short(a)} ({source}) != {_short(b)} (spec)")

    from ..verify import _params, _schedule

    check("schedule", _schedule(theirs.timetable), _schedule(ours.timetable))
    check("timezone", theirs.timezone.name, ours.timezone.name)
    check("start_date", _dag_date(theirs, "start_date"), _dag_date(ours, "start_date"))
    check("end_date", _dag_date(theirs, "end_date"), _dag_date(ours, "end_date"))
    check("tags", sorted(set(theirs.tags) - {"dagfactory"}), sorted(ours.tags))
    check("doc_md", _their_doc(theirs.doc_md), ours.doc_md)
    check("params", _params(theirs.params), _params(ours.params))
    for name in _DAG_FIELDS:
        a, b = getattr(theirs, name, None), getattr(ours, name, None)
        if name in _CALLBACK_FIELDS:
            a, b = _callbacks(a), _callbacks(b)
        check(name, a, b)
    check("task ids", sorted(theirs.task_dict), sorted(ours.task_dict))
    for task_id, a in theirs.task_dict.items():
        b = ours.task_dict.get(task_id)
        if b is not None:
            diffs += _compare_task(task_id, a, b, source)
    return diffs


def _compare_task(task_id: str, a: Any, b: Any, source: str) -> list[str]:
    diffs: list[str] = []

    def check(what: str, x: object, y: object) -> None:
        x, y = norm(x), norm(y)
        if x != y:
            diffs.append(f"task '{task_id}': {what}: {_short(x)} ({source}) != {_short(y)} (spec)")

    check("operator", _cls(a), _cls(b))
    check("upstream tasks", sorted(a.upstream_task_ids), sorted(b.upstream_task_ids))
    check("group", _group(a), _group(b))
    check("mapped", _expand(a), _expand(b))
    for name in _TASK_FIELDS:
        x, y = _attr(a, name), _attr(b, name)
        if name in _CALLBACK_FIELDS:
            x, y = _callbacks(x), _callbacks(y)
        check(name, x, y)
    for name in sorted(_own_arguments(a) | _own_arguments(b)):
        check(name, _attr(a, name), _attr(b, name))
    return diffs


def _callbacks(value: Any) -> list[Any]:
    """A callback argument as the list Airflow runs: None is none, a callable is one."""
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _cls(task: Any) -> str:
    cls = getattr(task, "operator_class", None)
    cls = cls if isinstance(cls, type) else type(task)
    return f"{cls.__module__}.{cls.__qualname__}"


def _group(task: Any) -> str | None:
    group = getattr(task, "task_group", None)
    return getattr(group, "group_id", None)


def _expand(task: Any) -> Any:
    expand_input = getattr(task, "expand_input", None)
    return None if expand_input is None else getattr(expand_input, "value", None)


# Constructor parameters that are no argument to compare: the DAG and group a task is in (compared
# as edges and groups) and the catch-alls.
NOT_ARGUMENTS = {
    "self",
    "args",
    "kwargs",
    "dag",
    "task_id",
    "task_group",
    "default_args",
    "params",
}


def _attr(task: Any, name: str) -> Any:
    given = getattr(task, "partial_kwargs", None)
    if isinstance(given, dict) and name in given:
        return given[name]
    try:
        return getattr(task, name, None)
    except Exception:  # a mapped task's property that needs a run
        return None


def _own_arguments(task: Any) -> set[str]:
    """The constructor arguments of the task's class below BaseOperator (what the operator itself
    takes), those it keeps as attributes of the same name."""
    from airflow.sdk import BaseOperator

    cls = getattr(task, "operator_class", None)
    cls = cls if isinstance(cls, type) else type(task)
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is BaseOperator or not issubclass(klass, BaseOperator):
            break
        try:
            params = inspect.signature(klass.__init__).parameters
        except (TypeError, ValueError):
            continue
        names |= {p for p in params if p not in NOT_ARGUMENTS and not p.startswith("_")}
    return names


def _dag_date(dag: Any, name: str) -> Any:
    """A DAG's start or end date; Airflow 3 leaves a DAG's own empty when only default_args
    give it (as dag-factory does with a start_date under default_args), and its tasks take it."""
    return getattr(dag, name, None) or (dag.default_args or {}).get(name)


def _their_doc(doc: str | None) -> str | None:
    """dag-factory's doc_md without the YAML dump it appends."""
    if doc is None or _YML_DAG not in doc:
        return doc
    head = doc.split(_YML_DAG, 1)[0]
    return head.removesuffix("\n") or None


def norm(value: Any, depth: int = 0) -> Any:
    """A value in comparable terms: callables by their name and file, partials by their function
    and arguments, objects by their class and attributes, time by its instant."""
    if depth > 12:
        return repr(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, timedelta):
        return {"timedelta": value.total_seconds()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [norm(v, depth + 1) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    if isinstance(value, dict):
        return {str(k): norm(v, depth + 1) for k, v in value.items()}
    if isinstance(value, functools.partial):
        return {
            "partial": norm(value.func, depth + 1),
            "args": norm(value.args, depth + 1),
            "kwargs": norm(value.keywords, depth + 1),
        }
    if inspect.isfunction(value) or inspect.isclass(value) or inspect.ismethod(value):
        try:
            where = str(Path(inspect.getsourcefile(value) or "").resolve())
        except TypeError:
            where = getattr(value, "__module__", "?")
        return f"{value.__qualname__} in {where}"
    kind = type(value).__name__
    if kind in ("Asset", "Dataset", "AssetAlias", "DatasetAlias"):
        fields = ("name", "uri", "group", "extra")
        return {kind: {f: norm(getattr(value, f, None), depth + 1) for f in fields}}
    if hasattr(value, "operator") and hasattr(value, "key"):  # an XComArg
        ref = {"output_of": value.operator.task_id}
        return ref if value.key == "return_value" else {**ref, "key": value.key}
    if hasattr(value, "to_dict"):  # kubernetes models
        try:
            return {kind: norm(value.to_dict(), depth + 1)}
        except Exception:
            pass
    if hasattr(value, "__dict__"):
        return {
            kind: norm({k: v for k, v in vars(value).items() if not k.startswith("_")}, depth + 1)
        }
    return repr(value)


def _short(value: object, most: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= most else text[: most - 3] + "..."
