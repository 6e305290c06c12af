"""Step 6, verify: load generated files with Airflow's own DagBag and compare each DAG with its model.

The only module that imports Airflow, and only in a child process (`python -m dagforge.verify`):
the user's modules that a DAG imports run there, not in dagforge, and Airflow's start-up cost and
logging stay out of `validate` and `build --no-verify`. The child marks each piece of the user's
code it runs (an import, a file's load); one that ends the child, or takes longer than the import
timeout, is an error of the specs that need it, and the child runs again without it.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TextIO, cast
from zoneinfo import ZoneInfo

from . import targets, values
from .config import DEFAULT_IMPORT_TIMEOUT
from .diagnostics import did_you_mean
from .model import (
    TASK_EVENTS,
    CodeRef,
    Function,
    Instance,
    Moment,
    Output,
    Pipeline,
    Task,
    XCom,
    code,
    nest,
    passed_settings,
    walk,
)
from .operators import is_taskflow, package_of


class AirflowVersionMismatch(Exception):
    """The installed Airflow is not the major version the files are written for."""

    def __init__(self, installed: str, target: targets.Target):
        super().__init__(
            f"the installed Airflow is {installed}, but the files are written for {target.label}"
        )
        self.installed = installed
        self.target = target


def airflow_installed() -> bool:
    return importlib.util.find_spec("airflow") is not None


def expectations(p: Pipeline, airflow: targets.Target | str = targets.DEFAULT) -> dict[str, object]:
    """What the loaded DAG must show on Airflow `airflow`, as JSON-able data."""
    target = targets.target(airflow)
    cls = target.timetable(p)
    schedule: dict[str, object]
    if isinstance(p.schedule, Instance):  # compared as objects are: class and attributes
        schedule = cast(dict[str, object], _jsonable(p.schedule))
    elif p.schedule_kind == values.ScheduleKind.ASSETS:
        assets = _condition(p.schedule, target.airflow)
        schedule = {"timetable": target.asset_timetable, "assets": assets}
    elif cls is None:
        none: dict[object, str] = {"@once": "OnceTimetable", "@continuous": "ContinuousTimetable"}
        schedule = {"timetable": none.get(p.schedule, "NullTimetable")}
    elif isinstance(p.schedule, timedelta):  # cls is target.duration: the model's durations
        schedule = {"timetable": cls[1], "seconds": p.schedule.total_seconds()}
    else:
        expression = values.PRESET_CRON.get(str(p.schedule), p.schedule)  # a cron-like text
        schedule = {"timetable": cls[1], "expression": expression, "timezone": p.timezone}
    if p.or_assets is not None:  # a run at each time, and whenever the assets are updated
        schedule = {
            "timetable": target.asset_or_time[1],
            "time": schedule,
            "assets": _condition(p.or_assets, target.airflow),
        }
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
        "params": {
            name: {"default": _jsonable(v.default), **dict(v.schema)}
            for name, v in p.params.items()
        },
        "dagrun_timeout": _seconds(p.dagrun_timeout),
        "success_to": list(p.alerts.emails) if p.alerts.on_success else [],
        "settings": _settings(p),
        "refs": _refs(p),
        "callbacks": _callbacks(p.callbacks, ("on_success", "on_failure")),
        # the classes and functions the spec names, checked against their signatures
        "code": [_code_request(path, value) for path, value in code(p)],
        "tasks": {
            t.task_id: {
                "operator": ".".join(target.home(t.operator.module, t.operator.name)),
                "upstream": sorted(t.dependencies),
                "owner": t.overrides.get("owner", p.owner),
                "retries": t.retries,
                "retry_delay": _seconds(t.retry_delay),
                "execution_timeout": _seconds(t.execution_timeout),
                "failure_to": list(t.alerts.failure_to),
                "retry_to": list(t.alerts.retry_to),
                # the loaded task shows each one as an attribute of the same name
                "settings": {
                    k: [_asset(a, target.airflow) for a in t.overrides[k]]
                    if k in ("inlets", "outlets")
                    else _jsonable(t.overrides[k])
                    for k in passed_settings()
                    if k in t.overrides
                },
                "callbacks": _callbacks(t.callbacks, TASK_EVENTS),
                "arguments": {
                    k: _jsonable(v) for k, v in t.arguments.items() if _jsonable(v) is not _SKIP
                },
                "check": _check_request(t, target),
                "expand": {
                    k: {"output_of": v.task_id} if isinstance(v, Output) else _jsonable(v)
                    for k, v in t.expand.items()
                },
                "expand_kwargs": {"output_of": t.expand_kwargs.task_id}
                if isinstance(t.expand_kwargs, Output)
                else _jsonable(t.expand_kwargs),
            }
            for t in p.tasks
        },
    }


def _callbacks(callbacks: dict[str, tuple[Any, ...]], events: Sequence[str]) -> dict[str, object]:
    """The callbacks of each event (the alert mails are checked apart) as JSON data."""
    return {event: [_jsonable(c) for c in callbacks.get(event, ())] for event in events}


def _code_request(path: tuple[str | int, ...], value: Instance | Function) -> dict[str, object]:
    """What the child checks of an `{object:}` or `{function:}` (or a callback) at `path`: that it
    imports, and its keyword arguments against the signature."""
    ref = value.cls if isinstance(value, Instance) else value.func
    form = "object" if isinstance(value, Instance) else "function"
    return {
        "path": list(path),
        "form": form,
        "module": ref.module,
        "name": ref.name,
        "kwargs": [k for k, _ in value.kwargs],
    }


def _settings(p: Pipeline) -> dict[str, object]:
    """The DAG's settings beyond the schedule, as _dag_settings reads them from the loaded DAG."""
    s = p.settings
    access = s.access_control
    return {
        "dag_display_name": s.display_name or p.dag_id,  # Airflow shows the dag_id by default
        "owner_links": s.owner_links,
        "render_template_as_native_obj": s.native,
        "template_searchpath": list(s.searchpath),  # relative to the file: see _dag_settings
        "user_defined_macros": nest({k: f"{r.module}:{r.name}" for k, r in s.macros.items()}),
        "user_defined_filters": {k: f"{r.module}:{r.name}" for k, r in s.filters.items()},
        "is_paused_upon_creation": s.paused,
        "fail_fast": s.fail_fast,
        "access_control": None if access is None else _access(access),
        "deadline": [
            {
                "reference": d.reference,
                "interval": d.interval.total_seconds(),
                "callback": f"{d.callback.module}.{d.callback.name}",
                "kwargs": dict(d.kwargs),
            }
            for d in s.deadlines
        ],
    }


def _access(access: Mapping[str, Any]) -> dict[str, dict[str, list[str]]]:
    """access_control in one shape: role -> resource -> sorted actions (a list means DAGs)."""
    return {
        role: {
            resource: sorted(actions)
            for resource, actions in (
                {"DAGs": given} if isinstance(given, (list, set, tuple, frozenset)) else given
            ).items()
        }
        for role, given in access.items()
    }


