"""What every stage agent is handed: the worker's context and the helpers its agents share.

:class:`Storystream` is the worker's context (settings, topics, tables, metrics, stage
configurations, listeners); the web side and each stage receive it explicitly. The helpers put
table writes on the right changelog partition, name a delivery, wrap a failed message as a
dead letter, and keep a stage's in-memory state in step with its changelogged table.
"""

from __future__ import annotations

import base64
import contextlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import faust
import faust.streams
from faust.types import EventT

from agents.abstractive import AbstractiveBackend
from agents.health import BrokerHealth
from agents.metrics import Metrics
from agents.offsets import GroupOffsets
from agents.settings import Settings
from pipeline.assignment.assigner import ClusterConfig
from pipeline.dedup.index import DedupConfig
from pipeline.normalization.normalize import NormalizeConfig
from pipeline.summaries.summarize import SummaryConfig
from schemas import (
    ALL_TOPICS,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEADLETTER,
    FEEDS,
    DeadLetter,
    FeedRecord,
    StoryAssignment,
    StoryUpdate,
)

log = logging.getLogger(__name__)


def declare_topic(app: faust.App, *names: str, partitions: int) -> faust.TopicT:
    """A topic (or several read as one) of raw bytes, declared with ``partitions``.

    Declared by the worker with this partition count: brokers that auto-create topics would
    otherwise pick their own count.
    """
    return app.topic(
        *names,
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        partitions=partitions,
        internal=True,
    )


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


MAX_DEAD_LETTER_ORIGINAL = 512 * 1024  # bytes of a failed message a dead letter keeps


def _decode(value: bytes, cut: bool) -> str:
    """``value`` as UTF-8 (when ``cut``, a character cut at its end is dropped)."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        if cut and exc.end == len(value) and exc.start >= len(value) - 3:
            return value[: exc.start].decode("utf-8")
        raise


def make_dead_letter(stage: str, reason: str, event: EventT) -> DeadLetter:
    """Wrap the original bytes of a failed message with the stage and the reason.

    A message over :data:`MAX_DEAD_LETTER_ORIGINAL` bytes keeps only its head (the reason says
    so): the whole of it, encoded, could be more than the producer may send, and a dead letter
    that cannot be sent would stop the agent.
    """
    msg = event.message
    value = msg.value if isinstance(msg.value, bytes) else bytes(str(msg.value), "utf-8")
    cut = len(value) > MAX_DEAD_LETTER_ORIGINAL
    if cut:
        reason += f" (original cut to its first {MAX_DEAD_LETTER_ORIGINAL} of {len(value)} bytes)"
        value = value[:MAX_DEAD_LETTER_ORIGINAL]
    try:
        original, encoding = _decode(value, cut), "utf-8"
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
class Ownership:
    """The partitions this worker owns, and the stages to rebuild when they change.

    After every rebalance each stateful stage's generation grows, so the stage is rebuilt from
    its table before its next batch.
    """

    rebuilt: list[Any] = field(default_factory=list)  # StatefulStage or PartitionedStage
    homes: set[int] = field(default_factory=set)  # partitions of articles.normalized
    inputs: set[tuple[str, int]] = field(default_factory=set)  # partitions of pipeline topics

    def assigned(self, partitions: Iterable[Any]) -> None:
        """Record a rebalance's assignment (topic/partition pairs)."""
        partitions = list(partitions)
        for stage in self.rebuilt:
            stage.generation += 1
        self.homes.clear()
        self.homes.update(tp.partition for tp in partitions if tp.topic == ARTICLES_NORMALIZED)
        self.inputs.clear()
        self.inputs.update((tp.topic, tp.partition) for tp in partitions if tp.topic in ALL_TOPICS)

    def partitions_of(self, topic: str) -> set[int]:
        """This worker's partitions of ``topic``."""
        return {part for name, part in self.inputs if name == topic}


@dataclass
class Storystream:
    """The worker's context, handed to every stage and to the web side.

    The faust app with its topics and tables, the settings, metrics and each stage's
    configuration, built from one Settings object.
    """

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
    broker_health: BrokerHealth  # whether the broker answers (readiness, intake)
    helpers: Any = None  # helper processes for pure work (agents.helpers.HelperPool)
    ownership: Ownership = field(default_factory=Ownership)
    abstractive: AbstractiveBackend | None = None
    feeds: Any = None  # the feed fetcher (agents.stages.feeds.FeedAgent) once registered
    update_listeners: list[Callable[[StoryUpdate], Any]] = field(default_factory=list)
    assignment_listeners: list[Callable[[StoryAssignment], Any]] = field(default_factory=list)
    deadletter_listeners: list[Callable[[DeadLetter], Any]] = field(default_factory=list)
    # publish_due_summaries(partitions, now): the summary refresh the timer runs
    publish_due_summaries: Callable[[set[int], float], Awaitable[None]] | None = None

    async def send_raw(self, payload: bytes, key: str | None = None) -> Awaitable[Any]:
        """Put one raw article (JSON bytes) on ``articles.raw``.

        Returns the delivery future: it resolves once the broker has acknowledged the article.
        """
        return await self.topics[ARTICLES_RAW].send(
            key=key.encode() if key else None, value=payload
        )

    async def send_feed(self, url: str) -> Awaitable[Any]:
        """Put one feed on ``feeds`` (keyed by its url); returns the delivery future."""
        record = FeedRecord(url=url, added_at=time.time())
        return await self.topics[FEEDS].send(key=url.encode(), value=record.to_json())

    async def dead_letter(self, stage: str, reason: str, event: EventT) -> None:
        letter = make_dead_letter(stage, reason, event)
        self.metrics.dead_letters.labels(stage=stage).inc()
        log.warning("dead letter from %s: %s", stage, reason)
        await self.topics[DEADLETTER].send(key=event.message.key, value=letter.to_json())
