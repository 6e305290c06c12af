"""Rendering: deterministic bytes, spec text only ever as Python literals, checked in the real DagBag."""

import ast

import yaml
from conftest import ROOT, load_dagbag
from hypothesis import given
from hypothesis import strategies as st

import dagforge
from dagforge.render import py

# Any unicode but NUL and lone surrogates, as in test_injection.py.
CHARS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")

HOSTILE = [
    "it's \"quoted\" '''triple''' \"\"\"",
    "back\\slash \\n not a newline \\",
    "line one\nline two\r\nthree\ttab",
    "{{ ds }} {% if x %}jinja{% endif %} {# c #}",
    "'); __import__('os').system('touch PWNED'); ('",
    '"""); import os; os.system(\'touch PWNED\') #',
    "ünïcödé ✓ 日本語 \u2028 \u200b emoji 🚀",
    "\x01\x7f control",
    'f\'{__import__("os").system("touch PWNED")}\'',
]


def _spec(strings):
    return {
        "dag_id": "hostile",
        "description": strings[0],
        "owner": strings[1],
        "start_date": "2024-01-01",
        "tags": strings[:5],
        "tasks": {
            f"t{i}": {"operator": "bash", "bash_command": s, "env": {"V": s, s[:10] or "k": "v"}}
            for i, s in enumerate(strings)
        }
        | {
            "mail": {
                "operator": "email",
                "to": "a@example.com",
                "subject": strings[2],
                "html_content": strings[3],
            },
            "full_path": {
                "operator": "airflow.providers.standard.operators.bash.BashOperator",
                "bash_command": strings[4],
                "cwd": strings[5],
            },
        },
    }


def test_hostile_strings_come_out_equal_and_run_nothing(tmp_path, monkeypatch):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(yaml.safe_dump(_spec(HOSTILE), allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)
    result = dagforge.build([spec], out, verify=True)
    assert result.ok, [d.format() for d in result.specs[0].diagnostics]
    bag = load_dagbag(out)
    assert not bag.import_errors and not bag.captured_warnings
    dag = bag.dags["hostile"]
    assert dag.description == HOSTILE[0]
    assert dag.owner == HOSTILE[1]
    assert set(dag.tags) == set(HOSTILE[:5])
    for i, s in enumerate(HOSTILE):
        task = dag.task_dict[f"t{i}"]
        assert task.bash_command == s
        assert task.env == {"V": s, s[:10] or "k": "v"}
    assert dag.task_dict["mail"].subject == HOSTILE[2]
    assert dag.task_dict["mail"].html_content == HOSTILE[3]
    assert dag.task_dict["full_path"].bash_command == HOSTILE[4]
    assert dag.task_dict["full_path"].cwd == HOSTILE[5]
    assert not list(tmp_path.rglob("PWNED")) and not (ROOT / "PWNED").exists()


def test_generated_module_runs_only_the_dag_definition(tmp_path):
    spec = tmp_path / "hostile.yaml"
    spec.write_text(yaml.safe_dump(_spec(HOSTILE), allow_unicode=True), encoding="utf-8")
    result = dagforge.build([spec], tmp_path / "out", verify=False)
    tree = ast.parse(result.specs[0].code)
    top = [type(node).__name__ for node in tree.body]
    assert set(top) <= {"ImportFrom", "Import", "With", "ClassDef"}
    # every string in the module is a constant: no f-strings, no calls built from spec text
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)]
    calls = {
        n.func.id if isinstance(n.func, ast.Name) else n.func.attr
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
    }
    assert calls <= {"DAG", "BashOperator", "EmailOperator", "datetime", "timedelta"}


def test_same_specs_same_bytes(tmp_path):
    a = dagforge.build([ROOT / "specs"], tmp_path / "a", verify=False)
    b = dagforge.build([ROOT / "specs"], tmp_path / "b", verify=False)
    assert a.ok and b.ok
    for spec_a, spec_b in zip(a.specs, b.specs, strict=True):
        assert spec_a.output.read_bytes() == spec_b.output.read_bytes()


def test_py_literals_round_trip():
    values = [
        "x",
        "a'b\"c",
        "\n",
        0,
        -3,
        1.5,
        True,
        False,
        None,
        [1, "a"],
        {"k": ["v", {"n": None}]},
        float("inf"),
        float("-inf"),
    ]
    for value in values:
        assert eval(py(value), {}) == value
    assert eval(py(float("nan")), {}) != eval(py(float("nan")), {})  # nan is nan