def _refs(p: Pipeline) -> list[dict[str, object]]:
    """What the child imports and checks of the DAG's own references (macros, filters, deadline
    callbacks) before loading the file, as _check_task does a python_callable."""
    s = p.settings
    found: list[dict[str, object]] = []
    for key, what, refs in (
        ("user_defined_macros", "macro", s.macros),
        ("user_defined_filters", "filter", s.filters),
    ):
        for name, ref in refs.items():
            found.append(
                {
                    "key": [key, *name.split(".")],  # a nested macro: see model.nest
                    "what": f"{what} '{name}' ({ref.module}:{ref.name})",
                    "module": ref.module,
                    "name": ref.name,
                    "callable": key == "user_defined_filters",
                }
            )
    for d in s.deadlines:
        where = [*d.where, "callback"]
        ref = d.callback
        found.append(
            {
                "key": where,
                "what": f"deadline callback '{ref.module}:{ref.name}'",
                "module": ref.module,
                "name": ref.name,
                "callable": True,
                "kwargs": [k for k, _ in d.kwargs],  # checked against its signature
            }
        )
    return found


def _condition(condition: object, airflow: str) -> object:
    """An asset schedule in one shape: assets as _asset says, {"any"|"all": [...]} (a list: all)."""
    if values.is_asset(condition):
        return _asset(condition, airflow)  # type: ignore[arg-type]  # a str or an asset mapping
    if isinstance(condition, list):
        return {"all": [_condition(c, airflow) for c in condition]}
    if not isinstance(condition, dict):  # validate lets no other shape through
        raise TypeError(f"not an asset condition: {condition!r}")
    [(kind, items)] = condition.items()
    return {kind: [_condition(c, airflow) for c in items]}


def _asset(asset: str | dict[str, Any], airflow: str) -> object:
    """An asset as the loaded one is read (_loaded_asset): what Airflow fills in filled in (a name
    is the URI, and the reverse; group `asset`), and just the name when nothing else is said."""
    if isinstance(asset, str):
        return asset
    if "alias" in asset:
        return _shape_alias(asset["alias"], asset.get("group", "asset"))
    if airflow == "2":  # a Dataset: a URI and extra
        return _shape_asset(asset["uri"], asset["uri"], "asset", asset.get("extra") or {})
    name = asset.get("name") or asset["uri"]
    return _shape_asset(
        name, asset.get("uri") or name, asset.get("group", "asset"), asset.get("extra") or {}
    )


def _shape_asset(name: str, uri: str, group: str, extra: dict[str, Any]) -> object:
    if name == uri and group == "asset" and not extra:
        return name
    return {"name": name, "uri": uri, "group": group, "extra": extra}


def _shape_alias(name: str, group: str) -> object:
    return {"alias": name} if group == "asset" else {"alias": name, "group": group}


def _check_request(t: Task, target: targets.Target) -> dict[str, object]:
    """What the child checks of a task before loading its file: the operator class's signature against
    the arguments given, and a python_callable against op_args/op_kwargs."""
    module, name = target.home(t.operator.module, t.operator.name)
    # the arguments the mappings of `expand_kwargs` give, each at its first place in the spec
    located: dict[str, list[str | int]] = {}
    for i, mapping in enumerate(t.expand_kwargs if isinstance(t.expand_kwargs, list) else []):
        for key in mapping:
            located.setdefault(key, ["expand_kwargs", i, key])
    arguments = {*t.arguments, *t.expand, *located}
    # `@task` passes the call's arguments as op_args and op_kwargs, and maps the function's own
    # arguments (checked against the function below), never the operator's
    taskflow = is_taskflow(t.operator_given)
    if taskflow:
        arguments = {*t.arguments, "op_args", "op_kwargs"}
    check: dict[str, object] = {
        "class": f"{module}.{name}",
        "arguments": sorted(arguments),
        "located": located,
        # `expand_kwargs: {output_of: ...}`: the upstream's mappings may give any required argument
        "open": isinstance(t.expand_kwargs, Output),
        "given": t.operator_given or f"{module}.{name}",
        "package": package_of(t.operator.module),
        # the arguments that take an upstream task's output: Airflow resolves it in templated ones
        "outputs": sorted(
            k
            for k, v in [*t.arguments.items(), *t.overrides.items()]
            if any(isinstance(x, XCom) for x in walk(v))
        ),
    }
    ref = t.arguments.get("python_callable")
    if isinstance(ref, CodeRef):
        kwargs = t.arguments.get("op_kwargs")
        args = t.arguments.get("op_args")
        check["callable"] = {
            "module": ref.module,
            "name": ref.name,
            "op_args": len(args) if isinstance(args, list) else 0,
            "op_kwargs": sorted(
                [*(kwargs if isinstance(kwargs, dict) else ()), *(t.expand if taskflow else ())]
            ),
        }
    return check


_SKIP = object()


def _jsonable(value: object) -> object:
    """`value` as JSON data (durations, code references as tagged objects); _SKIP for what JSON
    cannot hold (NaN, infinity), and for a container with such a value in it."""
    if isinstance(value, timedelta):
        return {"$seconds": value.total_seconds()}
    if isinstance(value, CodeRef):
        return {"$ref": f"{value.module}:{value.name}"}
    if isinstance(value, (Instance, Function)):
        kwargs = {k: _jsonable(v) for k, v in value.kwargs}
        if _SKIP in kwargs.values():
            return _SKIP
        if isinstance(value, Instance):
            return {"$object": f"{value.cls.module}.{value.cls.name}", "kwargs": kwargs}
        return {"$function": f"{value.func.module}:{value.func.name}", "kwargs": kwargs}
    if isinstance(value, XCom):
        return {"$xcom": value.task_id, "key": value.key}
    if isinstance(value, float) and not math.isfinite(value):
        return _SKIP
    if isinstance(value, (list, tuple)):
        items = [_jsonable(v) for v in value]
        return _SKIP if _SKIP in items else items
    if isinstance(value, dict):
        mapping = {k: _jsonable(v) for k, v in value.items()}
        return _SKIP if _SKIP in mapping.values() else mapping
    return value


def _instant(m: Moment) -> str:
    return m.local.replace(tzinfo=ZoneInfo(m.timezone)).isoformat()


def _seconds(d: timedelta | None) -> float | None:
    return None if d is None else d.total_seconds()


class Verified(dict[Path, list[str]]):
    """Path -> the problems found in the loaded DAG (an empty list: verified). `findings` holds, per
    path, what the checks before loading found, located at a task's key: the operator's signature
    (unknown or missing arguments), the python_callable, a package that is not installed."""

    def __init__(self, problems: dict[Path, list[str]], findings: dict[Path, list[Finding]]):
        super().__init__(problems)
        self.findings = findings


@dataclass(frozen=True)
class Finding:
    task_id: str | None  # None: the whole file (its load)
    # the task's key (or a path into it) the finding is about; None: the task itself
    key: str | list[str | int] | None
    message: str
    hint: str
    severity: str  # "error", or "warning" when something could not be checked here
    unverified: bool  # the file was not loaded because of it
    why: str = ""  # for a warning that leaves the file unverified: why, in a few words


