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


def _ready() -> bool:
    """Run once in each new helper so that it has started, and imported the stages it runs,
    before the first batch (importing them takes about a second)."""
    import pipeline.engine  # noqa: F401 - normalize, term statistics and summaries

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
            self.processes, mp_context=multiprocessing.get_context("spawn")
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