def test_task_ids_that_are_not_identifiers(tmp_path):
    spec = tmp_path / "odd.yaml"
    spec.write_text(
        "start_date: 2024-01-01\ntasks:\n"
        "  load-data.v2: {operator: empty}\n  class: {operator: empty, dependencies: [load-data.v2]}\n"
        "  dag: {operator: empty, dependencies: [class]}\n  1st: {operator: empty, dependencies: [dag]}\n"
        "  load_data_v2: {operator: empty}\n"
    )
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok, [d.format() for d in result.specs[0].diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["odd"]
    assert dag.task_dict["1st"].upstream_task_ids == {"dag"}
    assert dag.task_dict["class"].upstream_task_ids == {"load-data.v2"}


def test_task_calls_are_laid_out_as_black_lays_them_out(tmp_path):
    """A task call is one line when it fits in black's 88 columns, else one argument per line: the
    template writes black's own layout, so black has nothing to change (and formats each file once)."""
    from dagforge.format import format_source
    from dagforge.load import load
    from dagforge.model import build_model
    from dagforge.render import render

    one_line = '    t = BashOperator(task_id="t", bash_command="{}")'
    room = 88 - len(one_line.format(""))
    for width in (room - 1, room, room + 1):
        command = "x" * width
        spec = tmp_path / f"w{width}.yaml"
        spec.write_text(
            "start_date: 2024-01-01\nretries: 1\nalerts: {emails: [a@example.com]}\ntasks:\n"
            f"  t: {{operator: bash, bash_command: {command}}}\n"
            "  u: {operator: empty, dependencies: [t]}\n"
        )
        p = build_model(load(spec))
        p.input_sha256 = "0" * 64
        source = render(p)
        assert format_source(source) == source
        fits = one_line.format(command) in source.splitlines()
        assert fits == (width <= room)
        assert ('    t = BashOperator(\n        task_id="t",\n' in source) == (not fits)


# Text of several lines, built to reach both forms and every reason for the plain one: lines of
# quotes (one at the end, three in a row), of backslashes, of characters a block writes as
# themselves (the ones repr() leaves alone), of those and the characters that escape or end a
# literal, of any character.
QUOTES = st.sampled_from(["a", " ", '"', '""', '"""', "'", "é"])
ESCAPES = st.sampled_from(["a", " ", "\\", "\\n", "\\N{DASH}", "\\x41"])
PLAIN = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"))
TRICKY = st.sampled_from(['"', "\\", "\r", "\n", "'", "\u2028", "\u202e", "\t", " "])
LINE = st.one_of(
    st.lists(QUOTES, max_size=6).map("".join),
    st.lists(ESCAPES, max_size=4).map("".join),
    st.text(PLAIN | st.just(" "), max_size=40),
    st.text(PLAIN | TRICKY, max_size=12),
    st.text(CHARS, max_size=20),
)
END = st.sampled_from(["", "\n", '"'])  # as its last line does, a line break, a quote
LINES = st.tuples(st.lists(LINE, min_size=1, max_size=6).map("\n".join), END).map("".join)


@given(text=LINES | st.text(CHARS))
def test_any_text_round_trips_through_the_block_literal(text):
    """A text written as a triple-quoted block (or, where that cannot be exact, by repr) is exactly
    the text again, and only a string constant: no other code."""
    source = py(text, block=True)
    tree = ast.parse(source, mode="eval")
    assert isinstance(tree.body, ast.Constant)
    assert eval(compile(tree, "<literal>", "eval"), {}) == text
    exact = all(c == "\n" or (c.isprintable() and c != "\\") for c in text)
    block = "\n" in text.rstrip("\n") and exact and '"""' not in text and not text.endswith('"')
    assert source.startswith('"""\\\n') == block
    if not block:
        assert source == py(text)  # the plain literal, repr's escapes and all


def test_several_lines_are_a_block_when_exact_else_repr():
    block = py("## Notes\n\nSome *text*, 'quoted' and \"double\".\n", block=True)
    assert block == '"""\\\n## Notes\n\nSome *text*, \'quoted\' and "double".\n"""'
    assert py("no break at the end\nsecond", block=True) == '"""\\\nno break at the end\nsecond"""'
    for text in ['a """ b\nc', "a\\b\nc", "a\r\nb", 'a\nends in a quote"', "a\u2028\nb", "a\tb\nc"]:
        assert py(text, block=True) == py(text) and eval(py(text)) == text
    assert py("one line\n", block=True) == '"one line\\n"'
    assert py(["a\nb"], block=True) == '["a\\nb"]'  # only the value itself, never what is inside


MULTI = """
dag_id: texts
description: |
  What it does,
  on two lines.
doc_md: |
  ## Runbook

  If `load` fails, re-run it: it is idempotent. "Quoted", 'single', {{ ds }}, and more.
  - one
  - two
start_date: 2024-01-01
retries: 1
tasks:
  script:
    operator: bash
    bash_command: |
      set -euo pipefail
      echo "start {{ ds }}"
  g:
    defaults: {retries: 2}
    tasks:
      mapped:
        operator: bash
        env: {A: "x\\ny"}
        cwd: "/tmp\\nnot a block: a line break inside a mapping"
        expand: {bash_command: ["echo 1", "echo 2"]}
      short: {operator: bash, bash_command: "a\\nb"}
  escaped:
    operator: bash
    bash_command: "printf 'a\\\\n'\\nexit 0\\r\\n"
"""


def test_texts_of_several_lines_are_blocks_black_keeps_and_airflow_reads_exactly(tmp_path):
    from dagforge.format import format_source
    from dagforge.load import load
    from dagforge.model import build_model
    from dagforge.render import render

    spec = tmp_path / "texts.yaml"
    spec.write_text(MULTI.lstrip(), encoding="utf-8")
    p = build_model(load(spec))
    p.input_sha256 = "0" * 64
    source = render(p)
    assert format_source(source) == source  # black has nothing to change
    assert '    doc_md="""\\\n## Runbook\n\nIf `load` fails' in source
    assert '    description="""\\\nWhat it does,\non two lines.\n""",\n' in source
    assert '        bash_command="""\\\nset -euo pipefail\necho "start {{ ds }}"\n""",\n' in source
    assert '            bash_command="""\\\na\nb""",\n' in source
    assert "bash_command=\"printf 'a\\\\n'\\nexit 0\\r\\n\"" in source  # a backslash: repr
    result = dagforge.build([spec], tmp_path / "out", verify=True)
    assert result.ok and result.verified, [d.format() for d in result.specs[0].diagnostics]
    dag = load_dagbag(tmp_path / "out").dags["texts"]
    data = yaml.safe_load(MULTI)
    assert dag.doc_md == data["doc_md"] and dag.description == data["description"]
    assert dag.task_dict["script"].bash_command == data["tasks"]["script"]["bash_command"]
    assert dag.task_dict["g.short"].bash_command == "a\nb"
    assert dag.task_dict["escaped"].bash_command == "printf 'a\\n'\nexit 0\r\n"
