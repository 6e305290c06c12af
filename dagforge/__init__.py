"""dagforge: validated YAML pipeline specs compiled into plain Apache Airflow 3 DAG files."""

__version__ = "0.1.0"

from .api import BuildResult, SpecResult, build, validate  # noqa: E402
from .run import RunResult, run_spec  # noqa: E402

__all__ = ["BuildResult", "SpecResult", "RunResult", "build", "validate", "run_spec", "__version__"]
