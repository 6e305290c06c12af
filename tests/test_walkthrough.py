"""The first hour of a new user, through the real `dagforge` entry point: the README's first
command on the example specs, a spec of their own from `dagforge new`, and one mistake of each
kind a newcomer makes, each answered by a located message and a hint that says how to fix it.
Every run happens in a fresh folder that stands for the user's project."""

import shutil
import textwrap

import pytest
from conftest import ROOT, run_cli, run_main


def clean(r, code):
    """`r` exited with `code` and said nothing a user should never see."""
    assert r.returncode == code, r.stdout + r.stderr
    for words in ("Traceback", "internal error"):
        assert words not in r.stdout + r.stderr


def hint_of(stderr: str, head: str) -> str:
    """The hint line of the diagnostic whose first line is exactly `head` (a diagnostic is its
    line, the source line with a caret, then `  hint: ...`)."""
    lines = stderr.splitlines()
    assert head in lines, stderr
    rest = lines[lines.index(head) + 1 :]
    for line in rest:
        if line.startswith("  hint: "):
            return line
        assert line.startswith(" "), f"{head!r} has no hint:\n{stderr}"
    raise AssertionError(f"{head!r} has no hint:\n{stderr}")


def test_readme_first_command_builds_and_verifies_the_examples(tmp_path):
    # The README's first command, `dagforge build specs/`, in a copy of the example specs and of
    # the code they name (example_team/, imported from the working folder).
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    shutil.copytree(ROOT / "example_team", tmp_path / "example_team")
    count = len(list((tmp_path / "specs").glob("*.yaml")))
    assert count == 8

    r = run_cli("build", "specs/", "-o", "generated_dags", cwd=tmp_path)
    clean(r, 0)  # and specs/reuse/: a spec that uses a block, and a family of two DAGs
    assert r.stderr.splitlines()[-1] == "11 built, 0 invalid; 11 verified with Airflow's DagBag"
    assert len(list((tmp_path / "generated_dags").glob("*.py"))) == 11

    # Again: nothing to do, and no claim of a verification that did not happen now.
    r = run_cli("build", "specs/", "-o", "generated_dags", cwd=tmp_path)
    clean(r, 0)
    assert r.stderr.splitlines()[-1] == "0 built, 11 already up to date, 0 invalid"
    assert "verified" not in r.stderr

    r = run_cli("build", "specs/", "-o", "generated_dags", "--force", cwd=tmp_path)
    clean(r, 0)
    assert r.stderr.splitlines()[-1] == "11 built, 0 invalid; 11 verified with Airflow's DagBag"

    r = run_cli("check", "specs/", cwd=tmp_path)
    clean(r, 0)
    assert r.stderr.splitlines()[-1] == (
        "10 specs checked, 0 invalid; every generated file is up to date"
    )


def test_new_spec_validates_explains_builds_and_checks(tmp_path):
    r = run_cli("new", "my_pipe", "--dir", "myspecs", cwd=tmp_path)
    clean(r, 0)
    assert (tmp_path / "myspecs" / "my_pipe.yaml").is_file()
    # the next step names the folder the user chose, not the default one
    nxt = [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("next:")]
    assert nxt and "myspecs/" in nxt[0], r.stdout + r.stderr

    r = run_cli("validate", "myspecs/", cwd=tmp_path)
    clean(r, 0)
    assert r.stderr.splitlines()[-1] == "1 spec valid, 0 invalid"

    r = run_cli("explain", "myspecs/my_pipe.yaml", cwd=tmp_path)
    clean(r, 0)
    assert "Schedule:   At 01:30, UTC (cron '30 1 * * *')" in r.stdout.splitlines()

    r = run_cli("build", "myspecs", "-o", "mydags", cwd=tmp_path)
    clean(r, 0)
    assert (tmp_path / "mydags" / "my_pipe.py").is_file()
    assert r.stderr.splitlines()[-1] == "1 built, 0 invalid; 1 verified with Airflow's DagBag"

    r = run_cli("check", "myspecs", "-o", "mydags", cwd=tmp_path)
    clean(r, 0)
    assert r.stderr.splitlines()[-1] == (
        "1 spec checked, 0 invalid; every generated file is up to date"
    )


