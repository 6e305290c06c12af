"""A DAG file with DAG settings and BaseOperator settings in default_args, a TaskGroup's
default_args and on a task. `dagforge import --from airflow` reads it (tests/test_import.py)."""

from datetime import timedelta

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup
from dfcorpus.helpers.etl import transform

with DAG(
    dag_id="with_settings",
    dag_display_name="With settings",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    render_template_as_native_obj=True,
    is_paused_upon_creation=False,
    user_defined_macros={"clean": transform},
    default_args={
        "depends_on_past": True,
        "max_retry_delay": timedelta(hours=1),
        "retry_exponential_backoff": True,
        "weight_rule": "upstream",
        "pool": "warehouse",
    },
) as dag:
    extract = BashOperator(
        task_id="extract",
        bash_command="echo extract",
        task_display_name="Extract rows",
        do_xcom_push=False,
        depends_on_past=False,
        doc_md="Pulls the day's rows.",
    )
    with TaskGroup("loads", default_args={"wait_for_downstream": True, "queue": "loaders"}):
        load = BashOperator(task_id="load", bash_command="echo load", max_active_tis_per_dagrun=2)
    extract >> load
