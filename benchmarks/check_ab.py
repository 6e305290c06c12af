"""`dagforge check` of two source trees in one run, in alternation: old against new on the same
machine at the same time, which is the only comparison a shared machine allows (its load moves the
seconds of two runs minutes apart more than most changes do). Prints the median and the least wall
and CPU seconds (user + sys of check and its pool) of each tree.

  git archive OLD_COMMIT dagforge | tar -x -C /tmp/old    # the old tree: a folder holding dagforge/
  python benchmarks/check_ab.py /tmp/old . [--specs 1000] [--tasks 20] [--runs 5]

Each tree is chosen by PYTHONPATH; the specs are build_speed.py's, built once by the last tree
given (check proves every file by rendering it again, so the same files serve every tree only
when the trees write the same bytes: check's exit status says so, and a tree that finds drift stops
the run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_speed import measured, write_specs


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("trees", nargs="+", type=Path, help="folders that hold a dagforge/ package")
    ap.add_argument("--specs", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument("--runs", type=int, default=5, help="runs of each tree")
    args = ap.parse_args()
    trees = [t.resolve() for t in args.trees]
    with tempfile.TemporaryDirectory(prefix="dagforge-check-ab-") as tmp:
        tmp = Path(tmp)
        base = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        base["AIRFLOW_HOME"] = str(tmp / "airflow-home")

        def env(tree: Path) -> dict[str, str]:
            return dict(base, PYTHONPATH=str(tree))

        write_specs(tmp / "specs", args.specs, args.tasks)
        dagforge = [sys.executable, "-m", "dagforge.cli"]
        measured([*dagforge, "build", "specs", "-o", "out", "--no-verify"], tmp, env(trees[-1]))
        check = [*dagforge, "check", "specs", "-o", "out"]
        found: dict[Path, list[tuple[float, float]]] = {t: [] for t in trees}
        for run in range(args.runs):
            for tree in trees if run % 2 == 0 else trees[::-1]:  # neither always goes first
                found[tree].append(measured(check, tmp, env(tree)))
    print(
        f"dagforge check, {args.specs} specs x {args.tasks} tasks, {args.runs} runs of each tree "
        f"in alternation, {os.cpu_count()} cores, load average at the end "
        f"{os.getloadavg()[0]:.1f}"
    )
    for tree, pairs in found.items():
        wall, cpu = [w for w, _ in pairs], [c for _, c in pairs]
        print(
            f"  {tree!s:40} wall median {statistics.median(wall):6.2f} s, least {min(wall):6.2f}"
            f"   CPU median {statistics.median(cpu):6.2f} s, least {min(cpu):6.2f}"
        )


if __name__ == "__main__":
    main()
