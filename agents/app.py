"""The faust app: topics bound to schemas, changelogged tables and one thin agent per stage."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import faust
import faust.streams
from aiokafka import TopicPartition
from faust.types import EventT

from agents.abstractive import AbstractiveBackend
from agents.fetch_guard import hand_back_undelivered_records
from agents.metrics import Metrics
from agents.offsets import GroupOffsets, bootstrap_of
from agents.settings import Settings
from agents.watchdog import StallWatch
from agents.web import register_views
from pipeline.assignment.assigner import ClusterConfig, StoryAssigner, article_terms
from pipeline.common.errors import BadInput
from pipeline.dedup.bands import BandOwner, DedupHome
from pipeline.dedup.index import DedupConfig, sign_articles
from pipeline.engine import summarize_story_with
from pipeline.normalization.normalize import NormalizeConfig, normalize, parse_raw
from pipeline.summaries.book import RefreshSchedule, StoryBook
from pipeline.summaries.summarize import SummaryConfig
from schemas import (
    ALL_TOPICS,
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEADLETTER,
    DEDUP_BANDS,
    DEDUP_MATCHES,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    Article,
    BandAnswer,
    BandDecision,
    BandProbe,
    BandWatermark,
    DeadLetter,
    DedupedArticle,
    DedupVerdict,
    StoryAssignment,
    StoryUpdate,
    decode_band_message,
)

log = logging.getLogger(__name__)

DAY = 86400.0
IDLE_AFTER = 5.0  # seconds without dedup traffic after which watermarks slow down
IDLE_MARKS = 0.5  # seconds between watermarks of an idle worker
STALL_WARNING_SECONDS = 30.0  # a band owner warns when probes wait longer than this
STALL_CHECK_SECONDS = 5.0  # how often input partitions are checked for stalled messages
SHUTDOWN_ACK_WAIT = 5.0  # seconds a stopping worker waits for in-flight events to be acked


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


class PartitionEvent:
    """Stands in for an event of ``topic``/``partition`` when a timer writes tables.

    faust reads only the current event's topic and partition to place a table write in the
    changelog; a timer acting for one partition's stories sets this as the current event.
    """

    def __init__(self, topic: str, partition: int) -> None:
        self.message = SimpleNamespace(topic=topic, partition=partition)


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
class PartitionedStage:
    """One pure stage object per partition, its state under ``<partition>:`` keys of a table.

    Like :class:`StatefulStage`, but for stages whose state is partitioned like their topic
    (the dedup homes and band owners): each partition's object is rebuilt from its own keys
    after a rebalance, and its changes are written under an event of that partition.
    """

    factory: Callable[[int], Any]
    table: Any
    generation: int = 0
    stages: dict[int, tuple[int, Any]] = field(default_factory=dict)

    def get(self, partition: int) -> Any:
        built = self.stages.get(partition)
        if built is None or built[0] != self.generation:
            stage = self.factory(partition)
            prefix = f"{partition}:"
            stage.restore(
                (key[len(prefix) :], value)
                for key, value in list(self.table.items())
                if value is not None and key.startswith(prefix)
            )
            built = (self.generation, stage)
            self.stages[partition] = built
        return built[1]

    def built(self, partition: int) -> bool:
        built = self.stages.get(partition)
        return built is not None and built[0] == self.generation

    def flush(self, partition: int) -> None:
        """Write one partition's pending changes (call inside an event of that partition)."""
        prefix = f"{partition}:"
        for key, value in self.get(partition).drain_changes():
            if value is None:
                self.table.pop(prefix + key, None)
            else:
                self.table[prefix + key] = value


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
    group_offsets: GroupOffsets  # this worker group's offsets (ops lag gauge, stall watch)
    abstractive: AbstractiveBackend | None = None
    update_listeners: list[Callable[[StoryUpdate], Any]] = field(default_factory=list)
    assignment_listeners: list[Callable[[StoryAssignment], Any]] = field(default_factory=list)
    deadletter_listeners: list[Callable[[DeadLetter], Any]] = field(default_factory=list)
    # publish_due_summaries(partitions, now): the summary refresh the timer runs
    publish_due_summaries: Callable[[set[int], float], Awaitable[None]] | None = None

    async def send_raw(self, payload: bytes, key: str | None = None) -> None:
        """Put one raw article (JSON bytes) on ``articles.raw``."""
        await self.topics[ARTICLES_RAW].send(key=key.encode() if key else None, value=payload)

    async def dead_letter(self, stage: str, reason: str, event: EventT) -> None:
        letter = make_dead_letter(stage, reason, event)
        self.metrics.dead_letters.labels(stage=stage).inc()
        log.warning("dead letter from %s: %s", stage, reason)
        await self.topics[DEADLETTER].send(key=event.message.key, value=letter.to_json())