def verify(
    files: dict[Path, Pipeline],
    sys_path: Sequence[str | os.PathLike[str]] = (),
    airflow: targets.Target | str = targets.DEFAULT,
    timeout: float = DEFAULT_IMPORT_TIMEOUT,
    load: bool = True,
    near: Sequence[str | os.PathLike[str]] = (),
    progress: Callable[[int, int], object] | None = None,
) -> Verified:
    """Check and load every file in a child process; the problems found per file (an empty list:
    verified), with the located findings of the checks before loading in `.findings`.

    With `load` False only those checks run (the operator classes' signatures, the callables): the
    keys of `files` name the specs then, no file is read. `near`: more folders whose modules a
    module that is not importable is compared with (did-you-mean). `progress(done, total)` is
    called as the child gets through the files.

    The user's code runs in that child: one import of a module (or one file's load in the DagBag)
    that ends the process or takes more than `timeout` seconds is a finding of the tasks (the file)
    that need it, and the child runs again without it, so the other files are still verified.

    Raises AirflowVersionMismatch, and loads nothing, when the installed Airflow is another major
    version than `airflow`: Airflow 3 loading Airflow 2 code (or the reverse) proves nothing.
    """
    target = targets.target(airflow)
    # module (or file) -> what importing (loading) it did to an earlier child (see _what_happened)
    broken: dict[str, dict[str, object]] = {}
    request = {
        "airflow": target.airflow,
        "files": {str(f): expectations(p, target) for f, p in files.items()},
        "sys_path": [str(s) for s in sys_path],
        "load": load,
        "near": [str(s) for s in near],
        "broken": broken,
    }
    with tempfile.TemporaryDirectory(prefix="dagforge-verify-") as tmp:
        while True:
            ran = _run_child(Path(tmp), request, timeout, progress)
            if isinstance(ran, dict):
                found = ran
                break
            step, reason = ran
            # Each round takes one more module or file out: the rounds end.
            key = step.get("module") or step["file"]
            if key in broken:
                raise RuntimeError(f"the Airflow verification process ended twice at {key}")
            broken[key] = reason
    if found["airflow_version"].split(".")[0] != target.airflow:
        raise AirflowVersionMismatch(found["airflow_version"], target)
    findings = {
        Path(f): [Finding(**x) for x in items] for f, items in found.get("findings", {}).items()
    }
    return Verified({Path(f): problems for f, problems in found["files"].items()}, findings)


# Seconds Airflow may take to start in the child before its first step: it is no user code, and a
# busy machine makes it slow, but it must not hang a build either.
STARTUP_TIMEOUT = 120.0


