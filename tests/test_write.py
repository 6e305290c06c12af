"""Writes are atomic: a reader sees the old complete file or the new one, never a part."""

import os
from pathlib import Path

import pytest

from dagforge.write import source_name, write_atomic


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


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_mode_of_any_new_file(tmp_path, umask):
    """Not the 0600 of a temporary file: Airflow may run as another user than the build."""
    old = os.umask(umask)
    try:
        write_atomic(tmp_path / "dag.py", "x = 1\n")
        (tmp_path / "plain.py").write_text("x = 1\n")
    finally:
        os.umask(old)
    assert (tmp_path / "dag.py").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "dag.py").stat().st_mode == (tmp_path / "plain.py").stat().st_mode


def test_the_header_names_the_spec_from_the_output_folder_of_each_working_folder(
    tmp_path, monkeypatch
):
    # source_name resolves the output folder once per build: the same relative folder from
    # another working folder is another folder; a link to a folder is followed
    for here in (tmp_path / "a", tmp_path / "b" / "c"):
        (here / "specs").mkdir(parents=True)
        (here / "specs" / "x.yaml").write_text("")
        monkeypatch.chdir(here)
        assert source_name(Path("specs/x.yaml"), Path("out")) == "../specs/x.yaml"
    (tmp_path / "b" / "c" / "elsewhere" / "deep").mkdir(parents=True)
    (tmp_path / "b" / "c" / "linked").symlink_to(tmp_path / "b" / "c" / "elsewhere" / "deep")
    assert source_name(Path("specs/x.yaml"), Path("linked")) == "../../specs/x.yaml"
