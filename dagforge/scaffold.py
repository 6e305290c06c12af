"""`dagforge new`: a commented starter spec, with the schema modeline editors read. Never overwrites."""

from __future__ import annotations

import os
import re
from pathlib import Path

STARTERS = ("etl", "report", "ml", "infra")
_FOLDER = Path(__file__).parent / "starters"
SCHEMA_FILE = Path(
    "schemas", "pipeline.schema.json"
)  # where a project keeps `dagforge schema`'s output
# The file name is the dag_id: Airflow's characters, and no leading dot (a hidden file).
_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,249}$")


class ScaffoldError(ValueError):
    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.hint = hint


def starter(template: str) -> str:
    if template not in STARTERS:
        raise ScaffoldError(
            f"unknown template '{template}'", "choose one of: " + ", ".join(STARTERS)
        )
    return (_FOLDER / f"{template}.yaml").read_text("utf-8")


def new_spec(name: str, template: str = "etl", folder: Path | str = "specs") -> Path:
    """Write `folder/name.yaml` from a starter; returns its path. Raises ScaffoldError, never overwrites."""
    stem = name[: -len(Path(name).suffix)] if Path(name).suffix in (".yaml", ".yml") else name
    if not _NAME.match(stem):
        raise ScaffoldError(
            f"'{name}' cannot name a pipeline",
            "use letters, digits, `_`, `.` and `-` (no `/`, not starting with `.`); it becomes the dag_id",
        )
    text = starter(template)
    folder = Path(folder)
    path = folder / f"{stem}.yaml"
    modeline = Path(os.path.relpath(SCHEMA_FILE, folder)).as_posix()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        with open(
            path, "x", encoding="utf-8", newline="\n"
        ) as f:  # "x": fails if it exists, atomically
            f.write(f"# yaml-language-server: $schema={modeline}\n{text}")
    except FileExistsError:
        raise ScaffoldError(
            f"{path.as_posix()} already exists: not overwriting it",
            "choose another name, or delete the file first",
        ) from None
    return path
