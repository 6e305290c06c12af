"""`dagforge serve`: the specs running in a real local Airflow 3, UI included, in one command.

It builds the specs, then starts Airflow's own processes (api-server, scheduler, dag-processor,
triggerer) on 127.0.0.1 with the LocalExecutor, the DAGs folder being the output folder and
AIRFLOW_HOME a folder of the state folder (`.dagforge/serve/` unless --state). The metadata database
is SQLite there (`airflow db migrate` first), or the PostgreSQL that --database names. Then it
watches the specs and builds again when one changes: a valid edit is a new DAG file that the
dag-processor picks up within seconds; an invalid one prints its located errors and leaves the last
good file in place (a build never writes an invalid spec's file).

A local playground: DAGs are unpaused when they are created, and the simple auth manager lets
everyone in as admin (the API is reachable only from this machine); --auth turns the login on with a
generated password for `admin`, printed once. Alert mails go to the user's smtp_default connection
(AIRFLOW_CONN_SMTP_DEFAULT) if there is one, else to a local SMTP sink (mailsink.py) that prints
each mail's recipients and subject and keeps the mail in the state folder.

The processes are started and stopped as `dagforge run` does (run._Processes): each in a session of
its own, marked by a token in its environment, and all of them with their task processes stopped on
Ctrl-C or SIGTERM. A lock in the state folder keeps a second serve off it while one runs.

This process never imports Airflow.
"""

from __future__ import annotations

import json
import os
import queue
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from . import defaults, reuse
from .api import BuildResult, build
from .run import _airflow, _environment, _Processes, _signals_held

STATE = Path(".dagforge", "serve")
COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
HOST = "127.0.0.1"
READY_TIMEOUT = 300.0  # seconds for the api-server to answer, on a busy machine
# Seconds from SIGTERM to SIGKILL: the scheduler and the tasks end in about 5 s; the api-server and
# the scheduler's log server wait for more than `dagforge run`'s 10 s, and Ctrl-C should be quick.
GRACE = 5
DEBOUNCE_MS = 500  # edits closer together than this are one rebuild
TAIL = 20  # the lines of a component's output shown when it dies
STATE_FILE = "serve.json"  # where `dagforge trigger` finds the running serve
SIMPLE_AUTH = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
ADMIN = "admin"

# A line of Airflow's output worth showing without -v: structlog's `[warning  ]`, logging's
# `WARNING`, a traceback; the indented lines after it (its frames) go with it.
_IMPORTANT = re.compile(
    r"\[\s*(warning|error|critical|exception)\s*\]|\b(WARNING|ERROR|CRITICAL|FATAL)\b"
    r"|^Traceback|^\w+(Error|Exception):"
)


class ServeError(Exception):
    """Serve cannot start as asked (busy state folder or port, no Airflow, ...): exit 2."""


@dataclass
class Options:
    paths: list[str]
    output: Path
    port: int = 8080
    database: str | None = None  # a SQLAlchemy URL; None: SQLite in the state folder
    state: Path = STATE
    verbose: bool = False
    auth: bool = False
    trigger: str | None = None  # a DAG to trigger once Airflow is ready
    conf: dict[str, object] | None = None
    airflow: str = "3"


@dataclass
class _Log:
    """Prints the prefixed lines of the components and serve's own, one line at a time."""

    verbose: bool
    lock: threading.Lock = field(default_factory=threading.Lock)

    def say(self, text: str, out: IO[str] | None = None) -> None:
        with self.lock:
            print(text, file=out or sys.stderr, flush=True)

    def follow(self, name: str, pipe: IO[str], tail: deque[str]) -> None:
        """Read one component's output to its end (a thread per component)."""
        showing = False
        try:
            for raw in pipe:
                line = raw.rstrip()
                tail.append(line)
                showing = bool(_IMPORTANT.search(line)) or (showing and line[:1].isspace())
                if line and (self.verbose or showing):
                    self.say(f"{name:>13} | {line}")
        except (OSError, ValueError):  # the pipe was closed under us when serve stopped
            pass


