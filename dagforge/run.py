"""`dagforge run`: build one spec and run it once under Airflow, the way Airflow itself runs it.

Airflow is driven only through its command line, in child processes: `airflow db migrate` prepares a
throwaway Airflow home with a SQLite metadata database (unless the caller asks for the one in
AIRFLOW_HOME), and `airflow dags test` runs the DAG with Airflow's own retries and callbacks. The run
adds nothing to the generated file: its alert mails are the file's own callbacks, sent through the
`smtp_default` connection the user configured (AIRFLOW_CONN_SMTP_DEFAULT).

Nothing the run starts outlives it, however it ends (success, failure, an exception, Ctrl-C,
SIGTERM): `run_spec` stops every process it started and removes its temporary folder in a `finally`
(the CLI turns SIGTERM and SIGHUP into an exception, as Python does SIGINT, so that it runs). The
processes are found by a token in their environment and as descendants of the `airflow` commands: a
process group is not enough, because the Bash operator starts each command in a session of its own.
The folder also holds every temporary file Airflow and the tasks make (TMPDIR points into it), and
the rendered DAG with its substituted environment values.

The outcome is read from the metadata database with the stdlib `sqlite3`, read-only, after Airflow
has exited: one query gives every task's state, try number, start, end and duration, and the
history table gives the start of every try. `airflow tasks states-for-dag-run` would cost another
Airflow start-up (about 2 s) and reports neither tries nor earlier attempts. The price is that only
a SQLite metadata database can be read, so `use_airflow_home` refuses any other.

This process never imports Airflow.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING

from .api import BuildResult, build, validate

if TYPE_CHECKING:
    import psutil

LOG_LINES = 10  # how much of a failed task's log a failed run shows
PREPARE_TIMEOUT = 600  # seconds for `airflow db migrate` or `config`: a hang becomes an error
STARTUP = timedelta(minutes=1)  # what `dags test` takes before the run starts, on a busy machine
GRACE = 10  # seconds the processes get after SIGTERM (Airflow ends its run: ~7 s), before SIGKILL
TOKEN = "DAGFORGE_RUN_TOKEN"  # the environment variable that marks the processes of one run


class UsageError(Exception):
    """The run cannot start as asked (a folder instead of a spec, no AIRFLOW_HOME, ...)."""


class AirflowError(Exception):
    """An Airflow command that prepares the run failed (not the run itself: that is a RunResult)."""


@dataclass
class Attempt:
    try_number: int
    state: str | None
    start: datetime | None
    end: datetime | None


@dataclass
class TaskRun:
    task_id: str
    state: str | None  # Airflow's final state: success, failed, upstream_failed, skipped, ...
    tries: int
    start: datetime | None
    end: datetime | None
    duration: float | None  # seconds, as Airflow recorded it
    attempts: list[Attempt] = field(default_factory=list)  # every try, first to last
    log: list[str] = field(default_factory=list)  # the last lines of the last try's log


@dataclass
class RunResult:
    build: BuildResult
    dag_id: str | None = None
    run_id: str | None = None
    state: str | None = None  # the DAG run's final state; None when Airflow started no run
    tasks: list[TaskRun] = field(default_factory=list)  # in the order they started
    seconds: float = 0.0  # wall time of `airflow dags test`
    timeout: timedelta | None = None  # the limit `airflow dags test` ran under (None: no limit)
    timed_out: bool = False  # it hit the limit and was stopped; `state` is where the run stood
    output: str = ""  # everything `airflow dags test` printed

    @property
    def ok(self) -> bool:
        return self.state == "success" and not self.timed_out

    @property
    def failed(self) -> list[TaskRun]:
        return [t for t in self.tasks if t.state == "failed"]


def run_spec(
    spec: str | os.PathLike[str],
    logical_date: date | datetime | str | None = None,
    conf: dict[str, object] | None = None,  # a JSON object
    use_airflow_home: bool = False,
    progress: Callable[[str], object] | None = None,
    timeout: timedelta | None = None,
) -> RunResult:
    """Build `spec` into a temporary dags folder and run its DAG once with `airflow dags test`.

    `progress`, when given, is called with one line of text once the spec is built and the run
    begins (it takes a few seconds). `timeout` limits `airflow dags test`, Airflow's start-up
    included; by default it is the spec's dagrun_timeout plus STARTUP, and no limit when the spec
    has none (or `timeout` is zero). A run that hits it is stopped and comes back with `timed_out`
    set.

    However this returns or raises, every process it started has been stopped and its temporary
    folder removed."""
    from .verify import airflow_installed

    path = Path(spec)
    if path.is_dir():
        raise UsageError(f"{path} is a folder: dagforge run takes one spec file")
    if not airflow_installed():
        raise UsageError("dagforge run needs Airflow: pip install 'dagforge[airflow]'")
    if use_airflow_home and not os.environ.get("AIRFLOW_HOME"):
        raise UsageError("--use-airflow-home needs AIRFLOW_HOME to be set")

    run = _Processes(secrets.token_hex(16))
    tmp = None
    try:
        with _signals_held():  # a signal now would leave the folder made but not yet named `tmp`
            tmp = tempfile.mkdtemp(prefix="dagforge-run-")
        return _run(Path(tmp), run, path, logical_date, conf, use_airflow_home, progress, timeout)
    finally:
        with _signals_held():  # the first SIGTERM or Ctrl-C unwinds to here; it must finish
            run.stop()
            if tmp:
                shutil.rmtree(tmp)


def _run(
    tmp: Path,
    run: _Processes,
    spec: Path,
    logical_date: date | datetime | str | None,
    conf: dict[str, object] | None,
    use_airflow_home: bool,
    progress: Callable[[str], object] | None,
    timeout: timedelta | None,
) -> RunResult:
    dags = tmp / "dags"
    env = _environment(dags, tmp / "tmp", run.token)
    if use_airflow_home:
        db = _user_database(env, run)
        last_run = _last_run_id(db)
    else:
        home = tmp / "airflow-home"
        db = home / "airflow.db"
        env.update(AIRFLOW_HOME=str(home), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{db}")

    # A family (reuse.py) is refused before its DAGs are built and verified: Airflow is not
    # started for DAGs that will not run.
    checked = validate([spec], verify=False)
    if checked.ok and len(checked.specs) > 1:
        raise UsageError(
            f"{checked.specs[0].display} is a family of {len(checked.specs)} DAGs "
            "(for_each): run runs one DAG; run a copy of the spec with one item in for_each"
        )
    result = RunResult(build([spec], dags, verify=True))
    if not result.build.ok or not result.build.specs:
        return result
    pipeline = result.build.specs[0].pipeline
    assert pipeline is not None  # a spec that built has its model
    result.dag_id = pipeline.dag_id
    if timeout is None and pipeline.dagrun_timeout is not None:
        timeout = pipeline.dagrun_timeout + STARTUP
    result.timeout = timeout
    if progress:
        where = (
            f"the Airflow home {env['AIRFLOW_HOME']}"
            if use_airflow_home
            else "a throwaway Airflow home"
        )
        progress(f"running {result.dag_id} with airflow dags test in {where}")
    if not use_airflow_home:
        _airflow(["db", "migrate"], env, run, "could not prepare the throwaway Airflow home")
        last_run = 0
    command = ["dags", "test", result.dag_id]
    if logical_date is not None:
        command.append(logical_date if isinstance(logical_date, str) else logical_date.isoformat())
    if conf is not None:
        command += ["--conf", json.dumps(conf)]
    # Into a file, not a pipe: the run ends when Airflow exits, even if a task left a process
    # behind that holds Airflow's output open.
    output = tmp / "output.txt"
    started = time.monotonic()
    with output.open("wb") as out:
        proc = run.start(command, env, out)
    try:
        proc.wait(timeout=timeout.total_seconds() if timeout else None)
    except subprocess.TimeoutExpired:
        result.timed_out = True
        run.stop()  # now, so that the database says where the run stood when it was stopped
    result.seconds = time.monotonic() - started
    result.output = output.read_text(encoding="utf-8", errors="replace")
    try:
        _read_outcome(result, db, last_run)
    except sqlite3.Error:
        # Killed in the middle of a write, Airflow may leave a journal that a reader cannot undo.
        if not result.timed_out:
            raise
    return result


def _environment(dags: Path, tmp: Path, token: str) -> dict[str, str]:
    """The child's environment: the caller's (with its AIRFLOW_CONN_SMTP_DEFAULT), our dags folder."""
    env = dict(os.environ)
    # As in an activated virtualenv: a task's `airflow ...` or `python ...` is the one running it, and
    # the working folder's modules import there as `dagforge build` verified them.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", os.defpath)])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    env["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags)
    env["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    env["AIRFLOW__LOGGING__LOGGING_LEVEL"] = (
        "INFO"  # the task logs a failed run shows are INFO lines
    )
    # Temporary files of Airflow and of the tasks go into the run's folder, and go with it even when
    # a process that made them had to be killed.
    tmp.mkdir()
    env["TMPDIR"] = str(tmp)
    env[TOKEN] = token
    return env


class _Processes:
    """The processes of one run: the `airflow` commands it starts and everything they start."""

    def __init__(self, token: str, grace: float = GRACE) -> None:
        self.token = token
        self.grace = grace  # seconds between SIGTERM and SIGKILL
        self.started: list[subprocess.Popen[str]] = []

    def start(
        self, args: list[str], env: dict[str, str], output: IO[bytes] | None = None
    ) -> subprocess.Popen[str]:
        """Start `airflow ARGS`, its output (stderr too) going into the file `output`, or into pipes
        that communicate() reads as text."""
        # A session of its own: Ctrl-C at the terminal reaches dagforge alone, which stops the run.
        proc = subprocess.Popen(
            [sys.executable, "-m", "airflow", *args],
            env=env,
            stdout=subprocess.PIPE if output is None else output,
            stderr=subprocess.PIPE if output is None else subprocess.STDOUT,
            text=True,  # (for the pipes: a file gets the bytes as they are)
            start_new_session=True,
        )
        self.started.append(proc)
        return proc

    def stop(self) -> None:
        """Stop them all: SIGTERM, so that Airflow ends its tasks and removes its own files, then
        SIGKILL what is left after `grace` seconds, until none is left."""
        import psutil  # Airflow's own dependency, so there wherever a run can start

        procs = self._find()
        for p in procs:
            _signal(p, signal.SIGTERM)
        alive: Collection[psutil.Process]
        _, alive = psutil.wait_procs(procs, timeout=self.grace)
        for _ in range(10):  # anything that forked while we looked is found on the next pass
            alive = {p for p in alive if p.is_running()} | self._find()
            if not alive:
                break
            for p in alive:
                _signal(p, signal.SIGKILL)
            _, alive = psutil.wait_procs(alive, timeout=1)
        for proc in self.started:
            proc.wait()  # when psutil reaped it already, this returns at once
            for pipe in (proc.stdout, proc.stderr):
                if pipe:
                    pipe.close()

    def _find(self) -> set[psutil.Process]:
        """Those carrying the token (a task's command in its own session, or orphaned), and the
        descendants of the `airflow` commands (a task's command started with an environment of its
        own: the Bash operator's `env`), looked up before any is stopped and so still attached."""
        import psutil

        found: set[psutil.Process] = set()
        for proc in self.started:
            if proc.returncode is not None:  # reaped: its pid may be another process's by now
                continue
            try:
                found.add(parent := psutil.Process(proc.pid))
                found.update(parent.children(recursive=True))
            except psutil.Error:
                pass
        for p in psutil.process_iter():
            try:
                if p.environ().get(TOKEN) == self.token:
                    found.add(p)
            except psutil.Error:  # another user's process, or one that is gone
                pass
        return {p for p in found if p.pid != os.getpid()}


def _signal(proc: psutil.Process, signum: signal.Signals) -> None:
    try:
        proc.send_signal(signum)
    except Exception:  # psutil.NoSuchProcess: it is gone already; AccessDenied: not ours after all
        pass


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP wait until the block is done (they are delivered after it)."""
    stopping = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, stopping)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _airflow(args: list[str], env: dict[str, str], run: _Processes, what: str) -> str:
    proc = run.start(args, env)
    try:
        out, err = proc.communicate(timeout=PREPARE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise AirflowError(
            f"{what}: `airflow {' '.join(args)}` did not finish in {PREPARE_TIMEOUT} seconds"
        ) from None
    if proc.returncode != 0:
        raise AirflowError(f"{what}: `airflow {' '.join(args)}` failed: {_tail(err or out, 1)}")
    return out


def _user_database(env: dict[str, str], run: _Processes) -> Path:
    """The SQLite file of the metadata database AIRFLOW_HOME is configured with, as Airflow resolves it."""
    url = (
        _airflow(
            ["config", "get-value", "database", "sql_alchemy_conn"],
            env,
            run,
            "could not read the Airflow configuration",
        )
        .strip()
        .splitlines()[-1]
    )
    scheme, _, rest = url.partition("://")
    path = rest[1:].split("?", 1)[0]  # sqlite:////abs/airflow.db, sqlite:///relative.db
    if scheme.split("+")[0] != "sqlite" or not path:
        raise UsageError(
            f"--use-airflow-home needs a SQLite metadata database file to read the run from; "
            f"{env['AIRFLOW_HOME']} uses {scheme.split('+')[0] if path else url}"
        )
    return Path(path)


def _connect(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def _last_run_id(db: Path) -> int:
    """The newest DAG run before ours: what `airflow dags test` adds comes after it."""
    try:
        with _connect(db) as c:
            return c.execute("SELECT COALESCE(MAX(id), 0) FROM dag_run").fetchone()[0]
    except sqlite3.Error:
        raise UsageError(
            f"the Airflow metadata database {db} is not set up: run `airflow db migrate`"
        ) from None


def _read_outcome(result: RunResult, db: Path, after: int) -> None:
    with _connect(db) as c:
        row = c.execute(
            "SELECT run_id, state FROM dag_run WHERE dag_id = ? AND id > ? ORDER BY id DESC LIMIT 1",
            (result.dag_id, after),
        ).fetchone()
        if row is None:
            return
        result.run_id, result.state = row
        where = (result.dag_id, result.run_id)
        tasks = c.execute(
            "SELECT task_id, state, try_number, start_date, end_date, duration FROM task_instance"
            " WHERE dag_id = ? AND run_id = ?",
            where,
        ).fetchall()
        earlier = c.execute(
            "SELECT task_id, try_number, state, start_date, end_date FROM task_instance_history"
            " WHERE dag_id = ? AND run_id = ? ORDER BY try_number",
            where,
        ).fetchall()
    logs = _task_logs(result.output)
    for task_id, state, tries, start, end, duration in tasks:
        t = TaskRun(
            task_id, state, tries, _when(start), _when(end), duration, log=logs.get(task_id, [])
        )
        t.attempts = [
            Attempt(n, s, _when(b), _when(e)) for tid, n, s, b, e in earlier if tid == task_id
        ]
        if tries and t.start and not any(a.try_number == tries for a in t.attempts):
            t.attempts.append(Attempt(tries, state, t.start, t.end))
        result.tasks.append(t)
    result.tasks.sort(key=lambda t: (t.start is None, t.start or datetime.min.replace(tzinfo=UTC)))


def _when(text: str | None) -> datetime | None:
    """A time as the metadata database keeps it (UTC, no offset)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if text else None


_START = re.compile(r"\[DAG TEST\] starting task_id=(\S+) ")
_END = re.compile(r"\[DAG TEST\] end task task_id=")
# Not the task's log: the in-process execution API and the log-folding markers around it; a
# traceback's header (its frames are indented and left out too: its last line says what failed).
_NOISE = re.compile(
    r"\[airflow\.api_fastapi\.|::(end)?group::|\[DAG TEST\]|^Traceback \(most recent call last\):"
)
# `... message  [logger.name] key=value loc=file.py:12`: the logger and source location say little here.
_WHERE = re.compile(r"\s+\[[\w.]+\]((?:\s+\w+=\S+)*?)\s+loc=\S+$")


def _task_logs(output: str) -> dict[str, list[str]]:
    """The last lines each task's last try logged. `dags test` runs the tries one after another and
    frames each with `[DAG TEST] starting task_id=...` and `[DAG TEST] end task ...` in its output."""
    logs: dict[str, list[str]] = {}
    current: str | None = None
    for line in output.splitlines():
        if m := _START.search(line):
            current = m.group(1)
            logs[current] = []
        elif _END.search(line):
            current = None
        elif current and line.strip() and not _NOISE.search(line) and not line[:1].isspace():
            logs[current].append(
                _WHERE.sub(r"\1", line.rstrip())
            )  # indented lines: traceback frames
    return {task: lines[-LOG_LINES:] for task, lines in logs.items()}


def _tail(text: str, n: int) -> str:
    return "\n".join(line for line in text.strip().splitlines()[-n:])
