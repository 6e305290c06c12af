"""Step 7, verify: load generated files with Airflow's own DagBag and compare each DAG with its model.

The only module that imports Airflow, and only in a child process (`python -m dagforge.verify`):
the user's modules that a DAG imports run there, not in dagforge, and Airflow's start-up cost and
logging stay out of `validate` and `build --no-verify`.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from . import targets, values
from .model import CodeRef, Moment, Pipeline


class AirflowVersionMismatch(Exception):
    """The installed Airflow is not the major version the files are written for."""

    def __init__(self, installed: str, target: targets.Target):
        super().__init__(f"the installed Airflow is {installed}, but the files are written for {target.label}")
        self.installed = installed
        self.target = target


def airflow_installed() -> bool:
    return importlib.util.find_spec("airflow") is not None


def expectations(p: Pipeline, airflow=targets.DEFAULT) -> dict:
    """What the loaded DAG must show on Airflow `airflow`, as JSON-able data."""
    target = targets.target(airflow)
    cls = target.timetable(p)
    if cls is None:
        none = {"@once": "OnceTimetable", "@continuous": "ContinuousTimetable"}
        schedule = {"timetable": none.get(p.schedule, "NullTimetable")}
    elif cls == target.duration:
        schedule = {"timetable": cls[1], "seconds": p.schedule.total_seconds()}
    else:
        expression = values.PRESET_CRON.get(p.schedule, p.schedule)
        schedule = {"timetable": cls[1], "expression": expression, "timezone": p.timezone}
    return {
        "dag_id": p.dag_id,
        "description": p.description,
        "schedule": schedule,
        "timezone": p.timezone,
        "start_date": _instant(p.start_date),
        "end_date": _instant(p.end_date) if p.end_date else None,
        "catchup": p.catchup,
        "tags": sorted(p.tags),
        "max_active_runs": p.max_active_runs,
        "max_active_tasks": p.max_active_tasks,
        "doc_md": p.doc_md,
        "params": {name: {"default": _jsonable(v.default), **dict(v.schema)} for name, v in p.params.items()},
        "dagrun_timeout": _seconds(p.dagrun_timeout),
        "success_to": list(p.alerts.emails) if p.alerts.on_success else [],
        "tasks": {
            t.task_id: {
                "operator": ".".join(target.home(t.operator.module, t.operator.name)),
                "upstream": sorted(t.dependencies),
                "owner": p.owner,
                "retries": t.retries,
                "retry_delay": _seconds(t.retry_delay),
                "execution_timeout": _seconds(t.execution_timeout),
                "failure_to": list(t.alerts.failure_to),
                "retry_to": list(t.alerts.retry_to),
                "settings": {k: t.overrides[k] for k in SETTINGS if k in t.overrides},
                "arguments": {k: _jsonable(v) for k, v in t.arguments.items() if _jsonable(v) is not _SKIP},
            }
            for t in p.tasks
        },
    }


_SKIP = object()
# Task settings the loaded task shows as an attribute of the same name.
SETTINGS = ("trigger_rule", "pool", "pool_slots", "queue", "priority_weight", "max_active_tis_per_dag", "executor_config")


def _jsonable(value):
    if isinstance(value, CodeRef):
        return {"$ref": f"{value.module}:{value.name}"}
    if isinstance(value, float) and not math.isfinite(value):
        return _SKIP
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _SKIP if _SKIP in items else items
    if isinstance(value, dict):
        items = {k: _jsonable(v) for k, v in value.items()}
        return _SKIP if _SKIP in items.values() else items
    return value


def _instant(m: Moment) -> str:
    return m.local.replace(tzinfo=ZoneInfo(m.timezone)).isoformat()


def _seconds(d: timedelta | None):
    return None if d is None else d.total_seconds()


def verify(files: dict[Path, Pipeline], sys_path: list[str] = (), airflow=targets.DEFAULT) -> dict[Path, list[str]]:
    """Load every file in a child process; the problems found per file (an empty list: verified).

    Raises AirflowVersionMismatch, and loads nothing, when the installed Airflow is another major
    version than `airflow`: Airflow 3 loading Airflow 2 code (or the reverse) proves nothing.
    """
    target = targets.target(airflow)
    with tempfile.TemporaryDirectory(prefix="dagforge-verify-") as tmp:
        request = Path(tmp, "request.json")
        answer = Path(tmp, "answer.json")
        request.write_text(json.dumps({
            "airflow": target.airflow,
            "files": {str(f): expectations(p, target.airflow) for f, p in files.items()},
            "sys_path": [str(s) for s in sys_path],
        }))
        env = dict(os.environ)
        env.setdefault("AIRFLOW_HOME", str(Path(tmp, "airflow-home")))
        env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
        proc = subprocess.run(
            [sys.executable, "-m", "dagforge.verify", str(request), str(answer)],
            env=env, capture_output=True, text=True,
        )
        if proc.returncode != 0 or not answer.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise RuntimeError("the Airflow verification process failed:\n" + "\n".join(tail))
        found = json.loads(answer.read_text())
    if found["airflow_version"].split(".")[0] != target.airflow:
        raise AirflowVersionMismatch(found["airflow_version"], target)
    return {Path(f): problems for f, problems in found["files"].items()}


# ---- the child process -------------------------------------------------------------------------

def _child(request_path: str, answer_path: str) -> None:
    request = json.loads(Path(request_path).read_text())
    sys.path[:0] = request["sys_path"]
    import airflow

    answer = {"airflow_version": airflow.__version__, "files": {}}
    installed = targets.TARGETS.get(airflow.__version__.split(".")[0])
    if installed is None or installed.airflow != request["airflow"]:
        Path(answer_path).write_text(json.dumps(answer))  # the parent says so; nothing is loaded
        return
    for file, expected in request["files"].items():
        bag = load_dagbag(file, installed)
        problems = [f"Airflow cannot import it: {_last_line(e)}" for e in bag.import_errors.values()]
        problems += [f"loading it warns: {w}" for w in sorted(set(_flatten(bag.captured_warnings.values())))]
        if not problems:
            dag = bag.dags.get(expected["dag_id"])
            problems = [f"it defines no DAG '{expected['dag_id']}'"] if dag is None else _compare(dag, expected)
        answer["files"][file] = problems
    Path(answer_path).write_text(json.dumps(answer))


def load_dagbag(folder, target: targets.Target):
    """Airflow's own DagBag over `folder` (a file or a folder), from its home on `target`'s version."""
    module, name = target.dagbag
    return getattr(importlib.import_module(module), name)(dag_folder=str(folder), **target.dagbag_args)


def _last_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else str(text)


def _flatten(groups):
    return [str(w) for group in groups for w in group]


def _compare(dag, exp: dict) -> list[str]:
    problems = []

    def check(what, actual, expected):
        if actual != expected:
            problems.append(f"{what} is {actual!r} in the loaded DAG, but the spec says {expected!r}")

    check("description", dag.description, exp["description"])
    check("schedule", _schedule(dag.timetable), exp["schedule"])
    check("timezone", dag.timezone.name, exp["timezone"])
    check("start_date", dag.start_date, datetime.fromisoformat(exp["start_date"]))
    check("end_date", dag.end_date, exp["end_date"] and datetime.fromisoformat(exp["end_date"]))
    check("catchup", dag.catchup, exp["catchup"])
    check("tags", sorted(dag.tags), exp["tags"])
    check("max_active_runs", dag.max_active_runs if exp["max_active_runs"] else None, exp["max_active_runs"])
    check("dagrun_timeout", _secs(dag.dagrun_timeout), exp["dagrun_timeout"])
    if exp["max_active_tasks"] is not None:
        check("max_active_tasks", dag.max_active_tasks, exp["max_active_tasks"])
    check("doc_md", dag.doc_md, exp["doc_md"])
    check("params", _params(dag.params), exp["params"])
    check("success mail recipients", _recipients(dag.on_success_callback), exp["success_to"])
    check("task ids", sorted(dag.task_dict), sorted(exp["tasks"]))
    for task_id, te in exp["tasks"].items():
        task = dag.task_dict.get(task_id)
        if task is None:
            continue
        what = f"task '{task_id}':"
        check(f"{what} operator", f"{type(task).__module__}.{type(task).__name__}", te["operator"])
        check(f"{what} upstream tasks", sorted(task.upstream_task_ids), te["upstream"])
        check(f"{what} owner", task.owner, te["owner"])
        check(f"{what} retries", task.retries, te["retries"])
        check(f"{what} retry_delay", _secs(task.retry_delay), te["retry_delay"])
        check(f"{what} execution_timeout", _secs(task.execution_timeout), te["execution_timeout"])
        check(f"{what} failure mail recipients", _recipients(task.on_failure_callback), te["failure_to"])
        check(f"{what} retry mail recipients", _recipients(task.on_retry_callback), te["retry_to"])
        for key, value in te["settings"].items():
            check(f"{what} {key}", getattr(task, key), value)
        for key, value in te["arguments"].items():
            if hasattr(task, key):
                check(f"{what} {key}", _plain(getattr(task, key), value), value)
    return problems


def _params(params) -> dict:
    """The DAG's Params as the spec writes them: default, then the schema keywords given."""
    found = {}
    for name in params:
        param = params.get_param(name)
        found[name] = {"default": param.value, **param.schema}
        if param.description is not None:
            found[name]["description"] = param.description
    return found


