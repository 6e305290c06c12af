"""Diagnostics: one problem in one spec, located by line and column, printed like a compiler's."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from enum import StrEnum

# What would act on a terminal or a CI log instead of showing as itself: C0 and C1 controls (ESC
# starts a terminal sequence, CSI is U+009B; a newline starts a log line that CI reads as a command
# such as `::error`), DEL, the Unicode line and paragraph separators, and the bidirectional marks
# and overrides that reorder what is shown.
_UNSAFE = re.compile(
    r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
EXCERPT_WIDTH = 200  # characters of a source line shown around the column; longer lines are cut


def visible(text: str) -> str:
    """`text` with every unsafe character written as an escape (`\\n`, `\\x1b`, `\\u2028`): one
    line, no terminal or CI command in it. Every text output of a value goes through it."""
    return _UNSAFE.sub(lambda m: _NAMED.get(m[0]) or _code(m[0]), text)


def _code(c: str) -> str:
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


class Severity(StrEnum):
    """An error stops the spec from being built; a warning is said and the spec is built."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Diagnostic:
    path: str
    line: int  # 1-based; 0 when the problem is about the file as a whole
    column: int  # 1-based
    message: str
    hint: str = ""
    code: str = "spec"
    severity: Severity = Severity.ERROR

    def __post_init__(self):
        object.__setattr__(self, "severity", Severity(self.severity))  # "warning" works too

    def sort_key(self):
        return (self.path, self.line, self.column, self.message)

    def format(self, source_lines: list[str] | None = None) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        out = [f"{visible(where)}: {self.severity}: {visible(self.message)}"]
        if source_lines and 0 < self.line <= len(source_lines):
            text, at = excerpt(source_lines[self.line - 1], self.column)
            out.append(f"  {self.line} | {text}")
            gutter = " " * (len(str(self.line)) + 2)
            out.append(f"  {gutter} {' ' * at}^")
        if self.hint:
            out.append(f"  hint: {visible(self.hint)}")
        return "\n".join(out)


def excerpt(line: str, column: int, width: int = EXCERPT_WIDTH) -> tuple[str, int]:
    """One source line as shown under a diagnostic, and the offset of `column` (1-based) in it:
    escaped (see `visible`), and a long line cut to `width` characters around the column, `…`
    marking what is left out."""
    line = line.rstrip("\r\n")
    index = min(max(column - 1, 0), len(line))
    start = max(0, min(index - width // 2, len(line) - width))
    end = start + width
    before = ("…" if start else "") + visible(line[start:index])
    return before + visible(line[index:end]) + ("…" if end < len(line) else ""), len(before)


def has_errors(diagnostics) -> bool:
    """Whether any of `diagnostics` is an error (warnings let a spec through)."""
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: str, choices) -> str:
    """' Did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
