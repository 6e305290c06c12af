"""`dagforge build` never costs a user a file, and no path becomes code in a generated file.

- the spec's path in the header is written as a Python string literal: one comment line, whatever
  characters the path holds;
- a file without dagforge's header is never overwritten or removed;
- which generated files are orphans does not depend on the working folder, and only files whose spec
  lies in the paths given are ever removed;
- one build of an output folder at a time (a lock), the second waits;
- an output folder that cannot be written is one line and exit 2, and leaves nothing half-written.
"""

import ast
import errno
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_cli, run_main
from filelock import FileLock

from dagforge import api, stamp
from dagforge.load import load
from dagforge.model import build_model

GOOD = "start_date: 2024-01-01\ntasks:\n  hello: {operator: bash, bash_command: 'echo NAME'}\n"
DAGFORGE = Path(sys.executable).with_name("dagforge")
LOCK_NAME = ".dagforge.lock"


def _py_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*.py"))


def _leftovers(folder: Path) -> list[str]:
    """Temporary files of a write that did not finish."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


# --- 1. the header carries data, never code -------------------------------------------------------

HOSTILE = [
    "../specs/x\nimport os; os.system('touch pwned')\n#.yaml",
    "../specs/x\rprint('carriage return')",
    "../specs/x\u2028print('line separator')",
    "../specs/x\x0cprint('form feed')",
    "../specs/x\x85print('next line')",
    "../specs/x\x00\x1b[2J",
    "../specs/\"x'\\\nprint('quotes and a backslash')",
    "../specs/x.\n",
    "../specs/\udcff\nprint('not UTF-8')",
]


@pytest.mark.parametrize("source", HOSTILE)
def test_a_hostile_spec_path_stays_one_comment_line(write_spec, source):
    doc = load(write_spec(GOOD.replace("NAME", "a"), "a.yaml"))

    def generated(name):
        p = build_model(doc)
        p.source = name
        p.input_sha256 = stamp.input_sha256(p.source, doc.text, "3")
        return api.generate(p)

    plain, hostile = generated("../specs/a.yaml"), generated(source)
    first, rest = hostile.split("\n", 1)
    assert first.isprintable(), first  # no line break of any kind, no control character
    assert stamp.read_stamp(first).source == source  # and it reads back exactly
    assert rest.startswith("# Do not edit")
    # Comments are not in the syntax tree: any statement the path smuggled in would be.
    assert ast.dump(ast.parse(hostile)) == ast.dump(ast.parse(plain))
    found = stamp.read_stamp(hostile)
    assert found.source == source and found.intact


def test_a_spec_folder_named_like_code_gives_no_code(tmp_path):
    """Through the real CLI: the folder name reaches the header (the path is relative to out/)."""
    plain, hostile = tmp_path / "plain", tmp_path / "specs\nimport os; os.system('touch pwned')\n#"
    for folder in (plain, hostile):
        folder.mkdir()
        (folder / "a.yaml").write_text(GOOD.replace("NAME", "a"))
    assert (
        run_main("build", "-v", plain, "-o", "expected", "--no-verify", cwd=tmp_path).returncode
        == 0
    )
    r = run_main("build", "-v", hostile, "-o", "out", "--no-verify", cwd=tmp_path)
    if r.returncode == 2:  # load refuses a path with a line break: nothing is built from it
        assert "the path holds the control character U+000A" in r.stderr
        assert not (tmp_path / "out" / "a.py").exists() and not (tmp_path / "pwned").exists()
        return
    assert r.returncode == 0, r.stderr
    text = (tmp_path / "out" / "a.py").read_text()
    assert ast.dump(ast.parse(text)) == ast.dump(
        ast.parse((tmp_path / "expected" / "a.py").read_text())
    )
    assert stamp.read_stamp(text).source.startswith("../specs\nimport os")
    assert run_main("check", hostile, "-o", "out", cwd=tmp_path).returncode == 0


# --- 2. a file dagforge did not write is never overwritten ----------------------------------------


def test_build_never_overwrites_a_file_it_did_not_write(tmp_path, write_spec):
    out = tmp_path / "out"
    out.mkdir()
    mine = out / "mine.py"
    mine.write_text("# my own DAG\nfrom airflow.sdk import DAG\n")
    (out / "theirs.py").write_text("print('theirs')\n")
    (out / "link.py").symlink_to("nowhere.py")  # a dangling link is someone's too
    write_spec(GOOD.replace("NAME", "mine"), "mine.yaml")
    write_spec("start_date: 2024-01-01\ndag_id: theirs\ntasks: {t: {operator: empty}}\n", "x.yaml")
    write_spec(GOOD.replace("NAME", "link"), "link.yaml")
    write_spec(GOOD.replace("NAME", "other"), "other.yaml")
    r = run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 1
    assert (
        "specs/mine.yaml: error: out/mine.py exists and was not written by dagforge: "
        "build does not overwrite it\n"
        "  hint: give this spec another dag_id, or move or delete out/mine.py yourself"
    ) in r.stderr
    assert "specs/x.yaml:2:1: error: out/theirs.py exists and was not written by dagforge" in (
        r.stderr
    )
    assert "specs/link.yaml: error: out/link.py exists and was not written by dagforge" in r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert r.stdout == "wrote out/other.py\n"  # the others are still built
    assert mine.read_text() == "# my own DAG\nfrom airflow.sdk import DAG\n"
    assert (out / "theirs.py").read_text() == "print('theirs')\n"
    assert os.readlink(out / "link.py") == "nowhere.py"
    # check names the same files; building again changes nothing; removing a spec removes nothing
    c = run_main("check", "specs", "-o", "out", cwd=tmp_path)
    assert c.returncode == 1 and "out/mine.py is not a dagforge file" in c.stderr
    (tmp_path / "specs" / "mine.yaml").unlink()
    assert (
        run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 1
    )
    assert mine.read_text() == "# my own DAG\nfrom airflow.sdk import DAG\n"
    # once the user moves their file away, the spec builds
    (out / "theirs.py").unlink()
    (out / "link.py").unlink()
    r = run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert _py_files(out) == ["link.py", "mine.py", "other.py", "theirs.py"]


# --- 3. orphans: the same from any working folder, only among the paths given -------------------


def _repo(tmp_path, names=("one", "two", "three")):
    specs = tmp_path / "repo" / "specs"
    specs.mkdir(parents=True)
    for n in names:
        (specs / f"{n}.yaml").write_text(GOOD.replace("NAME", n))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_main("build", "-v", "specs", "-o", "dags", "--no-verify", cwd=tmp_path / "repo")
    assert r.returncode == 0, r.stderr
    return specs, tmp_path / "repo" / "dags", elsewhere


def test_building_one_spec_from_another_folder_removes_nothing(tmp_path):
    specs, dags, elsewhere = _repo(tmp_path)
    header = (dags / "one.py").read_text().split("\n", 1)[0]
    assert re.fullmatch(r'# Generated by dagforge \S+ from "\.\./specs/one\.yaml"\.', header)
    r = run_main("build", "-v", specs / "three.yaml", "-o", dags, "--no-verify", "--force", cwd="/")
    assert r.returncode == 0, r.stderr
    assert "removed" not in r.stdout
    assert _py_files(dags) == ["one.py", "three.py", "two.py"]
    for given in (specs, specs / "three.yaml"):  # check agrees, from anywhere
        assert run_main("check", given, "-o", dags, cwd=elsewhere).returncode == 0
    # a spec that is gone but lies outside the paths given: its file stays, for build and check
    (specs / "one.yaml").unlink()
    c = run_main("check", specs / "three.yaml", "-o", dags, cwd=elsewhere)
    assert c.returncode == 0 and "orphaned" not in c.stderr
    r = run_main("build", "-v", specs / "three.yaml", "-o", dags, "--no-verify", cwd=elsewhere)
    assert r.returncode == 0 and _py_files(dags) == ["one.py", "three.py", "two.py"]
    # inside the paths given it is an orphan, from any working folder
    c = run_main("check", specs, "-o", dags, cwd=elsewhere)
    assert c.returncode == 1
    assert f"{dags}/one.py is orphaned: its spec {specs}/one.yaml is gone" in c.stderr
    r = run_main("build", "-v", specs, "-o", dags, "--no-verify", cwd=elsewhere)
    assert r.returncode == 0 and r.stdout == f"removed {dags}/one.py (its spec is gone)\n"
    assert _py_files(dags) == ["three.py", "two.py"]


def _make_legacy(path: Path, source: str) -> None:
    """Give a generated file the header of an older dagforge: the spec bare, relative to the working
    folder of that build (intact: sealed again)."""
    rest = path.read_text().split("\n", 1)[1]
    path.write_text(stamp.seal(f"# Generated by dagforge 0.0.9 from {source}.\n{rest}"))


def test_old_headers_are_rebuilt_and_removed_only_when_clearly_gone(tmp_path):
    specs, dags, elsewhere = _repo(tmp_path)
    _make_legacy(dags / "one.py", "specs/one.yaml")
    (dags / "gone.py").write_text((dags / "two.py").read_text())
    _make_legacy(dags / "gone.py", "specs/gone.yaml")
    # from another folder, the old relative paths are unknown: nothing is removed for them
    r = run_main("build", "-v", specs / "three.yaml", "-o", dags, "--no-verify", cwd=elsewhere)
    assert r.returncode == 0 and "removed" not in r.stdout
    r = run_main("build", "-v", specs, "-o", dags, "--no-verify", cwd=elsewhere)
    assert r.returncode == 0, r.stderr
    assert f"wrote {dags}/one.py" in r.stdout and "removed" not in r.stdout  # stale: rewritten
    assert (dags / "one.py").read_text().startswith('# Generated by dagforge 0.1.0 from "../specs')
    assert _py_files(dags) == ["gone.py", "one.py", "three.py", "two.py"]
    # from the folder they were written in, a spec that is gone from the paths given is clear
    c = run_main("check", "specs", "-o", "dags", cwd=tmp_path / "repo")
    assert "dags/gone.py is orphaned: its spec specs/gone.yaml is gone" in c.stderr
    r = run_main("build", "-v", "specs", "-o", "dags", "--no-verify", cwd=tmp_path / "repo")
    assert r.returncode == 0 and r.stdout == "removed dags/gone.py (its spec is gone)\n"


def test_an_old_header_of_an_invalid_spec_seen_from_its_folder_is_kept(tmp_path):
    """`specs/one.yaml`, read from inside specs/, names specs/specs/one.yaml, which is gone; but
    specs/one.yaml is there (invalid, so not rebuilt): the file is not clearly an orphan."""
    specs, dags, _ = _repo(tmp_path)
    _make_legacy(dags / "one.py", "specs/one.yaml")
    (specs / "one.yaml").write_text("start_date: 2024-01-01\ntasks: {}\n")
    r = run_main("build", "-v", ".", "-o", "../dags", "--no-verify", cwd=specs)
    assert r.returncode == 1 and "removed" not in r.stdout
    assert _py_files(dags) == ["one.py", "three.py", "two.py"]


# --- 4. one build of a folder at a time ----------------------------------------------------------


def test_two_builds_of_one_folder_at_once(tmp_path, write_spec):
    names = [f"p{i:02d}" for i in range(64)]
    for n in names:
        write_spec(GOOD.replace("NAME", n), f"{n}.yaml")
    for extra in ((), ("--force",)):
        procs = [
            subprocess.Popen(
                [DAGFORGE, "build", "-v", "specs", "-o", "out", "--no-verify", *extra],
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        results = [(p, *p.communicate(timeout=600)) for p in procs]
        for p, _, err in results:
            assert p.returncode == 0, err
            assert "Traceback" not in err and "internal error" not in err
        out = tmp_path / "out"
        assert _py_files(out) == [f"{n}.py" for n in names]
        assert sorted(p.name for p in out.iterdir()) == [LOCK_NAME] + [f"{n}.py" for n in names]
    # the lock file is no clutter: check is content, and so is a third build
    assert run_main("check", "specs", "-o", "out", cwd=tmp_path).returncode == 0
    r = run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == ""


def test_a_second_build_waits_then_proceeds(tmp_path, write_spec):
    write_spec(GOOD.replace("NAME", "a"), "a.yaml")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / LOCK_NAME):  # another build is running
        proc = subprocess.Popen(
            [DAGFORGE, "build", "-v", "specs", "-o", "out", "--no-verify"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr.readline() == "dagforge: waiting for another build of out to finish\n"
        assert proc.poll() is None and not (out / "a.py").exists()
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0 and stdout == "wrote out/a.py\n"
    assert "waiting" not in stderr  # said once


def test_a_build_gives_up_waiting_with_exit_2(tmp_path, write_spec):
    write_spec(GOOD.replace("NAME", "a"), "a.yaml")
    out = tmp_path / "out"
    out.mkdir()
    with FileLock(out / LOCK_NAME):
        r = run_cli(
            "build", "-v", "specs", "-o", "out", cwd=tmp_path, env={"DAGFORGE_LOCK_TIMEOUT": "0.5"}
        )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "dagforge: waiting for another build of out to finish",
        "dagforge: error: gave up waiting for another build of out after 0.5 s",
    ]
    assert _py_files(out) == []


# --- 5. an output folder that cannot be written ---------------------------------------------------


def test_output_that_is_a_file_or_a_dangling_link(tmp_path, write_spec):
    write_spec(GOOD.replace("NAME", "a"), "a.yaml")
    (tmp_path / "out.txt").write_text("not a folder\n")
    (tmp_path / "link").symlink_to("missing/folder")
    for output, message in (
        ("out.txt", "cannot write to out.txt: it is a file, not a folder"),
        (
            "link",
            "cannot write to link: it is a symbolic link to missing/folder, which does not exist",
        ),
    ):
        r = run_main("build", "-v", "specs", "-o", output, "--no-verify", cwd=tmp_path)
        assert r.returncode == 2
        assert r.stderr.splitlines() == [f"dagforge: error: {message}"]
        r = run_main(
            "build", "-v", "specs", "-o", output, "--format", "json", "--no-verify", cwd=tmp_path
        )
        assert r.returncode == 2 and json.loads(r.stdout)["diagnostics"][0]["message"] == message
    assert (tmp_path / "out.txt").read_text() == "not a folder\n"
    assert not (tmp_path / "missing").exists()


@pytest.fixture
def own_disk(tmp_path):
    """`tmp_path/out` on a small tmpfs of its own, to fill up or make read-only (needs root)."""
    mount = tmp_path / "out"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if r.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=True)


def _fill(path: Path) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as e:
        assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_is_one_line_exit_2_and_nothing_half_written(tmp_path, write_spec, own_disk):
    for n in ("a", "b"):
        write_spec(GOOD.replace("NAME", n), f"{n}.yaml")
    assert (
        run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    )
    before = {n: (own_disk / n).read_bytes() for n in _py_files(own_disk)}
    _fill(own_disk / "filler")
    for n in ("a", "b"):
        write_spec(GOOD.replace("NAME", f"{n} changed"), f"{n}.yaml")
    r = run_cli("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        "dagforge: error: cannot write out/a.py: No space left on device"
    ]
    assert r.stdout == ""
    assert {n: (own_disk / n).read_bytes() for n in _py_files(own_disk)} == before
    assert _leftovers(own_disk) == []


def test_a_read_only_output_folder_is_one_line_exit_2(tmp_path, write_spec, own_disk):
    write_spec(GOOD.replace("NAME", "a"), "a.yaml")
    assert (
        run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    )
    before = (own_disk / "a.py").read_bytes()
    subprocess.run(["mount", "-o", "remount,ro", str(own_disk)], check=True)
    write_spec(GOOD.replace("NAME", "changed"), "a.yaml")
    r = run_cli("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
    assert r.returncode == 2
    assert r.stderr.splitlines() == ["dagforge: error: cannot write to out: Read-only file system"]
    assert (own_disk / "a.py").read_bytes() == before and _leftovers(own_disk) == []


def test_a_file_that_cannot_be_replaced_is_one_line_exit_2(tmp_path, write_spec):
    """An immutable file (chattr +i; root ignores file modes): the write fails, the rest is kept."""
    for n in ("a", "b"):
        write_spec(GOOD.replace("NAME", n), f"{n}.yaml")
    assert (
        run_main("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path).returncode == 0
    )
    out = tmp_path / "out"
    if subprocess.run(["chattr", "+i", str(out / "b.py")], capture_output=True).returncode:
        pytest.skip("chattr +i is not possible here")
    try:
        for n in ("a", "b"):
            write_spec(GOOD.replace("NAME", f"{n} changed"), f"{n}.yaml")
        r = run_cli("build", "-v", "specs", "-o", "out", "--no-verify", cwd=tmp_path)
        assert r.returncode == 2
        assert r.stderr.splitlines() == [
            "dagforge: error: cannot write out/b.py: Operation not permitted"
        ]
        assert r.stdout == "wrote out/a.py\n"
        assert "echo b changed" not in (out / "b.py").read_text()
        assert _leftovers(out) == []
    finally:
        subprocess.run(["chattr", "-i", str(out / "b.py")], check=True)
