"""A DAG file with callbacks as people write them: module-level functions, a partial with keyword
arguments, a notifier object, in default_args, a TaskGroup's default_args, on a task and on the
DAG; and one that no spec can name (a function defined inside another). `dagforge import --from
airflow` reads it (tests/test_import.py)."""

from functools import partial

import pendulum
from airflow.providers.smtp.notifications.smtp import SmtpNotifier
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG, TaskGroup
from dfcorpus.helpers.alerts import TeamNotifier, log_state, page


def _make_local():
    def local(context):
        return context

    return local


with DAG(
    dag_id="with_callbacks",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    default_args={
        "on_failure_callback": [TeamNotifier(team="platform", message="task failed")],
        "on_retry_callback": log_state,
    },
    on_success_callback=partial(page, team="analytics"),
    # a mail on the DAG's failure is no `alerts:` (they mail on a task's): a notifier object
    on_failure_callback=[log_state, TeamNotifier(team="dags"), SmtpNotifier(to="ops@example.com")],
) as dag:
    extract = BashOperator(
        task_id="extract",
        bash_command="echo extract",
        on_execute_callback=log_state,
        on_skipped_callback=[partial(page, urgent=True)],
    )
    with TaskGroup("loads", default_args={"on_success_callback": partial(page, team="loaders")}):
        load = BashOperator(task_id="load", bash_command="echo load")
    extract >> load

with DAG(
    dag_id="local_callback",
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
) as other:
    BashOperator(task_id="run", bash_command="echo run", on_failure_callback=_make_local())
