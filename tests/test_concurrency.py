"""The pool that takes many specs at once (concurrency.mapped): every result, in order, whichever
process computed it; an error in a worker reaches the caller; a worker that dies is an error, not a
hang."""

from __future__ import annotations

import os
import signal
import time

import pytest

from dagforge import concurrency


def _square_with_pid(n: int) -> tuple[int, int]:
    time.sleep(0.002)  # (long enough that the forked process starts before the items run out)
    return n * n, os.getpid()


def test_results_in_order_from_this_process_and_the_others():
    items = list(range(500))
    with concurrency.mapped(_square_with_pid, items, 2) as results:
        got = list(results)
    assert [square for square, _ in got] == [n * n for n in items]
    pids = {pid for _, pid in got}
    assert os.getpid() in pids  # this process is one of the workers (where processes fork)
    assert len(pids) == 2


def _fails_at_77(n: int) -> int:
    if n == 77:
        raise ValueError(f"bad item {n}")
    return n


def test_an_error_in_any_process_reaches_the_caller():
    with pytest.raises(ValueError, match="bad item 77"):
        with concurrency.mapped(_fails_at_77, list(range(300)), 2) as results:
            list(results)


PARENT = os.getpid()


def _dies_in_a_worker(n: int) -> int:
    if os.getpid() != PARENT:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.002)
    return n


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(RuntimeError, match="ended unexpectedly"):
        with concurrency.mapped(_dies_in_a_worker, list(range(400)), 2) as results:
            list(results)
