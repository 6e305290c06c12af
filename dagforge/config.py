"""Project settings: `[tool.dagforge]` in the nearest `pyproject.toml` of the working folder."""

from __future__ import annotations

import tomllib
from pathlib import Path

from . import targets


class ConfigError(Exception):
    pass


def nearest_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
    return None


def airflow_target(start: Path | None = None) -> str:
    """The Airflow major version to write for: `airflow = "2"` (or "3") under `[tool.dagforge]` in the
    nearest pyproject.toml from `start` (default: the working folder) upward; "3" without one."""
    path = nearest_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return targets.DEFAULT
    try:
        settings = tomllib.loads(path.read_text("utf-8")).get("tool", {}).get("dagforge", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it: {e}") from None
    value = (
        settings.get("airflow", targets.DEFAULT) if isinstance(settings, dict) else targets.DEFAULT
    )
    if str(value) not in targets.TARGETS or isinstance(value, bool):
        raise ConfigError(f'{path}: [tool.dagforge] airflow must be "2" or "3", not {value!r}')
    return str(value)
