"""Each validation rule: a spec with one mistake, the exact line and column, the message and the hint."""

from pathlib import Path

import pytest
from conftest import run_cli

import dagforge

HEAD = "start_date: 2024-01-01\n"
TASK = "tasks:\n  a: {operator: bash, bash_command: 'echo a'}\n"
BROKEN = sorted((Path(__file__).parent / "broken").glob("*.yaml"))


def _expectation(path: Path) -> tuple[str, str]:
    """The first two lines of a broken spec: `# expect: LINE:COL: error: MESSAGE` and `# hint-contains: TEXT`."""
    lines = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace").splitlines()
    return lines[0].removeprefix("# expect: "), lines[1].removeprefix("# hint-contains: ")


def test_the_corpus_is_large():
    assert len(BROKEN) >= 30


@pytest.mark.parametrize("path", BROKEN, ids=lambda p: p.stem)
def test_broken_spec(path):
    expected, hint = _expectation(path)
    result = dagforge.validate([path])
    [spec] = result.specs
    assert not spec.ok and spec.internal_error is None
    found = {f"{d.line}:{d.column}: {d.severity}: {d.message}": d for d in spec.diagnostics}
    assert expected in found, list(found)
    d = found[expected]
    assert hint in d.hint
    formatted = d.format(spec.source_lines)
    assert formatted.startswith(f"{d.path}:{expected}")
    if d.line and spec.source_lines:  # the offending line, then a caret under the column
        shown, caret = formatted.splitlines()[1:3]
        assert shown.endswith(spec.source_lines[d.line - 1])
        assert caret.index("^") - caret.index("") == shown.index("|") + 1 + d.column


def test_the_whole_corpus_through_the_cli(tmp_path):
    r = run_cli("validate", *BROKEN, cwd=tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert f"0 specs valid, {len(BROKEN)} invalid" in r.stderr
    for path in BROKEN:
        assert f"{_expectation(path)[0]}" in r.stderr


def test_cycle_names_the_path_and_its_line(write_spec):
    text = (
        HEAD
        + "tasks:\n  a: {operator: empty, dependencies: [c]}\n  b: {operator: empty, dependencies: [a]}\n  c: {operator: empty, dependencies: [b]}\n"
    )
    [d] = [d for d in dagforge.validate([write_spec(text)]).specs[0].diagnostics]
    chain = d.message.removeprefix("dependency cycle: ").split(" -> ")
    assert chain[0] == chain[-1] and sorted(chain[:-1]) == ["a", "b", "c"]
    # it points at the dependency entry that names the first task of the chain in the second one's list
    upstream, task = chain[0], chain[1]
    line = text.splitlines()[d.line - 1]
    assert line.startswith(f"  {task}:") and line[d.column - 1 :].startswith(upstream)


def test_all_problems_of_a_spec_at_once(write_spec):
    text = (
        HEAD + "schedule: '61 * * * *'\ntimezone: Mars/Olympus\nretry_delay: soon\n"
        "tasks:\n  a: {operator: bash}\n  b: {operator: empty, dependencies: [z]}\n"
    )
    diags = dagforge.validate([write_spec(text)]).specs[0].diagnostics
    assert [d.line for d in diags] == [2, 3, 4, 6, 7]


def test_duplicate_dag_id_names_both_files(write_spec):
    a = write_spec("dag_id: same\n" + HEAD + TASK, "a.yaml")
    b = write_spec("dag_id: same\n" + HEAD + TASK, "b.yaml")
    result = dagforge.validate([a.parent])
    messages = {
        s.display.rsplit("/", 1)[-1]: [d.message for d in s.diagnostics] for s in result.specs
    }
    assert any("also used by" in m and "b.yaml" in m for m in messages["a.yaml"])
    assert any("also used by" in m and "a.yaml" in m for m in messages["b.yaml"])


def test_default_dag_id_is_the_file_name(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK, "my pipeline.yaml")])
    [d] = result.specs[0].diagnostics
    assert "the file name 'my pipeline' is not a valid dag_id" in d.message


def test_a_valid_spec_has_no_diagnostics(write_spec):
    result = dagforge.validate([write_spec(HEAD + TASK)])
    assert result.ok and result.specs[0].diagnostics == []
