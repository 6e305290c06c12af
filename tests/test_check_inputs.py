"""`dagforge check` names the input that made a file stale: the spec, an environment variable it
substitutes, a defaults.yaml it inherits, its doc_md file, or dagforge itself (the header's
inputs-sha256 line), not the spec when only something else changed."""

import json

from conftest import run_main

from dagforge import stamp

SPEC = (
    "start_date: 2024-01-01\n"
    "doc_md: {file: NOTES}\n"
    "tasks:\n"
    "  hello: {operator: bash, bash_command: 'echo ${TARGET}'}\n"
)
STALE = "specs/a.yaml: error: out/a.py is stale: "


def _setup(tmp_path, notes="notes.md"):
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "defaults.yaml").write_text("retries: 1\n")
    (specs / notes).write_text("# Notes\n")
    (specs / "a.yaml").write_text(SPEC.replace("NOTES", json.dumps(notes)))
    r = run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path, env={"TARGET": "one"})
    assert r.returncode == 0, r.stderr
    assert _check(tmp_path).returncode == 0
    return specs


def _check(tmp_path, target="one"):
    return run_main("check", "specs", "-o", "out", cwd=tmp_path, env={"TARGET": target})


def _why(r) -> str:
    assert r.returncode == 1, r.stderr
    return next(line for line in r.stderr.splitlines() if line.startswith(STALE))[len(STALE) :]


def test_environment_variable_named(tmp_path):
    _setup(tmp_path)
    why = _why(_check(tmp_path, target="two"))
    assert why == "the environment variable TARGET changed since it was generated"


def test_unset_environment_variable_named(tmp_path):
    specs = _setup(tmp_path)
    (specs / "a.yaml").write_text(SPEC.replace("NOTES", "notes.md").replace("}'", ":-x}'"))
    run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path, env={"TARGET": "one"})
    r = run_main("check", "specs", "-o", "out", cwd=tmp_path, env={"TARGET": None})
    assert _why(r) == "the environment variable TARGET changed since it was generated"


def test_defaults_file_named(tmp_path):
    specs = _setup(tmp_path)
    (specs / "defaults.yaml").write_text("retries: 2\n")
    assert _why(_check(tmp_path)) == "specs/defaults.yaml changed since it was generated"


def test_doc_md_file_named(tmp_path):
    specs = _setup(tmp_path)
    (specs / "notes.md").write_text("# Other notes\n")
    assert _why(_check(tmp_path)) == "specs/notes.md changed since it was generated"


def test_spec_named(tmp_path):
    specs = _setup(tmp_path)
    (specs / "a.yaml").write_text(SPEC.replace("NOTES", "notes.md").replace("echo", "echo hi"))
    assert _why(_check(tmp_path)) == "specs/a.yaml changed since it was generated"


def test_several_inputs_named_together(tmp_path):
    specs = _setup(tmp_path)
    (specs / "defaults.yaml").write_text("retries: 2\n")
    (specs / "notes.md").write_text("# Other notes\n")
    assert _why(_check(tmp_path, target="two")) == (
        "the environment variable TARGET, specs/defaults.yaml and specs/notes.md changed since it "
        "was generated"
    )


def test_hostile_file_name_stays_one_comment_and_is_named(tmp_path):
    name = "n o'te\"s=x\u2028.md"  # a space, quotes, `=` and a line separator of Python's
    specs = _setup(tmp_path, notes=name)
    text = (tmp_path / "out" / "a.py").read_text()
    line = next(x for x in text.splitlines() if x.startswith("# inputs-sha256: "))
    assert "\u2028" not in line and f"doc_md:{name}" in stamp.read_stamp(text).inputs
    (specs / name).write_text("# Other notes\n")
    shown = name.replace("\u2028", "\\u2028")  # messages escape it too
    assert _why(_check(tmp_path)) == f"specs/{shown} changed since it was generated"


def test_header_without_the_inputs_line_keeps_the_old_message(tmp_path):
    specs = _setup(tmp_path)
    out = tmp_path / "out" / "a.py"
    text = out.read_text()
    old = "".join(x for x in text.splitlines(keepends=True) if not x.startswith("# inputs-sha256:"))
    out.write_text(stamp.seal(old))  # as an older dagforge wrote it
    (specs / "notes.md").write_text("# Other notes\n")
    assert _why(_check(tmp_path)) == (
        "specs/a.yaml (or dagforge's version or templates) changed since it was generated"
    )


def test_check_from_another_folder_finds_nothing_stale(tmp_path):
    # the defaults.yaml a spec inherits is named from the spec's folder, not the working folder;
    # in the build's own process too, where dagforge keeps what it read of defaults.yaml
    _setup(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    r = run_main(
        "check", "../specs", "-o", "../out", cwd=tmp_path / "elsewhere", env={"TARGET": "one"}
    )
    assert r.returncode == 0, r.stderr
