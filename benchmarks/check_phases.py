"""Where `dagforge check` spends its CPU time: each step of one spec, in one process, over
build_speed.py's specs (N specs x T tasks), in CPU milliseconds per spec (time.process_time, which a
shared machine disturbs less than wall seconds). The steps are those a pool worker runs for each
spec in `check` (api._load_and_validate_one with api._prove), in their order:

  load      read the file, parse the YAML, note every value's line and column (load.py)
  defaults  find and apply the defaults.yaml files above it (defaults.py)
  reuse     families and blocks (reuse.py)
  validate  the JSON Schema and the rules it cannot express (validate.py)
  model     the Pipeline, its source name and input hashes (model.py, api._pipeline)
  advice    its own advice (advice.py)
  render    the Jinja2 render (render.py)
  compare   read the generated file, seal the render, compare, format.settled
  gc        the garbage collection after each spec (as in a pool worker, where the collector is
            off and runs once per spec, over that spec's objects: concurrency._collected)

Every spec's file must be up to date (the script builds them first), so `compare` never runs black.

  python benchmarks/check_phases.py [--specs 1000] [--tasks 20] [--rounds 3]
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from build_speed import write_specs

STEPS = ("load", "defaults", "reuse", "validate", "model", "advice", "render", "compare", "gc")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--specs", type=int, default=1000)
    ap.add_argument("--tasks", type=int, default=20)
    ap.add_argument(
        "--rounds", type=int, default=3, help="passes over the specs; the median is printed"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dagforge-phases-") as tmp:
        os.chdir(tmp)
        write_specs(Path("specs"), args.specs, args.tasks)
        import dagforge

        assert dagforge.build(["specs"], "out", verify=False).ok, "benchmark specs must be valid"
        rounds = [one_round(sorted(Path("specs").glob("*.yaml"))) for _ in range(args.rounds)]
    n = args.specs
    print(
        f"check, step by step: {n} specs x {args.tasks} tasks, CPU ms per spec, median of {args.rounds}"
    )
    total = 0.0
    for step in STEPS:
        ms = statistics.median(r[step] for r in rounds) * 1000 / n
        total += ms
        print(f"  {step:<9} {ms:6.3f}")
    print(f"  {'total':<9} {total:6.3f}")


def one_round(paths: list[Path]) -> dict[str, float]:
    from dagforge import advice, api, defaults, reuse, stamp, targets
    from dagforge.format import settled
    from dagforge.load import load
    from dagforge.options import Options
    from dagforge.render import render

    options = Options.of(targets.DEFAULT, "out")
    moment = advice.moment()
    spent = dict.fromkeys(STEPS, 0.0)
    clock = time.process_time
    gc.collect()
    gc.freeze()  # as a pool worker does (concurrency._start_worker)
    gc.disable()
    for path in paths:
        t = clock()
        doc = load(path)
        t, spent["load"] = clock(), spent["load"] + clock() - t
        here = os.getcwd()
        above = [api._shared_defaults(f, f.stat().st_mtime_ns, here) for f in defaults.chain(path)]
        defaults.apply(doc, [shared.doc for shared in above if shared.doc is not None])
        t, spent["defaults"] = clock(), spent["defaults"] + clock() - t
        dags, _ = reuse.family(doc)
        find, names = reuse.finder(path)
        reuse.expand(dags[0], find, names)
        t, spent["reuse"] = clock(), spent["reuse"] + clock() - t
        problems = api.validate_document(dags[0])
        assert not problems or all(d.severity == "warning" for d in problems), problems
        t, spent["validate"] = clock(), spent["validate"] + clock() - t
        p = api._pipeline(dags[0], options)
        t, spent["model"] = clock(), spent["model"] + clock() - t
        advice.own(p, dags[0], moment)
        t, spent["advice"] = clock(), spent["advice"] + clock() - t
        source = render(p, options.target)
        t, spent["render"] = clock(), spent["render"] + clock() - t
        have = stamp.read_file(options.output / f"{p.dag_id}.py")
        assert stamp.seal(source) == have and settled(source), f"{path}: not up to date"
        t, spent["compare"] = clock(), spent["compare"] + clock() - t
        gc.collect()
        gc.freeze()
        spent["gc"] += clock() - t
    gc.unfreeze()
    gc.enable()
    return spent


if __name__ == "__main__":
    main()
