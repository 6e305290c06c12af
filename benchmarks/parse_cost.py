"""Parse cost: how long Airflow's DagBag takes to load the same pipelines written three ways.

  (a) dagforge output (`dagforge build`),
  (b) hand-written, idiomatic Airflow 3 Python (written by this script's reference generator),
  (c) dag-factory 1.1 YAML with its loader file (needs `pip install -e '.[bench]'`).

Each folder is loaded in a fresh process; runs are interleaved (a, b, c, c, b, a, ...) and the median of
each is printed with the ratios a/b and c/a. Only the DagBag fill is timed: importing Airflow costs
the same for all three and is printed separately. Two regimes: "compiling" (no bytecode cache: every
file is compiled, as on the first parse after a deploy) and "cached" (Python's __pycache__ in place:
the steady state of a DAG processor that re-parses the same files every 30 s, forever). Then, as a
steadier second opinion, one process per regime fills the three folders N times each, alternating:
the same comparison without process start-up in every sample.

    python benchmarks/parse_cost.py [--pipelines 200] [--tasks 20] [--runs 7] [--in-process 10] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import yaml

import dagforge

EMAIL = "alerts@example.com"


def spec(i: int, tasks: int) -> dict:
    """Pipeline i: `tasks` bash tasks in a chain, retries, a failure alert mail."""
    return {
        "dag_id": f"pipeline_{i:04d}",
        "description": f"Benchmark pipeline {i}",
        "owner": "bench",
        "schedule": "0 2 * * *",
        "start_date": "2024-01-01",
        "tags": ["bench"],
        "retries": 2,
        "retry_delay": "5m",
        "alerts": {"emails": [EMAIL]},
        "tasks": {
            f"task_{t:02d}": {"operator": "bash", "bash_command": f"echo {i} {t}"}
            | ({"dependencies": [f"task_{t - 1:02d}"]} if t else {})
            for t in range(tasks)
        },
    }


def write_dagforge(folder: Path, pipelines: int, tasks: int) -> None:
    specs = folder / "specs"
    specs.mkdir(parents=True)
    for i in range(pipelines):
        (specs / f"pipeline_{i:04d}.yaml").write_text(
            yaml.safe_dump(spec(i, tasks), sort_keys=False)
        )
    result = dagforge.build([specs], folder / "dags", verify=False)
    assert result.ok, "benchmark specs must be valid"


HAND_WRITTEN = """\
from datetime import timedelta

import pendulum
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, chain

with DAG(
    dag_id="pipeline_{i:04d}",
    description="Benchmark pipeline {i}",
    schedule="0 2 * * *",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["bench"],
    default_args={{
        "owner": "bench",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "on_failure_callback": SmtpNotifier(to=["{email}"]),
    }},
):
    chain(*[BashOperator(task_id=f"task_{{t:02d}}", bash_command=f"echo {i} {{t}}") for t in range({tasks})])
"""


def write_hand_written(folder: Path, pipelines: int, tasks: int) -> None:
    """What an Airflow user would write by hand for the same pipelines: a loop and `chain`."""
    dags = folder / "dags"
    dags.mkdir(parents=True)
    for i in range(pipelines):
        (dags / f"pipeline_{i:04d}.py").write_text(
            HAND_WRITTEN.format(i=i, tasks=tasks, email=EMAIL)
        )


def write_dag_factory(folder: Path, pipelines: int, tasks: int) -> None:
    """dag-factory 1.1: one YAML per pipeline and the one loader file it documents."""
    dags = folder / "dags"
    dags.mkdir(parents=True)
    for i in range(pipelines):
        config = {
            f"pipeline_{i:04d}": {
                "default_args": {
                    "owner": "bench",
                    "start_date": "2024-01-01",
                    "retries": 2,
                    "retry_delay_sec": 300,
                    "on_failure_callback": {
                        "callback": "airflow.providers.smtp.notifications.smtp.SmtpNotifier",
                        "to": [EMAIL],
                    },
                },
                "description": f"Benchmark pipeline {i}",
                "schedule": "0 2 * * *",
                "catchup": False,
                "tags": ["bench"],
                "tasks": {
                    f"task_{t:02d}": {
                        "operator": "airflow.providers.standard.operators.bash.BashOperator",
                        "bash_command": f"echo {i} {t}",
                    }
                    | ({"dependencies": [f"task_{t - 1:02d}"]} if t else {})
                    for t in range(tasks)
                },
            }
        }
        (dags / f"pipeline_{i:04d}.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    (dags / "load_dags.py").write_text(
        textwrap.dedent(f"""\
        # dag-factory's loader: every YAML file in this folder becomes Airflow DAGs at each parse.
        from dagfactory import load_yaml_dags

        load_yaml_dags(globals_dict=globals(), dags_folder={str(dags)!r})
        """)
    )


PROBE = """
import gc, json, sys, time
t0 = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter() - t0
rounds, folders = int(sys.argv[1]), sys.argv[2:]
fills, shapes = {f: [] for f in folders}, {}
for r in range(rounds):
    for f in folders[:: -1 if r % 2 else 1]:
        gc.collect()  # the last fill's garbage goes now: each fill starts from the same collector state
        t = time.perf_counter()
        bag = DagBag(dag_folder=f)
        fills[f].append(time.perf_counter() - t)
        shapes[f] = [len(bag.dags), sum(len(d.tasks) for d in bag.dags.values()), len(bag.import_errors)]
