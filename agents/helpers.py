"""Pure computation in helper processes, off the worker's event loop.

The worker's event loop moves every message of every agent; the stages' pure work
(normalizing, term statistics, story summaries: a few milliseconds per article together, up
to a tenth of a second for a big story's summary) stalls it for as long as it runs. Helper
processes run that work on other cores while the loop keeps moving messages: an agent hands
a whole batch over in one round trip. ``STORYSTREAM_HELPER_PROCESSES=0`` computes inline.
Helpers are started with ``spawn`` (a forked copy of a worker, with its consumer threads and
open stores, is not safe) when the worker starts, and are stopped with it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any, TypeVar

from mode import Service
from threadpoolctl import threadpool_limits

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


def each(fn: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
    """``fn`` of each item, or the exception it raised (one failure spoils no other)."""
    out: list[R | Exception] = []
    for item in items:
        try:
            out.append(fn(item))
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, per item
            out.append(exc)
    return out


def one_blas_thread() -> None:
    """Import the stages and keep their BLAS calls on the calling thread, in this process.

    The stages multiply small matrices (a story's sentence vectors, tens of rows), where
    BLAS threads only add cost: the idle threads of OpenBLAS (numpy and scipy each load
    their own) spin after each call. In a helper they burned 1.8 ms of CPU per article
    beside its 2.5 ms of work. The limit applies to the libraries loaded when it is set,
    hence the import first (the stages load both). Every process that runs stages calls
    this once: helpers as they start, and the commands that run stages in their own.
    """
    import pipeline.engine  # noqa: F401 - every stage, and the BLAS libraries they load

    threadpool_limits(limits=1, user_api="blas")


def _ready() -> bool:
    """Submitted once, so that a helper starts with the worker rather than on first use."""
    return True


class HelperPool(Service):
    """Runs batches of a pure function in helper processes (inline with none).

    Functions and items cross to the helper by pickling: module-level functions (or
    partials of them) and plain records.
    """

    def __init__(self, processes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.processes = processes
        self.executor: ProcessPoolExecutor | None = None

    def _start_executor(self) -> None:
        self.executor = ProcessPoolExecutor(
            self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=one_blas_thread,
        )
        self.executor.submit(_ready)

    async def on_start(self) -> None:
        if self.processes > 0:
            self._start_executor()

    async def on_stop(self) -> None:
        if self.executor is not None:
            executor, self.executor = self.executor, None
            executor.shutdown(wait=False, cancel_futures=True)

    async def each(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R | Exception]:
        """``fn`` of each item (or the exception it raised), in one round trip to a helper."""
        work = partial(each, fn, list(items))
        if self.executor is None or not items:
            return work()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, work)
        except BrokenProcessPool:  # a helper died (killed, out of memory): start afresh
            log.warning("helper process died; starting a new one")
            self.executor.shutdown(wait=False, cancel_futures=True)
            self._start_executor()
            return work()
