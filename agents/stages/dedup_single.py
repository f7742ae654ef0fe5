"""The dedup agent of a single dedup partition: one index, decided where the articles arrive.

With one partition the home and band-owner protocol (``agents.stages.dedup``) only adds
messages: every article would cost a probe, an answer, a decision and a share of the
watermarks, and each of their state records, where deciding it costs well under a
millisecond. Here the single-partition :class:`~pipeline.dedup.index.Deduplicator`, the one
``storystream replay`` runs, decides each batch and its state lives in ``dedup-index``. More
than one dedup partition (``STORYSTREAM_DEDUP_PARTITIONS``) selects the protocol instead.
"""

from __future__ import annotations

import time

import faust
from faust.types import EventT

from agents.batching import take_drained
from agents.runtime import StatefulStage, Storystream, delivery_of, event_context
from agents.stages.dedup import send_deduped
from pipeline.dedup.index import Deduplicator, sign_articles
from schemas import ARTICLES_NORMALIZED, Article


class SingleDedupAgent:
    """Decides resends, revisions and copies for the one dedup partition, a batch at a time."""

    def __init__(self, ss: Storystream, dedup: StatefulStage) -> None:
        self.ss = ss
        self.dedup = dedup

    @staticmethod
    def stage_object(ss: Storystream) -> StatefulStage:
        """The deduplicator, rebuilt from its table after a rebalance."""
        config = ss.dedup_config
        return StatefulStage(lambda: Deduplicator(config), ss.tables["dedup-index"])

    def register(self) -> None:
        self.ss.app.agent(self.ss.topics[ARTICLES_NORMALIZED], name="dedup")(self.run)

    async def run(self, stream: faust.StreamT) -> None:
        settings = self.ss.settings
        async for events in take_drained(
            stream, settings.batch_size, within=settings.dedup_batch_within_seconds
        ):
            await self.batch(events)

    async def batch(self, events: list[EventT]) -> None:
        """Decide the batch, send the verdicts, then write the state (a crash in between
        redelivers the batch, and the delivery memos give the same verdicts again)."""
        ss = self.ss
        started = time.perf_counter()
        index = self.dedup.current()
        items: list[tuple[Article, str]] = []
        for event in events:
            try:
                items.append((Article.from_json(event.message.value), delivery_of(event)))
            except Exception as exc:  # noqa: BLE001 - the next message must still run
                await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
        if items:
            articles = [article for article, _ in items]
            values, sizes, keys = sign_articles(articles, ss.dedup_config)
            verdicts = index.check_signed(items, values, sizes, keys)
            await send_deduped(ss, list(zip(articles, verdicts, strict=True)))
            index.expire(max(article.published for article in articles))  # event time
        with event_context(events[-1]):
            self.dedup.flush()
        ss.metrics.observe_batch("dedup", len(events), time.perf_counter() - started)
