"""The tasks of specs/orders_branching_etl.yaml."""

import logging

log = logging.getLogger(__name__)


def extract(ds):
    """Read the day's orders; return how many came in and where they were written (two XComs:
    the task sets multiple_outputs)."""
    path = f"/data/raw/orders/{ds}.parquet"
    log.info("extracting the orders of %s to %s", ds, path)
    return {"count": 42, "path": path}


def choose_load(logical_date):
    """The branch: a full load on the first of the month, an incremental one on the other days."""
    return "full_load" if logical_date.day == 1 else "incremental_load"


def load(path, mode):
    """Load the extracted file into the warehouse."""
    log.info("loading %s (%s)", path, mode)


def has_orders(count):
    """The short circuit: no orders, no report."""
    return count > 0
