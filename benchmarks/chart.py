"""Draw benchmarks/results.png from the JSON files of parse_cost.py and build_speed.py.

python benchmarks/chart.py PARSE.json BUILD.json [-o benchmarks/results.png] [--machine TEXT]
"""

from __future__ import annotations

import argparse
import json
import platform
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("parse", type=Path)
    ap.add_argument("build", type=Path)
    ap.add_argument("-o", "--output", type=Path, default=Path(__file__).with_name("results.png"))
    ap.add_argument(
        "--machine", default=f"{platform.machine()}, Python {platform.python_version()}"
    )
    args = ap.parse_args()
    parse, build = json.loads(args.parse.read_text()), json.loads(args.build.read_text())

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(parse["cached"]["median"])
    for i, (regime, shade) in enumerate((("compiling", 0.55), ("cached", 1.0))):
        seconds = [parse[regime]["median"][n] for n in names]
        bars = left.bar(
            [x + (i - 0.5) * 0.4 for x in range(len(names))],
            seconds,
            width=0.4,
            alpha=shade,
            color=["#2b7bba", "#8c8c8c", "#d9822b"],
            edgecolor="#333",
            label=regime,
        )
        left.bar_label(bars, fmt="%.2f", fontsize=8)
    left.set_xticks(range(len(names)), names)
    left.set_ylabel("DagBag fill, seconds (median)")
    left.set_title(f"Parse cost: {parse['pipelines']} DAGs x {parse['tasks']} tasks")
    left.legend(title="bytecode", fontsize=8)

    sizes = sorted(int(k) for k in build["curve"])
    right.plot(sizes, [build["curve"][str(n)] for n in sizes], marker="o", label="cold build")
    right.axhline(
        10, color="#d9822b", linestyle="--", linewidth=1, label="target for 1000 specs: 10 s"
    )
    right.scatter(
        [build["specs"]] * 3,
        [build["warm"], build["one_changed"], build["check"]],
        marker="x",
        color="#444",
        zorder=3,
        label="warm / one changed / check",
    )
    right.set_xlabel(f"specs ({build['tasks']} tasks each)")
    right.set_ylabel("wall seconds (median), --no-verify")
    right.set_title("dagforge build")
    right.legend(fontsize=8)
    fig.suptitle(f"dagforge benchmarks — {build['cpus']} cores, {args.machine}", fontsize=10)
    fig.tight_layout()
    fig.savefig(args.output, dpi=110)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
