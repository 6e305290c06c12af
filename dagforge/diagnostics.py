"""Diagnostics: one problem in one spec, located by line and column, printed like a compiler's."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
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


class Code(StrEnum):
    """The kind of a diagnostic: its `code` in `--format json` and GitHub output. The values never
    change (CI scripts match on them); docs/diagnostics.md lists each with an example
    (tests/test_diagnostics_doc.py writes it from the broken-spec corpus)."""

    description: str  # one line for docs/diagnostics.md: what the code is about

    def __new__(cls, value: str, description: str) -> Code:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # load: reading the file
    YAML = "yaml", "the file cannot be read as a spec: YAML syntax, encoding, size, tags, depth"
    USAGE = "usage", "a path given on the command line that is not a spec file dagforge may read"
    ENVIRONMENT = "environment", "an unset ${VAR}, or a folder build cannot write (exit 2)"
    # validate: the schema
    MISSING_KEY = "missing-key", "a required key is missing (start_date, tasks, an argument)"
    UNKNOWN_KEY = "unknown-key", "a key the spec, task or operator does not take"
    UNKNOWN_OPERATOR = "unknown-operator", "an operator that is no short name and no import path"
    TYPE = "type", "a value of the wrong type (text where a number is meant, ...)"
    ENUM = "enum", "a value outside the fixed choices of its key"
    BAD_NAME = "bad-name", "a dag_id, task id, group id or argument name that is not allowed"
    RANGE = "range", "a number outside what Airflow's database can store"
    UNIQUE = "unique", "a list that names the same item twice"
    SCHEMA = "schema", "any other rule of the JSON Schema"
    SPEC = "spec", "a problem with no more specific code"
    # validate: rules the schema cannot express
    SCHEDULE = "schedule", "a schedule that is not a cron, preset, duration or asset condition"
    CRON = "cron", "a cron expression with a wrong field, or one that never runs"
    TIMEZONE = "timezone", "a time zone that is not an IANA name"
    DATE = "date", "a start_date or end_date that is no date, or is in the wrong order"
    DURATION = "duration", "a duration that is not a number and a unit (5m, 1h30m)"
    NUMBER = "number", "NaN or infinity, which Airflow cannot store"
    PARAM = "param", "a DAG param whose type or default does not fit"
    DEFAULTS = "defaults", "owner, retries or retry_delay both at the top and in `defaults:`"
    DOC_MD = (
        "doc-md",
        "a doc_md file that cannot be read, or doc_md text Airflow would read as a file name",
    )
    EMAIL = "email", "an invalid email address, or alerts with no one to mail"
    CALLABLE = (
        "callable",
        "a python_callable, macro, filter or deadline callback that is not a module:name reference",
    )
    DAG_SETTING = (
        "dag-setting",
        "an owner link that is no URL, a template folder that is not one, fail_fast with a "
        "trigger rule it refuses",
    )
    ASSET = "asset", "an asset URI Airflow refuses, or one that no task updates"
    VALUE_FORM = (
        "value-form",
        "an {object:}, {function:} or {output_of:} value that is malformed or names no task",
    )
    EXPAND = "expand", "a dynamic task mapping (`expand:`, `expand_kwargs:`) Airflow would refuse"
    BRANCH = "branch", "a branch task with no downstream task to choose"
    WAIT_FOR = "wait-for", "a wait_for that names its own DAG, or a DAG or task no spec defines"
    REUSE = (
        "reuse",
        "a block or family that cannot be expanded: an unknown block, a `${{ name }}` that names "
        "nothing, a for_each item without a key the spec uses",
    )
    SELF_DEPENDENCY = "self-dependency", "a task that depends on itself"
    UNKNOWN_DEPENDENCY = "unknown-dependency", "a dependency that names no task of the spec"
    CYCLE = "cycle", "tasks that wait for each other in a loop"
    DUPLICATE_DAG_ID = "duplicate-dag-id", "two specs with the same dag_id"
    PROVIDER_MISSING = "provider-missing", "an operator whose provider package is not installed"
    BASH_TEMPLATE = "bash-template", "a bash_command ending in .sh, which Airflow reads as a file"
    # build, check and the other commands
    TARGET = (
        "target",
        "the spec means something else on the Airflow version built for, or uses what it lacks",
    )
    OPERATOR_CHECK = "operator-check", "what Airflow's operator class says about the arguments"
    VERIFY = "verify", "the generated file did not load in Airflow's DagBag as the spec says"
    FOREIGN = "foreign", "the output file exists and was not written by dagforge"
    GRAPHVIZ = "graphviz", "Graphviz could not draw the diagram"
    MISSING = "missing", "check: a generated file is missing"
    STALE = "stale", "check: a generated file is out of date with its spec"
    HAND_EDITED = "hand-edited", "check: a generated file was edited by hand"
    ORPHANED = "orphaned", "check: a generated file whose spec is gone"
    INTERNAL = "internal", "a dagforge bug: please report it"
    # advice (advice.py, docs/advice.md): warnings about how the DAG will run, never errors unless
    # `[tool.dagforge.advice] error` says so
    CATCHUP_STORM = "DF101", "advice: catchup makes up a great many runs on the first unpause"
    CLOCK_CHANGE = "DF102", "advice: a cron time that daylight-saving changes skip or repeat"
    OVERLAP = "DF103", "advice: a run may last longer than the time between runs, several active"
    DEPENDS_ON_PAST = "DF104", "advice: depends_on_past tasks with several active runs"
    SAME_MINUTE = "DF105", "advice: many DAGs of a build start in the same minute"
    POKE_SENSOR = "DF201", "advice: a sensor in poke mode that holds a worker slot for long"
    UNBOUNDED = "DF202", "advice: no execution_timeout and no dagrun_timeout bound a run"
    POOL = "DF203", "advice: a pool_slots too large, or more pool tasks than max_active_tasks"
    RETRY_MAILS = "DF301", "advice: alerts.on_retry with many retries close together"

    @property
    def advice(self) -> bool:
        return self.value.startswith("DF")


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
    code: Code = Code.SPEC
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        object.__setattr__(self, "severity", Severity(self.severity))  # "warning" works too

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.path, self.line, self.column, self.message)

    def format(self, source_lines: list[str] | None = None) -> str:
        where = f"{self.path}:{self.line}:{self.column}" if self.line else self.path
        level = f"{self.severity}[{self.code}]" if self.code.advice else str(self.severity)
        out = [f"{visible(where)}: {level}: {visible(self.message)}"]
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


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    """Whether any of `diagnostics` is an error (warnings let a spec through)."""
    return any(d.severity == "error" for d in diagnostics)


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(str(word), sorted(choices), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else ""
