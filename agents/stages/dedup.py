"""The dedup agents: homes decide verdicts, band owners answer probes, watermarks pace them.

A dedup home (keyed by canonical url) signs its articles and probes the band owners; each band
owner answers once every home's watermark has passed a probe, so every copy sees its original
first. The protocol itself is pure (``pipeline.dedup.bands``); these agents move its messages.
"""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial
from typing import Any

import faust
from faust.types import EventT

from agents.batching import take_drained
from agents.runtime import (
    PartitionedStage,
    Storystream,
    declare_topic,
    delivery_of,
    event_context,
)
from pipeline.assignment.assigner import article_terms
from pipeline.dedup.bands import BandOwner, DedupHome
from pipeline.dedup.index import sign_articles
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    Article,
    BandAnswer,
    BandDecision,
    BandProbe,
    BandWatermark,
    DedupedArticle,
    DedupVerdict,
    decode_band_message,
)

log = logging.getLogger(__name__)

IDLE_AFTER = 5.0  # seconds without dedup traffic after which watermarks slow down
IDLE_MARKS = 0.5  # seconds between watermarks of an idle worker
STALL_WARNING_SECONDS = 30.0  # a band owner warns when probes wait longer than this


async def send_deduped(ss: Storystream, decided: list[tuple[Article, DedupVerdict]]) -> list[Any]:
    """Put decided articles on ``articles.deduped``; the sends' acknowledgement futures.

    Tokenizing needs no shared state: it is done here, by the dedup stage (in a helper
    process), so the single-partition assign stage only weighs and compares.
    """
    counted = [article for article, verdict in decided if verdict.counts]
    work = partial(article_terms, config=ss.cluster_config)
    computed = iter(await ss.helpers.each(work, counted))
    acks = []
    for article, verdict in decided:
        ss.metrics.duplicates.labels(kind=verdict.kind).inc()
        terms = next(computed) if verdict.counts else None
        if isinstance(terms, Exception):
            raise terms
        deduped = DedupedArticle(article=article, verdict=verdict, terms=terms)
        acks.append(
            await ss.topics[ARTICLES_DEDUPED].send(key=article.id.encode(), value=deduped.to_json())
        )
    return acks