print(json.dumps({"import": imported, "fills": fills, "shapes": shapes}))
"""


def fill(folders: list[Path], env: dict, rounds: int = 1) -> dict:
    """DagBag fills of `folders` in one fresh process, `rounds` times each, alternating their order."""
    args = [sys.executable, "-c", PROBE, str(rounds), *map(str, folders)]
    out = subprocess.run(args, env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def compile_ms(folder: Path) -> float:
    """Median milliseconds of Python's compile() of one file of `folder`: the compiling regime's extra cost."""
    source = sorted(folder.glob("*.py"))[0].read_text()
    runs = []
    for _ in range(15):
        start = time.perf_counter()
        for _ in range(20):
            compile(source, "dag.py", "exec", dont_inherit=True)
        runs.append((time.perf_counter() - start) / 20 * 1000)
    return statistics.median(runs)


def ratios(med: dict) -> dict:
    return {
        "median": med,
        "a_b": med["dagforge"] / med["hand-written"],
        "c_a": med["dag-factory"] / med["dagforge"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--pipelines", type=int, default=200)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument(
        "--in-process",
        type=int,
        default=10,
        metavar="N",
        help="also fill every folder N times in one process, alternating (0: skip)",
    )
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="dagforge-bench-") as tmp:
        tmp = Path(tmp)
        env = dict(
            os.environ,
            AIRFLOW_HOME=str(tmp / "airflow-home"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
            # dag-factory phones home by default; this machine has no network for it, and a benchmark must not
            AIRFLOW__DAG_FACTORY__ENABLE_TELEMETRY="False",
            DO_NOT_TRACK="1",
            SCARF_NO_ANALYTICS="true",
            PYTHONDONTWRITEBYTECODE="1",
        )
        cached_env = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
        kinds = {
            "dagforge": write_dagforge,
            "hand-written": write_hand_written,
            "dag-factory": write_dag_factory,
        }
        for name, write in kinds.items():
            write(tmp / name, args.pipelines, args.tasks)
        expected = [args.pipelines, args.pipelines * args.tasks, 0]
        compiled = {name: compile_ms(tmp / name / "dags") for name in ("dagforge", "hand-written")}
        imports, report = [], {}
        for regime, regime_env in (("compiling", env), ("cached", cached_env)):
            samples = {name: [] for name in kinds}
            if regime == "cached":  # one load writes the __pycache__ the measured runs then use
                fill([tmp / name / "dags" for name in kinds], regime_env)
            for run in range(args.runs):
                for name in list(kinds)[
                    :: -1 if run % 2 else 1
                ]:  # a, b, c, then c, b, a: no kind always first
                    r = fill([tmp / name / "dags"], regime_env)
                    assert list(r["shapes"].values()) == [expected], (name, r)
                    samples[name] += next(iter(r["fills"].values()))
                    imports.append(r["import"])
            report[regime] = {
                "samples": samples,
                **ratios({n: statistics.median(v) for n, v in samples.items()}),
            }
            if args.in_process:
                r = fill([tmp / name / "dags" for name in kinds], regime_env, args.in_process)
                assert list(r["shapes"].values()) == [expected] * len(kinds), r
                fills = dict(zip(kinds, r["fills"].values(), strict=True))
                report[regime]["in_process"] = {
                    "samples": fills,
                    **ratios({n: statistics.median(v) for n, v in fills.items()}),
                }

    print(
        f"parse cost: {args.pipelines} pipelines x {args.tasks} tasks, median of {args.runs} interleaved runs"
    )
    print(f"{'DagBag fill (s)':16}{'compiling':>12}{'cached':>10}{'per DAG, cached (ms)':>22}")
    for name in kinds:
        c, w = report["compiling"]["median"][name], report["cached"]["median"][name]
        print(f"{name:16}{c:12.3f}{w:10.3f}{w / args.pipelines * 1000:22.2f}")
    print(
        f"airflow import (same for all): {statistics.median(imports):.3f} s; compile() of one file: "
        + ", ".join(f"{name} {ms:.3f} ms" for name, ms in compiled.items())
    )
    for regime, r in report.items():
        print(
            f"{regime:10} dagforge / hand-written = {r['a_b']:.3f} (target <= 1.05)   "
            f"dag-factory / dagforge = {r['c_a']:.2f} (target >= 3)"
        )
    if args.in_process:
        print(
            f"in one process, {args.in_process} fills of each folder, alternating (no process start-up noise):"
        )
        for regime, r in report.items():
            x = r["in_process"]
            print(
                f"{regime:10} dagforge / hand-written = {x['a_b']:.3f}   dag-factory / dagforge = {x['c_a']:.2f}   "
                f"(medians: {', '.join(f'{n} {v:.3f} s' for n, v in x['median'].items())})"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "pipelines": args.pipelines,
                    "tasks": args.tasks,
                    "runs": args.runs,
                    **report,
                    "median": report["cached"]["median"],
                    "compile_ms": compiled,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
