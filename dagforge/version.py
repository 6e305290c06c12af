"""dagforge's version, read once from the installed package's metadata (pyproject.toml is the only
place it is written). Read on first use: importing importlib.metadata is slow, and most commands
never need the version."""

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
