"""The pool of processes that takes many specs from load to generated code at once: how many
workers, how each starts, and how each spec's garbage is collected. (black keeps its pool in a
module of this name too.)"""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from functools import partial
from itertools import chain
from typing import TypeVar

PARALLEL_ABOVE = 8  # more specs than this: a pool of processes, one per core
CHUNK = 8  # specs a worker takes at a time

T = TypeVar("T")
U = TypeVar("U")


def cpus() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def workers_for(jobs: int) -> int:
    """How many processes take `jobs` specs: a pool only for more than a few, and more than one core."""
    return min(jobs, cpus()) if jobs > PARALLEL_ABOVE and cpus() > 1 else 1


@contextmanager
def mapped(function: Callable[[T], U], items: list[T], workers: int) -> Iterator[Iterator[U]]:
    """`function` over `items`, in order: in this process for one worker, else in a pool of
    `workers` processes (`function` and the items must pickle). The results are read inside the
    `with` block, as they come.

    Where workers are forked, this process takes the first item before they start: they inherit
    what it loaded for it (modules, compiled schemas and template), instead of each loading it
    again, which costs a check of 1000 specs about as much CPU time as 100 specs."""
    if workers <= 1:
        yield map(function, items)
        return
    first = [function(items[0])] if multiprocessing.get_start_method() == "fork" else []
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
    )
    with pool:
        rest = items[len(first) :]
        yield chain(first, pool.map(partial(_collected, function), rest, chunksize=CHUNK))


def _start_worker(parent: int) -> None:
    """In a pool worker: exit when the build process is gone (killed), instead of waiting forever.
    And collect garbage once per spec (`_collected`), over that spec's objects only, instead of
    whenever black's thousands of objects trip the collector, which costs more CPU time."""
    gc.freeze()
    gc.disable()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _collected(function: Callable[[T], U], item: T) -> U:
    try:
        return function(item)
    finally:
        gc.collect()  # this spec's garbage; what survives (caches) is frozen, not scanned again
        gc.freeze()
