"""`doc_md: {file: ...}` reads only a regular UTF-8 file inside the spec's folder, of at most
DOC_MD_LIMIT bytes: never the machine's files, the environment, a device or a FIFO."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dagforge.model import DOC_MD_LIMIT

SPEC = "start_date: 2024-01-01\ndoc_md: {{file: {name}}}\ntasks:\n  a: {{operator: empty}}\n"


def _build(tmp_path, name, env=None):
    """`dagforge build` of a spec whose doc_md names `name`, in a real subprocess. The timeout only
    turns a hang (reading a FIFO, or /dev/zero until the memory runs out) into a failure."""
    spec = tmp_path / "specs" / "pipe.yaml"
    spec.parent.mkdir(exist_ok=True)
    spec.write_text(SPEC.format(name=name), encoding="utf-8")
    exe = Path(sys.executable).with_name("dagforge")
    try:
        return subprocess.run(
            [str(exe), "build", "specs", "-o", "out"],
            cwd=tmp_path,
            env={**os.environ, **(env or {})},
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"dagforge build hung reading doc_md file {name!r}")


def _refused(r, why):
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr and "internal error" not in r.stderr
    assert "specs/pipe.yaml:2:16: error: cannot read doc_md file" in r.stderr
    assert why in r.stderr


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("the-secret-text\n")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "notes.md").symlink_to(secret)
    r = _build(tmp_path, "notes.md")
    _refused(r, "it is outside the spec's folder")
    assert "the-secret-text" not in r.stdout + r.stderr
    assert not (tmp_path / "out").exists()


def test_the_environment_is_not_read(tmp_path):
    r = _build(tmp_path, "/proc/self/environ", env={"DAGFORGE_TEST_SECRET": "s3cr3t-t0ken"})
    _refused(r, "it is outside the spec's folder")
    assert "s3cr3t-t0ken" not in r.stdout + r.stderr
    assert not (tmp_path / "out").exists()


def test_a_symlink_to_dev_zero_is_refused(tmp_path):
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "notes.md").symlink_to("/dev/zero")
    r = _build(tmp_path, "notes.md")
    _refused(r, "it is outside the spec's folder")
    assert not (tmp_path / "out").exists()


def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path):
    (tmp_path / "specs").mkdir()
    os.mkfifo(tmp_path / "specs" / "notes.md")
    _refused(_build(tmp_path, "notes.md"), "it is a FIFO, not a regular file")


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "specs" / "notes").mkdir(parents=True)
    _refused(_build(tmp_path, "notes"), "it is a folder, not a regular file")


def test_a_file_over_the_limit_is_refused_and_one_at_the_limit_is_read(tmp_path):
    (tmp_path / "specs").mkdir()
    notes = tmp_path / "specs" / "notes.md"
    notes.write_bytes(b"x" * (DOC_MD_LIMIT + 1))
    r = _build(tmp_path, "notes.md")
    _refused(r, f"it is larger than {DOC_MD_LIMIT // 1024} KiB")
    notes.write_bytes(b"x" * DOC_MD_LIMIT)
    r = _build(tmp_path, "notes.md")
    assert r.returncode == 0, r.stderr
    assert "x" * 1000 in (tmp_path / "out" / "pipe.py").read_text()


def test_files_and_symlinks_inside_the_folder_are_read(tmp_path):
    docs = tmp_path / "specs" / "docs"
    docs.mkdir(parents=True)
    (docs / "real.md").write_text("# Inside\n", encoding="utf-8")
    (tmp_path / "specs" / "notes.md").symlink_to(Path("docs", "real.md"))
    for name in ("docs/real.md", "notes.md", "docs/../docs/real.md"):
        r = _build(tmp_path, name)
        assert r.returncode == 0, r.stderr
        assert "# Inside" in (tmp_path / "out" / "pipe.py").read_text()
