"""The faust app: topics bound to schemas, changelogged tables and one thin agent per stage."""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import faust
import faust.streams
from faust.types import EventT

from agents.abstractive import AbstractiveBackend
from agents.metrics import Metrics
from agents.settings import Settings
from agents.web import register_views
from pipeline.cluster import ClusterConfig, StoryAssigner
from pipeline.dedup import DedupConfig, Deduplicator
from pipeline.engine import summarize_story_with
from pipeline.errors import BadInput
from pipeline.normalize import NormalizeConfig, normalize, parse_raw
from pipeline.stories import StoryBook
from pipeline.summarize import SummaryConfig
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    Article,
    DeadLetter,
    DedupedArticle,
    DedupVerdict,
    StoryAssignment,
    StoryUpdate,
)

log = logging.getLogger(__name__)

DAY = 86400.0


@contextlib.contextmanager
def event_context(event: EventT) -> Iterator[None]:
    """Make ``event`` the current event while a batch item is processed.

    faust ties table writes to the partition of the current event, and ``take_events`` yields
    a batch without one; setting it per item keeps every changelog write on the partition of
    the message that caused it. faust exposes no public setter, hence the context variable.
    """
    token = faust.streams._current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        faust.streams._current_event.reset(token)


def delivery_of(event: EventT) -> str:
    """topic/partition/offset: the identity of one delivery of a message."""
    msg = event.message
    return f"{msg.topic}/{msg.partition}/{msg.offset}"


def _key_text(key: Any) -> str | None:
    if key is None:
        return None
    if isinstance(key, bytes):
        return key.decode("utf-8", "replace")
    return str(key)


def make_dead_letter(stage: str, reason: str, event: EventT) -> DeadLetter:
    """Wrap the original bytes of a failed message with the stage and the reason."""
    msg = event.message
    value = msg.value if isinstance(msg.value, bytes) else bytes(str(msg.value), "utf-8")
    try:
        original, encoding = value.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        original, encoding = base64.b64encode(value).decode("ascii"), "base64"
    return DeadLetter(
        stage=stage,
        reason=reason,
        original=original,
        original_encoding=encoding,
        topic=msg.topic,
        key=_key_text(msg.key),
        partition=msg.partition,
        offset=msg.offset,
        failed_at=time.time(),
    )


@dataclass
class StatefulStage:
    """A pure stage object whose state lives in a changelogged table.

    The stage keeps fast in-memory indexes; every change it drains is written to the table
    (within the event that caused it) and, after a rebalance, the stage is rebuilt from the
    table before the next batch, so a restarted worker resumes exactly where it left off.
    """

    factory: Callable[[], Any]
    table: Any
    generation: int = 0
    built_generation: int = -1
    stage: Any = None

    def current(self) -> Any:
        if self.built_generation != self.generation or self.stage is None:
            stage = self.factory()
            stage.restore((key, value) for key, value in self.table.items() if value is not None)
            self.stage, self.built_generation = stage, self.generation
        return self.stage

    def flush(self) -> None:
        """Write the stage's pending changes to the table (call inside an event context)."""
        for key, value in self.stage.drain_changes():
            if value is None:
                self.table.pop(key, None)
            else:
                self.table[key] = value


@dataclass
class Storystream:
    """The faust app with its topics, tables and agents, built from one Settings object."""

    settings: Settings
    app: faust.App
    topics: dict[str, faust.TopicT]
    tables: dict[str, Any]
    metrics: Metrics
    normalize_config: NormalizeConfig
    dedup_config: DedupConfig
    cluster_config: ClusterConfig
    summary_config: SummaryConfig
    abstractive: AbstractiveBackend | None = None
    update_listeners: list[Callable[[StoryUpdate], Any]] = field(default_factory=list)
    assignment_listeners: list[Callable[[StoryAssignment], Any]] = field(default_factory=list)
    deadletter_listeners: list[Callable[[DeadLetter], Any]] = field(default_factory=list)

    async def send_raw(self, payload: bytes, key: str | None = None) -> None:
        """Put one raw article (JSON bytes) on ``articles.raw``."""
        await self.topics[ARTICLES_RAW].send(key=key.encode() if key else None, value=payload)

    async def dead_letter(self, stage: str, reason: str, event: EventT) -> None:
        letter = make_dead_letter(stage, reason, event)
        self.metrics.dead_letters.labels(stage=stage).inc()
        log.warning("dead letter from %s: %s", stage, reason)
        await self.topics[DEADLETTER].send(key=event.message.key, value=letter.to_json())


