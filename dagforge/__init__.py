"""dagforge: validated YAML pipeline specs compiled into plain Apache Airflow DAG files."""

__version__ = "0.1.0"

from .api import (
    BuildResult,
    CheckResult,
    ExplainResult,
    GraphResult,
    SpecResult,
    build,
    check,
    explain,
    graph,
    new,
    schema,
    validate,
)
from .run import RunResult, run_spec

__all__ = [
    "BuildResult",
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
    "new",
    "run_spec",
    "schema",
    "validate",
]
