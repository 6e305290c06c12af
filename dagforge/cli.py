"""The command line: a thin layer over the library API (`dagforge.build`, `dagforge.check`,
`dagforge.run_spec`, ...).

Exit codes: 0 all good, 1 a spec is invalid, a generated file out of date, or (run) the run failed,
2 usage error or an output folder that cannot be written, 3 internal error.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import traceback
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from . import diagram, scaffold
from .api import GraphResult
from .diagnostics import visible
from .report import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_USAGE, FORMATS, emit
from .targets import TARGETS

if TYPE_CHECKING:
    from .run import TaskRun

STATE_FOLDER = Path(".dagforge", "serve")  # serve.STATE, without importing serve for --help


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dagforge",
        description="Validate YAML pipeline specs and compile them into plain Airflow DAG files "
        "(Airflow 3, or Airflow 2.10 with --airflow 2).",
        epilog="Exit codes: 0 all good, 1 a spec is invalid, a generated file is out of date, or (run) the "
        "run failed, 2 usage error or an output folder that cannot be written (disk full, "
        "read-only), 3 internal error.",
    )
    parser.add_argument("--version", action=_Version, nargs=0, help="show the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def paths(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--debug", action="store_true", help="show the traceback of an internal error"
        )
        p.add_argument(
            "paths",
            nargs="*",
            default=["specs"],
            metavar="PATH",
            help="spec files or folders (searched recursively for *.yaml, *.yml); default: specs/",
        )
        p.add_argument(
            "--format",
            choices=FORMATS,
            default="text",
            help="text (default), json (one document on stdout) or github (GitHub Actions annotations)",
        )

    def output(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "-o",
            "--output",
            default="generated_dags",
            metavar="DIR",
            help="output folder (default: generated_dags/)",
        )
        p.add_argument(
            "--airflow",
            choices=sorted(TARGETS),
            default=None,
            help="the Airflow major version to write for (default: `airflow` under [tool.dagforge] "
            "in the nearest pyproject.toml, else 3)",
        )

    b = sub.add_parser(
        "build", help="validate specs, write generated_dags/<dag_id>.py, verify with Airflow"
    )
    paths(b)
    output(b)
    b.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        default=None,
        help="do not load the generated files with Airflow's DagBag",
    )
    b.add_argument(
        "--verify",
        dest="verify",
        action="store_true",
        help="verify with Airflow's DagBag (the default when Airflow is installed); "
        "fail if it is not, or if it is another major version than --airflow; "
        "a file that cannot be verified is an error and is not written",
    )
    b.add_argument(
        "--force",
        action="store_true",
        help="render every spec, also those whose generated file is up to date",
    )
    b.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="name every file written (the summary line counts them)",
    )

    v = sub.add_parser("validate", help="check specs; write nothing")
    paths(v)
    v.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="skip the checks that need Airflow (operator arguments against the classes, "
        "python_callables): quicker, for a hook that runs often",
    )

    c = sub.add_parser(
        "check", help="exit 1 when the output folder is not what build would write; write nothing"
    )
    paths(c)
    output(c)
    c.add_argument(
        "--diff", action="store_true", help="print a unified diff of every file build would change"
    )

    g = sub.add_parser("graph", help="draw the task graph of a spec")
    g.add_argument("spec", metavar="SPEC", help="a spec file")
    g.add_argument(
        "--format",
        choices=diagram.FORMATS,
        default="mermaid",
        help="mermaid (default), dot, or png/svg (these need Graphviz)",
    )
    g.add_argument(
        "-o", "--output", metavar="FILE", help="write the picture here (default: standard output)"
    )
    g.add_argument("--debug", action="store_true", help="show the traceback of an internal error")

    e = sub.add_parser(
        "explain", help="a spec in plain words: schedule, next runs, retries, alerts, task order"
    )
    e.add_argument("spec", metavar="SPEC", help="a spec file")
    e.add_argument(
        "--after",
        metavar="DATETIME",
        type=_moment,
        help="list the runs after this ISO date or datetime (default: now; UTC unless it has an offset)",
    )
    e.add_argument("--debug", action="store_true", help="show the traceback of an internal error")

    d = sub.add_parser(
        "diff",
        help="what changed in the DAGs since a git revision: tasks, edges, schedules, settings",
        description="Compare the specs at git revision REF (read with git, nothing checked out) "
        "with the working tree, through dagforge's model, and print what changes per DAG.",
        epilog="Exit codes: 0 nothing changed, 1 something changed (or a spec is invalid at REF "
        "or now), 2 usage error (not a git repository, an unknown revision).",
    )
    d.add_argument(
        "paths",
        nargs="*",
        default=["specs"],
        metavar="PATH",
        help="spec files or folders (searched recursively for *.yaml, *.yml); default: specs/",
    )
    d.add_argument("--base", required=True, metavar="REF", help="the git revision to compare with")
    d.add_argument(
        "--format",
        choices=("text", "markdown", "json", "github"),
        default="text",
        help="text (default), markdown (a pull-request comment), json, or github (annotations)",
    )
    d.add_argument(
        "--after",
        metavar="DATETIME",
        type=_moment,
        help="the next runs of a changed schedule are those after this ISO date or datetime "
        "(default: now)",
    )
    d.add_argument("--debug", action="store_true", help="show the traceback of an internal error")

    ca = sub.add_parser(
        "catalog",
        help="write a static site of the DAGs: owners, schedules, next runs, alerts, task graphs",
    )
    paths(ca)
    ca.add_argument(
        "-o",
        "--output",
        default="catalog",
        metavar="DIR",
        help="the site's folder (default: catalog/)",
    )
    ca.add_argument(
        "--dags-folder",
        default="generated_dags",
        metavar="DIR",
        help="where the generated files are, to link to (default: generated_dags/)",
    )
    ca.add_argument(
        "--now",
        metavar="DATETIME",
        type=_moment,
        help="list the runs after this ISO date or datetime and print it as the date the catalog was "
        "made (default: SOURCE_DATE_EPOCH if set, else now): the same specs and --now give the "
        "same files",
    )

    n = sub.add_parser("new", help="write a commented starter spec into specs/")
    n.add_argument("name", metavar="NAME", help="the pipeline's name: the file name and dag_id")
    n.add_argument(
        "--template",
        choices=scaffold.STARTERS,
        default="etl",
        help="the kind of starter (default: etl)",
    )
    n.add_argument(
        "--dir", default="specs", metavar="DIR", help="where to write it (default: specs/)"
    )

    i = sub.add_parser(
        "import",
        help="convert dag-factory YAML DAGs into specs",
        description="Read dag-factory 1.x YAML files (or folders of them) as its load_yaml_dags "
        "does and write one spec per DAG, DIR/<dag_id>.yaml. What a spec says differently is a "
        "warning at its line in the source.",
        epilog="Exit codes: 0 every DAG converted exactly, 1 something was approximated, dropped "
        "or not converted, 2 usage error (a missing path, a spec that exists already).",
    )
    i.add_argument("paths", nargs="+", metavar="PATH", help="dag-factory YAML files or folders")
    i.add_argument(
        "--from",
        dest="source",
        choices=["dag-factory", "airflow"],
        required=True,
        help="the format of the files: dag-factory YAML, or airflow (Python DAG files, loaded "
        "with Airflow's DagBag)",
    )
    i.add_argument(
        "-o", "--output", default="specs", metavar="DIR", help="where to write (default: specs/)"
    )
    i.add_argument(
        "--defaults",
        metavar="DIR",
        help="dag-factory's defaults_config_path: the top folder searched for defaults.yml "
        "(default: --dags-folder)",
    )
    i.add_argument(
        "--dags-folder",
        default=".",
        metavar="DIR",
        help="the folder Airflow puts on sys.path: python_callable_file and *_callback_file "
        "paths become module names relative to it; with --from airflow, the files' own imports "
        "are found there (default: the current folder)",
    )
    i.add_argument("--force", action="store_true", help="overwrite specs that exist already")
    i.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        default=None,
        help="do not compare the converted DAGs with dag-factory's (the default when "
        "dag-factory is installed)",
    )
    i.add_argument(
        "--verify",
        dest="verify",
        action="store_true",
        help="compare each converted spec's DAG with dag-factory's, field by field",
    )
    i.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    bl = sub.add_parser(
        "blocks", help="list the blocks (blocks/NAME.yaml) with their parameters and their uses"
    )
    bl.add_argument(
        "paths",
        nargs="*",
        default=["specs"],
        metavar="PATH",
        help="spec files or folders: their blocks folders, and the specs that use them; "
        "default: specs/",
    )

    sub.add_parser(
        "schema", help="print the JSON Schema of a spec (for editors and check-jsonschema)"
    )

    r = sub.add_parser(
        "run",
        help="build one spec and run it once under Airflow (airflow dags test)",
        description="Build SPEC into a temporary dags folder and run its DAG once with "
        "`airflow dags test`, in a throwaway Airflow home with a SQLite database. "
        "Alert mails go through AIRFLOW_CONN_SMTP_DEFAULT.",
        epilog="Exit codes: 0 the run succeeded, 1 it failed, ran out of time or the spec is "
        "invalid, 2 usage error, 3 internal error, 130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP. "
        "However the run ends, it leaves no process and no temporary file behind.",
    )
    r.add_argument("spec", metavar="SPEC", help="the spec file")
    r.add_argument(
        "--logical-date",
        type=_logical_date,
        metavar="DATE",
        help="the run's logical date, ISO (2024-06-01 or 2024-06-01T02:30:00+00:00); default: now",
    )
    r.add_argument("--conf", type=_conf, metavar="JSON", help="the run's conf, a JSON object")
    r.add_argument(
        "--use-airflow-home",
        action="store_true",
        help="run in the Airflow home AIRFLOW_HOME names (its SQLite database must be migrated) "
        "instead of a throwaway one",
    )
    r.add_argument(
        "--timeout",
        type=_timeout,
        metavar="DURATION",
        help="stop the run, and fail, when airflow dags test takes longer, its start-up included "
        "(90s, 30m, 2h, 1h30m; 0: no limit); default: the spec's dagrun_timeout plus 1m, "
        "no limit when it has none",
    )
    r.add_argument("--debug", action="store_true", help="show the traceback of an internal error")

    s = sub.add_parser(
        "serve",
        help="build the specs and run them in a local Airflow (UI, scheduler), rebuilding on edits",
        description="Build the specs, then start Airflow's api-server, scheduler, dag-processor "
        "and triggerer on 127.0.0.1 (LocalExecutor; SQLite in the state folder unless --database) "
        "with the output folder as their DAGs folder, and build again whenever a spec changes. "
        "DAGs are unpaused; the UI needs no login unless --auth. Alert mails go to "
        "AIRFLOW_CONN_SMTP_DEFAULT, else to a local sink that prints them.",
        epilog="Exit codes: 130 stopped by Ctrl-C, 143 by SIGTERM (everything it started is stopped), "
        "1 an Airflow process died, 2 usage error (state folder in use, port taken, no Airflow), "
        "3 internal error.",
    )
    s.add_argument(
        "paths",
        nargs="*",
        default=["specs"],
        metavar="PATH",
        help="spec files or folders (default: specs/)",
    )
    output(s)
    s.add_argument("--port", type=int, default=8080, help="the UI and API port (default: 8080)")
    s.add_argument(
        "--database",
        metavar="URL",
        help="the metadata database, e.g. postgresql://user:pass@localhost/airflow "
        "(default: SQLite in the state folder)",
    )
    s.add_argument(
        "--state",
        default=str(STATE_FOLDER),
        metavar="DIR",
        help="Airflow's home, logs, database and caught mails (default: .dagforge/serve/)",
    )
    s.add_argument(
        "--auth",
        action="store_true",
        help="ask for a login (user admin, a generated password printed once) instead of "
        "letting everyone on this machine in as admin",
    )
    s.add_argument(
        "--trigger", metavar="DAG_ID", help="once Airflow is ready, trigger a run and follow it"
    )
    s.add_argument("--conf", type=_conf, metavar="JSON", help="the triggered run's conf")
    s.add_argument(
        "-v", "--verbose", action="store_true", help="show all of Airflow's log, not only problems"
    )
    s.add_argument("--debug", action="store_true", help="show the traceback of an internal error")

    t = sub.add_parser(
        "trigger",
        help="trigger a run of a DAG in the running dagforge serve and follow it to its end",
        epilog="Exit codes: 0 the run succeeded, 1 it failed, 2 no serve running or no such DAG.",
    )
    t.add_argument("dag_id", metavar="DAG_ID")
    t.add_argument("--conf", type=_conf, metavar="JSON", help="the run's conf, a JSON object")
    t.add_argument(
        "--state",
        default=str(STATE_FOLDER),
        metavar="DIR",
        help="the state folder of the serve (default: .dagforge/serve/)",
    )
    t.add_argument("--debug", action="store_true", help="show the traceback of an internal error")
    return parser


def _unknown_command(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """Exit 2 with a did-you-mean when the first word is no command (argparse only lists them)."""
    from .diagnostics import did_you_mean

    words = [a for a in argv if not a.startswith("-")]
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    if words and argv[0] == words[0] and words[0] not in commands:
        guess = did_you_mean(words[0], commands)
        parser.exit(
            2,
            f"dagforge: error: '{words[0]}' is not a dagforge command"
            + (f"; {guess}" if guess else "")
            + f"\n  hint: the commands are {', '.join(commands)} (`dagforge --help` says more)\n",
        )


class _Version(argparse.Action):
    """--version, reading the version only when asked for (see version.py)."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: object,
        option_string: str | None = None,
    ) -> None:
        from .version import version

        parser.exit(message=f"dagforge {version()}\n")


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
        raise argparse.ArgumentTypeError('must be a JSON object, like \'{"key": "value"}\'')
    return value


