"""Step 5, format: black, so every generated file reads like carefully written code."""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import black

from .render import LINE_LENGTH

# What black may change in a render even though the template writes black's layout (see settled):
# any character but printable ASCII and newlines (black measures wide characters, strips trailing
# blanks, rewrites tabs and carriage returns), a single quote (black may turn a string to double
# quotes; also `float('inf')`), an exponent with a sign (black writes 1e20 for 1e+20), blanks at a
# line's end. Tested in steps, cheapest first: one regex of them all costs a spec 0.1 ms, and
# str's own searches are quicker than any regex (sre tests a character class at every position).
# The bytes of printable ASCII and the newline: a render is settled only when it has no others.
_PRINTABLE = bytes(range(0x20, 0x7F)) + b"\n"
# A line black cannot split, so leaves as long as it is: one argument, or one entry, that is a
# single string, on its own line in a call or mapping the template wrote exploded (trailing comma).
_LONE_STRING = re.compile(r' +(?:\w+=|"[^"\\]*": )"(?:[^"\\]|\\.)*",')


@cache
def _mode() -> black.Mode:
    import black  # here, not at the top: half a second, and `check` needs it only for drift

    return black.Mode(target_versions={black.TargetVersion.PY311})


def format_source(source: str) -> str:
    import black

    return black.format_str(source, mode=_mode())


def settled(source: str) -> bool:
    """Whether black is sure to leave `source`, a render of dagforge's template, as it is: cheap and
    conservative. The template writes black's layout (tests/test_render.py, and black --check in
    tests/test_lint.py); what spec values can do that it cannot lay out as black does is caught
    here: a code line longer than black's limit (unless it is a lone string black cannot split),
    or what the comment above names. False only means "run black"."""
    if (
        not source.isascii()
        or source.encode("ascii").translate(None, _PRINTABLE)  # (str.isprintable: 3x the time)
        or "'" in source
        or " \n" in source
        or not source.endswith("\n")
        or source.endswith("\n\n")
        or _signed_exponent(source)
    ):
        return False
    lines = source.split("\n")
    return max(map(len, lines)) <= LINE_LENGTH or all(
        len(line) <= LINE_LENGTH or line.startswith("#") or _LONE_STRING.fullmatch(line)
        for line in lines
    )


def _signed_exponent(source: str) -> bool:
    """Whether `source` has a digit followed by e+, e-, E+ or E- (a float black writes unsigned)."""
    for pair in ("e+", "e-", "E+", "E-"):
        at = source.find(pair, 1)
        while at != -1:
            if source[at - 1].isdigit():
                return True
            at = source.find(pair, at + 1)
    return False
