"""dagforge: validated YAML pipeline specs compiled into plain Apache Airflow 3 DAG files."""

__version__ = "0.1.0"

from .api import BuildResult, SpecResult, build, validate  # noqa: E402

__all__ = ["BuildResult", "SpecResult", "build", "validate", "__version__"]