def _run_child(
    tmp: Path,
    request: dict[str, object],
    timeout: float,
    progress: Callable[[int, int], object] | None = None,
) -> dict[str, Any] | tuple[dict[str, Any], dict[str, object]]:
    """Run the child once: its answer, or, when the user's code it was running (a step, see
    `_step`) ended it or ran longer than `timeout`, (that step, what happened)."""
    answer, steps, output = tmp / "answer.json", tmp / "steps", tmp / "output"
    answer.unlink(missing_ok=True)
    steps.write_text("")
    Path(tmp, "request.json").write_text(
        json.dumps({**request, "steps": str(steps), "parent": os.getpid()})
    )
    env = dict(os.environ)
    env.setdefault("AIRFLOW_HOME", str(tmp / "airflow-home"))
    env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    env.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    with open(output, "w+", encoding="utf-8", errors="replace") as out:
        # Its own session: a timeout ends it with whatever the user's code started.
        proc = subprocess.Popen(
            [sys.executable, "-m", "dagforge.verify", str(tmp / "request.json"), str(answer)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            step, overran = _watch(proc, steps, timeout, progress)
        finally:
            _end(proc)
        if step is not None and (overran or proc.returncode != 0 or not answer.exists()):
            return step, _what_happened(proc.returncode, overran)
        if overran:
            raise RuntimeError(
                f"the Airflow verification process made no progress in {overran:g} s"
            )
        if proc.returncode != 0 or not answer.exists():
            out.seek(0)
            tail = out.read().strip().splitlines()[-5:]
            raise RuntimeError("the Airflow verification process failed:\n" + "\n".join(tail))
    answer_json: dict[str, Any] = json.loads(answer.read_text())
    return answer_json


def _watch(
    proc: subprocess.Popen[bytes],
    steps: Path,
    timeout: float,
    progress: Callable[[int, int], object] | None = None,
) -> tuple[dict[str, Any] | None, float]:
    """Wait for the child to end, or stop waiting when one step of it takes longer than `timeout`
    (Airflow's start-up, before the first step, longer than STARTUP_TIMEOUT); pass the child's
    progress lines to `progress(done, total)`.
    (the step it was in, or None; the time it overran, or 0)."""
    step, since, read, pending = None, time.monotonic(), 0, b""
    limit = max(timeout, STARTUP_TIMEOUT)
    while True:
        try:
            proc.wait(timeout=0.1)
            ended = True
        except subprocess.TimeoutExpired:
            ended = False
        with open(steps, "rb") as f:  # a line as a step begins, "{}" as it ends (see _step)
            f.seek(read)
            chunk = f.read()
        read += len(chunk)
        *lines, pending = (pending + chunk).split(b"\n")
        for line in map(json.loads, lines):
            if "progress" in line:  # between steps: no user code runs
                if progress:
                    progress(*line["progress"])
            else:
                step, since, limit = line or None, time.monotonic(), timeout
        if ended:
            return step, 0
        if time.monotonic() - since > limit:
            return step, limit


def _end(proc: subprocess.Popen[bytes]) -> None:
    """End the child, if it still runs, and what it started (its process group)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (AttributeError, OSError):  # not on POSIX, or gone meanwhile
            proc.kill()
        proc.wait()


def _what_happened(returncode: int, overran: float) -> dict[str, object]:
    """What the user's code did to the child, as words after "importing 'module'"; `timeout` set
    when it ran longer than that."""
    if overran:
        return {"text": f"did not finish within {overran:g} s", "timeout": overran}
    try:
        how = signal.Signals(-returncode).name if returncode < 0 else f"exit status {returncode}"
    except ValueError:
        how = f"signal {-returncode}"
    return {"text": f"ended the process ({how})", "timeout": None}


# ---- the child process -------------------------------------------------------------------------


# in the child: the file the parent reads to know which of the user's code runs
_steps: TextIO | None = None
_near: list[str] = []  # in the child: folders of the specs, for did-you-mean on a missing module
_loading = True  # in the child: whether it loads the files (build) or only checks (validate)


@contextmanager
def _step(**step: str) -> Iterator[None]:
    """Mark the user's code run inside (`module=` an import, `file=` a DagBag load): the parent
    ends the child when it takes longer than the timeout, and blames it if the child ends there."""
    _mark(step)
    try:
        yield
    finally:
        _mark({})


def _mark(step: Mapping[str, object]) -> None:
    if _steps is not None:
        _steps.write(json.dumps(step) + "\n")
        _steps.flush()


def _child(request_path: str, answer_path: str) -> None:
    global _steps, _near, _loading
    request = json.loads(Path(request_path).read_text())
    _end_with(request["parent"])
    sys.path[:0] = request["sys_path"]
    import airflow

    problems_of: dict[str, list[str]] = {}  # file -> the problems of its loaded DAG
    findings_of: dict[str, list[dict[str, object]]] = {}  # file -> its Findings, as JSON
    answer = {"airflow_version": airflow.__version__, "files": problems_of, "findings": findings_of}
    installed = targets.TARGETS.get(airflow.__version__.split(".")[0])
    if installed is None or installed.airflow != request["airflow"]:
        Path(answer_path).write_text(json.dumps(answer))  # the parent says so; nothing is loaded
        return
    # Airflow's own classes load before the first step: their time is start-up, not the user's.
    base = _attr(installed.base_operator)
    _attr(installed.dagbag)
    broken, _near, _loading = request["broken"], request["near"], request["load"]
    _steps = open(request["steps"], "a", encoding="utf-8")  # open until the child ends
    for done, (file, expected) in enumerate(request["files"].items(), 1):
        findings = [
            f
            for task_id, te in expected["tasks"].items()
            for f in _check_task(task_id, te["check"], base, broken)
        ] + [f for ref in expected["refs"] for f in _check_ref(ref, broken)]
        for asked in expected["code"]:
            findings += _check_code(asked, broken)
        problems: list[str] = []
        # Not loaded after a finding that leaves the file unverified: the findings say why.
        if _loading and not any(f.unverified for f in findings):
            problems, failed = _load(file, expected, installed, broken)
            findings += failed
        findings_of[file] = [vars(f) for f in findings]
        problems_of[file] = problems
        _mark({"progress": [done, len(request["files"])]})
    Path(answer_path).write_text(json.dumps(answer))


def _end_with(parent: int) -> None:
    """Exit when the build process is gone (killed): the child runs in a session of its own, where
    no terminal's signal reaches it, and the user's code may block in it for good."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _attr(where: tuple[str, str]) -> Any:
    """An Airflow class (typed Any: Airflow's types stay out of dagforge, see _compare)."""
    module, name = where
    return getattr(importlib.import_module(module), name)


def _load(
    file: str, expected: dict[str, Any], installed: targets.Target, broken: dict[str, Any]
) -> tuple[list[str], list[Finding]]:
    """Load one file in Airflow's DagBag and compare its DAG with `expected`: (the problems, the
    findings about the user's code that ended or stopped the loading)."""
    if file in broken:
        return [], [_load_failed(broken[file]["text"], broken[file]["timeout"])]
    try:
        with _step(file=file):
            bag = load_dagbag(file, installed)
            problems = [
                f"Airflow cannot import it: {_last_line(e)}" for e in bag.import_errors.values()
            ]
            warned = sorted(set(_flatten(bag.captured_warnings.values())))
            problems += [f"loading it warns: {w}" for w in warned]
            if not problems:
                dag = bag.dags.get(expected["dag_id"])
                problems = (
                    [f"it defines no DAG '{expected['dag_id']}'"]
                    if dag is None
                    else _compare(dag, expected)
                )
            return problems, []
    except Exception:
        raise  # the DagBag catches the user's exceptions itself: this is a dagforge bug
    except BaseException as e:  # SystemExit and the like, which the DagBag lets through
        return [], [_load_failed(f"raises {_named(e)}", None)]


def _load_failed(what: str, timeout: float | None) -> Finding:
    """The finding when loading a file ended the child or ran longer than `timeout`: what ran then
    is the operators' constructors and the modules the file imports (callbacks, objects)."""
    hint = (
        "an operator's constructor, or a module the DAG file imports, blocks: make it quick, or "
        + _RAISE_TIMEOUT
        if timeout
        else "an operator's constructor, or a module the DAG file imports, ends the process: "
        "Airflow's DAG processor would fail on it the same way"
    )
    return Finding(
        None, None, f"loading the DAG file in Airflow's DagBag {what}", hint, "error", True
    )


def _named(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


# What to do about a module that hangs or ends the process when imported: Airflow's DAG processor
# imports it as it parses the DAG file, and fails (or stops after dagbag_import_timeout) as well.
_RAISE_TIMEOUT = (
    "raise `import_timeout` under [tool.dagforge] in pyproject.toml (or DAGFORGE_IMPORT_TIMEOUT)"
)
_TIMEOUT_HINT = (
    "move slow work (network, sleeps, big loads) out of import time, into the function; or "
    + _RAISE_TIMEOUT
)
_EXIT_HINT = (
    "a module must not exit when imported: Airflow imports it as it parses the DAG file; "
    'put that code under `if __name__ == "__main__":`'
)


def _check_task(
    task_id: str, check: dict[str, Any], base: type, broken: dict[str, Any]
) -> list[Finding]:
    """The operator class (a subclass of `base`, BaseOperator) and its signature against the task's
    arguments; the python_callable against its op_args and op_kwargs. A class or module that is not
    installed is a warning: nothing is checked. `broken`: modules that hung or ended a child."""
    out: list[Finding] = []
    module, name = check["class"].rsplit(".", 1)
    given = check["given"]
    cls = _import(
        module, name, task_id, "operator", f"operator '{given}'", check["package"], out, broken
    )
    if isinstance(cls, type) and issubclass(cls, base):
        out += _check_signature(
            task_id, cls, check["arguments"], check.get("located", {}), check.get("open", False)
        )
        out += _check_outputs(task_id, cls, check["outputs"])
    elif cls is not None:
        out += _not_an_operator(task_id, cls, given)
    call = check.get("callable")
    if call:
        func = _import(
            call["module"],
            call["name"],
            task_id,
            "python_callable",
            f"python_callable '{call['module']}:{call['name']}'",
            None,
            out,
            broken,
        )
        if func is not None:
            out += _check_callable(task_id, func, call)
    return out


def _check_ref(ref: dict[str, Any], broken: dict[str, Any]) -> list[Finding]:
    """A reference of the DAG's (a macro, a filter, a deadline callback): importable, and callable
    where Airflow calls it."""
    out: list[Finding] = []
    obj = _import(ref["module"], ref["name"], None, ref["key"], ref["what"], None, out, broken)
    if obj is not None and ref["callable"] and not callable(obj):
        out.append(
            Finding(
                None, ref["key"], f"{ref['what']} is not callable", "name a function", "error", True
            )
        )
    elif obj is not None and ref.get("kwargs"):
        out += _check_keywords(obj, ref["name"], ref["key"], ref["kwargs"])
    return out


def _check_outputs(task_id: str, cls: type, arguments: list[str]) -> list[Finding]:
    """A warning for each argument given an `{output_of:}` that the class does not render as a
    template: Airflow resolves an XCom only in its operator's `template_fields`, and passes the
    reference itself elsewhere."""
    templated = set(getattr(cls, "template_fields", ()))
    return [
        Finding(
            task_id,
            arg,
            f"{cls.__name__} does not render '{arg}' as a template: the task would get the "
            "reference to the output, not the output",
            "give `output_of:` in a templated argument of "
            f"{cls.__name__}: {', '.join(sorted(templated)) or 'it has none'}",
            "warning",
            False,
        )
        for arg in arguments
        if arg not in templated
    ]


def _check_code(request: dict[str, Any], broken: dict[str, Any]) -> list[Finding]:
    """An `{object:}` or `{function:}` (a callback) of the spec: it imports, it is a class (a
    callable), and its keyword arguments are in its signature, with a did-you-mean for a misspelt
    one (located at it); an object's required arguments are given."""
    import inspect

    out: list[Finding] = []
    path, form, kwargs = request["path"], request["form"], request["kwargs"]
    # the name under its form's key; a callback given as `module:function` is located at itself
    # (doc.where falls back to the nearest path there is)
    at = [*path, form]
    module, name = request["module"], request["name"]
    ref = f"{module}.{name}" if form == "object" else f"{module}:{name}"
    obj = _import(module, name, None, at, f"{form} '{ref}'", None, out, broken)
    if obj is None:
        return out
    if (form == "object" and not isinstance(obj, type)) or not callable(obj):
        what = "a class" if form == "object" else "a function"
        return [
            Finding(
                None,
                at,
                f"'{ref}' is not {what} (it is {_kind(obj)})",
                f"name {what}",
                "error",
                True,
            )
        ]
    if path == ["schedule"] and not _is_timetable(obj):
        return [
            Finding(
                None,
                at,
                f"'{ref}' is not a timetable class (Airflow takes no other object as `schedule`)",
                "name a subclass of airflow.timetables.base.Timetable, e.g. "
                "airflow.timetables.trigger.CronTriggerTimetable",
                "error",
                True,
            )
        ]
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return out
    out += _check_keywords(obj, name, path, kwargs)
    if form == "object" and not out:
        try:
            signature.bind(**dict.fromkeys(kwargs))
        except TypeError as e:
            out.append(
                Finding(
                    None,
                    at,
                    f"{name}{signature} cannot be made so: {e}",
                    "give the arguments it needs",
                    "error",
                    True,
                )
            )
    return out


def _check_keywords(obj: object, name: str, path: list[Any], kwargs: list[str]) -> list[Finding]:
    """Each keyword argument bound to `obj` (a class or function named `name`, given at `path`) is
    one its signature takes, with a did-you-mean (located at the keyword)."""
    import inspect

    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []
    params = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return []
    return [
        Finding(
            None,
            [*path, k],
            f"{name}{signature} has no argument '{k}'",
            did_you_mean(k, params) or f"{name} takes: " + ", ".join(params),
            "error",
            True,
        )
        for k in kwargs
        if k not in params or params[k].kind is params[k].POSITIONAL_ONLY
    ]


def _is_timetable(cls: object) -> bool:
    """Whether `cls` is a class Airflow takes as a DAG's schedule: a core Timetable (both versions)
    or, on Airflow 3, a Task SDK one."""
    bases = []
    for module, name in (
        ("airflow.timetables.base", "Timetable"),
        ("airflow.sdk.bases.timetable", "BaseTimetable"),
    ):
        try:
            bases.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    # (by the class's bases: Timetable is a Protocol, which issubclass refuses)
    return isinstance(cls, type) and any(base in cls.__mro__ for base in bases)


def _not_an_operator(task_id: str, obj: object, given: str) -> list[Finding]:
    """The finding about an `operator:` that names no subclass of BaseOperator."""
    if isinstance(obj, type):
        what = f"{given} is not an Airflow operator class (it does not derive from BaseOperator)"
    else:
        what = f"{given} is not an Airflow operator class (it is {_kind(obj)})"
    hint = "name an operator class, e.g. airflow.providers.standard.operators.bash.BashOperator"
    if callable(obj) and not isinstance(obj, type) and "." in given:
        module, name = given.rsplit(".", 1)
        hint = f"to run a function, use `operator: python` with `python_callable: {module}:{name}`"
    return [Finding(task_id, "operator", what, hint, "error", True)]


def _kind(obj: object) -> str:
    if isinstance(obj, type(sys)):
        return "a module"
    if callable(obj):
        return "a function"
    return f"a {type(obj).__name__} value"


def _import(
    module: str,
    name: str,
    task_id: str | None,
    key: str | list[Any],
    what: str,
    package: str | None,
    out: list[Finding],
    broken: dict[str, Any],
) -> object:
    """`module.name`, or None with a Finding in `out` saying why not."""
    if module in broken:
        timeout = broken[module]["timeout"]
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: importing '{module}' {broken[module]['text']}",
                _TIMEOUT_HINT if timeout else _EXIT_HINT,
                "error",
                True,
            )
        )
        return None
    try:
        with _step(module=module), warnings.catch_warnings(record=True) as said:
            warnings.simplefilter("always", DeprecationWarning)  # (its subclasses too: Airflow's)
            found = importlib.import_module(module)
            obj = getattr(found, name, None)
    except ModuleNotFoundError as e:
        if e.name and (module == e.name or module.startswith(e.name + ".")):
            hint = (
                f"`pip install {package}`"
                if package
                else "install the package that provides it (or put the module on the path)"
            )
            guess = None if package else _module_guess(e.name)
            out.append(
                Finding(
                    task_id,
                    key,
                    f"{what}: module '{e.name}' is not installed where dagforge builds, so it is "
                    "not checked" + (" and the DAG file is not verified" if _loading else ""),
                    (f"{guess} If not: " if guess else "") + hint + " here and where Airflow runs",
                    "warning",
                    True,
                    f"{package} is not installed"
                    if package
                    else f"module '{e.name}' is not importable",
                )
            )
            return None
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: importing '{module}' fails: {e}",
                f"install '{e.name}'",
                "error",
                True,
            )
        )
        return None
    except Exception as e:
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: importing '{module}' fails: {type(e).__name__}: {e}",
                "fix the module: Airflow would fail the same way",
                "error",
                True,
            )
        )
        return None
    except BaseException as e:  # SystemExit, KeyboardInterrupt ... raised by the module's code
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: importing '{module}' raises {_named(e)}",
                _EXIT_HINT
                if isinstance(e, SystemExit)
                else "fix the module: Airflow would fail the same way",
                "error",
                True,
            )
        )
        return None
    for warning in said[:1]:  # Airflow logs it at each parse of the DAG file
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: importing '{module}' warns: {warning.category.__name__}: "
                f"{_last_line(str(warning.message))}",
                "Airflow logs this warning each time it parses the DAG file: fix the module, or "
                "update the package it comes from if a newer release no longer warns",
                "warning",
                False,
            )
        )
    if obj is None:
        names = [n for n in dir(found) if not n.startswith("_")]
        out.append(
            Finding(
                task_id,
                key,
                f"{what}: module '{module}' has no '{name}'",
                did_you_mean(name, names) or f"check the name in {module}",
                "error",
                True,
            )
        )
    return obj