def dedup_batch(
    stage: Deduplicator, decoded: list[tuple[EventT, Article]]
) -> list[DedupVerdict | Exception]:
    """Verdicts for a batch in one vectorized call; on failure, one by one to isolate it."""
    items = [(article, delivery_of(event)) for event, article in decoded]
    try:
        return list(stage.check_many(items))
    except Exception:  # noqa: BLE001 - find the message that broke the batch
        verdicts: list[DedupVerdict | Exception] = []
        for article, delivery in items:
            try:
                verdicts.append(stage.check(article, delivery))
            except Exception as exc:  # noqa: BLE001
                verdicts.append(exc)
        return verdicts


def app_config(settings: Settings) -> dict[str, Any]:
    """faust settings for the chosen broker profile."""
    config: dict[str, Any] = {
        "broker": settings.broker_url,
        "store": settings.store_url,
        "datadir": str(settings.data_dir),
        "web_enabled": settings.web_enabled,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        "topic_partitions": 1,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "table_cleanup_interval": 60.0,
    }
    if settings.embedded:
        config.update(
            broker_session_timeout=3.0,
            broker_heartbeat_interval=0.5,
            broker_rebalance_timeout=2.0,
            producer_max_batch_size=1,
            producer_linger=0.0,
            broker_commit_every=100,
            broker_commit_interval=0.5,
        )
    return config