class StorystreamApp(faust.App):
    """faust's App, except that a stopping worker waits a bounded time for acknowledgements.

    faust waits, without a limit, for every event it handed to an agent to be acknowledged
    before a worker stops (``stream_wait_empty``). An agent reading with ``take_events`` that
    is stopped while it holds a part-filled batch never yields those events, so they are never
    acknowledged and the worker never stops; the dedup band owners, which receive watermarks
    every fraction of a second, are nearly always holding some. Here the wait ends after
    :data:`SHUTDOWN_ACK_WAIT` seconds. Unacknowledged events are not committed, so whichever
    worker owns their partitions next reads them again, and every stage is idempotent. A
    rebalance keeps faust's wait: its streams keep running, so their batches drain.
    """

    async def on_stop(self) -> None:
        consumer = self._consumer
        if consumer is not None and self.conf.stream_wait_empty:
            try:
                await asyncio.wait_for(consumer.wait_empty(), SHUTDOWN_ACK_WAIT)
            except TimeoutError:
                log.warning(
                    "stopping without waiting longer for %d unacknowledged events; the next"
                    " owner of their partitions reads them again",
                    len(consumer._unacked_messages),
                )
            except Exception as exc:  # noqa: BLE001 - a consumer that never started
                log.debug("no wait for acknowledgements: %r", exc)
            with warnings.catch_warnings():
                # faust warns on changing a setting after start; the consumer reads it when
                # it stops, which is the point
                warnings.simplefilter("ignore")
                self.conf.stream_wait_empty = False
        await super().on_stop()


