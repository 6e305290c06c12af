"""Callbacks: each takes the context Airflow passes (the run's, or a task instance's)."""

import logging

log = logging.getLogger(__name__)


def post_to_channel(context, channel):
    """A task failed for good: say so in the team's chat channel (here: the log)."""
    ti = context.get("task_instance") or context.get("ti")
    log.error(
        "%s: %s failed in %s", channel, getattr(ti, "task_id", "a task"), context.get("run_id")
    )


def retrying(context):
    """A task is about to be retried."""
    log.warning("retrying %s", context.get("task_instance") or context.get("ti"))


def run_failed(context):
    """The DAG run failed."""
    log.error("run %s failed", context.get("run_id"))


def run_succeeded(context, channel):
    """The DAG run succeeded."""
    log.info("%s: run %s succeeded", channel, context.get("run_id"))
