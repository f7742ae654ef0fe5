"""The web's read model: every story, article and dead letter, read from all partitions."""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from mode import Service
from prometheus_client import Gauge

from agents.offsets import GroupOffsets, bootstrap_of
from schemas import (
    ALL_TOPICS,
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    DeadLetter,
    StoryAssignment,
    StoryUpdate,
)

if TYPE_CHECKING:
    from agents.runtime import Storystream

log = logging.getLogger(__name__)

READ_TOPICS = (STORIES_UPDATES, STORIES_ASSIGNMENTS, DEADLETTER)
HOUR = 3600.0


@dataclass(frozen=True)
class ReadModelConfig:
    """Bounds and windows of the read model.

    Attributes:
        max_stories: stories kept in memory; beyond it the least recently updated are evicted
            (with their versions and article index entries).
        max_versions: versions of one story kept for ``/versions`` (the newest ones).
        max_dead_letters: latest dead letters kept with their reasons.
        subscriber_queue: updates queued per live subscriber; when full the oldest queued
            update is dropped (every update is a full snapshot, so the newest one suffices).
        velocity_window_seconds: article velocity counts a story's articles published within
            this event-time window before the newest event seen.
        dormant_after_seconds: a story not updated for this long (event time) is dormant.
        sample_interval_seconds: how often the ops sampler reads the metrics and the lag.
        history_samples: ops samples kept (the charts' time span is this times the interval).
    """

    max_stories: int = 50_000
    max_versions: int = 50
    max_dead_letters: int = 20
    subscriber_queue: int = 64
    velocity_window_seconds: float = 24 * HOUR
    dormant_after_seconds: float = 3 * 24 * HOUR
    sample_interval_seconds: float = 2.0
    history_samples: int = 180


@dataclass
class StoryEntry:
    """One story as the read model keeps it: latest update (parsed and as bytes), versions."""

    latest: StoryUpdate
    latest_json: bytes
    versions: OrderedDict[int, bytes] = field(default_factory=OrderedDict)
    published: list[float] = field(default_factory=list)


