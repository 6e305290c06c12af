"""A task with a Kubernetes pod_override in its executor_config, and a task that reads one key of
an upstream task's XCom: `dagforge import --from airflow` reads both back (tests/test_import.py)."""

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG
from dfcorpus.helpers.etl import extract, transform
from kubernetes.client import models as k8s

with DAG(dag_id="pods", schedule=None, start_date=pendulum.datetime(2024, 1, 1, tz="UTC")) as dag:
    heavy = BashOperator(
        task_id="heavy",
        bash_command="echo heavy",
        executor_config={
            "pod_override": k8s.V1Pod(
                metadata=k8s.V1ObjectMeta(labels={"team": "ml"}),
                spec=k8s.V1PodSpec(
                    containers=[
                        k8s.V1Container(
                            name="base",
                            resources=k8s.V1ResourceRequirements(requests={"cpu": "2"}),
                        )
                    ]
                ),
            )
        },
    )
    rows = PythonOperator(task_id="rows", python_callable=extract)
    use = PythonOperator(
        task_id="use", python_callable=transform, op_kwargs={"rows": rows.output["rows"]}
    )
