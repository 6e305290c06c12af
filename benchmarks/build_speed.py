"""Build speed and start-up: wall seconds of the real `dagforge` command, as a user runs it.

build: `dagforge build --no-verify` on N specs x T tasks: cold (empty output folder), warm
       (nothing changed: every spec is rendered again and compared with its file), one spec
       changed, and `dagforge check` (which renders every spec again too), also with one file
       edited and its output-sha256 recomputed (check must fail); cold also at each size of
       --sizes for the chart. Verification (Airflow's DagBag) is timed on its own: it is
       Airflow's start-up and parse cost, not dagforge's.
start-up: `dagforge --help` and `dagforge validate` of one spec; neither may import Airflow.
check's rows also give the CPU time (user + sys of dagforge and its pool), which moves less than
wall seconds on a shared machine; --check-only builds once and measures only them.

  python benchmarks/build_speed.py [--specs 1000] [--tasks 20] [--sizes 100,300,1000] [--runs 5]
                                   [--check-only] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from parse_cost import spec

from dagforge import stamp

DAGFORGE = [sys.executable, "-m", "dagforge.cli"]


def timed(args, cwd, env, expect: int = 0) -> float:
    return measured(args, cwd, env, expect)[0]


def measured(args, cwd, env, expect: int = 0) -> tuple[float, float]:
    """(wall seconds, CPU seconds: user + sys of the command and every process it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    took = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != expect:
        raise SystemExit(f"{' '.join(map(str, args))} failed:\n{proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return took, cpu


def median_pair(runs: int, once) -> tuple[float, float]:
    """The medians of wall and of CPU seconds over `runs` runs of `once` (see measured)."""
    pairs = [once() for _ in range(runs)]
    return statistics.median(w for w, _ in pairs), statistics.median(c for _, c in pairs)


def write_specs(folder: Path, n: int, tasks: int) -> None:
    folder.mkdir(parents=True)
    for i in range(n):
        (folder / f"pipeline_{i:04d}.yaml").write_text(
            yaml.safe_dump(spec(i, tasks), sort_keys=False)
        )


def emptied(folder: Path) -> None:
    """Remove `folder` and let the disk finish with that (ext4 with `discard` trims at the next
    journal commit), so the deletion of the last run's files is not billed to the next build."""
    shutil.rmtree(folder, ignore_errors=True)
    os.sync()


def median_of(runs: int, once) -> float:
    return statistics.median(once() for _ in range(runs))


def check_rows(results: dict, runs: int, check: list, tmp: Path, env: dict) -> None:
    """`dagforge check` on the built folder, then with one file edited and resealed (its
    output-sha256 recomputed, as anyone can): check fails on it, and runs black for that file only."""
    results["check"], results["check_cpu"] = median_pair(runs, lambda: measured(check, tmp, env))
    edited = tmp / "out" / "pipeline_0001.py"
    original = edited.read_text()
    edited.write_text(stamp.seal(original.replace("echo 1 0", "echo tampered")))
    results["check_tampered"], results["check_tampered_cpu"] = median_pair(
        runs, lambda: measured(check, tmp, env, expect=1)
    )
    edited.write_text(original)


def print_check(results: dict, args) -> None:
    n = args.specs
    print(
        f"check speed: {n} specs x {args.tasks} tasks, median of {args.runs}, {os.cpu_count()} cores"
    )
    for label, key in (("dagforge check", "check"), ("check, 1 file tampered", "check_tampered")):
        print(
            f"  {label:24}{results[key]:7.2f} s  {n / results[key]:8.0f} specs/s   target <= 2 s"
            f"   CPU {results[key + '_cpu']:.2f} s (user + sys, all processes)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--specs", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--sizes", default="100,300,1000", help="spec counts for the cold-build curve")
    ap.add_argument(
        "--runs", type=int, default=5, help="runs per measurement; the median is printed"
    )
    ap.add_argument("--check-only", action="store_true", help="one build, then check's rows only")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    results: dict = {"specs": args.specs, "tasks": args.tasks, "cpus": os.cpu_count()}

    with tempfile.TemporaryDirectory(prefix="dagforge-build-bench-") as tmp:
        tmp = Path(tmp)
        env = dict(
            # Python's bytecode cache as users have it (a machine may turn it off for its own work)
            {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
            AIRFLOW_HOME=str(tmp / "airflow-home"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR",
        )
        write_specs(tmp / "specs", args.specs, args.tasks)
        build = [*DAGFORGE, "build", "specs", "-o", "out", "--no-verify"]
        check = [*DAGFORGE, "check", "specs", "-o", "out"]
        if args.check_only:
            timed(build, tmp, env)
            check_rows(results, args.runs, check, tmp, env)
            print_check(results, args)
            if args.json:
                args.json.write_text(json.dumps(results, indent=2))
            return

        def cold():
            emptied(tmp / "out")
            return timed(build, tmp, env)

        results["cold"] = median_of(args.runs, cold)
        results["warm"] = median_of(args.runs, lambda: timed(build, tmp, env))
        changed = tmp / "specs" / "pipeline_0000.yaml"

        def one_changed():
            changed.write_text(changed.read_text() + f"# touched {time.time_ns()}\n")
            return timed(build, tmp, env)

        results["one_changed"] = median_of(args.runs, one_changed)
        check_rows(results, args.runs, check, tmp, env)
        emptied(tmp / "out")
        results["cold_verified"] = timed(
            [*DAGFORGE, "build", "specs", "-o", "out", "--verify"], tmp, env
        )

        results["curve"] = {}
        for n in (int(x) for x in args.sizes.split(",")):
            folder = tmp / f"curve-{n}"
            write_specs(folder / "specs", n, args.tasks)

            def cold_n(folder=folder):
                emptied(folder / "out")
                return timed([*DAGFORGE, "build", "specs", "-o", "out", "--no-verify"], folder, env)

            results["curve"][n] = median_of(args.runs, cold_n)

        one = tmp / "one"
        write_specs(one, 1, args.tasks)
        results["help"] = median_of(5, lambda: timed([*DAGFORGE, "--help"], tmp, env))
        results["validate_one"] = median_of(
            5, lambda: timed([*DAGFORGE, "validate", "one"], tmp, env)
        )
        probe = (
            "import sys\nfrom dagforge.cli import main\n"
            "for argv in (['--help'], ['validate', 'one']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print(any(m == 'airflow' or m.startswith('airflow.') for m in sys.modules))"
        )
        imported = subprocess.run(
            [sys.executable, "-c", probe], cwd=tmp, env=env, capture_output=True, text=True
        )
        results["imports_airflow"] = imported.stdout.strip().splitlines()[-1] == "True"

    n, t = args.specs, args.tasks
    print(
        f"build speed: {n} specs x {t} tasks, median of {args.runs}, {os.cpu_count()} cores, `--no-verify`"
    )
    rows = [
        ("cold (empty output)", "cold", 10),
        ("warm (nothing changed)", "warm", 1),
        ("one spec changed", "one_changed", 1.5),
        ("dagforge check", "check", 2),
        ("check, 1 file tampered", "check_tampered", 2),
    ]
    for label, key, target in rows:
        cpu = f"   CPU {results[key + '_cpu']:.2f} s" if key + "_cpu" in results else ""
        print(
            f"  {label:24}{results[key]:7.2f} s  {n / results[key]:8.0f} specs/s   target <= {target} s{cpu}"
        )
    print(
        f"  cold, then verified       {results['cold_verified']:7.2f} s  (build --verify: adds Airflow's DagBag)"
    )
    print(
        "cold build by size: "
        + ", ".join(f"{k} specs {v:.2f} s" for k, v in results["curve"].items())
    )
    print(
        f"start-up: dagforge --help {results['help']:.2f} s (target <= 0.3), "
        f"dagforge validate one spec {results['validate_one']:.2f} s; "
        f"imports Airflow: {'YES' if results['imports_airflow'] else 'no'}"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
