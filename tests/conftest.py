import email
import email.policy
import os
import shutil
import socket
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, settings

# Property-based tests: a few hundred examples in CI, 10,000 before a release
# (HYPOTHESIS_PROFILE=thorough), a few dozen in the inner loop (`-m "not slow"` picks "quick" unless
# HYPOTHESIS_PROFILE is set). A test that needs more examples than others asks for a multiple of the
# profile's number, so that every profile scales it.
_common = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
settings.register_profile("quick", max_examples=30, **_common)
settings.register_profile("ci", max_examples=300, **_common)
settings.register_profile("thorough", max_examples=10_000, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

ROOT = Path(__file__).resolve().parent.parent

# Optional system tools: a test that needs one skips where it is missing, with the reason, except in CI
# (CI=true), whose .ci/run installs them: there a missing tool fails the test instead of hiding it.
HAVE_DOT = shutil.which("dot") is not None
requires_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("CI"),
    reason="needs Graphviz's `dot` (apt-get install graphviz; .ci/run installs it)",
)

# Headless Chromium (the Debian package `chromium`, driven by the playwright package, never a
# browser playwright downloads) for the catalog's pages (tests/test_catalog.py).
CHROMIUM = "/usr/bin/chromium"
HAVE_CHROMIUM = Path(CHROMIUM).is_file()
requires_chromium = pytest.mark.skipif(
    not HAVE_CHROMIUM and not os.environ.get("CI"),
    reason="needs Chromium at /usr/bin/chromium (apt-get install chromium; .ci/run installs it)",
)

# The tests that start Airflow again and again (a verification child per build, `airflow dags test`,
# pre-commit's own environments, hypothesis over DagBag loads): `pytest -m "not slow"` leaves them out
# for a quick inner loop; CI runs everything. A test that takes one of FIXTURES is slow too.
SLOW_MODULES = {
    "test_assets",
    "test_baseargs",
    "test_callbacks",
    "test_dag_settings",
    "test_docs_ci",
    "test_environment",
    "test_examples",
    "test_forms",
    "test_group_fidelity",
    "test_import",
    "test_injection",
    "test_mapping",
    "test_operators",
    "test_operators_mapping",
    "test_operators_python",
    "test_precommit",
    "test_python_operator",
    "test_run",
    "test_run_signals",
    "test_scale_and_schedules",
    "test_serve",
    "test_targets",
    "test_task_groups",
    "test_user_code",
    "test_wait_for",
}
SLOW_FIXTURES = {"airflow_home", "smtp_server"}
SLOW_TESTS = {  # single tests of quick modules that verify, load DAGs in Airflow or race real processes
    "test_a_block_is_a_task_group_in_airflow",
    "test_a_build_gives_up_waiting_with_exit_2",
    "test_a_file_over_the_limit_is_refused_and_one_at_the_limit_is_read",
    "test_a_run_skips_the_branches_not_chosen_and_what_a_short_circuit_stops",
    "test_airflow3_golden_files_load_in_dagbag",
    "test_black_leaves_a_settled_render_as_it_is",
    "test_blocks_use_blocks",
    "test_build_with_verification",
    "test_building_one_spec_from_another_folder_removes_nothing",
    "test_every_starter_builds_verified_and_loads",
    "test_examples_build_from_repo_root",
    "test_files_and_symlinks_inside_the_folder_are_read",
    "test_help_and_validate_do_not_import_airflow",
    "test_hostile_strings_come_out_equal_and_run_nothing",
    "test_nearest_wins_lists_replace_mappings_merge",
    "test_new_spec_validates_explains_builds_and_checks",
    "test_next_runs_are_airflows",
    "test_one_dag_per_item_in_airflow",
    "test_readme_first_command_builds_and_verifies_the_examples",
    "test_sigkill_at_a_random_moment_leaves_old_or_new_files",
    "test_task_ids_that_are_not_identifiers",
    "test_texts_of_several_lines_are_blocks_black_keeps_and_airflow_reads_exactly",
    "test_the_pages_in_chromium",  # the examples' catalog in a browser, page by page
    "test_the_reuse_examples_build_verified",
    "test_the_warning_comes_exactly_when_airflow_fails_the_task",
    "test_two_builds_of_one_folder_at_once",
    "test_values_at_the_limits_build_and_load_in_airflow",
    "test_verifying_shows_progress_too",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        module = item.module.__name__.rpartition(".")[2] if item.module else ""
        name = getattr(item, "originalname", item.name)
        fixtures = set(getattr(item, "fixturenames", ()))
        if module in SLOW_MODULES or name in SLOW_TESTS or SLOW_FIXTURES & fixtures:
            item.add_marker(pytest.mark.slow)


def pytest_configure(config):
    if (
        "not slow" in (config.getoption("markexpr") or "")
        and "HYPOTHESIS_PROFILE" not in os.environ
    ):
        settings.load_profile("quick")
    # A throwaway Airflow home for every test run: Airflow must never touch the user's ~/airflow.
    # One per pytest-xdist worker (`-n 2`): two processes never share its airflow.cfg or database.
    worker = getattr(config, "workerinput", {}).get("workerid")
    home = Path(
        config.rootpath, ".pytest_cache", f"airflow-home-{worker}" if worker else "airflow-home"
    )
    home.mkdir(parents=True, exist_ok=True)
    os.environ["AIRFLOW_HOME"] = str(home)
    os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "ERROR")
    # Advice (dagforge/advice.py) is about how a DAG would run; the small specs of the other tests
    # are not: tests/test_advice.py turns it on again.
    os.environ["DAGFORGE_ADVICE"] = "off"


