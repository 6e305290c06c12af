"""`dagforge trigger` (and `serve --trigger`): one run of a DAG in a running `dagforge serve`,
through Airflow's REST API v2, followed to its end.

A token comes from the simple auth manager's `/auth/token`: a GET when all users are admins (serve's
default), a POST with the user and password when serve runs with `--auth`. The run is created with
`POST /api/v2/dags/{dag_id}/dagRuns` and read back until it is finished; its task instances give the
table `dagforge run` prints. Only the standard library: this process never imports Airflow.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .run import TaskRun

FINISHED = {"success", "failed"}
DAG_WAIT = 180.0  # seconds for a DAG to show up in the API (the dag-processor parses it first)
POLL = 1.0


class TriggerError(Exception):
    """The serve cannot be reached, refuses, or does not know the DAG."""


@dataclass
class Client:
    url: str  # http://127.0.0.1:PORT
    username: str | None = None  # with a password: serve runs with --auth
    password: str | None = None
    _token: str | None = field(default=None, repr=False)

    def token(self) -> str:
        if self._token is None:
            if self.username is None:
                answer = self._send("GET", "/auth/token")
            else:
                body = {"username": self.username, "password": self.password}
                answer = self._send("POST", "/auth/token", body)
            self._token = str(answer["access_token"])
        return self._token

    def call(self, method: str, path: str, body: object = None) -> Any:
        return self._send(method, path, body, {"Authorization": f"Bearer {self.token()}"})

    def _send(
        self, method: str, path: str, body: object = None, headers: dict[str, str] | None = None
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            detail = e.read().decode(errors="replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except (ValueError, AttributeError):
                pass
            raise TriggerError(f"{method} {path}: HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise TriggerError(
                f"cannot reach Airflow at {self.url} ({reason}): is `dagforge serve` running?"
            ) from None


@dataclass
class Outcome:
    dag_id: str
    run_id: str
    state: str
    tasks: list[TaskRun]
    seconds: float


def trigger(
    client: Client,
    dag_id: str,
    conf: dict[str, object] | None = None,
    progress: Callable[[str], object] | None = None,
    timeout: float | None = None,
) -> Outcome:
    """Trigger a run of `dag_id` now and wait for it to finish (or `timeout` seconds to pass:
    TriggerError). `progress` is told every change of a task's state as it happens."""
    quoted = urllib.parse.quote(dag_id, safe="")
    _wait_for_dag(client, quoted, dag_id)
    started = time.monotonic()
    run = client.call(
        "POST", f"/api/v2/dags/{quoted}/dagRuns", {"logical_date": None, "conf": conf or {}}
    )
    run_id = str(run["dag_run_id"])
    where = f"/api/v2/dags/{quoted}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    if progress:
        progress(f"triggered {run_id} of {dag_id}")
    seen: dict[str, str] = {}
    while True:
        state = client.call("GET", where)["state"]
        tasks = _tasks(client, where)
        for t in tasks:
            key = t.task_id
            if progress and t.state and seen.get(key) != t.state:
                progress(f"{key}: {t.state}" + (f" (try {t.tries})" if t.tries > 1 else ""))
            seen[key] = t.state or ""
        if state in FINISHED:
            return Outcome(dag_id, run_id, state, tasks, time.monotonic() - started)
        if timeout is not None and time.monotonic() - started > timeout:
            raise TriggerError(f"run {run_id} of {dag_id} did not finish in {timeout:g} s")
        time.sleep(POLL)


def _wait_for_dag(client: Client, quoted: str, dag_id: str) -> None:
    deadline = time.monotonic() + DAG_WAIT
    while True:
        try:
            client.call("GET", f"/api/v2/dags/{quoted}")
            return
        except TriggerError as e:
            if "HTTP 404" not in str(e) or time.monotonic() > deadline:
                if "HTTP 404" in str(e):
                    raise TriggerError(
                        f"Airflow has no DAG {dag_id!r} after {DAG_WAIT:g} s: is it one of the "
                        "specs serve builds, and valid? (serve prints the errors)"
                    ) from None
                raise
        time.sleep(POLL)


def _tasks(client: Client, run_path: str) -> list[TaskRun]:
    answer = client.call("GET", f"{run_path}/taskInstances?limit=1000")
    tasks = []
    for ti in answer["task_instances"]:
        name = (
            ti["task_id"] if ti.get("map_index", -1) < 0 else f"{ti['task_id']}[{ti['map_index']}]"
        )
        tasks.append(
            TaskRun(
                name,
                ti.get("state"),
                int(ti.get("try_number") or 0),
                _moment(ti.get("start_date")),
                _moment(ti.get("end_date")),
                ti.get("duration"),
            )
        )
    # in the order they started, as `dagforge run` shows them; those not started last
    return sorted(tasks, key=lambda t: (t.start is None, t.start or datetime.min, t.task_id))


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
