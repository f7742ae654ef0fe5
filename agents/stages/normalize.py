"""The normalize agent: ``articles.raw`` → clean Article on ``articles.normalized``."""

from __future__ import annotations

import time
from functools import partial

import faust

from agents.batching import take_drained
from agents.runtime import Storystream
from pipeline.common.errors import BadInput
from pipeline.normalization.normalize import normalize_message
from schemas import ARTICLES_NORMALIZED, ARTICLES_RAW


class NormalizeAgent:
    """Parses and normalizes raw articles a batch at a time; bad input is dead-lettered."""

    def __init__(self, ss: Storystream) -> None:
        self.ss = ss

    def register(self) -> None:
        self.ss.app.agent(self.ss.topics[ARTICLES_RAW], name="normalize")(self.run)

    async def run(self, stream: faust.StreamT) -> None:
        ss = self.ss
        config = ss.normalize_config
        batch, within = ss.settings.batch_size, ss.settings.batch_within_seconds
        async for events in take_drained(stream, batch, within=within):
            started = time.perf_counter()
            work = partial(normalize_message, received_at=time.time(), config=config)
            results = await ss.helpers.each(work, [event.message.value for event in events])
            for event, article in zip(events, results, strict=True):
                if isinstance(article, BadInput):
                    await ss.dead_letter("normalize", article.reason, event)
                    continue
                if isinstance(article, Exception):  # the next message must still run
                    await ss.dead_letter("normalize", f"{type(article).__name__}: {article}", event)
                    continue
                # Keyed by canonical url: every version and resend of an article meets at
                # one dedup home partition.
                await ss.topics[ARTICLES_NORMALIZED].send(
                    key=(article.url or article.id).encode(), value=article.to_json()
                )
            ss.metrics.observe_batch("normalize", len(events), time.perf_counter() - started)
