"""dagforge's version, read once from the installed package's metadata (pyproject.toml is the only
place it is written). Read on first use: importlib.metadata costs ~30 ms at start-up."""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dagforge")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "0+unknown"
