"""A DAG as people write them by hand: default_args, a TaskGroup with its own default_args and
`>>` on the groups (a task's and a group's), a module-level callable, a mapped task. `dagforge import --from airflow` reads it
(tests/test_import.py); the module it imports lies in tests/importer/dags (the --dags-folder)."""

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import DAG, TaskGroup
from dfcorpus.helpers.etl import list_partners, load_partner, transform

with DAG(
    dag_id="hand_written",
    description="Written by hand",
    schedule="0 6 * * *",
    start_date=pendulum.datetime(2024, 5, 1, tz="Europe/Paris"),
    tags=["handmade"],
    default_args={"owner": "ops", "retries": 3, "retry_delay": timedelta(minutes=10)},
) as dag:
    start = EmptyOperator(task_id="start")
    with TaskGroup("clean", tooltip="Cleaning", default_args={"pool": "cleaners"}) as clean:
        dedupe = BashOperator(task_id="dedupe", bash_command="echo dedupe")
        fix = PythonOperator(
            task_id="fix", python_callable=transform, op_kwargs={"mode": "lenient"}
        )
        dedupe >> fix
    partners = PythonOperator(task_id="partners", python_callable=list_partners)
    load = PythonOperator.partial(task_id="load", python_callable=load_partner).expand(
        op_args=partners.output
    )
    with TaskGroup("publish") as publish:
        BashOperator(task_id="upload", bash_command="echo up")
    start >> clean >> partners
    clean >> publish
