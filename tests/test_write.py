"""Writes are atomic: a reader sees the old complete file or the new one, never a part."""

import os

import pytest

from dagforge.write import write_atomic


def test_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "out" / "dag.py"
    write_atomic(target, "old\n")
    write_atomic(target, "new\n")
    assert target.read_text() == "new\n"
    assert os.listdir(tmp_path / "out") == ["dag.py"]


def test_failed_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "dag.py"
    write_atomic(target, "old complete file\n")

    def broken_replace(src, dst):
        raise OSError("disk went away")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_atomic(target, "new file\n")
    assert target.read_text() == "old complete file\n"
    assert os.listdir(tmp_path) == ["dag.py"]
