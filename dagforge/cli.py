"""The command line: a thin layer over `dagforge.build`, `dagforge.validate` and `dagforge.run_spec`.

Exit codes: 0 all good, 1 at least one spec is invalid (or, for `run`, the run failed), 2 usage
error, 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from datetime import date, datetime

from . import __version__
from .targets import TARGETS

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagforge",
        description="Validate YAML pipeline specs and compile them into plain Airflow DAG files "
                    "(Airflow 3, or Airflow 2.10 with --airflow 2).",
        epilog="Exit codes: 0 all good, 1 a spec is invalid (run: or the run failed), 2 usage error, "
               "3 internal error.",
    )
    parser.add_argument("--version", action="version", version=f"dagforge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def paths(p):
        p.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
        p.add_argument("paths", nargs="*", default=["specs"], metavar="PATH",
                       help="spec files or folders (searched recursively for *.yaml, *.yml); default: specs/")

    b = sub.add_parser("build", help="validate specs, write generated_dags/<dag_id>.py, verify with Airflow")
    paths(b)
    b.add_argument("-o", "--output", default="generated_dags", metavar="DIR",
                   help="output folder (default: generated_dags/)")
    b.add_argument("--no-verify", dest="verify", action="store_false", default=None,
                   help="do not load the generated files with Airflow's DagBag")
    b.add_argument("--verify", dest="verify", action="store_true",
                   help="verify with Airflow's DagBag (the default when Airflow is installed); "
                        "fail if it is not, or if it is another major version than --airflow")
    b.add_argument("--airflow", choices=sorted(TARGETS), default=None,
                   help="the Airflow major version to write for (default: `airflow` under [tool.dagforge] "
                        "in the nearest pyproject.toml, else 3)")

    v = sub.add_parser("validate", help="check specs; write nothing")
    paths(v)

    r = sub.add_parser("run", help="build one spec and run it once under Airflow (airflow dags test)",
                       description="Build SPEC into a temporary dags folder and run its DAG once with "
                                   "`airflow dags test`, in a throwaway Airflow home with a SQLite database. "
                                   "Alert mails go through AIRFLOW_CONN_SMTP_DEFAULT.",
                       epilog="Exit codes: 0 the run succeeded, 1 it failed or the spec is invalid, "
                              "2 usage error, 3 internal error.")
    r.add_argument("spec", metavar="SPEC", help="the spec file")
    r.add_argument("--logical-date", type=_logical_date, metavar="DATE",
                   help="the run's logical date, ISO (2024-06-01 or 2024-06-01T02:30:00+00:00); default: now")
    r.add_argument("--conf", type=_conf, metavar="JSON", help="the run's conf, a JSON object")
    r.add_argument("--use-airflow-home", action="store_true",
                   help="run in the Airflow home AIRFLOW_HOME names (its SQLite database must be migrated) "
                        "instead of a throwaway one")
    return parser


def _logical_date(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from None


def _conf(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not valid JSON: {e}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object, like '{\"key\": \"value\"}'")
    return value


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("dagforge: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - the user gets one line, not a traceback
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"dagforge: internal error: {type(e).__name__}: {e}, please report it"
              + ("" if getattr(args, "debug", False) else " (run with --debug for the traceback)"), file=sys.stderr)
        return EXIT_INTERNAL


def _run(args) -> int:
    import dagforge

    if args.command == "run":
        return _run_spec(args)
    if args.command == "build":
        from .config import ConfigError, airflow_target
        from .verify import airflow_installed

        if args.verify and not airflow_installed():
            print("dagforge: --verify needs Airflow: pip install 'dagforge[airflow]'", file=sys.stderr)
            return EXIT_USAGE
        try:
            airflow = args.airflow or airflow_target()
        except ConfigError as e:
            print(f"dagforge: error: {e}", file=sys.stderr)
            return EXIT_USAGE
        result = dagforge.build(args.paths, args.output, verify=args.verify, airflow=airflow)
    else:
        result = dagforge.validate(args.paths)
    return _report(result, args.command, args.debug)


def _report(result, command: str, debug: bool = False) -> int:
    for problem in result.problems:
        print(f"{problem.path}: error: {problem.message}", file=sys.stderr)
    for spec in result.specs:
        for d in spec.diagnostics:
            print(d.format(spec.source_lines), file=sys.stderr)
        if spec.internal_error:
            if debug:
                print(spec.internal_error.rstrip(), file=sys.stderr)
            last = spec.internal_error.strip().splitlines()[-1]
            print(f"{spec.display}: internal error: {last}, please report it"
                  + ("" if debug else " (--debug shows the traceback)"), file=sys.stderr)
        if command == "build" and spec.output:
            print(f"wrote {spec.output.as_posix()}")
    for path in getattr(result, "removed", []):
        print(f"removed {path.as_posix()} (its spec is gone)")
    for warning in getattr(result, "warnings", []):
        print(f"dagforge: warning: {warning}", file=sys.stderr)
    good, bad = len(result.specs) - len(result.invalid), len(result.invalid)
    verb = {"build": "built", "validate": "valid"}[command]
    summary = f"{good} spec{'s' * (good != 1)} {verb}, {bad} invalid"
    if command == "build":
        summary += " (verified with Airflow's DagBag)" if result.verified else " (not verified)"
    print(summary, file=sys.stderr)
    if any(s.internal_error for s in result.specs):
        return EXIT_INTERNAL
    if result.problems:
        return EXIT_USAGE
    if not result.specs:
        print("dagforge: no spec files (*.yaml, *.yml) found", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK if result.ok else EXIT_INVALID


def _run_spec(args) -> int:
    from .run import AirflowError, UsageError, run_spec

    def progress(message):
        if not os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT"):
            print("dagforge: AIRFLOW_CONN_SMTP_DEFAULT is not set: this run sends no mail"
                  + (" unless AIRFLOW_HOME's database has an smtp_default connection" if args.use_airflow_home else ""),
                  file=sys.stderr)
        print(f"dagforge: {message} ...", file=sys.stderr, flush=True)

    try:
        result = run_spec(args.spec, args.logical_date, args.conf, args.use_airflow_home, progress)
    except UsageError as e:
        print(f"dagforge: {e}", file=sys.stderr)
        return EXIT_USAGE
    except AirflowError as e:
        print(f"dagforge: {e}", file=sys.stderr)
        return EXIT_INVALID
    if not result.build.ok or not result.build.specs:
        return _report(result.build, "build")
    if result.state is None:
        print(f"dagforge: airflow dags test started no run of {result.dag_id}; it said:\n"
              + _indent(result.output.strip().splitlines()[-10:]), file=sys.stderr)
        return EXIT_INVALID
    print(_table(result.tasks))
    for task in result.failed:
        print(f"task '{task.task_id}' failed after {task.tries} tr{'ies' if task.tries != 1 else 'y'}; "
              f"the last lines of its log:\n" + _indent(task.log or ["(no log lines)"]), file=sys.stderr)
    failed = ", ".join(t.task_id for t in result.failed)
    print(f"run {result.run_id} of {result.dag_id}: {result.state} in {result.seconds:.1f}s"
          + (f" (failed: {failed})" if failed else ""), file=sys.stderr)
    return EXIT_OK if result.ok else EXIT_INVALID


def _table(tasks) -> str:
    rows = [("task", "state", "tries", "duration")]
    rows += [(t.task_id, t.state or "none", str(t.tries), "-" if t.duration is None or not t.tries else f"{t.duration:.1f}s")
             for t in tasks]
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(f"{a:<{width[0]}}  {b:<{width[1]}}  {c:>{width[2]}}  {d:>{width[3]}}".rstrip()
                     for a, b, c, d in rows)


def _indent(lines) -> str:
    return "\n".join(f"  {line}" for line in lines)


if __name__ == "__main__":
    sys.exit(main())