# One mistake of each kind: the spec myspecs/x.yaml as the user wrote it, the exit code of
# `dagforge validate myspecs/`, the located line it must print, and words its hint must hold.
MISTAKES = {
    "unquoted cron": (
        """
        start_date: 2024-01-01
        schedule: */15 * * * *
        tasks:
          extract: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:2:12: error: invalid YAML: "
        "did not find expected alphabetic or numeric character",
        'put it in quotes, `schedule: "*/15 * * * *"`',
    ),
    "task key not indented": (
        """
        start_date: 2024-01-01
        tasks:
          extract:
          operator: bash
          bash_command: echo hi
        """,
        1,
        "myspecs/x.yaml:4:13: error: tasks.operator must be a mapping of keys, not text",
        "bad indentation: `operator` is a key of a task, but it stands at the column of the task "
        "ids; indent it more than the task id above it (at column 5)",
    ),
    "preset without @": (
        """
        start_date: 2024-01-01
        schedule: daily
        tasks:
          extract: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:2:11: error: schedule 'daily' is not a cron expression or a preset",
        "did you mean '@daily'?",
    ),
    "cron field out of range": (
        """
        start_date: 2024-01-01
        schedule: "0 24 * * *"
        tasks:
          extract: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:2:11: error: schedule '0 24 * * *' is not a valid cron expression: "
        "hour 24 is out of 0-23",
        "minute hour day-of-month month day-of-week",
    ),
    "time zone abbreviation": (
        """
        start_date: 2024-01-01
        timezone: KST
        tasks:
          extract: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:2:11: error: unknown time zone 'KST'",
        "`timezone: Asia/Seoul`",
    ),
    "quoted number": (
        """
        start_date: 2024-01-01
        retries: "3"
        tasks:
          extract: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:2:10: error: retries must be a whole number, not text",
        "remove the quotes: `retries: 3`",
    ),
    "group member by its short name": (
        """
        start_date: 2024-01-01
        tasks:
          grp:
            tasks:
              x: {operator: bash, bash_command: echo x}
          after:
            operator: bash
            bash_command: echo after
            dependencies: [x]
        """,
        1,
        "myspecs/x.yaml:9:20: error: task 'after' depends on unknown task 'x'",
        "did you mean 'grp.x'?",
    ),
    "task id with a space": (
        """
        start_date: 2024-01-01
        tasks:
          load orders: {operator: bash, bash_command: echo hi}
        """,
        1,
        "myspecs/x.yaml:3:3: error: 'load orders' is not a valid name here",
        "a task id has letters, digits, `_`, `.` and `-` only",
    ),
    "Airflow's email_on_failure": (
        """
        start_date: 2024-01-01
        tasks:
          extract:
            operator: bash
            bash_command: echo hi
            email_on_failure: true
        """,
        1,
        "myspecs/x.yaml:6:5: error: unknown key 'email_on_failure' in task 'extract'",
        "write `alerts: {on_failure: true}`",
    ),
    "sensor timeout beside wait_for": (
        """
        start_date: 2024-01-01
        tasks:
          upstream:
            wait_for: {dag: sales_daily}
            timeout: 2h
        """,
        1,
        "myspecs/x.yaml:5:5: error: unknown key 'timeout' in task 'upstream'",
        "`timeout` goes inside `wait_for:`",
    ),
    "bash_command naming a .sh file": (
        """
        start_date: 2024-01-01
        tasks:
          extract:
            operator: bash
            bash_command: ./run.sh
        """,
        0,
        "myspecs/x.yaml:5:19: warning: Airflow reads bash_command './run.sh' as a template file, "
        "not as a command: unless that file is in the DAG's folder, the task fails with "
        "TemplateNotFound",
        'end it with a space: `bash_command: "./run.sh "`',
    ),
    "misspelt operator argument": (
        """
        start_date: 2024-01-01
        tasks:
          extract:
            operator: bash
            bash_comand: echo hi
        """,
        1,
        "myspecs/x.yaml:5:5: error: unknown key 'bash_comand' in task 'extract'",
        "did you mean 'bash_command'?",
    ),
}


@pytest.mark.parametrize("kind", MISTAKES)
def test_a_new_users_mistake_is_located_and_explained(tmp_path, kind):
    text, code, head, hint = MISTAKES[kind]
    (tmp_path / "myspecs").mkdir()
    (tmp_path / "myspecs" / "x.yaml").write_text(textwrap.dedent(text).lstrip("\n"))
    r = run_main("validate", "myspecs/", cwd=tmp_path)
    clean(r, code)
    assert hint in hint_of(r.stderr, head)
    valid = "1 spec valid, 0 invalid" if code == 0 else "0 specs valid, 1 invalid"
    assert r.stderr.splitlines()[-1] == valid


def test_a_typo_in_defaults_yaml_points_into_that_file(tmp_path):
    (tmp_path / "myspecs").mkdir()
    (tmp_path / "myspecs" / "defaults.yaml").write_text("owner: data-eng\nretrys: 3\n")
    (tmp_path / "myspecs" / "x.yaml").write_text(
        "start_date: 2024-01-01\ntasks:\n  extract: {operator: bash, bash_command: echo hi}\n"
    )
    r = run_main("validate", "myspecs/", cwd=tmp_path)
    clean(r, 1)
    head = "myspecs/defaults.yaml:2:1: error: unknown key 'retrys' in the defaults file"
    assert "did you mean 'retries'?" in hint_of(r.stderr, head)
    lines = r.stderr.splitlines()
    assert lines[lines.index(head) + 1] == "  2 | retrys: 3"  # the defaults file's own line


def test_a_misspelt_command_is_a_usage_error_with_a_suggestion(tmp_path):
    r = run_main("buld", "myspecs", cwd=tmp_path)
    clean(r, 2)
    assert "dagforge: error: 'buld' is not a dagforge command; did you mean 'build'?" in (
        r.stderr.splitlines()
    )


def test_check_after_an_edit_names_the_file_and_the_fix(tmp_path):
    assert run_main("new", "my_pipe", "--dir", "myspecs", cwd=tmp_path).returncode == 0
    r = run_main("build", "myspecs", "-o", "mydags", "--no-verify", cwd=tmp_path)
    clean(r, 0)
    spec = tmp_path / "myspecs" / "my_pipe.yaml"
    spec.write_text(spec.read_text().replace("retries: 4 ", "retries: 3 "))

    r = run_main("check", "myspecs", "-o", "mydags", cwd=tmp_path)
    clean(r, 1)
    head = (
        "myspecs/my_pipe.yaml: error: mydags/my_pipe.py is stale: myspecs/my_pipe.yaml "
        "changed since it was generated"
    )
    # the fix must work for this user: a bare `dagforge build` would look for specs/, not myspecs/
    assert "run `dagforge build` on the same specs, with the same `-o`" in hint_of(r.stderr, head)
    assert r.stderr.splitlines()[-1] == (
        "1 spec checked, 0 invalid; 1 generated file out of date: "
        "run `dagforge build` on the same specs, with the same `-o`"
    )

    # following the hint clears it
    clean(run_main("build", "myspecs", "-o", "mydags", "--no-verify", cwd=tmp_path), 0)
    clean(run_main("check", "myspecs", "-o", "mydags", cwd=tmp_path), 0)
