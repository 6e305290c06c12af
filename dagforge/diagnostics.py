"""Diagnostics: one problem in one spec, located by line and column, printed like a compiler's."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    column: int  # 1-based
    message: str
    hint: str = ""
    code: str = "spec"
    severity: str = "error"

    def sort_key(self):
        return (self.path, self.line, self.column, self.message)

    def format(self, source_lines: list[str] | None = None) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        out = [f"{where}: {self.severity}: {self.message}"]
        if source_lines and 0 < self.line <= len(source_lines):
            text = source_lines[self.line - 1].rstrip("\r\n")
            out.append(f"  {self.line} | {text}")
            gutter = " " * (len(str(self.line)) + 2)
            out.append(f"  {gutter} {' ' * (self.column - 1)}^")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


def has_errors(diagnostics) -> bool:
    """Whether any of `diagnostics` is an error (warnings let a spec through)."""
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: str, choices) -> str:
    """' Did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
