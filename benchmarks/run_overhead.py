"""What `dagforge run` costs next to plain `airflow dags test` on the same 3-task DAG.

Interleaved, N runs of each (default 5), wall time of the whole command, medians printed:

  dagforge run SPEC                      build + verify + throwaway home (airflow db migrate) + dags test
  dagforge run SPEC --use-airflow-home   build + verify + dags test, in a home migrated beforehand
  airflow dags test DAG_ID               the generated file alone, in that same home

    python benchmarks/run_overhead.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagforge

SPEC = """\
dag_id: bench_three_tasks
start_date: 2024-01-01
tasks:
  extract: {operator: bash, bash_command: "echo extract"}
  transform: {operator: bash, bash_command: "echo transform", dependencies: [extract]}
  load: {operator: bash, bash_command: "echo load", dependencies: [transform]}
"""


def timed(command: list[str], env: dict, cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(
            f"{' '.join(command)} failed ({proc.returncode}):\n{(proc.stderr or proc.stdout)[-2000:]}"
        )
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="dagforge-bench-") as tmp:
        tmp = Path(tmp)
        spec = tmp / "bench_three_tasks.yaml"
        spec.write_text(SPEC)
        home, dags = tmp / "airflow-home", tmp / "dags"
        assert dagforge.build([spec], dags, verify=False).ok
        base = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
        base["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
        prepared = {**base, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
        timed([str(bin_dir / "airflow"), "db", "migrate"], prepared, tmp)

        commands = {
            "dagforge run SPEC": ([str(bin_dir / "dagforge"), "run", str(spec)], base),
            "dagforge run SPEC --use-airflow-home": (
                [str(bin_dir / "dagforge"), "run", str(spec), "--use-airflow-home"],
                prepared,
            ),
            "airflow dags test bench_three_tasks": (
                [str(bin_dir / "airflow"), "dags", "test", "bench_three_tasks"],
                prepared,
            ),
        }
        times = {name: [] for name in commands}
        for i in range(runs):
            for name, (command, env) in commands.items():
                times[name].append(timed(command, env, tmp))
            print(
                f"round {i + 1}/{runs}: " + ", ".join(f"{times[n][-1]:.1f}s" for n in commands),
                file=sys.stderr,
            )

    width = max(map(len, commands))
    print(
        f"{'command':<{width}}  median    min    max  ({runs} runs each, interleaved, {os.cpu_count()} cores)"
    )
    for name, values in times.items():
        print(
            f"{name:<{width}}  {statistics.median(values):5.1f}s  {min(values):5.1f}s  {max(values):5.1f}s"
        )


if __name__ == "__main__":
    main()