def _module_guess(missing: str) -> str:
    """A did-you-mean for a module that is not importable, from those that are: beside it in its
    package, or at the top level (the path, the specs' folders, built-in modules)."""
    import pkgutil

    parent, _, name = missing.rpartition(".")
    if parent:
        names = {
            m.name for m in pkgutil.iter_modules(getattr(sys.modules.get(parent), "__path__", []))
        }
    else:
        names = {m.name for m in pkgutil.iter_modules([*_near, *sys.path])}
        names |= set(sys.builtin_module_names)
    return did_you_mean(name, names)


def _check_signature(
    task_id: str,
    cls: type,
    arguments: list[str],
    located: dict[str, list[str | int]],
    open_arguments: bool,
) -> list[Finding]:
    """The arguments against the class's signature; `located`: where in the task an argument not
    written at its top level is; `open_arguments`: others may come at run time (no missing ones)."""
    allowed, required, closed = _signature(cls)
    out: list[Finding] = []
    for arg in arguments:
        if closed and arg not in allowed:
            hint = did_you_mean(arg, allowed) or f"{cls.__name__} takes: " + ", ".join(
                sorted(a for a in allowed if a not in _SET_BY_DAGFORGE)
            )
            out.append(
                Finding(
                    task_id,
                    located.get(arg, arg),
                    f"{cls.__name__} has no argument '{arg}'",
                    hint,
                    "error",
                    True,
                )
            )
    for arg in sorted(required - set(arguments) - _SET_BY_DAGFORGE if not open_arguments else ()):
        out.append(
            Finding(
                task_id,
                "operator",
                f"task '{task_id}': {cls.__name__} needs the argument '{arg}'",
                f"add `{arg}:` to the task",
                "error",
                True,
            )
        )
    return out