def keep_unprocessed_unacked(app: faust.App) -> None:
    """Never acknowledge a message fetched before the current rebalance generation.

    faust skips the events it fetched before a rebalance (or while flow is paused for one) but
    still acknowledges them, so their offsets get committed and the messages are never read
    again: an article posted while a worker dies could vanish. With this guard such an ack is
    refused; after the rebalance the consumer seeks back to the committed offset and the
    message is delivered again (the stages are idempotent, so a message that was in fact
    processed just gets its first answer again). faust's compiled stream iterator acknowledges
    skipped events inline, past the consumer, so streams use its pure-Python iterator, which
    acknowledges through the consumer and so through this guard.

    A refused message also leaves the consumer's set of messages awaiting acknowledgement:
    a rebalance waits for that set to empty before it hands partitions over, and a message
    whose acknowledgement was refused would keep it waiting forever.
    """
    faust.streams._CStreamIterator = None
    new_consumer = app._new_consumer

    def make_consumer() -> Any:
        consumer = new_consumer()
        ack = consumer.ack

        def guarded_ack(message: Any) -> bool:
            stale = getattr(message, "generation_id", app.consumer_generation_id)
            if stale != app.consumer_generation_id or not app.flow_control.is_active():
                consumer._unacked_messages.discard(message)
                return False
            return ack(message)

        consumer.ack = guarded_ack
        return consumer

    app._new_consumer = make_consumer


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
    app = StorystreamApp(settings.app_id, **{**app_config(settings), **faust_overrides})
    keep_unprocessed_unacked(app)
    hand_back_undelivered_records(app)

    def topic(*names: str, partitions: int) -> faust.TopicT:
        return app.topic(
            *names,
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
        ARTICLES_RAW: topic(ARTICLES_RAW, partitions=settings.raw_partitions),
        # Dedup homes (keyed by canonical url) and band owners scale out together: the three
        # dedup topics share one partition count, so a worker gets the same numbers of each.
        ARTICLES_NORMALIZED: topic(ARTICLES_NORMALIZED, partitions=settings.dedup_partitions),
        DEDUP_BANDS: topic(DEDUP_BANDS, partitions=settings.dedup_partitions),
        DEDUP_MATCHES: topic(DEDUP_MATCHES, partitions=settings.dedup_partitions),
        # assign holds the global story index: one ordered partition (see README).
        ARTICLES_DEDUPED: topic(ARTICLES_DEDUPED, partitions=1),
        STORIES_ASSIGNMENTS: topic(STORIES_ASSIGNMENTS, partitions=settings.story_partitions),
        STORIES_UPDATES: topic(STORIES_UPDATES, partitions=settings.story_partitions),
        DEADLETTER: topic(DEADLETTER, partitions=1),
    }

    def table(name: str, partitions: int) -> Any:
        # bytes values get the raw codec: the stages' own encodings are stored as they are.
        return app.Table(name, default=None, partitions=partitions, key_type=str, value_type=bytes)

    tables = {
        "dedup-homes": table("dedup-homes", settings.dedup_partitions),
        "dedup-bands": table("dedup-bands", settings.dedup_partitions),
        "assign-state": table("assign-state", 1),
        "story-members": table("story-members", settings.story_partitions),
        "story-index": table("story-index", settings.story_partitions),
        "story-meta": table("story-meta", settings.story_partitions),
        "story-pending": table("story-pending", settings.story_partitions),
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
        group_offsets=GroupOffsets(bootstrap_of(settings.broker_url), settings.app_id),
    )
    if settings.llm_url:
        ss.abstractive = AbstractiveBackend(
            settings.llm_url,
            settings.llm_model,
            api_key=settings.llm_api_key,
            timeout=settings.llm_timeout_seconds,
        )
    parts = settings.dedup_partitions
    my_homes: set[int] = set()  # this worker's partitions of articles.normalized
    my_inputs: set[tuple[str, int]] = set()  # this worker's partitions of the pipeline topics
    stall_watch = StallWatch(ss.group_offsets)

    @app.timer(STALL_CHECK_SECONDS)
    async def reread_stalled_partitions() -> None:
        """Partitions with waiting messages and a committed offset that stopped are read again
        (see :class:`~agents.watchdog.StallWatch`). Never during a rebalance or a table
        recovery: the offset look-ups take time, so this is checked again before seeking."""

        def settled() -> bool:
            return not (app.rebalancing or app.in_recovery)

        if not settled():
            return
        inputs = [TopicPartition(topic, part) for topic, part in my_inputs]
        await stall_watch.unstick(app.consumer, inputs, may_seek=settled)

    homes = PartitionedStage(lambda p: DedupHome(p, parts, dedup_config), tables["dedup-homes"])
    owners = PartitionedStage(lambda p: BandOwner(p, parts, dedup_config), tables["dedup-bands"])
    # The home agent reads articles and the band owners' answers for the same partitions.
    home_inputs = topic(ARTICLES_NORMALIZED, DEDUP_MATCHES, partitions=parts)
    assign = StatefulStage(lambda: StoryAssigner(cluster_config), tables["assign-state"])
    book = StoryBook(tables["story-members"], tables["story-index"], tables["story-meta"])
    summarize = summarize_story_with(summary_config)
    refreshes = RefreshSchedule(
        tables["story-pending"],
        quiet=settings.summary_debounce_seconds,
        longest=settings.summary_max_wait_seconds,
    )
    book_lock = asyncio.Lock()  # the summarize agent and the publishing timer share the book
    refresh_tick = min(0.25, max(0.05, settings.summary_debounce_seconds / 4))

    @app.on_partitions_assigned.connect
    async def _rebuild_after_rebalance(sender: Any, assigned: Any, **kwargs: Any) -> None:
        homes.generation += 1
        owners.generation += 1
        assign.generation += 1
        my_homes.clear()
        my_homes.update(tp.partition for tp in assigned if tp.topic == ARTICLES_NORMALIZED)
        my_inputs.clear()
        my_inputs.update((tp.topic, tp.partition) for tp in assigned if tp.topic in ALL_TOPICS)

    batch = settings.batch_size
    within = settings.batch_within_seconds
    dedup_within = settings.dedup_batch_within_seconds

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
                # Keyed by canonical url: every version and resend of an article meets at
                # one dedup home partition.
                await topics[ARTICLES_NORMALIZED].send(
                    key=(article.url or article.id).encode(), value=article.to_json()
                )
            ss.metrics.observe_batch("normalize", len(events), time.perf_counter() - started)

    async def send_band(partition: int, key: str, value: bytes) -> None:
        await topics[DEDUP_BANDS].send(key=key.encode(), value=value, partition=partition)

    @app.agent(home_inputs, name="dedup-home")
    async def dedup_home_agent(stream: faust.StreamT) -> None:
        """Articles and band answers of this worker's home partitions, a batch at a time.

        The batch is decided in memory; then verdicts and probes go out, then (once the
        verdicts are acknowledged) the decisions to the band owners, and only then is the
        state written: a crash before that redelivers the batch, which decides the same way.
        """
        async for events in stream.take_events(batch, within=dedup_within):
            started = time.perf_counter()
            dedup_clock["active"] = time.time()
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
                values, sizes, keys = sign_articles(list(decoded.values()), dedup_config)
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
                            step = home.receive(
                                article, delivery_of(event), *signed[i], time.time()
                            )
                            if step.verdict is not None:
                                verdicts.append((article, step.verdict))
                            probes.extend(step.probes)
                            event_time[part] = max(
                                event_time.get(part, article.published), article.published
                            )
                except Exception as exc:  # noqa: BLE001 - the next message must still run
                    await ss.dead_letter("dedup", f"{type(exc).__name__}: {exc}", event)
                last[part] = event
            acks = []
            for article, verdict in verdicts:
                ss.metrics.duplicates.labels(kind=verdict.kind).inc()
                # Tokenizing needs no shared state: done here, on the partitioned stage, so
                # the single-partition assign stage only weighs and compares.
                terms = None if not verdict.counts else article_terms(article, cluster_config)
                deduped = DedupedArticle(article=article, verdict=verdict, terms=terms)
                acks.append(
                    await topics[ARTICLES_DEDUPED].send(
                        key=article.id.encode(), value=deduped.to_json()
                    )
                )
            for owner, probe in probes:
                await send_band(owner, probe.article_id, probe.to_json())
            for part in last:
                homes.get(part).sent_all()
            if probes and not app.rebalancing:
                await send_watermarks()  # right behind the probes, rather than at the next tick
            if decisions:
                # Verdicts are on articles.deduped before any owner learns their roots, so a
                # copy decided from a root never reaches the assign stage before its original.
                await asyncio.gather(*acks)
                for owner, decision in decisions:
                    await send_band(owner, decision.article_id, decision.to_json())
            for part, event in last.items():
                with event_context(event):
                    if part in event_time:  # older articles leave the index (event time)
                        homes.get(part).expire(event_time[part])
                    homes.flush(part)
            ss.metrics.observe_batch("dedup", len(events), time.perf_counter() - started)

    stall_warned: dict[int, float] = {}

    @app.agent(topics[DEDUP_BANDS], name="dedup-bands")
    async def dedup_bands_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch, within=dedup_within):
            touched: dict[int, tuple[EventT, float]] = {}
            for event in events:
                part = event.message.partition
                try:
                    message = decode_band_message(event.message.value)
                    owners.get(part).receive(message)
                    if not isinstance(message, BandWatermark):
                        dedup_clock["active"] = time.time()
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
                    await topics[DEDUP_MATCHES].send(
                        key=answer.article_id.encode(),
                        value=answer.to_json(),
                        partition=answer.home,
                    )
                with event_context(event):
                    if now > float("-inf"):
                        owner.expire(now)
                    owners.flush(part)
                stuck, behind = owner.waiting(time.time(), STALL_WARNING_SECONDS)
                if stuck and time.time() - stall_warned.get(part, 0.0) > STALL_WARNING_SECONDS:
                    stall_warned[part] = time.time()
                    log.warning(
                        "dedup band partition %d: %d probes unanswered for over %.0f s;"
                        " watermarks behind from home partitions %s",
                        part,
                        stuck,
                        STALL_WARNING_SECONDS,
                        behind,
                    )

    dedup_clock = {"active": 0.0, "marked": 0.0}  # last dedup traffic, last watermarks sent

    async def send_watermarks() -> None:
        """Each of this worker's home partitions tells every band owner how far it has sent."""
        now = time.time()
        for part in sorted(my_homes):
            payload = homes.get(part).watermark(now).to_json()
            for owner in range(parts):
                await send_band(owner, f"watermark/{part}", payload)
        dedup_clock["marked"] = now

    @app.timer(settings.dedup_watermark_seconds)
    async def dedup_watermarks() -> None:
        """Watermarks every tick while this worker has dedup traffic (the last few seconds),
        else every IDLE_MARKS: an idle worker still lets the owners answer other workers'
        probes."""
        if app.rebalancing:
            return
        now = time.time()
        if now - dedup_clock["active"] > IDLE_AFTER and now - dedup_clock["marked"] < IDLE_MARKS:
            return
        await send_watermarks()

    @app.agent(topics[ARTICLES_DEDUPED], name="assign")
    async def assign_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(batch, within=within):
            started = time.perf_counter()
            stage = assign.current()
            for event in events:
                try:
                    item = DedupedArticle.from_json(event.message.value)
                    assignment = stage.assign(
                        item.article, item.verdict, delivery_of(event), terms=item.terms
                    )
                except Exception as exc:  # noqa: BLE001
                    await ss.dead_letter("assign", f"{type(exc).__name__}: {exc}", event)
                    continue
                await topics[STORIES_ASSIGNMENTS].send(
                    key=assignment.story_id.encode(), value=assignment.to_json()
                )
            # One partition feeds this stage: its state is written once per batch, after the
            # assignments went out (a crash in between replays the batch to the same answers).
            with event_context(events[-1]):
                assign.flush()
            ss.metrics.observe_batch("assign", len(events), time.perf_counter() - started)

    @app.agent(topics[STORIES_ASSIGNMENTS], name="summarize")
    async def summarize_agent(stream: faust.StreamT) -> None:
        async for events in stream.take_events(max(batch, 1000), within=within):
            started = time.perf_counter()
            async with book_lock:
                now = time.time()
                for event in events:
                    with event_context(event):
                        try:
                            assignment = StoryAssignment.from_json(event.message.value)
                            changed = book.add(assignment)
                        except Exception as exc:  # noqa: BLE001
                            await ss.dead_letter("summarize", f"{type(exc).__name__}: {exc}", event)
                            continue
                        for story_id in changed:
                            refreshes.touch(
                                event.message.partition, story_id, now, assignment.related
                            )
                    for listener in ss.assignment_listeners:
                        listener(assignment)
            ss.metrics.observe_batch("summarize", len(events), time.perf_counter() - started)

    async def publish_due_summaries(partitions: set[int], now: float) -> None:
        """Refresh and publish the stories of ``partitions`` whose changes have gone quiet."""
        async with book_lock:
            for partition, story_id, related in refreshes.due(now, partitions):
                # Table writes go to the changelog partition of the assignments that touched
                # the story, as if made while processing one of them.
                with event_context(PartitionEvent(STORIES_ASSIGNMENTS, partition)):
                    try:
                        await publish_summary(story_id, related)
                    except Exception as exc:  # noqa: BLE001 - kept pending, tried next tick
                        log.warning("update of story %s not published: %r", story_id, exc)
                        continue
                    refreshes.done(partition, story_id)

    ss.publish_due_summaries = publish_due_summaries

    @app.timer(refresh_tick)
    async def summary_refresh_timer() -> None:
        if app.rebalancing or app.in_recovery:
            return
        mine = {part for name, part in my_inputs if name == STORIES_ASSIGNMENTS}
        await publish_due_summaries(mine, time.time())

    async def publish_summary(story_id: str, related: list[str]) -> None:
        """Summarize a changed story and publish its next version."""
        try:
            update = book.prepare(
                story_id, summarize, now=time.time(), related=book.related_stories(related)
            )
            if update is not None and ss.abstractive is not None:
                update = await ss.abstractive.refine(update, book.story_members(story_id))
        except Exception:  # noqa: BLE001 - a failing summary must not block the others
            log.exception("summary of story %s failed; retried on its next change", story_id)
            return
        if update is None:
            return
        # Record the version only once the broker has the update: a crash in between
        # republishes the same version instead of losing it.
        sent = await topics[STORIES_UPDATES].send(key=story_id.encode(), value=update.to_json())
        await sent
        book.commit(update)
        ss.metrics.story_updates.inc()

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
