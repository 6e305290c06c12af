"""`dagforge import`: bring existing DAGs onto dagforge.

- `dagfactory`: dag-factory 1.x YAML, read as its `load_yaml_dags` reads it, converted into specs
  (with `values` for the values and `writer` for the spec files);
- `airflow`: plain Python DAG files, loaded with Airflow's DagBag, written as specs;
- `verify`: each converted spec's build compared with the source's own DAG, field by field (the
  only part, with `airflow`, that imports Airflow).
"""

from .dagfactory import convert_file, defaults_files, import_dag_factory
from .result import At, Converted, ImportResult, ImportUsageError

__all__ = [
    "At",
    "Converted",
    "ImportResult",
    "ImportUsageError",
    "convert_file",
    "defaults_files",
    "import_dag_factory",
]