def serve(options: Options, log: _Log | None = None) -> int:
    """Build, start Airflow, watch and rebuild until Ctrl-C or SIGTERM (KeyboardInterrupt or the
    CLI's Stopped, raised in this thread). Returns the exit code when a component dies first."""
    from filelock import FileLock, Timeout

    from .verify import airflow_installed

    log = log or _Log(options.verbose)
    if not airflow_installed():
        raise ServeError("dagforge serve needs Airflow: pip install 'dagforge[airflow,serve]'")
    try:
        import aiosmtpd  # noqa: F401
        import watchfiles  # noqa: F401
    except ImportError:
        raise ServeError(
            "dagforge serve needs watchfiles and aiosmtpd: pip install 'dagforge[serve]'"
        ) from None
    state = options.state.resolve()
    try:
        state.mkdir(parents=True, exist_ok=True)
        lock = FileLock(state / "serve.lock")
        lock.acquire(timeout=0)
    except Timeout:
        raise ServeError(
            f"another dagforge serve is running on the state folder {state}: stop it first, "
            "or give this one another folder with --state"
        ) from None
    except OSError as e:
        raise ServeError(f"cannot use the state folder {state}: {e.strerror}") from None
    try:
        _port_free(options.port)
    except ServeError:
        lock.release()
        raise
    processes = _Processes(secrets.token_hex(16), GRACE)
    sink = None
    try:
        result = _build(options, log)
        if result.problems:
            return 2
        env, sink = _prepare(options, state, processes, log)
        return _serve(options, state, env, processes, log, result)
    finally:
        with _signals_held():  # the first Ctrl-C or SIGTERM unwinds to here; it must finish
            if processes.started:
                log.say("dagforge: stopping Airflow ...")
            processes.stop()
            if sink:
                sink.stop()
            (state / STATE_FILE).unlink(missing_ok=True)
            lock.release()
            if processes.started:
                log.say("dagforge: stopped")


def _port_free(port: int) -> None:
    with socket.socket() as s:
        try:
            s.bind((HOST, port))
        except OSError:
            raise ServeError(
                f"port {port} on {HOST} is in use: give serve another with --port"
            ) from None


def _build(options: Options, log: _Log) -> BuildResult:
    from .report import emit

    result = build(options.paths, options.output, airflow=options.airflow)
    if not result.ok or result.built:
        with log.lock:
            emit(result, "build")
    return result


def _prepare(
    options: Options, state: Path, processes: _Processes, log: _Log
) -> tuple[dict[str, str], Any]:
    """The components' environment, the database migrated, the mail sink started if needed."""
    from .mailsink import MailSink

    home = state / "airflow-home"
    home.mkdir(exist_ok=True)
    shutil.rmtree(state / "tmp", ignore_errors=True)  # what the last serve's tasks left
    env = _environment(options.output.resolve(), state / "tmp", processes.token)
    url = f"http://{HOST}:{options.port}"
    database = options.database or f"sqlite:///{home / 'airflow.db'}"
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": database,
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            # The LocalExecutor starts this many worker processes; Airflow's 32 are a lot of memory
            # for a laptop.
            "AIRFLOW__CORE__PARALLELISM": env.get("AIRFLOW__CORE__PARALLELISM", "8"),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(options.port),
            "AIRFLOW__API__BASE_URL": url,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{url}/execution/",
            # one secret for every component: the scheduler's tokens must pass the api-server
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(64),
            "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": str(not options.auth),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            # an edit shows within seconds: new files every 5 s, changed ones parsed again
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
        }
    )
    if options.auth:
        password = secrets.token_urlsafe(12)
        passwords = home / "passwords.json"
        passwords.touch(mode=0o600)
        passwords.write_text(json.dumps({ADMIN: password}) + "\n", encoding="utf-8")
        log.say(f"dagforge: log in as {ADMIN} with the password {password} (shown only now)")
    sink = None
    if os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT"):
        log.say("dagforge: alert mails go to your smtp_default (AIRFLOW_CONN_SMTP_DEFAULT)")
    else:
        mail = state / "mail"

        def seen(recipients: list[str], subject: str) -> None:
            log.say(f"dagforge: mail to {', '.join(recipients)}: {subject}")

        sink = MailSink(mail, seen)
        sink.start()
        env["AIRFLOW_CONN_SMTP_DEFAULT"] = sink.url
        log.say(f"dagforge: alert mails are caught on {HOST}:{sink.port} and kept in {mail}/")
    log.say("dagforge: preparing the Airflow database (airflow db migrate) ...")
    from .run import AirflowError

    try:
        _airflow(["db", "migrate"], env, processes, "could not prepare the Airflow database")
    except AirflowError as e:
        raise ServeError(str(e)) from None
    return env, sink


def _serve(
    options: Options,
    state: Path,
    env: dict[str, str],
    processes: _Processes,
    log: _Log,
    result: BuildResult,
) -> int:
    tails: dict[str, deque[str]] = {}
    procs: dict[str, subprocess.Popen[str]] = {}

    def start(name: str) -> None:
        proc = procs[name] = processes.start([name], env)
        tails[name] = deque(maxlen=TAIL)
        for pipe in (proc.stdout, proc.stderr):
            assert pipe is not None
            threading.Thread(target=log.follow, args=(name, pipe, tails[name]), daemon=True).start()

    # The api-server first: the tasks the scheduler starts report to it (the execution API), and
    # fail if it is not listening yet.
    url = f"http://{HOST}:{options.port}"
    start("api-server")
    _wait_ready(url, procs, tails)
    for name in COMPONENTS[1:]:
        start(name)
    (state / STATE_FILE).write_text(
        json.dumps({"url": url, "pid": os.getpid(), "auth": options.auth}), encoding="utf-8"
    )
    dags = sum(1 for s in result.specs if s.ok)
    log.say(f"dagforge: Airflow UI at {url} — {dags} DAGs", sys.stdout)
    if options.trigger:
        from .trigger import TriggerError

        try:
            trigger_and_report(client(state), options.trigger, options.conf, log)
        except TriggerError as e:  # the run is not the serve: Airflow goes on serving
            log.say(f"dagforge: error: {e}")
    return _watch(options, state, procs, tails, log)


