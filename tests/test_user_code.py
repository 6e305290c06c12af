"""The user's code that `build` imports to verify (operator classes, python_callables, the modules
a DAG file imports) is data for one spec: an import path that is no operator class, or a module that
exits, ends the process or blocks when imported, gets a located error on that spec, and the other
specs in the same build are still verified and written. Real builds (`dagforge` in a subprocess,
Airflow's real DagBag) over real modules in tmp_path."""

import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import run_cli

import dagforge
from dagforge import diagram

GOOD = """\
start_date: 2024-01-01
tasks:
  hello: {operator: bash, bash_command: "echo hi"}
"""


def _project(tmp_path, modules: dict[str, str], specs: dict[str, str]):
    """Modules in tmp_path (the working folder, where the build imports them from), specs in
    tmp_path/specs, and the good spec beside them."""
    for name, text in modules.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(text))
    (tmp_path / "specs").mkdir()
    for name, text in {"good": GOOD, **specs}.items():
        (tmp_path / "specs" / f"{name}.yaml").write_text(textwrap.dedent(text))


def _build(tmp_path, timeout=600, **env):
    """`dagforge build specs -o out` in tmp_path: (exit code, everything it printed); a build that
    takes more than `timeout` seconds fails the test (subprocess.TimeoutExpired)."""
    proc = run_cli("build", "specs", "-o", "out", cwd=tmp_path, timeout=timeout, env=env or None)
    return proc.returncode, proc.stdout + proc.stderr


def _errors(output: str) -> dict[str, str]:
    """spec file name -> its `line:col: error: message` (the first one), from a build's output."""
    found = {}
    for m in re.finditer(r"^specs/(\w+)\.yaml:(\d+:\d+: error: .*)$", output, re.M):
        found.setdefault(m[1], m[2])
    return found


def _written(tmp_path) -> list[str]:
    return sorted(p.stem for p in (tmp_path / "out").glob("*.py"))


def _task(operator: str, more: str = "") -> str:
    return f"start_date: 2024-01-01\ntasks:\n  t:\n    operator: {operator}\n{more}"


def _calls(ref: str) -> str:
    return _task("python", f"    python_callable: {ref}\n")


def test_an_import_path_that_is_no_operator_class_is_a_located_error_and_the_others_build(
    tmp_path,
):
    _project(
        tmp_path,
        {"shapes": "class Square:\n    def __init__(self, **kwargs):\n        pass\n"},
        {
            "function": _task("os.path.join"),
            "plain_class": _task("collections.OrderedDict"),
            "own_class": _task("shapes.Square"),
            "module": _task("os.path"),
        },
    )
    code, output = _build(tmp_path)
    assert code == 1, output
    assert "internal error" not in output and "dagforge bug" not in output
    errors = _errors(output)
    assert errors["function"] == (
        "4:15: error: os.path.join is not an Airflow operator class (it is a function)"
    )
    assert "`operator: python` with `python_callable: os.path:join`" in output
    for spec, path in [
        ("plain_class", "collections.OrderedDict"),
        ("own_class", "shapes.Square"),
    ]:
        assert errors[spec] == (
            f"4:15: error: {path} is not an Airflow operator class "
            "(it does not derive from BaseOperator)"
        )
    assert (
        errors["module"] == "4:15: error: os.path is not an Airflow operator class (it is a module)"
    )
    assert "hint: name an operator class, e.g. airflow.providers.standard" in output
    assert _written(tmp_path) == ["good"]


EXITS = "import sys\nsys.exit(3)\ndef run():\n    pass\n"
HARD_EXIT = "import os\nos._exit(4)\ndef run():\n    pass\n"
RAISES = "class Stop(BaseException):\n    pass\nraise Stop('at import')\n"
OPERATORS = """\
    import os, sys
    from airflow.sdk import BaseOperator

    class Quits(BaseOperator):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            os._exit(5)
    """


def test_a_module_that_exits_or_ends_the_process_on_import_fails_its_spec_only(tmp_path):
    _project(
        tmp_path,
        {"exits": EXITS, "hard_exit": HARD_EXIT, "raises": RAISES, "operators": OPERATORS},
        {
            "calls_exits": _calls("exits:run"),
            "calls_hard_exit": _calls("hard_exit:run"),
            "calls_raises": _calls("raises:run"),
            "operator_hard_exit": _task("hard_exit.Op"),
            "operator_quits": _task("operators.Quits"),
        },
    )
    code, output = _build(tmp_path)
    assert code == 1, output
    assert "internal error" not in output and "Traceback" not in output
    errors = _errors(output)
    assert errors["calls_exits"] == (
        "5:22: error: python_callable 'exits:run': importing 'exits' raises SystemExit: 3"
    )
    assert 'put that code under `if __name__ == "__main__":`' in output
    assert errors["calls_hard_exit"] == (
        "5:22: error: python_callable 'hard_exit:run': importing 'hard_exit' ended the process "
        "(exit status 4)"
    )
    assert errors["operator_hard_exit"] == (
        "4:15: error: operator 'hard_exit.Op': importing 'hard_exit' ended the process "
        "(exit status 4)"
    )
    assert errors["calls_raises"] == (
        "5:22: error: python_callable 'raises:run': importing 'raises' raises Stop: at import"
    )
    # The module imports; the operator's constructor ends the process as the DagBag loads the file.
    assert errors["operator_quits"] == (
        "1:1: error: loading the DAG file in Airflow's DagBag ended the process (exit status 5)"
    )
    assert _written(tmp_path) == ["good"]


SLEEPS = """\
    import time
    time.sleep(3600)

    def run():
        pass
    """
