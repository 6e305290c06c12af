"""A progress bar on a terminal, for builds that take more than a moment; silence anywhere else.

The library reports progress through a plain callback, `progress(stage, done, total)`; this module
draws it. Nothing is drawn until `delay` seconds have passed (a quick build shows no bar at all), and
nothing is ever drawn when the stream is not a terminal: logs in CI get the plain result lines only.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from typing import Self, TextIO

DEFAULT_DELAY = 0.5  # seconds; DAGFORGE_PROGRESS_DELAY overrides it


class TerminalProgress:
    def __init__(self, stream: TextIO | None = None, delay: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        if delay is None:
            delay = float(os.environ.get("DAGFORGE_PROGRESS_DELAY", DEFAULT_DELAY))
        self.delay = delay
        self.started = time.monotonic()
        self.shown = False

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled or time.monotonic() - self.started < self.delay:
            return
        width = max(10, min(40, shutil.get_terminal_size().columns - len(stage) - 20))
        if total:
            filled = width * done // total
            line = f"{stage} [{'#' * filled}{'-' * (width - filled)}] {done}/{total}"
        else:
            line = f"{stage} ..."
        self.stream.write("\r\033[K" + line)
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        """Clear the bar, so the result lines start on a clean line."""
        if self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self.shown = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
