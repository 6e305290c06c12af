"""A value in a spec reaches the terminal or a CI log as text, never as a control sequence: no raw
ESC (terminal commands), no line break (a forged `::error` workflow command), no bidi override.
And an excerpt is the offending line only, cut around the column when it is long."""

from conftest import run_main

from dagforge.diagnostics import EXCERPT_WIDTH, Diagnostic, visible

# Double-quoted YAML escapes: the loaded values hold the raw characters.
HOSTILE = r"""start_date: 2024-01-01
owner: ["x\n::error file=README.md,line=1::fake\x1b[31mred"]
tasks:
  "a\x1b]0;title\x07\n::error::x": {operator: empty}
  b: {operator: empty, "k\u2028::error::y\u202e\x9b2J": 1}
"""
RAW = ("\x1b", "\x07", "\x9b", "\u2028", "\u202e", "\r")


def test_text_output_escapes_control_characters(tmp_path, write_spec):
    write_spec(HOSTILE)
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1
    assert not any(c in r.stderr + r.stdout for c in RAW)
    assert not any(line.startswith("::") for line in r.stderr.splitlines())
    assert r"error: 'a\x1b]0;title\x07\n::error::x' is not a valid name here" in r.stderr
    assert r"unknown key 'k\u2028::error::y\u202e\x9b2J' in task 'b'" in r.stderr


def test_github_output_is_one_command_per_diagnostic(tmp_path, write_spec):
    write_spec(HOSTILE)
    r = run_main("validate", "specs", "--format", "github", cwd=tmp_path)
    assert r.returncode == 1
    assert not any(c in r.stdout for c in RAW)
    lines = r.stdout.splitlines()
    assert len(lines) == 3 and all(
        line.startswith("::error file=specs/pipe.yaml,") for line in lines
    )
    assert r"::'a\x1b]0;title\x07\n::error::x' is not a valid name here%0Ahint: " in lines[1]


def test_the_caret_stays_under_the_column_of_an_escaped_line():
    line = "\tkey: \x1b[2J\u202e value"
    d = Diagnostic("s.yaml", 1, line.index("value") + 1, "m")
    _, shown, caret = d.format([line]).splitlines()
    assert shown == r"  1 | \tkey: \x1b[2J\u202e value"
    assert shown[caret.index("^") :].startswith("value")


def test_a_long_line_is_cut_around_the_column(tmp_path, write_spec):
    long = "y" * 500
    write_spec(
        f'start_date: 2024-01-01\ntasks:\n  a: {{operator: bash, bash_command: "{long}", nope: 1}}'
        f"  # {'z' * 300}\n"
    )
    r = run_main("validate", "specs", cwd=tmp_path)
    _, shown, caret = r.stderr.splitlines()[:3]
    text = shown.split(" | ", 1)[1]
    assert text.startswith("…") and text.endswith("…") and len(text) == EXCERPT_WIDTH + 2
    assert shown[caret.index("^") :].startswith("nope: 1")


def test_the_start_and_end_of_a_long_line_are_cut_on_one_side_only():
    line = "x" + "k" * 998 + "y"
    for column, first, last in ((1, "x", "…"), (1000, "…", "y")):
        _, shown, caret = Diagnostic("s.yaml", 1, column, "m").format([line]).splitlines()
        text = shown.split(" | ", 1)[1]
        assert (text[0], text[-1], len(text)) == (first, last, EXCERPT_WIDTH + 1)
        assert shown[caret.index("^")] == line[column - 1]


def test_an_excerpt_is_the_offending_line_only(tmp_path, write_spec):
    # YAML counts a raw U+2028 as a line break, as str.splitlines does: the excerpt is line 4.
    write_spec('start_date: 2024-01-01\ndescription: "one\u2028two"\nowner: [1]\ntasks: {a: {}}\n')
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.stderr.splitlines()[:3] == [
        "specs/pipe.yaml:4:8: error: owner must be text, not a list",
        "  4 | owner: [1]",
        "             ^",
    ]
    d = Diagnostic("s.yaml", 1, 3, "m", "h")
    assert d.format(["a:\rb\u2029c\x85d"]).splitlines() == [
        "s.yaml:1:3: error: m",
        r"  1 | a:\rb\u2029c\x85d",
        "        ^",
        "  hint: h",
    ]


def test_visible_keeps_ordinary_text():
    text = "Zürich, 東京, emoji 👍, quotes '\"`, backslash C:\\dir, 100% done"
    assert visible(text) == text


def test_explain_escapes_values(tmp_path, write_spec):
    spec = write_spec(
        'start_date: 2024-01-01\ndescription: "x\\x1b[2J\\n::error::forged"\n'
        'tasks:\n  a: {operator: empty, trigger_rule: all_done, outlets: ["p\\x1b]0;t\\x07"]}\n'
    )
    r = run_main("explain", spec, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert not any(c in r.stdout for c in RAW)
    assert not any(line.startswith("::") for line in r.stdout.splitlines())
    assert r"pipe: x\x1b[2J\n::error::forged" in r.stdout and r"p\x1b]0;t\x07" in r.stdout