@dataclass(eq=False)
class Subscription:
    """A live subscriber to story updates, optionally limited to some story ids."""

    stories: set[str]
    queue: asyncio.Queue[StoryUpdate | None]
    dropped: int = 0

    def wants(self, update: StoryUpdate) -> bool:
        """Followed stories, and from a merge on the story that absorbed a followed one."""
        if not self.stories:
            return True
        if update.story_id not in self.stories:
            return False
        if update.merged_into:
            self.stories.add(update.merged_into)
        return True

    def offer(self, update: StoryUpdate | None) -> None:
        """Queue ``update`` (None ends the stream), dropping the oldest queued one if full."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
                self.dropped += 1
        self.queue.put_nowait(update)


class ReadModel:
    """In-memory views over ``stories.updates``, ``stories.assignments`` and dead letters.

    It is fed record by record (``apply``) from every partition, so every worker's web server
    can answer for every story. Redelivered or older versions are ignored: the model only moves
    forward. Nothing here talks to Kafka, which keeps it testable on its own.
    """

    def __init__(self, config: ReadModelConfig | None = None) -> None:
        self.config = config or ReadModelConfig()
        self.stories: dict[str, StoryEntry] = {}
        self.merged: dict[str, str] = {}
        self.articles: dict[str, StoryAssignment] = {}
        self.moved: dict[str, str] = {}  # article -> the new story a split moved it to
        self.dead_letter_count = 0
        self.dead_letters_by_stage: Counter[str] = Counter()
        self.latest_dead_letters: deque[DeadLetter] = deque(maxlen=self.config.max_dead_letters)
        self.verdicts: Counter[str] = Counter()
        self._seen_verdicts: set[tuple[str, str, str]] = set()
        self.event_clock = 0.0
        self.records = 0
        self.bad_records = 0
        self.caught_up = False
        self.closed = False
        self.subscriptions: set[Subscription] = set()
        self._ranked: dict[str, list[str]] = {}
        self._ranked_at = -1
        self._changes = 0

    # -- feeding ---------------------------------------------------------------------------

    def apply(self, topic: str, value: bytes) -> None:
        """Apply one record of one of the read topics; undecodable records are counted."""
        self.records += 1
        try:
            if topic == STORIES_UPDATES:
                self.apply_update(StoryUpdate.from_json(value), value)
            elif topic == STORIES_ASSIGNMENTS:
                self.apply_assignment(StoryAssignment.from_json(value))
            elif topic == DEADLETTER:
                self.apply_dead_letter(DeadLetter.from_json(value))
        except (ValueError, TypeError) as exc:
            self.bad_records += 1
            log.debug("read model skipped a record of %s: %s", topic, exc)

    def apply_update(self, update: StoryUpdate, raw: bytes | None = None) -> bool:
        """Keep ``update`` if it is newer than the story's latest; returns True if kept."""
        entry = self.stories.get(update.story_id)
        if entry is not None and update.version <= entry.latest.version:
            return False
        raw = raw if raw is not None else update.to_json()
        if entry is None:
            entry = StoryEntry(latest=update, latest_json=raw)
            self.stories[update.story_id] = entry
        entry.latest, entry.latest_json = update, raw
        entry.versions[update.version] = raw
        while len(entry.versions) > self.config.max_versions:
            entry.versions.popitem(last=False)
        entry.published = sorted(a.published for a in update.articles if a.published)
        if update.merged_into:
            self.merged[update.story_id] = update.merged_into
        if entry.published:
            self.event_clock = max(self.event_clock, entry.published[-1])
        self._changes += 1
        if len(self.stories) > self.config.max_stories:
            self._evict()
        for sub in list(self.subscriptions):
            if sub.wants(update):
                sub.offer(update)
        return True

    def apply_assignment(self, assignment: StoryAssignment) -> None:
        """Index the article and count its dedup verdict (once per article version)."""
        article = assignment.article
        self.articles[article.id] = assignment
        self.event_clock = max(self.event_clock, article.published)
        for absorbed in assignment.merged_from:
            self.merged[absorbed] = assignment.story_id
        if assignment.split is not None:
            self.moved.update(
                dict.fromkeys(assignment.split.article_ids, assignment.split.new_story_id)
            )
        key = (article.id, article.content_hash, assignment.verdict.kind)
        if key not in self._seen_verdicts:
            self._seen_verdicts.add(key)
            self.verdicts[assignment.verdict.kind] += 1

    def apply_dead_letter(self, letter: DeadLetter) -> None:
        self.dead_letter_count += 1
        self.dead_letters_by_stage[letter.stage] += 1
        self.latest_dead_letters.appendleft(letter)

    def _evict(self) -> None:
        """Drop the least recently updated tenth of the stories (and their articles)."""
        order = sorted(self.stories, key=lambda s: self._last_event(self.stories[s]))
        for story_id in order[: max(1, len(order) // 10)]:
            entry = self.stories.pop(story_id)
            for item in entry.latest.articles:
                held = self.articles.get(item.article_id)
                if held is not None and self.moved.get(item.article_id, held.story_id) == story_id:
                    del self.articles[item.article_id]
                    self.moved.pop(item.article_id, None)
            self.merged.pop(story_id, None)

    @staticmethod
    def _last_event(entry: StoryEntry) -> float:
        return entry.published[-1] if entry.published else entry.latest.first_seen

    # -- queries ---------------------------------------------------------------------------

    def resolve(self, story_id: str) -> str:
        """Follow merges to the story that absorbed ``story_id`` (itself if none)."""
        seen = {story_id}
        while story_id in self.merged:
            story_id = self.merged[story_id]
            if story_id in seen:
                break
            seen.add(story_id)
        return story_id

    def story(self, story_id: str) -> StoryEntry | None:
        return self.stories.get(story_id)

    def versions(self, story_id: str) -> list[bytes]:
        """The kept versions of a story as JSON bytes, newest first."""
        entry = self.stories.get(story_id)
        return list(reversed(entry.versions.values())) if entry else []

    def article(self, article_id: str) -> StoryAssignment | None:
        return self.articles.get(article_id)

    def story_of(self, article_id: str) -> str | None:
        """The story an article belongs to now, after splits and merges (None if unknown)."""
        assignment = self.articles.get(article_id)
        if assignment is None:
            return None
        return self.resolve(self.moved.get(article_id, assignment.story_id))

    def velocity(self, entry: StoryEntry) -> int:
        """Articles of the story published within the velocity window (event time)."""
        horizon = self.event_clock - self.config.velocity_window_seconds
        return len(entry.published) - bisect.bisect_left(entry.published, horizon)

    def is_dormant(self, entry: StoryEntry) -> bool:
        """No article published within the dormancy window before the newest event seen."""
        last = entry.published[-1] if entry.published else entry.latest.first_seen
        return last < self.event_clock - self.config.dormant_after_seconds

    def ranked(self, sort: str = "recent") -> list[str]:
        """Ids of live (not merged) stories, best first; cached until the next change."""
        if self._ranked_at != self._changes:
            self._ranked, self._ranked_at = {}, self._changes
        if sort not in self._ranked:
            live = [e for e in self.stories.values() if not e.latest.merged_into]
            if sort == "velocity":
                live.sort(
                    key=lambda e: (self.velocity(e), e.latest.updated_at, e.latest.article_count),
                    reverse=True,
                )
            else:
                live.sort(
                    key=lambda e: (e.latest.updated_at, e.latest.article_count, e.latest.version),
                    reverse=True,
                )
            self._ranked[sort] = [e.latest.story_id for e in live]
        return self._ranked[sort]

    def summary(self, entry: StoryEntry) -> dict[str, Any]:
        """The short form of a story used by listings."""
        u = entry.latest
        return {
            "story_id": u.story_id,
            "version": u.version,
            "headline": u.headline,
            "status_line": u.status_line,
            "article_count": u.article_count,
            "outlets": u.outlets,
            "updated_at": u.updated_at,
            "first_seen": u.first_seen,
            "velocity": self.velocity(entry),
            "dormant": self.is_dormant(entry),
        }

    def top(self, sort: str = "recent", limit: int = 20, offset: int = 0) -> tuple[list, int]:
        """One page of story summaries and the total number of live stories."""
        ids = self.ranked(sort)
        page = ids[offset : offset + limit]
        return [self.summary(self.stories[s]) for s in page], len(ids)

    def story_counts(self) -> dict[str, int]:
        live = [e for e in self.stories.values() if not e.latest.merged_into]
        dormant = sum(1 for e in live if self.is_dormant(e))
        return {
            "active": len(live) - dormant,
            "dormant": dormant,
            "merged": len(self.stories) - len(live),
        }

    def duplicate_stats(self) -> dict[str, Any]:
        total = sum(self.verdicts.values())
        return {
            "total": total,
            "counts": {kind: self.verdicts.get(kind, 0) for kind in _verdict_kinds()},
            "rates": {
                kind: (self.verdicts.get(kind, 0) / total if total else 0.0)
                for kind in _verdict_kinds()
            },
        }

    def dead_letter_stats(self) -> dict[str, Any]:
        return {
            "count": self.dead_letter_count,
            "by_stage": dict(self.dead_letters_by_stage),
            "latest": [
                {
                    "stage": d.stage,
                    "reason": d.reason,
                    "topic": d.topic,
                    "key": d.key,
                    "failed_at": d.failed_at,
                }
                for d in self.latest_dead_letters
            ],
        }

    # -- live subscribers ------------------------------------------------------------------

    def close(self) -> None:
        """End every live subscription (the server is stopping)."""
        self.closed = True
        for sub in list(self.subscriptions):
            sub.offer(None)

    @contextlib.asynccontextmanager
    async def subscribe(self, stories: Iterable[str] = ()) -> AsyncIterator[Subscription]:
        """Register a live subscriber for the duration of the ``async with`` block."""
        sub = Subscription(stories=set(stories), queue=asyncio.Queue(self.config.subscriber_queue))
        self.subscriptions.add(sub)
        try:
            yield sub
        finally:
            self.subscriptions.discard(sub)


def _verdict_kinds() -> tuple[str, ...]:
    from schemas import DedupVerdict

    return DedupVerdict.KINDS


# -- ops sampling -----------------------------------------------------------------------------


@dataclass
class StageSample:
    messages: float = 0.0
    batch_seconds: float = 0.0
    batches: float = 0.0


@dataclass
class OpsSample:
    at: float
    stages: dict[str, StageSample]
    lag: dict[str, int]
    dead_letters: int
    duplicates: int
    updates: float


def read_stage_metrics(registry: Any) -> tuple[dict[str, StageSample], float]:
    """Cumulative per-stage messages and batch time, and story updates, from a registry."""
    stages: dict[str, StageSample] = {}
    updates = 0.0
    for family in registry.collect():
        for sample in family.samples:
            stage = sample.labels.get("stage")
            if sample.name == "storystream_stage_messages_total" and stage:
                stages.setdefault(stage, StageSample()).messages = sample.value
            elif sample.name == "storystream_stage_batch_duration_seconds_sum" and stage:
                stages.setdefault(stage, StageSample()).batch_seconds = sample.value
            elif sample.name == "storystream_stage_batch_duration_seconds_count" and stage:
                stages.setdefault(stage, StageSample()).batches = sample.value
            elif sample.name == "storystream_story_updates_total":
                updates = sample.value
    return stages, updates


class OpsHistory:
    """A ring of periodic samples turned into rates for the dashboard's charts."""

    def __init__(self, size: int) -> None:
        self.samples: deque[OpsSample] = deque(maxlen=size)

    def add(self, sample: OpsSample) -> None:
        self.samples.append(sample)

    def series(self) -> dict[str, Any]:
        """Per-interval throughput (messages/s) and latency (s per message, s per batch)."""
        stages: dict[str, list[dict[str, float]]] = {}
        lag: list[dict[str, Any]] = []
        samples = list(self.samples)
        for prev, cur in zip(samples, samples[1:], strict=False):
            dt = max(cur.at - prev.at, 1e-6)
            for name, now in cur.stages.items():
                before = prev.stages.get(name, StageSample())
                messages = now.messages - before.messages
                batches = now.batches - before.batches
                seconds = now.batch_seconds - before.batch_seconds
                stages.setdefault(name, []).append(
                    {
                        "t": cur.at,
                        "rate": messages / dt,
                        "seconds_per_message": seconds / messages if messages else 0.0,
                        "seconds_per_batch": seconds / batches if batches else 0.0,
                    }
                )
        for s in samples:
            lag.append({"t": s.at, **s.lag})
        return {"stages": stages, "lag": lag}


class ConsumerLag:
    """End offsets minus the worker group's committed offsets, summed per topic."""

    def __init__(self, offsets: GroupOffsets, topics: Iterable[str]) -> None:
        self.offsets = offsets
        self.topics = tuple(topics)

    async def measure(self, consumer: AIOKafkaConsumer) -> dict[str, int]:
        await consumer.topics()  # refresh metadata for every topic
        partitions = [
            TopicPartition(topic, p)
            for topic in self.topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            return {}
        ends = await self.offsets.ends(partitions)
        starts = await consumer.beginning_offsets(partitions)
        committed = await self.offsets.committed(partitions)
        lag: dict[str, int] = dict.fromkeys(self.topics, 0)
        for tp in partitions:
            offset = committed[tp]
            position = offset if offset is not None and offset >= 0 else starts[tp]
            lag[tp.topic] += max(0, ends[tp] - position)
        return lag


# -- the service ------------------------------------------------------------------------------


class ReadModelFeed(Service):
    """Feeds a ReadModel from all partitions of the read topics; samples ops metrics.

    It uses a plain consumer without a group (every worker reads everything, from the
    earliest offset), so the web server of any worker answers for any story.
    """

    def __init__(self, ss: Storystream, model: ReadModel, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.ss = ss
        self.model = model
        self.history = OpsHistory(model.config.history_samples)
        self.lag: dict[str, int] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self._lag = ConsumerLag(ss.group_offsets, ALL_TOPICS)
        registry = ss.metrics.registry
        self.lag_gauge = Gauge(
            "storystream_consumer_lag",
            "Messages not yet committed by the worker group, per topic.",
            ["topic"],
            registry=registry,
        )
        self.stories_gauge = Gauge(
            "storystream_stories",
            "Stories in the read model by state.",
            ["state"],
            registry=registry,
        )
        self.subscribers_gauge = Gauge(
            "storystream_live_subscribers",
            "Open Server-Sent Events streams.",
            registry=registry,
        )
        self.subscribers_gauge.set_function(lambda: len(model.subscriptions))

    async def on_stop(self) -> None:
        self.model.close()
        if self.consumer is not None:
            await self.consumer.stop()
            self.consumer = None
        await self.ss.group_offsets.close()

    async def _start_consumer(self) -> AIOKafkaConsumer:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_of(self.ss.settings.broker_url),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            client_id=f"{self.ss.settings.app_id}-readmodel",
        )
        await consumer.start()
        # The worker declares the topics; wait for them rather than auto-creating them here.
        while not self.should_stop:
            existing = await consumer.topics()
            if all(t in existing for t in READ_TOPICS):
                break
            await asyncio.sleep(0.5)
        partitions = [
            TopicPartition(topic, p)
            for topic in READ_TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        self._catch_up_to = await self.ss.group_offsets.ends(partitions)
        return consumer

    @Service.task
    async def _feed(self) -> None:
        model = self.model
        try:
            self.consumer = consumer = await self._start_consumer()
        except Exception:  # noqa: BLE001 - the worker keeps running; the web says not current
            log.exception("read model could not start its consumer")
            return
        while not self.should_stop:
            try:
                batch = await consumer.getmany(timeout_ms=250, max_records=2000)
                for tp, messages in batch.items():
                    for message in messages:
                        if message.value is not None:
                            model.apply(tp.topic, message.value)
                if not model.caught_up:
                    model.caught_up = all(
                        await asyncio.gather(
                            *(self._reached(tp, end) for tp, end in self._catch_up_to.items())
                        )
                    )
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the web must outlive a broker hiccup
                log.warning("read model consumer: %s; retrying", exc)
                await self.sleep(1.0)
            await asyncio.sleep(0)

    async def _reached(self, tp: TopicPartition, end: int) -> bool:
        assert self.consumer is not None
        return await self.consumer.position(tp) >= end

    @Service.task
    async def _sample(self) -> None:
        interval = self.model.config.sample_interval_seconds
        while not self.should_stop:
            await self.sample_once()
            await self.sleep(interval)

    async def sample_once(self) -> None:
        """Record one ops sample: stage counters, lag, dead letters and duplicates."""
        if self.consumer is not None:
            try:
                self.lag = await asyncio.wait_for(self._lag.measure(self.consumer), 5.0)
            except Exception as exc:  # noqa: BLE001 - lag is best effort
                log.debug("consumer lag unavailable: %s", exc)
        for topic, value in self.lag.items():
            self.lag_gauge.labels(topic=topic).set(value)
        for state, value in self.model.story_counts().items():
            self.stories_gauge.labels(state=state).set(value)
        stages, updates = read_stage_metrics(self.ss.metrics.registry)
        self.history.add(
            OpsSample(
                at=time.time(),
                stages=stages,
                lag=dict(self.lag),
                dead_letters=self.model.dead_letter_count,
                duplicates=sum(self.model.verdicts.values()),
                updates=updates,
            )
        )

    def ops(self) -> dict[str, Any]:
        """Everything the dashboard shows, as one JSON-ready document."""
        series = self.history.series()
        stages, updates = read_stage_metrics(self.ss.metrics.registry)
        return {
            "now": time.time(),
            "interval_seconds": self.model.config.sample_interval_seconds,
            "totals": {
                name: {
                    "messages": s.messages,
                    "batches": s.batches,
                    "batch_seconds": s.batch_seconds,
                }
                for name, s in sorted(stages.items())
            },
            "story_updates": updates,
            "series": series["stages"],
            "lag": self.lag,
            "lag_series": series["lag"],
            "dead_letters": self.model.dead_letter_stats(),
            "duplicates": self.model.duplicate_stats(),
            "stories": self.model.story_counts(),
            "read_model": {
                "caught_up": self.model.caught_up,
                "records": self.model.records,
                "bad_records": self.model.bad_records,
                "subscribers": len(self.model.subscriptions),
            },
        }
