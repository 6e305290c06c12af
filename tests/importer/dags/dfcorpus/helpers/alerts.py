"""Callbacks and notifiers the corpus DAGs name (never run by the tests: only imported)."""

from airflow.sdk import BaseNotifier


def page(context, team="data", urgent=False):
    return team, urgent


def log_state(context):
    return context


class TeamNotifier(BaseNotifier):
    """A notifier with its own arguments: dag-factory instantiates it with them."""

    template_fields = ("message",)

    def __init__(self, team, message="failed"):
        super().__init__()
        self.team = team
        self.message = message

    def notify(self, context):
        return self.team, self.message
