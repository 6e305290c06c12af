"""The tasks of specs/ml_fraud_training.yaml."""

import logging

log = logging.getLogger(__name__)


def features_ready(table, ds):
    """The sensor: true once the day's feature snapshot of `table` is published."""
    log.info("looking for the %s snapshot of %s", ds, table)
    return True


def train(snapshot):
    """Runs in the task's own virtualenv (PythonVirtualenvOperator): only this function's source
    goes there, so it imports what it uses inside."""
    import sklearn

    print(f"training on the {snapshot} snapshot with scikit-learn {sklearn.__version__}")
    return f"models:/fraud/{snapshot}"


def score(model_uri):
    """Score the day's transactions with the model `train` returned (its XCom)."""
    log.info("scoring with %s", model_uri)
