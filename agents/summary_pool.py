"""Story summaries computed in a helper process, off the worker's event loop.

Summarizing is the worker's largest pure computation (about 2 ms for a new story, up to a
tenth of a second for a big one). Run inline it stalls every agent of the worker for that
long; in a helper process it runs on another core while the event loop keeps moving
messages. ``STORYSTREAM_SUMMARY_PROCESSES=0`` summarizes inline. Helper processes are started
with ``spawn`` (a forked copy of a worker, with its consumer threads and open stores, is not
safe) when the worker starts, and are stopped with it.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from typing import Any

from mode import Service

from pipeline.engine import summarize_story_with
from pipeline.summaries.summarize import SummaryConfig
from schemas import StoryUpdate

log = logging.getLogger(__name__)


def _summarize_each(
    summarize: Callable[..., StoryUpdate], requests: list[dict[str, Any]]
) -> list[StoryUpdate | Exception]:
    """Each request's summary, or the exception it raised (one failure spoils no other)."""
    out: list[StoryUpdate | Exception] = []
    for request in requests:
        try:
            out.append(summarize(**request))
        except Exception as exc:  # noqa: BLE001 - handed back to the caller, per story
            out.append(exc)
    return out


def _ready() -> bool:
    """Run once in each new helper: its imports are done before the first summary."""
    return True


class SummaryPool(Service):
    """Runs summarizer calls (see ``StoryBook.summary_request``) in helper processes."""

    def __init__(self, config: SummaryConfig, processes: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.summarize = summarize_story_with(config)
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

    async def run(self, requests: list[dict[str, Any]]) -> list[StoryUpdate | Exception]:
        """The summaries ``requests`` ask for (or the exception each raised), computed in one
        round trip to a helper process when there is one."""
        work = partial(_summarize_each, self.summarize, requests)
        if self.executor is None or not requests:
            return work()
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self.executor, work)
        except BrokenProcessPool:  # a helper died (killed, out of memory): start afresh
            log.warning("summary helper process died; starting a new one")
            self.executor.shutdown(wait=False, cancel_futures=True)
            self._start_executor()
            return work()
