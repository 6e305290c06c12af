"""dagforge: validated YAML pipeline specs compiled into plain Apache Airflow 3 DAG files."""

__version__ = "0.1.0"

from .api import (  # noqa: E402
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

__all__ = ["BuildResult", "CheckResult", "ExplainResult", "GraphResult", "SpecResult", "build", "check",
           "explain", "graph", "new", "schema", "validate", "__version__"]