def build_app(settings: Settings | None = None, **faust_overrides: Any) -> Storystream:
    """Create the faust app, its topics, tables and the four stage agents."""
    settings = settings or Settings.from_env()
    app = faust.App(settings.app_id, **{**app_config(settings), **faust_overrides})

    def topic(name: str, partitions: int) -> faust.TopicT:
        return app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
            partitions=partitions,
            # Declared by the worker with this partition count: brokers that auto-create
            # topics would otherwise pick their own count.
            internal=True,
        )

    topics = {
        ARTICLES_RAW: topic(ARTICLES_RAW, settings.raw_partitions),
        # dedup and assign hold the global indexes: one ordered partition each (see README).
        ARTICLES_NORMALIZED: topic(ARTICLES_NORMALIZED, 1),
        ARTICLES_DEDUPED: topic(ARTICLES_DEDUPED, 1),
        STORIES_ASSIGNMENTS: topic(STORIES_ASSIGNMENTS, settings.story_partitions),
        STORIES_UPDATES: topic(STORIES_UPDATES, settings.story_partitions),
        DEADLETTER: topic(DEADLETTER, 1),
    }

    def table(name: str, partitions: int) -> Any:
        # bytes values get the raw codec: the stages' own encodings are stored as they are.
        return app.Table(name, default=None, partitions=partitions, key_type=str, value_type=bytes)

    tables = {
        "dedup-state": table("dedup-state", 1),
        "assign-state": table("assign-state", 1),
        "story-members": table("story-members", settings.story_partitions),
        "story-index": table("story-index", settings.story_partitions),
        "story-meta": table("story-meta", settings.story_partitions),
    }
    normalize_config = NormalizeConfig(max_body_bytes=settings.max_body_bytes)
    dedup_config = (
        DedupConfig()
        if settings.dedup_window_days is None
        else DedupConfig(window_seconds=settings.dedup_window_days * DAY)
    )
    cluster_config = (
        ClusterConfig()
        if settings.story_dormant_days is None
        else ClusterConfig(dormant_after_seconds=settings.story_dormant_days * DAY)
    )
    summary_config = SummaryConfig()
    ss = Storystream(
        settings=settings,
        app=app,
        topics=topics,
        tables=tables,
        metrics=Metrics(),
        normalize_config=normalize_config,
        dedup_config=dedup_config,
        cluster_config=cluster_config,
        summary_config=summary_config,
    )
    if settings.llm_url:
        ss.abstractive = AbstractiveBackend(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_seconds,
        )
    dedup = StatefulStage(lambda: Deduplicator(dedup_config), tables["dedup-state"])
    assign = StatefulStage(lambda: StoryAssigner(cluster_config), tables["assign-state"])
    book = StoryBook(tables["story-members"], tables["story-index"], tables["story-meta"])
    summarize = summarize_story_with(summary_config)

    @app.on_partitions_assigned.connect
    async def _rebuild_after_rebalance(sender: Any, assigned: Any, **kwargs: Any) -> None:
        dedup.generation += 1
        assign.generation += 1

    batch = settings.batch_size
    within = settings.batch_within_seconds

    @app.agent(topics[ARTICLES_RAW], name="normalize")
    async def normalize_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch, within=within):
            started = time.perf_counter()
            for event in events:
                try:
                    raw = parse_raw(event.message.value)
                    article = normalize(raw, received_at=time.time(), config=normalize_config)
                except BadInput as exc:
                    await ss.dead_letter("normalize", exc.reason, event)
                    continue
                except Exception as exc:  # noqa: BLE001 - the next message must still run
                    await ss.dead_letter("normalize", f"{type(exc).__name__}: {exc}", event)
                    continue
                await topics[ARTICLES_NORMALIZED].send(
                    key=article.id.encode(), value=article.to_json()
                )
            ss.metrics.observe_batch("normalize", len(events), time.perf_counter() - started)

    @app.agent(topics[ARTICLES_NORMALIZED], name="dedup")
    async def dedup_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch, within=within):
            started = time.perf_counter()
            stage = dedup.current()
            decoded: list[tuple[EventT, Article]] = []
            for event in events:
                try:
                    decoded.append((event, Article.from_json(event.message.value)))
                except Exception as exc:  # noqa: BLE001
                    await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
            verdicts = dedup_batch(stage, decoded)
            for (event, article), verdict in zip(decoded, verdicts, strict=True):
                if isinstance(verdict, Exception):
                    await ss.dead_letter("dedup", f"{type(verdict).__name__}: {verdict}", event)
                    continue
                ss.metrics.duplicates.labels(kind=verdict.kind).inc()
                await topics[ARTICLES_DEDUPED].send(
                    key=article.id.encode(),
                    value=DedupedArticle(article=article, verdict=verdict).to_json(),
                )
            if decoded:
                # One partition feeds this stage: its state is logged under the batch's last
                # event, and articles older than the window (in event time) leave the index.
                with event_context(decoded[-1][0]):
                    stage.expire(max(a.published for _, a in decoded))
                    dedup.flush()
            ss.metrics.observe_batch("dedup", len(events), time.perf_counter() - started)

    @app.agent(topics[ARTICLES_DEDUPED], name="assign")
    async def assign_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch, within=within):
            started = time.perf_counter()
            stage = assign.current()
            for event in events:
                with event_context(event):
                    try:
                        item = DedupedArticle.from_json(event.message.value)
                        assignment = stage.assign(item.article, item.verdict, delivery_of(event))
                        assign.flush()
                    except Exception as exc:  # noqa: BLE001
                        await ss.dead_letter("assign", f"{type(exc).__name__}: {exc}", event)
                        continue
                await topics[STORIES_ASSIGNMENTS].send(
                    key=assignment.story_id.encode(), value=assignment.to_json()
                )
            ss.metrics.observe_batch("assign", len(events), time.perf_counter() - started)

    @app.agent(topics[STORIES_ASSIGNMENTS], name="summarize")
    async def summarize_agent(stream: faust.StreamT) -> None:
        debounce = settings.summary_debounce_seconds
        async for events in stream.take_events(max(batch, 1000), within=debounce):
            started = time.perf_counter()
            touched: dict[str, tuple[EventT, StoryAssignment]] = {}
            for event in events:
                with event_context(event):
                    try:
                        assignment = StoryAssignment.from_json(event.message.value)
                        changed = book.add(assignment)
                    except Exception as exc:  # noqa: BLE001
                        await ss.dead_letter("summarize", f"{type(exc).__name__}: {exc}", event)
                        continue
                for listener in ss.assignment_listeners:
                    listener(assignment)
                for story_id in changed:
                    touched[story_id] = (event, assignment)
            for story_id, (event, assignment) in touched.items():
                with event_context(event):
                    try:
                        update = book.prepare(
                            story_id,
                            summarize,
                            now=time.time(),
                            related=book.related_stories(assignment.related),
                        )
                    except Exception as exc:  # noqa: BLE001
                        await ss.dead_letter("summarize", f"{type(exc).__name__}: {exc}", event)
                        continue
                    if update is None:
                        continue
                    if ss.abstractive is not None:
                        update = await ss.abstractive.refine(update, book.story_members(story_id))
                    # Record the version only once the broker has the update: a crash in
                    # between republishes the same version instead of losing it.
                    sent = await topics[STORIES_UPDATES].send(
                        key=story_id.encode(), value=update.to_json()
                    )
                    await sent
                    book.commit(update)
                ss.metrics.story_updates.inc()
            ss.metrics.observe_batch("summarize", len(events), time.perf_counter() - started)

    @app.agent(topics[STORIES_UPDATES], name="updates")
    async def updates_agent(stream: faust.StreamT) -> None:
        async for value in stream:
            if not ss.update_listeners:
                continue
            try:
                update = StoryUpdate.from_json(value)
            except Exception:  # noqa: BLE001 - subscribers only read valid updates
                continue
            for listener in ss.update_listeners:
                listener(update)

    @app.agent(topics[DEADLETTER], name="deadletters")
    async def deadletter_agent(stream: faust.StreamT) -> None:
        async for value in stream:
            if not ss.deadletter_listeners:
                continue
            try:
                letter = DeadLetter.from_json(value)
            except Exception:  # noqa: BLE001
                continue
            for listener in ss.deadletter_listeners:
                listener(letter)

    register_views(ss)
    return ss
