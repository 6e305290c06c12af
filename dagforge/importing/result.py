"""What `dagforge import` produces: a converted DAG, the whole result, and a place in a source."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..diagnostics import Code, Diagnostic, Severity
from ..load import Document, SpecPath


class ImportUsageError(Exception):
    """A path or option that cannot be used (exit 2)."""


@dataclass
class Converted:
    """One DAG of a dag-factory file, as a spec."""

    dag_id: str
    source: Path  # the dag-factory file
    spec: dict[str, Any]
    notes: list[Diagnostic] = field(default_factory=list)  # warnings: what is approximated
    failed: str = ""  # why no spec could be written
    written: Path | None = None
    # Set when the spec's built DAG was compared field by field with the source's DAG; "exact" is
    # that comparison's verdict (with no warning besides), never the mere absence of warnings.
    compared: bool = False

    @property
    def exact(self) -> bool:
        return self.compared and not self.failed and not self.notes

    @property
    def unverified(self) -> bool:
        """Converted without a warning, but not compared (--no-verify, or no dag-factory)."""
        return not self.compared and not self.failed and not self.notes


@dataclass
class ImportResult:
    dags: list[Converted] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)  # files that could not be read
    written: list[Path] = field(default_factory=list)
    verified: bool = False
    not_verified: str = ""

    def counts(self) -> tuple[int, int, int, int]:
        """exact, approximate (with warnings), not converted, converted but not compared."""
        exact = sum(1 for d in self.dags if d.exact)
        failed = sum(1 for d in self.dags if d.failed)
        unverified = sum(1 for d in self.dags if d.unverified)
        return exact, len(self.dags) - exact - failed - unverified, failed, unverified


# A value together with where it stands: the document and the path inside it.
@dataclass(frozen=True)
class At:
    doc: Document
    path: SpecPath

    def warn(self, message: str, hint: str = "") -> Diagnostic:
        line, col = self.doc.where(self.path)
        return Diagnostic(self.doc.display, line, col, message, hint, Code.SPEC, Severity.WARNING)

    def __truediv__(self, key: str | int) -> At:
        return At(self.doc, (*self.path, key))


@dataclass
class _Merged:
    """One DAG's configuration after dag-factory's merge, each key with where it came from."""

    values: dict[str, Any]
    where: dict[str, At]  # top-level key -> origin
    args_where: dict[str, At]  # default_args key -> origin
