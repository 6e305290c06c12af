"""Project settings: `[tool.dagforge]` in the nearest `pyproject.toml` of the working folder."""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Any

from . import targets


class ConfigError(Exception):
    pass


def nearest_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file():
            return folder / "pyproject.toml"
    return None


def _settings(start: Path | None) -> tuple[Path | None, dict[str, Any]]:
    """(the nearest pyproject.toml from `start` (default: the working folder) upward, its
    [tool.dagforge] table); (None, {}) without one."""
    path = nearest_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return None, {}
    try:
        settings = tomllib.loads(path.read_text("utf-8")).get("tool", {}).get("dagforge", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it: {e}") from None
    return path, settings if isinstance(settings, dict) else {}


def airflow_target(start: Path | None = None) -> str:
    """The Airflow major version to write for: `airflow = "2"` (or "3") under `[tool.dagforge]` in the
    nearest pyproject.toml from `start` (default: the working folder) upward; "3" without one."""
    path, settings = _settings(start)
    value = settings.get("airflow", targets.DEFAULT)
    if str(value) not in targets.TARGETS or isinstance(value, bool):
        raise ConfigError(f'{path}: [tool.dagforge] airflow must be "2" or "3", not {value!r}')
    return str(value)


# Seconds one import of the user's code may take while `build` verifies (and Airflow's DagBag one
# file's load): 30, Airflow's own dagbag_import_timeout.
DEFAULT_IMPORT_TIMEOUT = 30.0


def import_timeout(start: Path | None = None) -> float:
    """The environment's DAGFORGE_IMPORT_TIMEOUT, else `import_timeout` under `[tool.dagforge]` in
    the nearest pyproject.toml, else DEFAULT_IMPORT_TIMEOUT: seconds, a number above 0."""
    value: object  # from the environment's text or the TOML value: checked below
    env = os.environ.get("DAGFORGE_IMPORT_TIMEOUT")
    if env is not None:
        where, value = "DAGFORGE_IMPORT_TIMEOUT", env.strip()
        try:
            value = float(value)
        except ValueError:
            pass
    else:
        path, settings = _settings(start)
        where, value = f"{path}: [tool.dagforge] import_timeout", settings.get("import_timeout")
        if value is None:
            return DEFAULT_IMPORT_TIMEOUT
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigError(f"{where} must be a number of seconds above 0, not {value!r}")
    return float(value)


def advice_settings(codes: list[str], start: Path | None = None) -> tuple[list[str], ...]:
    """(select, ignore, error) of the advice rules: code prefixes ("DF101", "DF1") from the
    `[advice]` table of the nearest `dagforge.toml` or the `[tool.dagforge.advice]` table of the
    nearest pyproject.toml from `start` (default: the working folder) upward, whichever is nearer
    (dagforge.toml first in one folder). Default: every rule selected, none ignored, none an error."""
    path, table = None, {}
    for folder in ((start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents):
        if (folder / "dagforge.toml").is_file():
            path = folder / "dagforge.toml"
            table = _toml(path).get("advice", {})
            break
        if (folder / "pyproject.toml").is_file():
            path, settings = _settings(folder)
            table = settings.get("advice", {})
            break
    table_name = "advice" if path and path.name == "dagforge.toml" else "tool.dagforge.advice"
    where = f"{path}: [{table_name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table")
    out: list[list[str]] = []
    for key, default in (("select", ["DF"]), ("ignore", []), ("error", [])):
        value = table.get(key, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{where} {key} must be a list of rule codes like ["DF101"]')
        for v in value:
            if not v or not any(code.startswith(v) for code in codes):
                raise ConfigError(
                    f"{where} {key}: {v!r} names no rule (the rules: {', '.join(codes)})"
                )
        out.append(value)
    unknown = sorted(set(table) - {"select", "ignore", "error"})
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (select, ignore, error)")
    return tuple(out)


def _toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"{path}: cannot read it: {e}") from None