SLOW_OPERATOR = """\
    import time
    from airflow.sdk import BaseOperator

    class Slow(BaseOperator):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            time.sleep(3600)
    """


def test_a_module_that_blocks_on_import_times_out_and_the_others_build(tmp_path):
    _project(
        tmp_path,
        {"sleeps": SLEEPS, "slow": SLOW_OPERATOR},
        {
            "calls_sleeps": _calls("sleeps:run"),
            "operator_from_sleeps": _task("sleeps.Op"),
            "slow_operator": _task("slow.Slow"),
        },
    )
    # Without a timeout this build never ends; the test's own limit makes that a failure.
    code, output = _build(tmp_path, timeout=240, DAGFORGE_IMPORT_TIMEOUT="3")
    assert code == 1, output
    assert "internal error" not in output and "Traceback" not in output
    errors = _errors(output)
    assert errors["calls_sleeps"] == (
        "5:22: error: python_callable 'sleeps:run': importing 'sleeps' did not finish within 3 s"
    )
    assert errors["operator_from_sleeps"] == (
        "4:15: error: operator 'sleeps.Op': importing 'sleeps' did not finish within 3 s"
    )
    assert errors["slow_operator"] == (
        "1:1: error: loading the DAG file in Airflow's DagBag did not finish within 3 s"
    )
    assert "raise `import_timeout` under [tool.dagforge] in pyproject.toml" in output
    assert _written(tmp_path) == ["good"]


def test_the_verification_process_ends_when_the_build_is_killed(tmp_path):
    """It runs in a session of its own, so that a timeout ends what the user's code started: no
    terminal's signal reaches it there, and it must not outlive a build that is killed."""
    _project(tmp_path, {"sleeps": SLEEPS}, {"calls_sleeps": _calls("sleeps:run")})
    build = subprocess.Popen(
        [sys.executable, "-m", "dagforge.cli", "build", "specs", "-o", "out"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert _wait_for(lambda: _children(build.pid) or build.poll() is not None, 120)
        [child] = _children(build.pid)
        assert "dagforge.verify" in Path(f"/proc/{child}/cmdline").read_text()
    finally:
        build.send_signal(signal.SIGKILL)
        build.wait()
    assert _wait_for(lambda: _gone(child), 20)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _wait_for(condition, seconds: float) -> bool:
    """Poll for `condition` a bounded number of times (no timing assertion: it fails on a hang)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return True
        time.sleep(0.05)
    return bool(condition())


def test_the_import_timeout_comes_from_pyproject_toml(tmp_path):
    _project(tmp_path, {"sleeps": SLEEPS}, {"calls_sleeps": _calls("sleeps:run")})
    (tmp_path / "pyproject.toml").write_text("[tool.dagforge]\nimport_timeout = 2.5\n")
    code, output = _build(tmp_path, timeout=240, DAGFORGE_IMPORT_TIMEOUT=None)
    assert code == 1, output
    assert _errors(output)["calls_sleeps"].endswith(
        "importing 'sleeps' did not finish within 2.5 s"
    )
    assert _written(tmp_path) == ["good"]


@pytest.mark.parametrize(
    "pyproject, env, said",
    [
        ('import_timeout = "soon"', None, "[tool.dagforge] import_timeout must be a number"),
        ("import_timeout = 0", None, "[tool.dagforge] import_timeout must be a number"),
        ("", "-1", "DAGFORGE_IMPORT_TIMEOUT must be a number of seconds above 0, not -1.0"),
        ("", "nan", "DAGFORGE_IMPORT_TIMEOUT must be a number of seconds above 0"),
    ],
)
def test_a_bad_import_timeout_is_a_usage_error(tmp_path, pyproject, env, said):
    _project(tmp_path, {}, {})
    (tmp_path / "pyproject.toml").write_text(f"[tool.dagforge]\n{pyproject}\n")
    code, output = _build(tmp_path, DAGFORGE_IMPORT_TIMEOUT=env)
    assert code == 2 and said in output and "internal error" not in output, output
    assert not (tmp_path / "out").exists()


def test_graphviz_that_hangs_is_stopped(tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "dot"  # a real program in Graphviz's place that takes too long
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\nexec sleep 30\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    monkeypatch.setattr(diagram, "DOT_TIMEOUT", 1, raising=False)
    spec = tmp_path / "g.yaml"
    spec.write_text(GOOD)
    result = dagforge.graph(spec, "svg")
    [problem] = result.problems
    assert "did not finish within 1 s" in problem.message and result.picture is None


def test_an_operator_module_that_warns_on_import_is_a_located_warning_and_still_builds(tmp_path):
    # Airflow logs such a warning at every parse of the DAG file; verification imports the class
    # before it loads the file (so the load itself no longer shows it): the import must tell it.
    noisy = """\
        import warnings
        from airflow.sdk import BaseOperator

        warnings.warn("noisy_ops.helpers is deprecated", DeprecationWarning, stacklevel=1)

        class Noisy(BaseOperator):
            def execute(self, context):
                return None
        """
    _project(tmp_path, {"noisy_ops": noisy}, {"noisy": _task("noisy_ops.Noisy")})
    code, output = _build(tmp_path)
    assert code == 0, output
    assert re.search(
        r"^specs/noisy\.yaml:4:15: warning: operator 'noisy_ops.Noisy': importing 'noisy_ops' warns: "
        r"DeprecationWarning: noisy_ops\.helpers is deprecated$",
        output,
        re.M,
    ), output
    assert _written(tmp_path) == ["good", "noisy"]