def _timeout(text: str) -> timedelta:
    from .values import DURATION_HINT, parse_duration

    try:
        return parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{e}: {DURATION_HINT}") from None


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not an ISO date or datetime, e.g. 2025-01-31T06:00"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _epoch() -> datetime | None:
    """SOURCE_DATE_EPOCH (reproducible builds: https://reproducible-builds.org/specs/source-date-epoch/)
    as a moment, or None when it is not set or not a whole number of seconds."""
    given = os.environ.get("SOURCE_DATE_EPOCH", "")
    return datetime.fromtimestamp(int(given), UTC) if given.isdigit() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    _unknown_command(parser, sys.argv[1:] if argv is None else list(argv))
    args = parser.parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("dagforge: interrupted", file=sys.stderr)
        return 130
    except Stopped as e:
        print(f"dagforge: stopped ({signal.Signals(e.signum).name})", file=sys.stderr)
        return 128 + e.signum
    except Exception as e:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(
            f"dagforge: internal error: {type(e).__name__}: {visible(str(e))}, please report it"
            + ("" if getattr(args, "debug", False) else " (run with --debug for the traceback)"),
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _run(args: argparse.Namespace) -> int:
    import dagforge

    if args.command in _COMMANDS:
        return _COMMANDS[args.command](args)
    if args.command in ("build", "check", "validate"):
        from .config import ConfigError, airflow_target, import_timeout

        try:
            airflow = getattr(args, "airflow", None) or airflow_target()
            timeout = import_timeout() if args.command != "check" else None
        except ConfigError as e:
            print(f"dagforge: error: {visible(str(e))}", file=sys.stderr)
            return EXIT_USAGE
    if args.command == "build":
        from .progress import TerminalProgress
        from .verify import airflow_installed

        if args.verify and not airflow_installed():
            print(
                "dagforge: --verify needs Airflow: pip install 'dagforge[airflow]'", file=sys.stderr
            )
            return EXIT_USAGE
        with TerminalProgress() as progress:
            result = dagforge.build(
                args.paths,
                args.output,
                verify=args.verify,
                force=args.force,
                progress=progress,
                airflow=airflow,
                import_timeout=timeout,
            )
    elif args.command == "check":
        result = dagforge.check(args.paths, args.output, airflow=airflow)
        return emit(result, "check", args.format, args.debug, diff=args.diff)
    elif args.command == "graph":
        return _graph(dagforge.graph(args.spec, args.format), args)
    elif args.command == "explain":
        result = dagforge.explain(args.spec, args.after)
        if result.text is not None:
            emit(result, "explain", debug=args.debug, out=sys.stderr)  # the advice, if any
            sys.stdout.write(result.text)
            return EXIT_OK
        return emit(result, "explain", debug=args.debug)
    elif args.command == "diff":
        return _diff(args)
    elif args.command == "new":
        return _new(args)
    elif args.command == "import":
        return _import(args)
    elif args.command == "blocks":
        return _blocks(args.paths)
    elif args.command == "schema":
        sys.stdout.write(dagforge.schema())
        return EXIT_OK
    else:
        result = dagforge.validate(
            args.paths, airflow=airflow, import_timeout=timeout, verify=args.verify
        )
    return emit(
        result, args.command, args.format, args.debug, verbose=getattr(args, "verbose", False)
    )


def _diff(args: argparse.Namespace) -> int:
    from .diff import DiffUsageError, diff
    from .diff_report import REPORTERS

    try:
        result = diff(args.paths, args.base, args.after)
    except DiffUsageError as e:
        print(f"dagforge: error: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    REPORTERS[args.format](sys.stdout, sys.stderr).report(result)
    return EXIT_INVALID if result.changed else EXIT_OK


def _catalog(args: argparse.Namespace) -> int:
    import dagforge

    result = dagforge.make_catalog(args.paths, args.output, args.now or _epoch(), args.dags_folder)
    if result.written:
        print(f"catalog: {(Path(args.output) / 'index.html').as_posix()}", file=sys.stderr)
    return emit(result, "catalog", args.format, args.debug)


def _blocks(paths: list[str]) -> int:
    """`dagforge blocks`: the list on stdout; a block file's problems (as validate shows them when
    a spec uses it) and a path that is no spec or folder on stderr."""
    from .report import blocks_text
    from .reuse import catalog

    listed, problems = catalog(paths)
    sys.stdout.write(blocks_text(listed))
    for d in problems:
        print(d.format(), file=sys.stderr)
    broken = [(d, item.block.doc.text) for item in listed for d in item.block.problems]
    for d, text in broken:
        print(d.format(text.splitlines()), file=sys.stderr)
    return EXIT_USAGE if problems else EXIT_INVALID if broken else EXIT_OK


def _graph(result: GraphResult, args: argparse.Namespace) -> int:
    if result.picture is None:
        return emit(result, "graph", debug=args.debug)
    picture = result.picture
    if args.output:
        path = Path(args.output)
        path.write_bytes(picture) if isinstance(picture, bytes) else path.write_text(
            picture, encoding="utf-8"
        )
        print(f"wrote {path.as_posix()}", file=sys.stderr)
    elif isinstance(picture, bytes):
        if sys.stdout.isatty():
            print(
                f"dagforge: --format {args.format} is an image: write it to a file with -o FILE",
                file=sys.stderr,
            )
            return EXIT_USAGE
        sys.stdout.buffer.write(picture)
    else:
        sys.stdout.write(picture)
    return EXIT_OK


def _import(args: argparse.Namespace) -> int:
    from .diagnostics import Code
    from .importing import ImportUsageError, import_dag_factory
    from .verify import airflow_installed
    from .write import OutputError

    if args.source == "airflow" and not airflow_installed():
        print(
            "dagforge: --from airflow needs Airflow: pip install 'dagforge[airflow]'",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if args.verify and args.source == "dag-factory":
        from .importing.verify import can_verify

        if not can_verify():
            print(
                "dagforge: --verify needs dag-factory and Airflow: pip install dag-factory",
                file=sys.stderr,
            )
            return EXIT_USAGE
    try:
        if args.source == "airflow":
            from .importing.from_airflow import import_airflow

            result = import_airflow(
                args.paths, args.output, args.force, args.verify is not False, args.dags_folder
            )
        else:
            result = import_dag_factory(
                args.paths, args.output, args.defaults, args.dags_folder, args.force, args.verify
            )
    except (ImportUsageError, OutputError) as e:
        print(f"dagforge: error: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:  # the output folder cannot be written: a full disk, a read-only folder
        where = f"{Path(e.filename).as_posix()}: " if e.filename else ""
        print(f"dagforge: error: {visible(where + (e.strerror or str(e)))}", file=sys.stderr)
        return EXIT_USAGE
    lines: dict[str, list[str]] = {}
    for d in [*result.problems, *(n for c in result.dags for n in c.notes)]:
        if d.path not in lines:
            try:
                lines[d.path] = Path(d.path).read_text(encoding="utf-8").splitlines()
            except OSError:
                lines[d.path] = []
        print(d.format(lines[d.path]), file=sys.stderr)
    for c in result.dags:
        if c.failed:
            print(
                f"{c.source.as_posix()}: error: DAG {c.dag_id} not converted: {c.failed}",
                file=sys.stderr,
            )
    exact, approximate, failed, unverified = result.counts()
    if any(d.code == Code.USAGE for d in result.problems):
        print("dagforge: nothing written", file=sys.stderr)
        return EXIT_USAGE
    failed += len(result.problems)
    peer = "the Python DAGs" if args.source == "airflow" else "dag-factory"
    verified = (
        f"verified against {peer}"
        if result.verified
        else (f"not verified ({result.not_verified or '--no-verify'})")
    )
    # without the comparison no DAG is called exact: those without warnings are counted apart
    clean = f", {unverified} without warnings (not compared)" if unverified else ""
    print(
        f"{len(result.dags)} DAGs: {exact} converted exactly, {approximate} approximately, "
        f"{failed} not converted{clean}; {len(result.written)} files written to "
        f"{Path(args.output).as_posix()}/; {verified}",
        file=sys.stderr,
    )
    return EXIT_OK if not approximate and not failed else EXIT_INVALID


def _new(args: argparse.Namespace) -> int:
    import dagforge

    try:
        path = dagforge.new(args.name, args.template, args.dir)
    except scaffold.ScaffoldError as e:
        hint = f"\n  hint: {visible(e.hint)}" if e.hint else ""
        print(f"dagforge: error: {visible(str(e))}{hint}", file=sys.stderr)
        return EXIT_USAGE
    print(f"wrote {path.as_posix()} (starter: {args.template})")
    folder = "" if Path(args.dir) == Path("specs") else f" {Path(args.dir).as_posix()}/"
    print(
        f"next: edit it, then `dagforge explain {path.as_posix()}` and `dagforge build{folder}`",
        file=sys.stderr,
    )
    if not scaffold.SCHEMA_FILE.exists():
        print(
            f"note: editors read the schema from {scaffold.SCHEMA_FILE.as_posix()}: "
            f"`dagforge schema > {scaffold.SCHEMA_FILE.as_posix()}` writes it",
            file=sys.stderr,
        )
    return EXIT_OK


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: like KeyboardInterrupt for SIGINT, it unwinds the program so that
    its `finally` blocks run (`dagforge run` stops its processes and removes its folder there)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextmanager
def _signals_unwind() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise KeyboardInterrupt or Stopped, the first one only: a second
    Ctrl-C while the first one's cleanup runs must not cut that cleanup short."""
    caught: list[int] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        if not caught:
            caught.append(signum)
            raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)

    stopping = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    old = {signum: signal.signal(signum, handler) for signum in stopping}
    try:
        yield
    finally:
        for signum, previous in old.items():
            signal.signal(signum, previous)


def _run_spec(args: argparse.Namespace) -> int:
    from .run import AirflowError, UsageError, run_spec

    def progress(message: str) -> None:
        if not os.environ.get("AIRFLOW_CONN_SMTP_DEFAULT"):
            print(
                "dagforge: AIRFLOW_CONN_SMTP_DEFAULT is not set: this run sends no mail"
                + (
                    " unless AIRFLOW_HOME's database has an smtp_default connection"
                    if args.use_airflow_home
                    else ""
                ),
                file=sys.stderr,
            )
        print(f"dagforge: {message} ...", file=sys.stderr, flush=True)

    try:
        with _signals_unwind():
            result = run_spec(
                args.spec,
                args.logical_date,
                args.conf,
                args.use_airflow_home,
                progress,
                timeout=args.timeout,
            )
    except UsageError as e:
        print(f"dagforge: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except AirflowError as e:
        print(f"dagforge: {visible(str(e))}", file=sys.stderr)
        return EXIT_INVALID
    if not result.build.ok or not result.build.specs:
        return emit(result.build, "build")
    if result.timed_out:
        from .describe import duration_words

        assert result.timeout is not None  # a run times out only under a limit (see run._run)
        if result.tasks:
            print(_table(result.tasks))
        limit = "--timeout" if args.timeout else "the spec's dagrun_timeout + 1m; see --timeout"
        print(
            f"dagforge: stopped the run of {result.dag_id} after "
            f"{duration_words(result.timeout)} ({limit})",
            file=sys.stderr,
        )
        return EXIT_INVALID
    if result.state is None:
        print(
            f"dagforge: airflow dags test started no run of {result.dag_id}; it said:\n"
            + _indent(result.output.strip().splitlines()[-10:]),
            file=sys.stderr,
        )
        return EXIT_INVALID
    print(_table(result.tasks))
    for task in result.failed:
        print(
            f"task '{task.task_id}' failed after {task.tries} tr{'ies' if task.tries != 1 else 'y'}; "
            f"the last lines of its log:\n" + _indent(task.log or ["(no log lines)"]),
            file=sys.stderr,
        )
    failed = ", ".join(t.task_id for t in result.failed)
    print(
        f"run {result.run_id} of {result.dag_id}: {result.state} in {result.seconds:.1f}s"
        + (f" (failed: {failed})" if failed else ""),
        file=sys.stderr,
    )
    return EXIT_OK if result.ok else EXIT_INVALID


def _serve(args: argparse.Namespace) -> int:
    from .serve import ComponentDied, Options, ServeError, client, serve, trigger_and_report
    from .trigger import TriggerError

    try:
        with _signals_unwind():
            if args.command == "trigger":
                return trigger_and_report(client(Path(args.state)), args.dag_id, args.conf)
            from .config import ConfigError, airflow_target

            try:
                airflow = args.airflow or airflow_target()
            except ConfigError as e:
                raise ServeError(str(e)) from None
            if airflow != "3":
                raise ServeError("dagforge serve runs Airflow 3: drop --airflow 2 for serve")
            if args.conf is not None and not args.trigger:
                raise ServeError("--conf is the conf of the run --trigger DAG_ID starts: add it")
            options = Options(
                args.paths,
                Path(args.output),
                args.port,
                args.database,
                Path(args.state),
                args.verbose,
                args.auth,
                args.trigger,
                args.conf,
                airflow,
            )
            return serve(options)
    except (ServeError, TriggerError) as e:
        print(f"dagforge: error: {visible(str(e))}", file=sys.stderr)
        return EXIT_USAGE
    except ComponentDied as e:
        print(f"dagforge: error: {visible(str(e))}", file=sys.stderr)
        return EXIT_INVALID


def _table(tasks: list[TaskRun]) -> str:
    rows = [("task", "state", "tries", "duration")]
    rows += [
        (
            t.task_id,
            t.state or "none",
            str(t.tries),
            "-" if t.duration is None or not t.tries else f"{t.duration:.1f}s",
        )
        for t in tasks
    ]
    width = [max(len(row[i]) for row in rows) for i in range(4)]
    return "\n".join(
        f"{a:<{width[0]}}  {b:<{width[1]}}  {c:>{width[2]}}  {d:>{width[3]}}".rstrip()
        for a, b, c, d in rows
    )


def _indent(lines: Iterable[str]) -> str:
    return "\n".join(f"  {visible(line)}" for line in lines)


# The commands with a function of their own (the others are handled in `_run`).
_COMMANDS = {"run": _run_spec, "catalog": _catalog, "serve": _serve, "trigger": _serve}


if __name__ == "__main__":
    sys.exit(main())
