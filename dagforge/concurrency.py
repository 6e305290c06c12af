"""The pool of processes that takes many specs from load to generated code at once: how many
workers, how each starts, and how each spec's garbage is collected. (black keeps its pool in a
module of this name too.)"""

from __future__ import annotations

import gc
import multiprocessing
import os
import pickle
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, Generic, TypeVar

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
    """`function` over `items`, in order: in this process for one worker, else in `workers`
    processes (`function`, the items and the results must pickle). The results are read inside the
    `with` block, as they come.

    Where processes fork, this one is one of the workers: it takes the first item before the others
    start, so they inherit what it loaded for it (modules, compiled schemas and template) instead
    of each loading it again, then takes chunks of items as they do, from a counter they share.
    Its own results are never pickled, and it does not compete with the others for a core just to
    receive theirs. Elsewhere (spawn), a pool of `workers` processes takes every item."""
    if workers <= 1:
        yield map(function, items)
    elif multiprocessing.get_start_method() != "fork":
        from concurrent.futures import ProcessPoolExecutor  # (its import costs every command 10 ms)

        with ProcessPoolExecutor(
            max_workers=workers, initializer=_start_worker, initargs=(os.getpid(),)
        ) as pool:
            yield pool.map(partial(_collected, function), items, chunksize=CHUNK)
    else:
        with _Forked(function, items, workers - 1) as forked:
            yield forked.results()


class _Forked(Generic[T, U]):
    """`function` over `items` in this process and `others` forked ones (see mapped)."""

    def __init__(self, function: Callable[[T], U], items: list[T], others: int) -> None:
        self.function, self.items, self.others = function, items, others
        self.running = others  # the forked processes that have not said they are done
        self.done: dict[int, U] = {0: function(items[0])} if items else {}
        context = multiprocessing.get_context("fork")
        self.next = context.Value("q", len(self.done))  # the first item nobody took yet
        self.queue = context.Queue()  # (start, results of a chunk), or (None, error) at the end
        self.processes = [
            context.Process(target=self._work, args=(os.getpid(),), daemon=True)
            for _ in range(others)
        ]

    def __enter__(self) -> _Forked[T, U]:
        for process in self.processes:
            process.start()
        self.collecting = gc.isenabled()  # this process's items: collected as in the others
        gc.freeze()
        gc.disable()
        return self

    def __exit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.is_alive():
                process.terminate()
            process.join()
        self.queue.close()
        gc.unfreeze()
        if self.collecting:
            gc.enable()

    def _take(self) -> range:
        """The next chunk of items, for whichever process asks (empty: all are taken)."""
        with self.next.get_lock():
            start = self.next.value
            self.next.value = min(start + CHUNK, len(self.items))
        return range(start, self.next.value)

    def _work(self, parent: int) -> None:
        """In a forked process: chunks until none is left, each result sent as it is ready."""
        _start_worker(parent)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # this process's caller stops: see __exit__
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # (not the handler of the CLI it forked from)
        try:
            while chunk := self._take():
                self.queue.put(
                    (chunk.start, [_collected(self.function, self.items[i]) for i in chunk])
                )
            self.queue.put((None, None))
        except BaseException as e:  # the caller raises it (as text, when it cannot be pickled)
            try:
                pickle.dumps(e)
            except Exception:
                e = RuntimeError(traceback.format_exc())
            self.queue.put((None, e))
        self.queue.close()
        self.queue.join_thread()  # (what was put is in the pipe before the process exits)

    def results(self) -> Iterator[U]:
        done = self.done
        for i in range(len(self.items)):
            while i not in done:
                if self.running and not self.queue.empty():  # what the others did meanwhile
                    self._receive(self.queue.get())
                elif chunk := self._take():  # this process's share
                    done.update((j, _collected(self.function, self.items[j])) for j in chunk)
                else:  # every item is taken: wait for the others' last chunks
                    self._receive(self._get())
            yield done.pop(i)

    def _receive(self, message: tuple[int | None, Any]) -> None:
        """Keep a chunk's results, or count a process that is done (raise what it raised)."""
        start, results = message
        if start is not None:
            self.done.update(enumerate(results, start))
            return
        if results is not None:
            raise results
        self.running -= 1

    def _get(self) -> tuple[int | None, Any]:
        """The next message of the others; an error when one of them ended without a word."""
        while True:
            try:
                return self.queue.get(timeout=1.0)
            except queue.Empty:
                ended = sum(p.exitcode is not None for p in self.processes)
                if ended > self.others - self.running:
                    raise RuntimeError(
                        "a worker process ended unexpectedly (out of memory?)"
                    ) from None


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
