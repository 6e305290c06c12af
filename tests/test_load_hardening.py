"""Hostile or odd spec files and paths: each ends in a clear error, never a hang, a crash or a file
read whole into memory (tests/broken/load_*.yaml hold the cases a static file can show)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_main

import dagforge
from dagforge.load import MAX_BYTES, MAX_DEPTH, LoadError, display_path, load

SPEC = "start_date: 2024-01-01\ntasks:\n  a: {operator: bash, bash_command: 'echo a'}\n"
DAGFORGE = Path(sys.executable).with_name("dagforge")


def _run(*args, cwd, timeout=60):
    """`dagforge ARGS` in a subprocess that may not hang: a timeout fails the test instead."""
    return subprocess.run(
        [str(DAGFORGE), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _load_in_child(path: Path, cwd: Path, env=None) -> str:
    """The message of load(path), run in a child process with a timeout and a memory limit, so a
    load that waits forever or reads without end fails the test rather than the machine."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from dagforge.load import LoadError, load\n"
        "try:\n    load(sys.argv[1])\nexcept LoadError as e:\n    print(e.diagnostic.message)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(path)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return r.stdout.strip()


def test_a_nul_byte_in_the_text_is_a_located_error(tmp_path):
    (tmp_path / "nul.yaml").write_text(SPEC.replace("echo a", "echo \x00a"))
    r = run_main("validate", "nul.yaml", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "nul.yaml:3:43: error: control character U+0000 is not allowed in YAML" in r.stderr


def test_a_file_larger_than_the_limit_is_refused_without_reading_it(tmp_path):
    big = tmp_path / "big.yaml"
    with open(big, "wb") as f:  # sparse: 300 MB that take no disk
        f.truncate(300 * 1024 * 1024)
    # The peak memory of `dagforge validate` alone, measured by a parent that runs only it.
    code = (
        "import resource, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(r.stderr)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, str(DAGFORGE), "validate", "big.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    status, peak_kib = map(int, r.stdout.split("\n", 1)[0].split())
    assert status == 1, r.stdout
    assert f"big.yaml:1:1: error: file is {300 * 1024 * 1024} bytes" in r.stdout
    assert peak_kib < 200 * 1024, f"peak {peak_kib} KiB: the file was read"


def test_a_fifo_or_a_device_is_refused_before_reading(tmp_path):
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)  # opening it for reading would wait for a writer forever
    (tmp_path / "zero.yaml").symlink_to("/dev/zero")  # reading it would never end
    assert (
        _load_in_child(fifo, tmp_path) == "cannot read the file: it is a FIFO, not a regular file"
    )
    assert _load_in_child(tmp_path / "zero.yaml", tmp_path) == (
        "cannot read the file: it is a device or socket, not a regular file"
    )


def test_a_file_longer_than_its_size_says_is_read_no_further_than_the_limit(tmp_path):
    # /proc files say they are 0 bytes long and are not: what is read counts, not what stat says.
    padding = {f"PADDING{i}": "x" * 100_000 for i in range(MAX_BYTES // 100_000 + 1)}
    assert _load_in_child(Path("/proc/self/environ"), tmp_path, padding) == (
        f"file is more than {MAX_BYTES} bytes, the most a spec may be"
    )


def test_merge_keys_count_against_the_alias_budget_also_in_a_defaults_file(tmp_path):
    merge = "x0: &x0 {k: 1}\n" + "".join(
        f"x{i}: &x{i} {{<<: [*x{i - 1}, *x{i - 1}]}}\n" for i in range(1, 41)
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "defaults.yaml").write_text(merge)
    (tmp_path / "specs" / "pipe.yaml").write_text(SPEC)
    r = _run("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert re.search(
        r"specs/defaults.yaml:\d+:5: error: the spec expands to more than 100000 ", r.stderr
    )


def test_a_merge_or_alias_that_contains_itself_is_too_deep(tmp_path):
    for text in ("d: &a [*a]\n", "d: &a {<<: *a}\n"):
        (tmp_path / "self.yaml").write_text(SPEC + text)
        with pytest.raises(LoadError) as e:
            load(tmp_path / "self.yaml")
        assert e.value.diagnostic.message == (
            "lists and mappings are nested more than 100 levels deep"
        )


def test_nesting_deeper_than_libyaml_allows_is_located_at_the_limit(tmp_path):
    # libyaml gives up at 1000 levels itself; the error still names dagforge's limit, at its level.
    (tmp_path / "deep.yaml").write_text(SPEC + "tags: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(LoadError) as e:
        load(tmp_path / "deep.yaml")
    d = e.value.diagnostic
    assert (d.line, d.column) == (4, 107)
    assert d.message == "lists and mappings are nested more than 100 levels deep"


def test_nesting_up_to_the_limit_is_built(tmp_path):
    deep = "[" * 95 + "]" * 95
    (tmp_path / "deep.yaml").write_text(
        "start_date: 2024-01-01\ntasks:\n  a:\n    operator: python\n"
        f"    python_callable: m:f\n    op_kwargs: {{x: {deep}}}\n"
    )
    r = _run("build", "deep.yaml", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    compile((tmp_path / "out" / "deep.py").read_text(), "deep.py", "exec")


@pytest.mark.parametrize("opening", ["[", "{k: "])
@pytest.mark.parametrize("leaf", ["text", "'quoted'", "5"])
def test_a_value_in_the_deepest_list_or_mapping_is_one_level_too_deep(tmp_path, opening, leaf):
    # (load takes most text values a quicker way than other values: the limit holds for all.)
    closing = "]" if opening == "[" else "}"
    for levels in (MAX_DEPTH - 1, MAX_DEPTH):  # `d:` is the first level, the leaf the last
        (tmp_path / "deep.yaml").write_text(
            SPEC + "d: " + opening * levels + leaf + closing * levels + "\n"
        )
        if levels < MAX_DEPTH:
            doc = load(tmp_path / "deep.yaml")
            assert len(max(doc.positions, key=len)) == MAX_DEPTH
            continue
        with pytest.raises(LoadError) as e:
            load(tmp_path / "deep.yaml")
        d = e.value.diagnostic
        assert d.message == "lists and mappings are nested more than 100 levels deep"
        assert (d.line, d.column) == (4, 4 + len(opening) * levels)  # at the leaf


@pytest.mark.parametrize(
    "name", ["x.yaml", "a/x.yaml", "a/../x.yaml", "a/../../x.yaml", "../x.yaml", "..x/y", "a/..b"]
)
def test_a_path_is_shown_relative_to_the_working_folder_when_inside_it(tmp_path, monkeypatch, name):
    # display_path says the usual case a quicker way: it must agree with the general one.
    (tmp_path / "a").mkdir()
    for here in (tmp_path, tmp_path / "a", Path("/")):
        monkeypatch.chdir(here)
        for path in (Path(name), tmp_path / name, Path("/") / name, Path("//") / name):
            inside = path.is_relative_to(Path.cwd())
            expected = Path(os.path.relpath(path)).as_posix() if inside else path.as_posix()
            assert display_path(path) == expected, (here, path)


def test_the_loader_tags_every_value_as_pyyaml_s_safe_loader_does():
    # load's loader resolves tags its own, quicker way (and remembers them): the same tags.
    import yaml

    from dagforge.load import _Loader

    values = "~ null Null '' 1 -1 +1 010 0o7 0x1F 1_000 0b1 1e3 1.5 .5 -.inf .NaN 2:00 2024-01-01"
    values += " 2024-01-01t10:00:00Z on off yes No y n true FALSE << = text operator o t"
    text = "".join(f"- {v}\n- '{v}'\n- !!str {v}\n- [{v}]\n- {{{v}: x}}\n" for v in values.split())

    def tags(node):
        if isinstance(node, yaml.ScalarNode):
            return [(node.tag, node.value)]
        items = node.value if isinstance(node, yaml.SequenceNode) else sum(node.value, ())
        return [node.tag, *(tag for item in items for tag in tags(item))]

    expected = tags(yaml.compose(text, Loader=yaml.SafeLoader))
    assert len(expected) > 200
    for _ in range(2):  # the second time from its memory
        assert tags(yaml.compose(text, Loader=_Loader)) == expected


@pytest.mark.parametrize("digits", ["9" * 5000, "0x" + "f" * 4000])  # 4816 digits in decimal
def test_an_integer_too_long_to_print_is_refused_at_its_line(tmp_path, digits):
    (tmp_path / "int.yaml").write_text(SPEC + f"retries: {digits}\n")
    r = _run("build", "int.yaml", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "int.yaml:4:10: error: the integer has more than 4300 digits" in r.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "value, message",
    [
        ("yes", "`yes` is true in YAML 1.1 but the text 'yes' in YAML 1.2"),
        ("OFF", "`OFF` is false in YAML 1.1 but the text 'OFF' in YAML 1.2"),
        ("0b11", "`0b11` is 3 in YAML 1.1 but the text '0b11' in YAML 1.2"),
        ("1_000", "`1_000` is 1000 in YAML 1.1 but the text '1_000' in YAML 1.2"),
        ("1e3", "`1e3` is the text '1e3' in YAML 1.1 but 1000.0 in YAML 1.2"),
        ("0o17", "`0o17` is the text '0o17' in YAML 1.1 but 15 in YAML 1.2"),
        ("=", "`=` is a '!!value' in YAML 1.1 but the text '=' in YAML 1.2"),
    ],
)
def test_a_plain_value_yaml_1_1_and_1_2_read_differently_is_refused(tmp_path, value, message):
    (tmp_path / "v.yaml").write_text(SPEC + f"description: {value}\n")
    with pytest.raises(LoadError) as e:
        load(tmp_path / "v.yaml")
    d = e.value.diagnostic
    assert (d.line, d.column, d.message) == (4, 14, message)
    assert f"in quotes ('{value}')" in d.hint


@pytest.mark.parametrize(
    "text", ["'yes'", '"on"', "!!str off", "true", "07", "0x1F", "1.5", "2024-01-01", "~"]
)
def test_a_value_both_versions_read_alike_is_kept(tmp_path, text):
    (tmp_path / "v.yaml").write_text(SPEC + f"description: {text}\n")
    load(tmp_path / "v.yaml")


def _problems(r) -> list[str]:
    return [line for line in r.stderr.splitlines() if ": error: " in line]


def test_a_spec_linked_from_outside_the_folder_given_is_refused(tmp_path):
    specs, other = tmp_path / "specs", tmp_path / "other"
    specs.mkdir()
    other.mkdir()
    (specs / "good.yaml").write_text(SPEC)
    (other / "real.yaml").write_text(SPEC)
    (specs / "passwd.yaml").symlink_to("/etc/passwd")
    (specs / "outside.yaml").symlink_to("../other/real.yaml")
    (specs / "inside.yaml").symlink_to("good.yaml")  # inside the folder: the same spec, once
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    leads = "error: the path leads (through a symlink) to"
    assert _problems(r) == [
        f"specs/outside.yaml: {leads} {(other / 'real.yaml').as_posix()}, outside specs",
        f"specs/passwd.yaml: {leads} /etc/passwd, outside specs",
    ]
    assert "root:" not in r.stderr  # nothing of the file it points to
    assert "1 spec valid, 0 invalid" in r.stderr
    # Named alone, a file's folder is its own: a link out of it is refused just the same.
    r = run_main("validate", "specs/passwd.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "outside specs" in r.stderr and "root:" not in r.stderr
    assert run_main("validate", "specs/inside.yaml", cwd=tmp_path).returncode == 0


def test_a_defaults_file_linked_from_outside_is_refused(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "pipe.yaml").write_text(SPEC)
    (tmp_path / "specs" / "defaults.yaml").symlink_to("/etc/passwd")
    r = run_main("validate", "specs", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert (
        "specs/defaults.yaml: error: the path leads (through a symlink) to /etc/passwd" in r.stderr
    )
    assert "root:" not in r.stderr


@pytest.mark.parametrize("char", ["\n", "\r", "\x1b", "\x85", "\u2028", "\u2029"])
def test_a_control_character_in_a_path_is_refused_and_shown_escaped(tmp_path, char):
    shown = repr(char)[1:-1]
    (tmp_path / "specs" / f"dir{char}x").mkdir(parents=True)
    (tmp_path / "specs" / f"dir{char}x" / "a.yaml").write_text(SPEC)
    (tmp_path / "specs" / f"b{char}.yaml").write_text(SPEC.replace("a:", "b:"))
    (tmp_path / "specs" / "good.yaml").write_text(SPEC)
    r = run_main("build", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 2, r.stderr
    assert f"b{char}" not in r.stderr + r.stdout and f"dir{char}" not in r.stderr + r.stdout
    code = f"U+{ord(char):04X}"
    assert _problems(r) == [
        f"specs/b{shown}.yaml: error: the path holds the control character {code}",
        f"specs/dir{shown}x/a.yaml: error: the path holds the control character {code}",
    ]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.py")) == ["good.py"]


def test_a_path_given_with_a_control_character_is_shown_escaped(tmp_path):
    result = dagforge.validate([tmp_path / "a\x00b.yaml", tmp_path / "new\nline.yaml"])
    assert [p.path.rsplit("/", 1)[-1] for p in result.problems] == [
        "a\\x00b.yaml",
        "new\\nline.yaml",
    ]
    with pytest.raises(LoadError) as e:  # the library's load refuses it too
        load(tmp_path / "new\nline.yaml")
    assert "\n" not in e.value.diagnostic.path
