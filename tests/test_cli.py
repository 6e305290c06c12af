"""The command line: exit codes, messages, what is written and what is not. Through `main()` in this
process (run_main); through the real entry point (run_cli) where only a process shows it: no
traceback on the way out, a Python without Airflow."""

from conftest import HAVE_DOT, ROOT, run_cli, run_cli_without, run_main

GOOD = """
start_date: 2024-01-01
tasks:
  hello: {operator: bash, bash_command: "echo hello"}
"""
BAD = """
start_date: 2024-01-01
tasks:
  hello: {operator: bash, bash_command: "echo hello", dependencies: [nope]}
"""


def test_build_exit_0_and_writes(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    r = run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "out" / "good.py").is_file()
    assert r.stdout == ""  # the summary counts what was written; -v names each file
    assert r.stderr == "1 built, 0 invalid; not verified (--no-verify)\n"
    r = run_main("build", "specs", "-o", "out", "--no-verify", "--force", "-v", cwd=tmp_path)
    assert r.stdout == "wrote out/good.py\n"


def test_build_with_verification(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    r = run_cli("build", "specs", "-o", "out", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "1 built, 0 invalid; 1 verified with Airflow's DagBag\n"


def test_invalid_spec_exit_1_others_still_built(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    write_spec(BAD, "bad.yaml")
    r = run_cli("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 1
    assert "specs/bad.yaml:3:70: error: task 'hello' depends on unknown task 'nope'" in r.stderr
    assert "Traceback" not in r.stderr
    assert "1 built, 1 invalid; not verified (--no-verify)" in r.stderr
    assert (tmp_path / "out" / "good.py").is_file()
    assert not (tmp_path / "out" / "bad.py").exists()


def test_validate_writes_nothing(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "1 spec valid, 0 invalid" in r.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["good.yaml", "specs"]


def test_validate_invalid_exit_1(tmp_path, write_spec):
    write_spec(BAD, "bad.yaml")
    r = run_main("validate", "specs/bad.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert "did you mean" not in r.stderr and "known tasks: hello" in r.stderr


def test_usage_errors_exit_2(tmp_path):
    assert run_main("frobnicate", cwd=tmp_path).returncode == 2
    assert run_main("build", "--bogus", cwd=tmp_path).returncode == 2
    r = run_main("validate", "does-not-exist", cwd=tmp_path)
    assert r.returncode == 2 and "does-not-exist: error: no such file or folder" in r.stderr
    (tmp_path / "empty").mkdir()
    r = run_main("validate", "empty", cwd=tmp_path)
    assert r.returncode == 2 and "no spec files" in r.stderr


def test_a_missing_path_is_one_located_error_and_no_summary(tmp_path):
    """No "0 specs built" after it: nothing was looked at."""
    for command in ("build", "validate", "run", "check"):
        r = run_main(command, "nonexist.yaml", cwd=tmp_path)
        assert r.returncode == 2, command
        assert r.stderr == "nonexist.yaml: error: no such file or folder\n", (command, r.stderr)


def test_without_airflow_build_and_validate_say_what_they_did_not_check(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    write_spec(
        GOOD.replace(
            "operator: bash", "operator: airflow.providers.standard.operators.bash.BashOperator"
        ),
        "by_path.yaml",
    )
    r = run_cli_without(["airflow"], "build", "specs", "-o", "out", cwd=tmp_path, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == "2 built, 0 invalid; not verified (Airflow is not installed)\n"
    r = run_cli_without(["airflow"], "validate", "specs", cwd=tmp_path, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stderr == (
        "dagforge: warning: not checked: operator arguments against the classes' signatures, "
        "python_callables, callbacks, objects, macros, filters and deadline callbacks "
        "(they need Airflow: pip install 'dagforge[airflow]')\n"
        "2 specs valid, 0 invalid\n"
    )


def test_default_paths_are_specs_and_generated_dags(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    r = run_main("build", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "generated_dags" / "good.py").is_file()


def test_help_and_validate_do_not_import_airflow(tmp_path, write_spec):
    """Nor do check, graph, explain, new and schema: only verification loads Airflow, in a child
    process. validate checks an operator's arguments against its class there (the typo below)."""
    import subprocess
    import sys

    write_spec(GOOD, "good.yaml")
    typo = tmp_path / "typo" / "typo.yaml"
    typo.parent.mkdir()
    typo.write_text(
        "start_date: 2024-01-01\ntasks:\n  t:\n"
        "    operator: airflow.providers.standard.operators.bash.BashOperator\n"
        "    bash_comand: echo\n"
    )
    code = (
        "import sys; from dagforge.cli import main\n"
        "for argv in (['validate', 'specs'], ['build', '--no-verify', 'specs', '-o', 'out'],\n"
        "             ['check', 'specs', '-o', 'out'], ['check', '--diff', '--format', 'json', 'specs', '-o', 'out'],\n"
        "             ['validate', '--format', 'github', 'specs'], ['graph', 'specs/good.yaml'],\n"
        "             ['graph', '--format', 'dot', 'specs/good.yaml'],\n"
        + ("             ['graph', '--format', 'svg', 'specs/good.yaml'],\n" if HAVE_DOT else "")
        + "             ['explain', 'specs/good.yaml'], ['new', 'starter'], ['schema']):\n"
        "    assert main(argv) == 0, argv\n"
        "assert main(['validate', 'typo']) == 1\n"
        "assert not [m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')], 'airflow imported'\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "typo/typo.yaml:5:5: error: BashOperator has no argument 'bash_comand'" in r.stderr
    for argv in (["--help"], ["run", "--help"]):
        r = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "dagforge.cli", *argv],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0 and " airflow" not in r.stderr and "usage: dagforge" in r.stdout


def test_examples_build_from_repo_root():
    r = run_cli("validate", "specs/", cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_a_mistyped_command_suggests_the_command(tmp_path):
    r = run_main("buld", "specs", cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "'buld' is not a dagforge command; did you mean 'build'?" in r.stderr
    r = run_main("frobnicate", cwd=tmp_path)
    assert (
        r.returncode == 2
        and "is not a dagforge command\n  hint: the commands are build" in r.stderr
    )


def test_new_names_the_folder_it_wrote_into_in_the_next_step(tmp_path):
    r = run_main("new", "x", "--dir", "myspecs", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "`dagforge build myspecs/`" in r.stderr
    r = run_main("new", "y", cwd=tmp_path)
    assert "and `dagforge build`\n" in r.stderr
