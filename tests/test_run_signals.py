"""`dagforge run` leaves nothing behind, however it ends: no process (Airflow's, a task's command,
what that command started in the background) and no temporary folder (the rendered DAG holds
substituted environment values). Real Airflow, real signals, real processes, read from /proc.

Every dagforge here runs with TMPDIR set to a fresh folder: its temporary folder is made there, and
every process of the run carries a TMPDIR inside that folder, so a leftover is seen either way.
"""

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import run_cli

from dagforge.run import GRACE

reads_proc = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc")

# The task's command starts a child in the background and waits in a second one: both are `sleep`,
# renamed to the marker (which is also the DAG's id, so `airflow dags test MARKER` carries it too).
SLEEPY = """
dag_id: MARKER
start_date: 2024-01-01
tasks:
  nap:
    operator: bash
    bash_command: "bash -c '(exec -a MARKER sleep 600) & exec -a MARKER sleep 600'"
"""

# The same, but the command runs with an environment of its own (the Bash operator's `env` replaces
# the whole environment) and the background sleep in a session of its own: neither Airflow's stop of
# the command's process group nor an environment variable reaches it, only its ancestry does.
HIDDEN = """
dag_id: MARKER
start_date: 2024-01-01
tasks:
  nap:
    operator: bash
    env: {ONLY: this}
    bash_command: "setsid bash -c 'exec -a MARKER sleep 600' & exec -a MARKER sleep 600"
"""

# The task succeeds at once and leaves a sleep behind in the background.
LEAVES_A_SLEEP = """
dag_id: MARKER
start_date: 2024-01-01
tasks:
  start_and_go:
    operator: bash
    bash_command: "(exec -a MARKER sleep 600) >/dev/null 2>&1 &"
"""

STARTS = 300  # seconds a busy machine may take to build, migrate and reach the task: a bound only


def _processes() -> dict[int, tuple[list[str], dict[str, str]]]:
    """pid -> (argv, environment) of every process we may read, zombies left out (no argv)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(entry.path, "cmdline").read_bytes().split(b"\0")[:-1]
            environ = Path(entry.path, "environ").read_bytes().split(b"\0")
        except OSError:  # gone, or not ours
            continue
        if argv:
            pairs = (item.decode(errors="replace").partition("=") for item in environ if item)
            found[int(entry.name)] = (
                [a.decode(errors="replace") for a in argv],
                {k: v for k, _, v in pairs},
            )
    return found


class Run:
    """`dagforge run SPEC` in a subprocess, TMPDIR set to `tmp_path/tmp`."""

    def __init__(self, tmp_path, spec_text: str, *args: str):
        self.marker = f"dagforge-test-{uuid.uuid4().hex}"
        self.tmp = tmp_path / "tmp"
        self.tmp.mkdir()
        spec = tmp_path / "spec.yaml"
        spec.write_text(spec_text.lstrip().replace("MARKER", self.marker), encoding="utf-8")
        env = {**os.environ, "TMPDIR": str(self.tmp)}
        env.pop("AIRFLOW_CONN_SMTP_DEFAULT", None)
        exe = Path(sys.executable).with_name("dagforge")
        self.proc = subprocess.Popen(
            [str(exe), "run", str(spec), *args],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def ours(self) -> dict[int, list[str]]:
        """The processes of the run, dagforge itself left out: by the marker in their command line
        or by a TMPDIR in our folder (everything dagforge starts gets one there)."""
        tmp = str(self.tmp)
        return {
            pid: argv
            for pid, (argv, env) in _processes().items()
            if pid != self.proc.pid
            and (
                any(self.marker in a for a in argv)
                or Path(env.get("TMPDIR", "/")).is_relative_to(tmp)
            )
        }

    def wait_for(self, what, condition) -> None:
        deadline = time.monotonic() + STARTS
        while not condition():
            if self.proc.poll() is not None:
                pytest.fail(f"dagforge ended before {what}:\n{self.proc.communicate()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} after {STARTS} s")
            time.sleep(0.2)

    def sleeping(self) -> bool:
        """Both sleeps of the task's command are running."""
        return sum(argv[0] == self.marker for argv in self.ours().values()) == 2

    def finish(self, timeout: float) -> tuple[dict[int, list[str]], str, str]:
        """dagforge's output once it has ended, and the processes of the run still there then.
        Whatever happened, nothing of this test outlives it."""
        try:
            out, err = self.proc.communicate(timeout=timeout)
            return self.ours(), out, err
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.communicate()
            for pid in self.ours():
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass


@pytest.mark.slow
@reads_proc
@pytest.mark.parametrize(
    "spec, signum, code, line",
    [
        (SLEEPY, signal.SIGTERM, 143, "dagforge: stopped (SIGTERM)"),
        (SLEEPY, signal.SIGINT, 130, "dagforge: interrupted"),
        (HIDDEN, signal.SIGTERM, 143, "dagforge: stopped (SIGTERM)"),
    ],
    ids=["SIGTERM", "SIGINT", "SIGTERM-setsid-own-env"],
)
def test_a_signal_while_a_task_runs_stops_every_process_and_removes_the_folder(
    tmp_path, spec, signum, code, line
):
    run = Run(tmp_path, spec)
    run.wait_for("task process", run.sleeping)
    run.proc.send_signal(signum)
    left, _, err = run.finish(timeout=GRACE + 5)  # Airflow gets GRACE seconds to end its run
    assert left == {}
    assert list(run.tmp.iterdir()) == []
    assert run.proc.returncode == code, err
    assert err.splitlines()[-1] == line


@pytest.mark.slow
@reads_proc
def test_sigterm_while_airflow_prepares_its_home_stops_it_and_removes_the_folder(tmp_path):
    run = Run(tmp_path, SLEEPY)
    run.wait_for(
        "airflow db migrate",
        lambda: any(argv[-2:] == ["db", "migrate"] for argv in run.ours().values()),
    )
    run.proc.send_signal(signal.SIGTERM)
    left, _, err = run.finish(timeout=GRACE + 5)
    assert left == {}
    assert list(run.tmp.iterdir()) == []
    assert run.proc.returncode == 143, err
    assert err.splitlines()[-1] == "dagforge: stopped (SIGTERM)"


@pytest.mark.slow
@reads_proc
def test_a_run_over_its_timeout_is_stopped_and_fails(tmp_path):
    run = Run(tmp_path, SLEEPY, "--timeout", "1m")
    left, out, err = run.finish(timeout=STARTS)
    assert left == {}
    assert list(run.tmp.iterdir()) == []
    assert run.proc.returncode == 1, err
    last = err.splitlines()[-1]
    assert last == f"dagforge: stopped the run of {run.marker} after 1 minute (--timeout)"
    assert out.splitlines()[1].split()[:2] == ["nap", "failed"]  # as Airflow recorded it, stopped


@pytest.mark.slow
@reads_proc
def test_a_finished_run_leaves_no_process_and_no_folder(tmp_path):
    run = Run(tmp_path, LEAVES_A_SLEEP)
    left, _, err = run.finish(timeout=STARTS)
    assert run.proc.returncode == 0, err
    assert left == {}
    assert list(run.tmp.iterdir()) == []


def test_timeout_takes_a_duration(tmp_path):
    r = run_cli("run", "spec.yaml", "--timeout", "5x", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines()[-1] == (
        "dagforge run: error: argument --timeout: '5x' is not a duration: write a whole number "
        "and a unit: 90s, 5m, 2h, 1d, or combined like 1h30m"
    )