class DedupAgents:
    """The dedup home agent, the band owner agent and the watermark timer of one worker."""

    def __init__(self, ss: Storystream, homes: PartitionedStage, owners: PartitionedStage) -> None:
        self.ss = ss
        self.homes = homes
        self.owners = owners
        self.parts = ss.settings.dedup_partitions
        self.active = 0.0  # when this worker last had dedup traffic
        self.marked = 0.0  # when it last sent watermarks
        self.stall_warned: dict[int, float] = {}

    @classmethod
    def stage_objects(cls, ss: Storystream) -> tuple[PartitionedStage, PartitionedStage]:
        """The dedup homes and band owners, each partition's state in its table."""
        parts, config = ss.settings.dedup_partitions, ss.dedup_config
        homes = PartitionedStage(lambda p: DedupHome(p, parts, config), ss.tables["dedup-homes"])
        owners = PartitionedStage(lambda p: BandOwner(p, parts, config), ss.tables["dedup-bands"])
        return homes, owners

    def register(self) -> None:
        ss, app = self.ss, self.ss.app
        # The home agent reads articles and the band owners' answers for the same partitions.
        home_inputs = declare_topic(app, ARTICLES_NORMALIZED, DEDUP_MATCHES, partitions=self.parts)
        app.agent(home_inputs, name="dedup-home")(self.homes_run)
        app.agent(ss.topics[DEDUP_BANDS], name="dedup-bands")(self.owners_run)
        app.timer(ss.settings.dedup_watermark_seconds)(self.watermark_tick)

    async def send_band(self, partition: int, key: str, value: bytes) -> None:
        await self.ss.topics[DEDUP_BANDS].send(key=key.encode(), value=value, partition=partition)

    async def homes_run(self, stream: faust.StreamT) -> None:
        """Articles and band answers of this worker's home partitions, a batch at a time.

        The batch is decided in memory; then verdicts and probes go out, then (once the
        verdicts are acknowledged) the decisions to the band owners, and only then is the
        state written: a crash before that redelivers the batch, which decides the same way.
        """
        settings = self.ss.settings
        async for events in take_drained(
            stream, settings.batch_size, within=settings.dedup_batch_within_seconds
        ):
            await self.home_batch(events)

    async def home_batch(self, events: list[EventT]) -> None:
        ss, homes = self.ss, self.homes
        started = time.perf_counter()
        self.active = time.time()
        decoded: dict[int, Article] = {}
        for i, event in enumerate(events):
            if event.message.topic == DEDUP_MATCHES:
                continue
            try:
                decoded[i] = Article.from_json(event.message.value)
            except Exception as exc:  # noqa: BLE001
                await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
        signed: dict[int, tuple[Any, int, Any]] = {}
        if decoded:
            values, sizes, keys = sign_articles(list(decoded.values()), ss.dedup_config)
            for n, i in enumerate(decoded):
                signed[i] = (values[n], int(sizes[n]), keys[n])
        verdicts: list[tuple[Article, DedupVerdict]] = []
        probes: list[tuple[int, BandProbe]] = []
        decisions: list[tuple[int, BandDecision]] = []
        last: dict[int, EventT] = {}
        event_time: dict[int, float] = {}
        for i, event in enumerate(events):
            part = event.message.partition
            home = homes.get(part)
            try:
                with event_context(event):
                    if event.message.topic == DEDUP_MATCHES:
                        decided = home.answer(BandAnswer.from_json(event.message.value))
                        if decided is not None:
                            verdicts.append((decided.article, decided.verdict))
                            decisions.extend(decided.decisions)
                    elif i in decoded:
                        article = decoded[i]
                        step = home.receive(article, delivery_of(event), *signed[i], time.time())
                        if step.verdict is not None:
                            verdicts.append((article, step.verdict))
                        probes.extend(step.probes)
                        event_time[part] = max(
                            event_time.get(part, article.published), article.published
                        )
            except Exception as exc:  # noqa: BLE001 - the next message must still run
                await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
            last[part] = event
        acks = await send_deduped(ss, verdicts)
        for owner, probe in probes:
            await self.send_band(owner, probe.article_id, probe.to_json())
        for part in last:
            homes.get(part).sent_all()
        if probes and not ss.app.rebalancing:
            await self.send_watermarks()  # right behind the probes, rather than at the next tick
        if decisions:
            # Verdicts are on articles.deduped before any owner learns their roots, so a
            # copy decided from a root never reaches the assign stage before its original.
            await asyncio.gather(*acks)
            for owner, decision in decisions:
                await self.send_band(owner, decision.article_id, decision.to_json())
        for part, event in last.items():
            with event_context(event):
                if part in event_time:  # older articles leave the index (event time)
                    homes.get(part).expire(event_time[part])
                homes.flush(part)
        ss.metrics.observe_batch("dedup", len(events), time.perf_counter() - started)

    async def owners_run(self, stream: faust.StreamT) -> None:
        settings = self.ss.settings
        async for events in take_drained(
            stream, settings.batch_size, within=settings.dedup_batch_within_seconds
        ):
            await self.owner_batch(events)

    async def owner_batch(self, events: list[EventT]) -> None:
        ss, owners = self.ss, self.owners
        touched: dict[int, tuple[EventT, float]] = {}
        for event in events:
            part = event.message.partition
            try:
                message = decode_band_message(event.message.value)
                owners.get(part).receive(message)
                if not isinstance(message, BandWatermark):
                    self.active = time.time()
            except Exception as exc:  # noqa: BLE001
                await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
                continue
            seen = touched.get(part, (event, float("-inf")))[1]
            published = getattr(message, "published", seen)
            touched[part] = (event, max(seen, published))
        for part, (event, now) in touched.items():
            owner = owners.get(part)
            # Answers go out before the state that marks them given is written: a crash
            # in between redelivers the probe, and the home ignores a repeated answer.
            for answer in owner.advance(time.time()):
                await ss.topics[DEDUP_MATCHES].send(
                    key=answer.article_id.encode(),
                    value=answer.to_json(),
                    partition=answer.home,
                )
            with event_context(event):
                if now > float("-inf"):
                    owner.expire(now)
                owners.flush(part)
            self.warn_if_stalled(part, owner)

    def warn_if_stalled(self, part: int, owner: BandOwner) -> None:
        stuck, behind = owner.waiting(time.time(), STALL_WARNING_SECONDS)
        if stuck and time.time() - self.stall_warned.get(part, 0.0) > STALL_WARNING_SECONDS:
            self.stall_warned[part] = time.time()
            log.warning(
                "dedup band partition %d: %d probes unanswered for over %.0f s;"
                " watermarks behind from home partitions %s",
                part,
                stuck,
                STALL_WARNING_SECONDS,
                behind,
            )

    async def send_watermarks(self) -> None:
        """Each of this worker's home partitions tells every band owner how far it has sent."""
        now = time.time()
        for part in sorted(self.ss.ownership.homes):
            payload = self.homes.get(part).watermark(now).to_json()
            for owner in range(self.parts):
                await self.send_band(owner, f"watermark/{part}", payload)
        self.marked = now

    async def watermark_tick(self) -> None:
        """Watermarks every tick while this worker has dedup traffic (the last few seconds),
        else every IDLE_MARKS: an idle worker still lets the owners answer other workers'
        probes."""
        if self.ss.app.rebalancing:
            return
        now = time.time()
        if now - self.active > IDLE_AFTER and now - self.marked < IDLE_MARKS:
            return
        await self.send_watermarks()