def _schedule(timetable) -> dict:
    """The loaded timetable: its class and what defines it. Airflow 3's SDK timetables show public
    attributes (expression, timezone, delta); Airflow 2's core ones keep them private (_expression...)."""
    found = {"timetable": type(timetable).__name__}
    expression = _attribute(timetable, "expression")
    if expression is not None:
        timezone = _attribute(timetable, "timezone")
        found.update(expression=expression, timezone=getattr(timezone, "name", timezone))
    delta = _attribute(timetable, "delta")
    if delta is not None:
        found["seconds"] = delta.total_seconds()
    return found


def _attribute(obj, name):
    value = getattr(obj, name, None)
    return getattr(obj, f"_{name}", None) if value is None else value


def _secs(d):
    return None if d is None else d.total_seconds()


def _recipients(callbacks) -> list[str]:
    if callbacks is None:
        return []
    found = []
    for cb in callbacks if isinstance(callbacks, (list, tuple)) else [callbacks]:
        to = getattr(cb, "to", None)
        found += [to] if isinstance(to, str) else list(to or [])
    return found


def _plain(actual, expected):
    """The loaded attribute in the spec's terms: callables as `module:name`, containers as lists."""
    if isinstance(expected, dict) and "$ref" in expected:
        module, name = expected["$ref"].split(":")
        same = getattr(importlib.import_module(module), name, None) is actual
        return expected if same else {"$ref": f"{getattr(actual, '__module__', '?')}:{getattr(actual, '__name__', actual)}"}
    if isinstance(actual, (tuple, set, frozenset)) and isinstance(expected, list):
        return list(actual)
    if isinstance(actual, (list, tuple, set)) and not isinstance(expected, (list, dict)) and list(actual) == [expected]:
        return expected  # Airflow keeps a single value as a one-item container (e.g. skip_on_exit_code)
    return actual


if __name__ == "__main__":
    _child(*sys.argv[1:3])