# Arguments every generated task gets from dagforge (directly or through default_args).
_SET_BY_DAGFORGE = frozenset(
    {
        "task_id",
        "dag",
        "default_args",
        "owner",
        "retries",
        "retry_delay",
        "on_failure_callback",
        "on_retry_callback",
        "on_success_callback",
        "task_group",
    }
)


def _signature(cls: type) -> tuple[set[str], set[str], bool]:
    """(argument names, the required ones, whether that is all): the keyword arguments of the class's
    __init__ and, through **kwargs, its base classes' up to BaseOperator, which takes no others."""
    import inspect

    allowed: set[str] = set()
    required: set[str] = set()
    defaulted: set[str] = set()
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        try:
            params = list(inspect.signature(init).parameters.values())[1:]
        except (TypeError, ValueError):
            return allowed, required, False
        open_kwargs = False
        for prm in params:
            if prm.kind is prm.VAR_KEYWORD:
                open_kwargs = True
            elif prm.kind is not prm.VAR_POSITIONAL:
                allowed.add(prm.name)
                if prm.default is prm.empty and prm.name not in defaulted:
                    required.add(prm.name)
                else:
                    defaulted.add(prm.name)
        if klass.__name__ == "BaseOperator" or not open_kwargs:
            return allowed, required, True
    return allowed, required, False


def _check_callable(task_id: str, func: object, call: dict[str, Any]) -> list[Finding]:
    import inspect

    ref = f"{call['module']}:{call['name']}"
    if not callable(func):
        return [
            Finding(
                task_id,
                "python_callable",
                f"python_callable '{ref}' is not callable",
                "name a function",
                "error",
                True,
            )
        ]
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    params = signature.parameters
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = [
            k
            for k in call["op_kwargs"]
            if k not in params or params[k].kind is params[k].POSITIONAL_ONLY
        ]
        if unknown:
            return [
                Finding(
                    task_id,
                    ["op_kwargs", k],
                    f"{ref}{signature} has no parameter '{k}'",
                    did_you_mean(k, params) or "match op_kwargs to the function's parameters",
                    "error",
                    True,
                )
                for k in unknown
            ]
    try:
        signature.bind_partial(*[None] * call["op_args"], **dict.fromkeys(call["op_kwargs"]))
    except TypeError as e:
        key = "op_args" if call["op_args"] else "op_kwargs"
        return [
            Finding(
                task_id,
                key,
                f"{ref}{signature} cannot take these arguments: {e}",
                "match op_args and op_kwargs to the function's parameters",
                "error",
                True,
            )
        ]
    return []


def load_dagbag(folder: str | os.PathLike[str], target: targets.Target) -> Any:
    """Airflow's own DagBag over `folder` (a file or a folder), from its home on `target`'s version."""
    module, name = target.dagbag
    return getattr(importlib.import_module(module), name)(
        dag_folder=str(folder), **target.dagbag_args
    )


def _last_line(text: str) -> str:
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else str(text)


def _flatten(groups: Iterable[Iterable[object]]) -> list[str]:
    return [str(w) for group in groups for w in group]


# A loaded DAG and its parts are typed Any below: they are Airflow's objects (of version 2 or 3),
# read through the attributes both versions have.


def _compare(dag: Any, exp: dict[str, Any]) -> list[str]:
    problems: list[str] = []

    def check(what: str, actual: object, expected: object) -> None:
        if actual != expected:
            problems.append(
                f"{what} is {actual!r} in the loaded DAG, but the spec says {expected!r}"
            )

    check("description", dag.description, exp["description"])
    schedule = exp["schedule"]
    if "$object" in schedule:  # a timetable object
        check("schedule", _plain(dag.timetable, schedule), schedule)
    else:
        check("schedule", _schedule(dag.timetable), schedule)
    check("timezone", dag.timezone.name, exp["timezone"])
    check("start_date", dag.start_date, datetime.fromisoformat(exp["start_date"]))
    check("end_date", dag.end_date, exp["end_date"] and datetime.fromisoformat(exp["end_date"]))
    check("catchup", dag.catchup, exp["catchup"])
    check("tags", sorted(dag.tags), exp["tags"])
    check(
        "max_active_runs",
        dag.max_active_runs if exp["max_active_runs"] else None,
        exp["max_active_runs"],
    )
    check("dagrun_timeout", _seconds(dag.dagrun_timeout), exp["dagrun_timeout"])
    if exp["max_active_tasks"] is not None:
        check("max_active_tasks", dag.max_active_tasks, exp["max_active_tasks"])
    check("doc_md", dag.doc_md, exp["doc_md"])
    check("params", _params(dag.params), exp["params"])
    check(
        "success mail recipients",
        _recipients(dag.on_success_callback, bool(exp["success_to"])),
        exp["success_to"],
    )
    for key, value in _dag_settings(dag, exp["settings"]).items():
        check(key, value, exp["settings"][key])
    mailed = {"on_success": exp["success_to"]}
    for event, expected in exp["callbacks"].items():
        loaded = _callbacks_of(getattr(dag, f"{event}_callback"), bool(mailed.get(event)))
        check(f"{event} callbacks", _plain(loaded, expected), expected)
    check("task ids", sorted(dag.task_dict), sorted(exp["tasks"]))
    for task_id, te in exp["tasks"].items():
        task = dag.task_dict.get(task_id)
        if task is None:
            continue
        what = f"task '{task_id}':"
        cls = _operator_class(task)
        check(f"{what} operator", f"{cls.__module__}.{cls.__name__}", te["operator"])
        check(f"{what} expand", _expanded(task), te["expand"])
        check(f"{what} expand_kwargs", _expanded_kwargs(task), te["expand_kwargs"])
        check(f"{what} upstream tasks", sorted(task.upstream_task_ids), te["upstream"])
        check(f"{what} owner", task.owner, te["owner"])
        check(f"{what} retries", task.retries, te["retries"])
        check(f"{what} retry_delay", _seconds(task.retry_delay), te["retry_delay"])
        check(
            f"{what} execution_timeout", _seconds(task.execution_timeout), te["execution_timeout"]
        )
        check(
            f"{what} failure mail recipients",
            _recipients(task.on_failure_callback, bool(te["failure_to"])),
            te["failure_to"],
        )
        check(
            f"{what} retry mail recipients",
            _recipients(task.on_retry_callback, bool(te["retry_to"])),
            te["retry_to"],
        )
        mailed = {"on_failure": te["failure_to"], "on_retry": te["retry_to"]}
        for event, expected in te["callbacks"].items():
            loaded = _callbacks_of(getattr(task, f"{event}_callback"), bool(mailed.get(event)))
            check(f"{what} {event} callbacks", _plain(loaded, expected), expected)
        given = getattr(
            task, "partial_kwargs", None
        )  # a mapped task keeps its other arguments there
        for key, value in te["settings"].items():
            actual = given[key] if given is not None and key in given else _attribute(task, key)
            check(f"{what} {key}", _setting(key, actual, value), value)
        for key, value in te["arguments"].items():
            if given is not None and key in given:
                check(f"{what} {key}", _plain(given[key], value), value)
            elif given is None and hasattr(task, key):
                check(f"{what} {key}", _plain(getattr(task, key), value), value)
    return problems