class QuotingDumper(yaml.SafeDumper):
    """Writes every string in double quotes: a plain `08` or `1e3` is text to PyYAML's YAML 1.1 but a
    number to YAML 1.2, which dagforge refuses to guess about; quoted, it is text to both."""


QuotingDumper.add_representer(
    str, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
)


def dump_yaml(data) -> str:
    """YAML text of `data` that dagforge reads back as the same data (strings stay strings)."""
    return yaml.dump(data, Dumper=QuotingDumper, allow_unicode=True, sort_keys=False)


@pytest.fixture
def write_spec(tmp_path):
    """Write a spec (dedented YAML text) into tmp_path/specs and return its path."""

    def write(text: str, name: str = "pipe.yaml") -> Path:
        path = tmp_path / "specs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def run_cli(*args, cwd=None, env=None, timeout=None):
    """Run the real `dagforge` entry point in a subprocess; `env` adds to (None: removes from) ours.
    With `timeout` (seconds), a run that takes longer raises subprocess.TimeoutExpired."""
    import subprocess

    exe = Path(sys.executable).with_name("dagforge")
    environ = {k: v for k, v in {**os.environ, **(env or {})}.items() if v is not None}
    return subprocess.run(
        [str(exe), *map(str, args)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_main(*args, cwd=None, env=None):
    """Run `dagforge.cli.main` in this process, as `run_cli` runs the entry point in a child: same
    arguments, `cwd` and `env`, same CompletedProcess back (exit code, stdout, stderr). It proves what
    dagforge prints and returns without starting Python and importing dagforge again per call (a
    second or so each), which is most of the quick loop's time. What only a real process shows (no
    traceback on the way out, signals, what gets imported, exit status of the executable) stays with
    `run_cli`; an exception that escapes main() fails the test here instead of being printed."""
    import io
    import subprocess
    from contextlib import chdir, redirect_stderr, redirect_stdout

    from dagforge.cli import main

    # as Python's own streams on a pipe: stdout strict, stderr backslash-escapes what cannot be encoded
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    err = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", errors="backslashreplace")
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in (env or {}).items() if v is not None})
    for k in [k for k, v in (env or {}).items() if v is None]:
        os.environ.pop(k, None)
    try:
        with chdir(cwd or os.getcwd()), redirect_stdout(out), redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse's usage errors and --help
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    finally:
        os.environ.clear()
        os.environ.update(saved)

    def text(s):
        s.flush()
        return s.buffer.getvalue().decode("utf-8")

    return subprocess.CompletedProcess(["dagforge", *map(str, args)], code, text(out), text(err))


def run_cli_without(distributions, *args, cwd, tmp_path):
    """Run the real `dagforge` CLI where `distributions` (their import names and metadata, e.g.
    "airflow", "apache_airflow_providers_cncf_kubernetes") are not installed: a Python without its
    site folders, given a folder of links to everything else in them instead."""
    import subprocess
    import tempfile

    site = Path(tempfile.mkdtemp(prefix="site-without-", dir=tmp_path))
    for folder in [p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)]:
        for entry in Path(folder).iterdir():
            hidden = any(
                entry.name == d or entry.name.startswith((f"{d}-", f"{d}_")) for d in distributions
            )
            # a .pth that chains another site folder (path lines) would bring everything back
            chains = entry.suffix == ".pth" and any(
                line.strip() and not line.startswith("import")
                for line in entry.read_text().splitlines()
            )
            if not hidden and not chains and not (site / entry.name).exists():
                (site / entry.name).symlink_to(entry)
    code = (
        "import runpy, site, sys; site.addsitedir(sys.argv.pop(1)); sys.argv[0] = 'dagforge'; "
        "runpy.run_module('dagforge.cli', run_name='__main__')"
    )
    return subprocess.run(
        [sys.executable, "-S", "-c", code, str(site), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
    )


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: tuple[str, ...]  # the SMTP envelope's
    to: str  # the To: header
    subject: str


class Mailbox:
    """What a real SMTP server on 127.0.0.1 received; `url` is its AIRFLOW_CONN_SMTP_DEFAULT."""

    def __init__(self, port: int):
        self.url = (
            f"smtp://127.0.0.1:{port}?disable_tls=true&disable_ssl=true"
            "&from_email=airflow%40example.com"
        )
        self.mails: list[Mail] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        self.mails.append(
            Mail(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                str(message["To"]),
                str(message["Subject"]),
            )
        )
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    """An aiosmtpd server on a free port of 127.0.0.1 for the whole session; clear `mails` per use."""
    from aiosmtpd.controller import Controller

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = Mailbox(port)
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def airflow_home(tmp_path_factory):
    """One migrated Airflow home (SQLite) that the run tests share, as a user's AIRFLOW_HOME."""
    import subprocess

    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home)}
    env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
    proc = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return home


def installed_airflow() -> str:
    """The major version of the Airflow installed here: "3", or "2" in the Airflow 2.10 venv."""
    import airflow

    return airflow.__version__.split(".")[0]


def load_dagbag(folder):
    """Airflow's real DagBag over a folder, from its home on the installed version."""
    from dagforge.targets import TARGETS
    from dagforge.verify import load_dagbag as dagbag

    return dagbag(folder, TARGETS[installed_airflow()])
