"""dagforge: validated YAML pipeline specs compiled into plain Apache Airflow DAG files."""

from typing import TYPE_CHECKING, Any

from .api import (
    BuildResult,
    CatalogResult,
    CheckResult,
    ExplainResult,
    GraphResult,
    SpecResult,
    build,
    check,
    explain,
    graph,
    make_catalog,
    new,
    schema,
    validate,
)

if TYPE_CHECKING:
    from .run import RunResult, run_spec


def __getattr__(name: str) -> Any:
    if name == "__version__":  # from the package metadata, on first use (see version.py)
        from .version import version

        return version()
    if name in ("RunResult", "run_spec"):  # on first use: no other command needs run.py
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module 'dagforge' has no attribute {name!r}")


__all__ = [
    "BuildResult",
    "CatalogResult",
    "CheckResult",
    "ExplainResult",
    "GraphResult",
    "RunResult",
    "SpecResult",
    "__version__",
    "build",
    "check",
    "explain",
    "graph",
    "make_catalog",
    "new",
    "run_spec",
    "schema",
    "validate",
]