def _setting(key: str, actual: Any, expected: object) -> object:
    """A loaded task's setting (the attribute `key`) in the spec's terms."""
    if key in ("inlets", "outlets"):
        return [_loaded_asset(a) for a in actual]
    if key == "params" and isinstance(expected, dict):  # the DAG's params are in there too
        return {k: actual[k] for k in expected if k in actual}
    if (
        key == "resources"
        and isinstance(expected, dict)
        and actual is not None
        and not isinstance(actual, dict)
    ):
        return {k: getattr(getattr(actual, k, None), "qty", None) for k in expected}
    if key == "weight_rule" and not isinstance(actual, str):  # 2.10: a strategy object, e.g.
        # _UpstreamPriorityWeightStrategy for "upstream"
        return type(actual).__name__.strip("_").removesuffix("PriorityWeightStrategy").lower()
    return _plain(actual, expected)


def _dag_settings(dag: Any, exp: dict[str, Any]) -> dict[str, object]:
    """The loaded DAG's settings in the spec's terms (see _settings); `exp`, what the spec says."""
    folder = os.path.dirname(dag.fileloc)
    searchpath = dag.template_searchpath or []
    access = getattr(dag, "access_control", None)
    deadlines = getattr(dag, "deadline", None) or []
    return {
        "dag_display_name": dag.dag_display_name,
        "owner_links": dict(dag.owner_links or {}),
        "render_template_as_native_obj": dag.render_template_as_native_obj,
        "template_searchpath": [
            Path(os.path.relpath(f, folder)).as_posix()
            for f in ([searchpath] if isinstance(searchpath, str) else searchpath)
        ],
        "user_defined_macros": _names(dag.user_defined_macros, exp["user_defined_macros"]),
        "user_defined_filters": _names(dag.user_defined_filters, exp["user_defined_filters"]),
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        # fail_stop on 2.10
        "fail_fast": bool(getattr(dag, "fail_fast", getattr(dag, "fail_stop", False))),
        "access_control": None if access is None else _access(access),
        "deadline": [
            {
                "reference": _deadline_reference(d.reference),
                "interval": d.interval.total_seconds(),
                "callback": d.callback.path,
                "kwargs": dict(d.callback.kwargs or {}),
            }
            for d in (deadlines if isinstance(deadlines, list) else [deadlines])
        ],
    }


def _names(given: Mapping[str, object] | None, expected: Mapping[str, object]) -> dict[str, object]:
    """Macros or filters as `module:name` when each is the very object the spec names (a macro may
    be any value, not only a function), a mapping of them as the spec nests it; else the value
    itself."""
    found: dict[str, object] = {}
    for k, v in (given or {}).items():
        want = expected.get(k, ":")
        if isinstance(want, Mapping) and isinstance(v, Mapping):
            found[k] = _names(v, want)
            continue
        module, _, name = str(want).partition(":")
        same = module and getattr(sys.modules.get(module), name, None) is v
        found[k] = want if same else v
    return found


def _deadline_reference(reference: object) -> str:
    """A DeadlineReference as the spec names it: DagRunQueuedAtDeadline -> dagrun_queued_at."""
    names = {
        "DagRunQueuedAtDeadline": "dagrun_queued_at",
        "DagRunLogicalDateDeadline": "dagrun_logical_date",
    }
    return names.get(type(reference).__name__, type(reference).__name__)


def _operator_class(task: object) -> type:
    """The operator class of a task; a mapped task is a MappedOperator of its `operator_class`."""
    cls = getattr(task, "operator_class", None)
    return cls if isinstance(cls, type) else type(task)


def _expanded(task: object) -> dict[str, object]:
    """A mapped task's `expand` arguments in the spec's terms: lists, or {"output_of": task id}.
    A mapped `@task` maps its function's arguments, kept apart (op_kwargs_expand_input)."""
    expand_input = getattr(task, "op_kwargs_expand_input", None) or getattr(
        task, "expand_input", None
    )
    found: dict[str, object] = {}
    if type(expand_input).__name__ == "ListOfDictsExpandInput":
        return found  # `expand_kwargs`: see _expanded_kwargs
    for key, value in (getattr(expand_input, "value", None) or {}).items():
        upstream = getattr(value, "operator", None)
        found[key] = {"output_of": upstream.task_id} if upstream is not None else list(value)
    return found


def _expanded_kwargs(task: object) -> object:
    """A task's `expand_kwargs` in the spec's terms: the list of mappings (as JSON data), or
    {"output_of": task id}; None when it has none."""
    expand_input = getattr(task, "expand_input", None)
    if type(expand_input).__name__ != "ListOfDictsExpandInput":
        return None
    value = getattr(expand_input, "value", None)
    upstream = getattr(value, "operator", None)
    if upstream is not None:
        return {"output_of": upstream.task_id}
    return _jsonable([dict(m) for m in value or ()])


def _params(params: Any) -> dict[str, dict[str, object]]:
    """The DAG's Params as the spec writes them: default, then the schema keywords given."""
    found: dict[str, dict[str, object]] = {}
    for name in params:
        param = params.get_param(name)
        found[name] = {"default": param.value, **param.schema}
        if param.description is not None:
            found[name]["description"] = param.description
    return found


