"""`--format json` (one document of all diagnostics) and `--format github` (workflow commands that
annotate a pull request) on validate, build and check."""

import json

from conftest import run_main

GOOD = "start_date: 2024-01-01\ntasks:\n  hello: {operator: bash, bash_command: 'echo hi'}\n"
BAD = """\
start_date: 2024-01-01
timezone: Asia/Seol
tasks:
  hello: {operator: bash, bash_command: "echo, 100% done", dependencies: [nope]}
"""


def test_validate_json_is_one_document_of_all_diagnostics(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    write_spec(BAD, "bad.yaml")
    r = run_main("validate", "specs", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1 and r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc["command"] == "validate" and doc["ok"] is False and doc["exit_code"] == 1
    assert doc["diagnostics"] == [
        {
            "file": "specs/bad.yaml",
            "line": 2,
            "column": 11,
            "severity": "error",
            "code": "timezone",
            "message": "unknown time zone 'Asia/Seol'",
            "hint": "did you mean 'Asia/Seoul'?",
        },
        {
            "file": "specs/bad.yaml",
            "line": 4,
            "column": 75,
            "severity": "error",
            "code": "unknown-dependency",
            "message": "task 'hello' depends on unknown task 'nope'",
            "hint": "known tasks: hello",
        },
    ]
    assert doc["specs"] == [
        {"spec": "specs/bad.yaml", "dag_id": None, "status": "invalid", "output": None},
        {"spec": "specs/good.yaml", "dag_id": "good", "status": "valid", "output": None},
    ]
    assert doc["summary"] == "1 spec valid, 1 invalid"


def test_validate_github_annotations(tmp_path, write_spec):
    write_spec(BAD, "bad.yaml")
    r = run_main("validate", "specs", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "::error file=specs/bad.yaml,line=2,col=11,title=dagforge%3A timezone::unknown time zone 'Asia/Seol'%0Ahint: did you mean 'Asia/Seoul'?",
        "::error file=specs/bad.yaml,line=4,col=75,title=dagforge%3A unknown-dependency::task 'hello' depends on unknown task 'nope'%0Ahint: known tasks: hello",
    ]
    assert r.stderr == "0 specs valid, 1 invalid\n"


def test_github_escapes_percent_newlines_and_property_separators(tmp_path, write_spec):
    write_spec("start_date: 2024-01-01\ntasks: {}\n", "odd,name: 100%.yaml")
    r = run_main("validate", "specs", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert len(lines) == 2  # the file name is no dag_id; tasks is empty: one line each
    assert all(
        line.startswith("::error file=specs/odd%2Cname%3A 100%25.yaml,line=") for line in lines
    )


def test_build_json_reports_files(tmp_path, write_spec):
    write_spec(GOOD, "good.yaml")
    r = run_main("build", "specs", "-o", "out", "--no-verify", "--format", "json", cwd=tmp_path)
    assert r.returncode == 0 and r.stderr == ""
    doc = json.loads(r.stdout)
    assert (
        doc["ok"] is True
        and doc["diagnostics"] == []
        and doc["rendered"] == 1
        and doc["counts"] == {"built": 1, "up_to_date": 0, "invalid": 0, "verified": 0}
        and doc["not_verified"] == "--no-verify"
    )
    assert doc["specs"] == [
        {
            "spec": "specs/good.yaml",
            "dag_id": "good",
            "status": "written",
            "output": "out/good.py",
            "verified": False,
        }
    ]


def test_check_json_and_github_name_each_drifted_file(tmp_path, write_spec):
    write_spec(GOOD, "a.yaml")
    write_spec(GOOD, "b.yaml")
    assert run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    (tmp_path / "out" / "a.py").unlink()
    (tmp_path / "specs" / "b.yaml").unlink()
    r = run_main("check", "specs", "-o", "out", "--format", "json", cwd=tmp_path)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["drift"] == [
        {"kind": "missing", "output": "out/a.py", "spec": "specs/a.yaml"},
        {"kind": "orphaned", "output": "out/b.py", "spec": "specs/b.yaml"},
    ]
    assert [(d["file"], d["code"]) for d in doc["diagnostics"]] == [
        ("specs/a.yaml", "missing"),
        ("out/b.py", "orphaned"),
    ]
    assert all(d["hint"].startswith("run `dagforge build`") for d in doc["diagnostics"])
    r = run_main("check", "specs", "-o", "out", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines() == [
        "::error file=specs/a.yaml,title=dagforge%3A missing::out/a.py is missing: it is generated from this spec%0Ahint: run `dagforge build` on the same specs, with the same `-o`",
        "::error file=out/b.py,title=dagforge%3A orphaned::out/b.py is orphaned: its spec specs/b.yaml is gone%0Ahint: run `dagforge build` on the same specs, with the same `-o` (it removes the file)",
    ]


def test_usage_problem_in_json(tmp_path):
    r = run_main("validate", "nope", "--format", "json", cwd=tmp_path)
    assert r.returncode == 2
    doc = json.loads(r.stdout)
    assert doc["diagnostics"] == [
        {
            "file": "nope",
            "line": 0,
            "column": 0,
            "severity": "error",
            "code": "usage",
            "message": "no such file or folder",
            "hint": "",
        }
    ]


def test_internal_error_in_json_and_github(tmp_path, write_spec, monkeypatch, capsys):
    import dagforge.render as render_step
    from dagforge import cli

    write_spec(GOOD, "boom.yaml")

    def broken(p, airflow):  # a stand-in for a dagforge bug
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(render_step, "render", broken)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["build", "specs", "-o", "out", "--no-verify", "--format", "json"]) == 3
    doc = json.loads(capsys.readouterr().out)
    assert doc["diagnostics"][0]["code"] == "internal"
    assert doc["diagnostics"][0]["message"] == "internal error: ZeroDivisionError: division by zero"
    assert doc["specs"][0]["status"] == "internal-error"
    assert cli.main(["build", "specs", "-o", "out", "--no-verify", "--format", "github"]) == 3
    assert capsys.readouterr().out.startswith(
        "::error file=specs/boom.yaml,title=dagforge%3A internal::internal error"
    )
