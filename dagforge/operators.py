"""The built-in short operator names: where each class lives on Airflow 3, which package provides it,
and which of its arguments are durations. Knows no Airflow: `validate` and `model` read it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Short:
    module: str  # the Airflow 3 home (targets.OPERATOR_HOMES maps it for Airflow 2)
    name: str
    package: str  # the distribution to install for it
    durations: tuple[str, ...] = ()  # arguments written as durations ("5m") and passed as timedelta
    schema: bool = False  # True: its arguments have their own JSON Schema (checked by `validate`)
    # `python_callable: module:function` is imported by the generated file, as for `python`
    callable: bool = False
    branch: bool = False  # its downstream tasks are the choices it returns (BranchPythonOperator)
    # Airflow's `@task` (TaskFlow): the generated file decorates the function and calls it with
    # op_args/op_kwargs (or maps it with `expand`); the task is the decorated operator it makes
    taskflow: bool = False


STANDARD = _STANDARD = "apache-airflow-providers-standard"
_SENSOR = ("poke_interval", "timeout")
_PYTHON = "airflow.providers.standard.operators.python"

SHORT = {
    "bash": Short(
        "airflow.providers.standard.operators.bash", "BashOperator", _STANDARD, schema=True
    ),
    "python": Short(
        "airflow.providers.standard.operators.python",
        "PythonOperator",
        _STANDARD,
        schema=True,
        callable=True,
    ),
    "empty": Short(
        "airflow.providers.standard.operators.empty", "EmptyOperator", _STANDARD, schema=True
    ),
    "email": Short(
        "airflow.providers.smtp.operators.smtp",
        "EmailOperator",
        "apache-airflow-providers-smtp",
        schema=True,
    ),
    "sql": Short(
        "airflow.providers.common.sql.operators.sql",
        "SQLExecuteQueryOperator",
        "apache-airflow-providers-common-sql",
    ),
    "trigger_dag": Short(
        "airflow.providers.standard.operators.trigger_dagrun", "TriggerDagRunOperator", _STANDARD
    ),
    "file_sensor": Short(
        "airflow.providers.standard.sensors.filesystem", "FileSensor", _STANDARD, _SENSOR
    ),
    "external_task_sensor": Short(
        "airflow.providers.standard.sensors.external_task",
        "ExternalTaskSensor",
        _STANDARD,
        (*_SENSOR, "execution_delta"),
    ),
    "time_delta_sensor": Short(
        "airflow.providers.standard.sensors.time_delta",
        "TimeDeltaSensor",
        _STANDARD,
        (*_SENSOR, "delta"),
    ),
    "branch": Short(_PYTHON, "BranchPythonOperator", _STANDARD, callable=True, branch=True),
    "short_circuit": Short(_PYTHON, "ShortCircuitOperator", _STANDARD, callable=True),
    "virtualenv": Short(_PYTHON, "PythonVirtualenvOperator", _STANDARD, callable=True),
    "external_python": Short(_PYTHON, "ExternalPythonOperator", _STANDARD, callable=True),
    "python_sensor": Short(
        "airflow.providers.standard.sensors.python",
        "PythonSensor",
        _STANDARD,
        _SENSOR,
        callable=True,
    ),
    "http": Short(
        "airflow.providers.http.operators.http", "HttpOperator", "apache-airflow-providers-http"
    ),
    "kubernetes_pod": Short(
        "airflow.providers.cncf.kubernetes.operators.pod",
        "KubernetesPodOperator",
        "apache-airflow-providers-cncf-kubernetes",
    ),
    "task": Short(
        "airflow.providers.standard.decorators.python",
        "_PythonDecoratedOperator",
        _STANDARD,
        callable=True,
        taskflow=True,
    ),
}


def package_of(module: str) -> str | None:
    """The distribution that provides a short name's module, for "install ..." hints."""
    return next((s.package for s in SHORT.values() if s.module == module), None)


def takes_callable(op: object) -> bool:
    """Whether the short name `op` takes `python_callable: module:function` (imported by the file)."""
    return isinstance(op, str) and op in SHORT and SHORT[op].callable


def is_branch(op: object) -> bool:
    """Whether the short name `op` is a branch: it picks which of its downstream tasks run."""
    return isinstance(op, str) and op in SHORT and SHORT[op].branch


def is_taskflow(op: object) -> bool:
    """Whether the short name `op` is Airflow's `@task` (a TaskFlow task)."""
    return isinstance(op, str) and op in SHORT and SHORT[op].taskflow