def _loaded_asset(asset: Any) -> object:
    """An Asset (Airflow 3), a Dataset (2.10: its URI is its name) or an alias, as _asset shapes it."""
    if type(asset).__name__ in ("AssetAlias", "DatasetAlias"):
        return _shape_alias(asset.name, getattr(asset, "group", "asset"))
    name = getattr(asset, "name", None) or asset.uri
    uri = asset.uri
    if uri != name and _normalized(asset, name) == uri:  # `s3://a` is read as s3://a/: the name
        uri = name  # given as its URI, as the spec says it
    return _shape_asset(name, uri, getattr(asset, "group", "asset"), dict(asset.extra or {}))


def _normalized(asset: Any, name: str) -> str | None:
    """The URI Airflow makes of `name` given alone (it normalizes some: s3://bucket -> s3://bucket/)."""
    try:
        return str(type(asset)(name).uri)
    except Exception:
        return None


def _loaded_condition(condition: object) -> object:
    objects = getattr(condition, "objects", None)
    if objects is None:
        return _loaded_asset(condition)
    # Airflow 3 may hold a condition in its serialized form (SerializedAssetAny: the
    # AssetOrTimeSchedule dag-factory builds does); it is the same condition
    name = type(condition).__name__.removeprefix("Serialized")
    kind = "any" if name in ("AssetAny", "DatasetAny") else "all"
    return {kind: [_loaded_condition(o) for o in objects]}


def _schedule(timetable: object) -> dict[str, object]:
    """The loaded timetable: its class and what defines it. Airflow 3's SDK timetables show public
    attributes (expression, timezone, delta); Airflow 2's core ones keep them private (_expression...)."""
    found: dict[str, object] = {"timetable": type(timetable).__name__}
    if found["timetable"] in {t.asset_or_time[1] for t in targets.TARGETS.values()}:
        condition = getattr(timetable, "asset_condition", None) or getattr(
            timetable, "dataset_condition", None
        )
        inner = getattr(timetable, "timetable", None)
        return {**found, "time": _schedule(inner), "assets": _loaded_condition(condition)}
    if found["timetable"] in {t.asset_timetable for t in targets.TARGETS.values()}:
        condition = getattr(timetable, "asset_condition", None) or getattr(
            timetable, "dataset_condition", None
        )
        found["assets"] = _loaded_condition(condition)
        return found
    expression = _attribute(timetable, "expression")
    if expression is not None:
        timezone = _attribute(timetable, "timezone")
        found.update(expression=expression, timezone=getattr(timezone, "name", timezone))
    delta = _attribute(timetable, "delta")
    if delta is not None:
        found["seconds"] = delta.total_seconds()
    return found


def _attribute(obj: object, name: str) -> Any:
    value = getattr(obj, name, None)
    return getattr(obj, f"_{name}", None) if value is None else value


# The classes of the alert mails dagforge writes (`alerts:`), told apart from the user's callbacks.
_MAILS = ("SmtpNotifier", "DagSuccessMail")


def _recipients(callbacks: object, mailed: bool) -> list[str]:
    """The recipients of the alert mail, which dagforge writes first (`mailed`: the spec has one).
    Only there: a callback of the user's may be an SmtpNotifier too (`{object: ...SmtpNotifier}`), and
    without a mail in the spec whatever comes first is the user's, compared with the callbacks."""
    found: list[str] = []
    for cb in _callbacks_of(callbacks, False)[:1] if mailed else []:
        if type(cb).__name__ in _MAILS:
            to = getattr(cb, "to", None)
            found += [to] if isinstance(to, str) else list(to or [])
    return found


def _callbacks_of(callbacks: object, mailed: bool) -> list[object]:
    """A loaded `on_*_callback` as a list; `mailed`: without the alert mail, which dagforge writes
    first."""
    if callbacks is None:
        return []
    found = list(callbacks) if isinstance(callbacks, (list, tuple)) else [callbacks]
    return found[1:] if mailed and found and type(found[0]).__name__ in _MAILS else found


def _plain(actual: object, expected: object) -> object:
    """The loaded attribute in the spec's terms: callables as `module:name`, containers as lists."""
    if isinstance(expected, dict) and "$seconds" in expected:
        seconds = actual.total_seconds() if isinstance(actual, timedelta) else actual
        return {"$seconds": float(seconds)} if isinstance(seconds, (int, float)) else actual
    if isinstance(expected, dict) and "$ref" in expected:
        module, name = expected["$ref"].split(":")
        same = getattr(importlib.import_module(module), name, None) is actual
        return (
            expected
            if same
            else {
                "$ref": f"{getattr(actual, '__module__', '?')}:{getattr(actual, '__name__', actual)}"
            }
        )
    if isinstance(expected, dict) and "$xcom" in expected:
        producer = getattr(getattr(actual, "operator", None), "task_id", None)
        key = getattr(actual, "key", None)
        return {"$xcom": producer, "key": None if key == "return_value" else key}
    if isinstance(expected, dict) and ("$object" in expected or "$function" in expected):
        return _plain_code(actual, expected)
    if isinstance(expected, dict) and isinstance(actual, dict) and set(actual) == set(expected):
        return {k: _plain(actual[k], v) for k, v in expected.items()}
    if (
        isinstance(expected, list)
        and isinstance(actual, (list, tuple))
        and len(actual) == len(expected)
    ):
        return [_plain(a, e) for a, e in zip(actual, expected, strict=True)]
    if isinstance(actual, (tuple, set, frozenset)) and isinstance(expected, list):
        return list(actual)
    if (
        isinstance(actual, (list, tuple, set))
        and not isinstance(expected, (list, dict))
        and list(actual) == [expected]
    ):
        return expected  # Airflow keeps a single value as a one-item container (e.g. skip_on_exit_code)
    return actual


def _plain_code(actual: object, expected: dict[str, Any]) -> object:
    """A loaded object (function, partial) in the spec's terms when it is what the spec names: the
    same class (the same function), each argument the spec gives as the object shows it (an
    attribute of that name; one it does not show is taken as given), a partial's bound keywords."""
    import functools

    form = "$object" if "$object" in expected else "$function"
    if form == "$object":
        module, _, name = expected[form].rpartition(".")
    else:
        module, _, name = expected[form].partition(":")
    try:
        wanted = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        wanted = None
    kwargs: dict[str, object] = {}
    if form == "$object":
        same = wanted is not None and type(actual) is wanted
        for k, v in expected["kwargs"].items():
            kwargs[k] = _plain(getattr(actual, k), v) if hasattr(actual, k) else v
        what = f"{type(actual).__module__}.{type(actual).__qualname__}"
    else:
        func, bound = actual, {}
        if isinstance(actual, functools.partial):
            func, bound = actual.func, dict(actual.keywords)
        same = wanted is not None and func is wanted
        kwargs = {k: _plain(bound[k], expected["kwargs"].get(k)) for k in bound}
        what = f"{getattr(func, '__module__', '?')}:{getattr(func, '__qualname__', func)}"
    return {form: expected[form] if same else what, "kwargs": kwargs}


if __name__ == "__main__":
    _child(*sys.argv[1:3])
    # The answer is written: threads or exit handlers that the user's modules left must not keep
    # the child (and the build) waiting.
    sys.stdout.flush()
    os._exit(0)