def _wait_ready(
    url: str, procs: dict[str, subprocess.Popen[str]], tails: dict[str, deque[str]]
) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        _check_alive(procs, tails)
        try:
            with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise ServeError(f"the Airflow api-server did not answer at {url} in {READY_TIMEOUT:g} s")


class ComponentDied(Exception):
    pass


def _check_alive(procs: dict[str, subprocess.Popen[str]], tails: dict[str, deque[str]]) -> None:
    for name, proc in procs.items():
        if proc.poll() is not None:
            raise ComponentDied(
                f"airflow {name} exited with code {proc.returncode}; its last lines:\n"
                + "\n".join(f"  {line}" for line in tails[name])
            )


def _watch(
    options: Options,
    state: Path,
    procs: dict[str, subprocess.Popen[str]],
    tails: dict[str, deque[str]],
    log: _Log,
) -> int:
    """Build again whenever a file under the specs' folders changes (blocks, defaults.yaml and
    doc_md files included), until a signal ends it or a component dies."""
    import watchfiles

    ignored = [options.output.resolve(), state]
    folders = {_root(Path(p)) for p in options.paths}
    # What a spec reads from above its folder: the blocks/ folders (watched whole) and the
    # defaults.yaml files of the folders up to the working folder (watched without their
    # subfolders: one of them may hold a virtualenv of thousands of folders).
    blocks = {b for f in folders for b in reuse.folders(f / "spec.yaml")}
    above = {d for f in folders for d in defaults.folders(f)} - folders

    def relevant(change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        if any(p.is_relative_to(i) for i in ignored) or "__pycache__" in p.parts:
            return False
        if any(p.is_relative_to(f) for f in folders | blocks):
            return True
        return p.parent in above and p.name in defaults.NAMES

    # watchfiles in a thread: in this one, its wait would turn SIGTERM into a KeyboardInterrupt.
    changed: queue.Queue[set[tuple[watchfiles.Change, str]]] = queue.Queue()
    stop = threading.Event()

    def watch(roots: set[Path], recursive: bool) -> None:
        for changes in watchfiles.watch(
            *sorted(roots),
            watch_filter=relevant,
            debounce=DEBOUNCE_MS,
            stop_event=stop,
            recursive=recursive,
        ):
            changed.put(changes)

    for roots, recursive in ((folders | blocks, True), (above, False)):
        if roots:
            threading.Thread(target=watch, args=(roots, recursive), daemon=True).start()
    try:
        while True:
            _check_alive(procs, tails)
            try:
                changed.get(timeout=1)
            except queue.Empty:
                continue
            while not changed.empty():  # what changed while the last build ran: one build more
                changed.get()
            log.say("dagforge: a spec changed; building again ...")
            result = _build(options, log)
            if result.ok:
                log.say(
                    f"dagforge: {len(result.built)} DAG file(s) written; "
                    "Airflow picks them up within seconds"
                )
            else:
                log.say("dagforge: the invalid specs keep their last good DAG files")
    finally:
        stop.set()


def _root(path: Path) -> Path:
    """The folder to watch for a spec path: the folder itself, or a file's folder."""
    path = path.resolve()
    return path if path.is_dir() else path.parent


def client(state: Path) -> Any:
    """A REST client of the serve running on `state` (TriggerError when none is)."""
    from .trigger import Client, TriggerError

    try:
        info = json.loads((state / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise TriggerError(
            f"no dagforge serve is running on the state folder {state}: start one with "
            "`dagforge serve`, or name its folder with --state"
        ) from None
    if not info.get("auth"):
        return Client(info["url"])
    passwords = state / "airflow-home" / "passwords.json"
    password = json.loads(passwords.read_text(encoding="utf-8"))[ADMIN]
    return Client(info["url"], ADMIN, password)


def trigger_and_report(
    rest: Any, dag_id: str, conf: dict[str, object] | None, log: _Log | None = None
) -> int:
    """Trigger `dag_id`, print its tasks' states as they change and the table of `dagforge run`
    at the end; 0 when the run succeeded, 1 when it failed."""
    from .cli import _table
    from .trigger import trigger

    say: Callable[[str], object] = log.say if log else (lambda s: print(s, file=sys.stderr))
    outcome = trigger(rest, dag_id, conf, progress=lambda s: say(f"dagforge: {s}"))
    print(_table(outcome.tasks), flush=True)
    failed = ", ".join(t.task_id for t in outcome.tasks if t.state == "failed")
    say(
        f"run {outcome.run_id} of {outcome.dag_id}: {outcome.state} in {outcome.seconds:.1f}s"
        + (f" (failed: {failed})" if failed else "")
    )
    return 0 if outcome.state == "success" else 1
