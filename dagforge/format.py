"""Step 5, format: black, so every generated file reads like carefully written code."""

from __future__ import annotations

import black

_MODE = black.Mode(target_versions={black.TargetVersion.PY311})


def format_source(source: str) -> str:
    return black.format_str(source, mode=_MODE)
