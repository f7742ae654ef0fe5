"""The feed fetcher: feeds (topic ``feeds``, keyed by url) polled, their pages fetched, every
entry sent to ``articles.raw``.

A feed message registers the feed in the ``feed-state`` table (partitioned like ``feeds``, so
polling scales out with its partitions: each worker polls the feeds of the partitions it
owns). A loop pops the feeds that are due and polls each one with a conditional GET through
the polite client (one request at a time per host, robots.txt, a User-Agent naming the
project); entries not seen before are sent, those without full text with their page fetched
(the normalize stage extracts it with trafilatura). The feed's state (validators, adaptive
interval, error backoff, seen entry keys) is written back to the table, so a restarted worker
resumes its schedule and does not re-ingest what it has sent.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from prometheus_client import Counter, Histogram

from agents.fetching import FetchConfig, FetchError, PoliteClient
from agents.runtime import PartitionEvent, Storystream, event_context
from pipeline.feeds.entries import Entry, FeedError, parse_feed
from pipeline.feeds.schedule import DueQueue, FeedState, PollConfig, after_error, after_success
from schemas import FEEDS, FeedRecord, RawArticle, SchemaError

log = logging.getLogger(__name__)
TABLE = "feed-state"
SEEN_TABLE = "feed-seen"


class FeedMetrics:
    """Feed health on /metrics: polls by result, errors by kind, fetch latency."""

    def __init__(self, registry: Any) -> None:
        self.polls = Counter(
            "storystream_feed_polls",
            "Feed polls by result (ok, not_modified, error).",
            ["result"],
            registry=registry,
        )
        self.errors = Counter(
            "storystream_feed_errors",
            "Feed and page fetch errors by what was fetched and the kind of failure.",
            ["what", "kind"],
            registry=registry,
        )
        self.fetch_seconds = Histogram(
            "storystream_fetch_duration_seconds",
            "Time to fetch a feed or a page (answered requests).",
            ["what"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.articles = Counter(
            "storystream_feed_articles",
            "Feed entries sent to articles.raw (with their page fetched, or from the feed).",
            ["source"],
            registry=registry,
        )


def poll_config_of(ss: Storystream) -> PollConfig:
    s = ss.settings
    return PollConfig(
        first_interval=s.feed_interval_seconds,
        min_interval=s.feed_min_interval_seconds,
        max_interval=s.feed_max_interval_seconds,
    )


def fetch_config_of(ss: Storystream) -> FetchConfig:
    s = ss.settings
    return FetchConfig(
        user_agent=s.feed_user_agent,
        timeout=s.fetch_timeout_seconds,
        max_bytes=s.fetch_max_bytes,
        max_redirects=s.fetch_max_redirects,
        host_delay=s.fetch_host_delay_seconds,
    )


class FeedAgent:
    """Registers feeds from the ``feeds`` topic and polls the ones this worker owns.

    With ``once`` every feed is polled a single time (``storystream demo --feeds --once``);
    ``polled`` then holds the feeds done. ``article_listeners`` hear every article sent.
    """

    def __init__(self, ss: Storystream, *, once: bool = False) -> None:
        self.ss = ss
        self.once = once
        self.poll_config = poll_config_of(ss)
        self.client = PoliteClient(fetch_config_of(ss))
        self.metrics = FeedMetrics(ss.metrics.registry)
        self.states: dict[str, FeedState] = {}
        self.queue = DueQueue()
        self.polled: set[str] = set()
        self.in_flight: set[str] = set()
        self.article_listeners: list[Callable[[RawArticle], Any]] = []
        self.generation = 0
        self.built = -1
        self.latencies: collections.deque[float] = collections.deque(maxlen=500)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def table(self) -> Any:
        return self.ss.tables[TABLE]

    @property
    def seen_table(self) -> Any:
        return self.ss.tables[SEEN_TABLE]

    def register(self) -> None:
        ss = self.ss
        ss.feeds = self
        ss.app.agent(ss.topics[FEEDS], name="feeds")(self.run)
        ss.app.task(self.poll_loop)
        if ss.settings.feeds_file:
            ss.app.task(self.submit_feeds_file)

        async def rebuild(sender: Any, assigned: Any, **kwargs: Any) -> None:
            self.generation += 1

        ss.app.on_partitions_assigned.connect(rebuild)

    # -- registering feeds ---------------------------------------------------------------

    async def run(self, stream: faust.StreamT) -> None:
        async for event in stream.events():
            try:
                record = FeedRecord.from_json(event.message.value)
                if not record.url.startswith(("http://", "https://")):
                    raise SchemaError(f"not an http(s) feed url: {record.url!r}")
            except SchemaError as exc:
                await self.ss.dead_letter("feeds", str(exc), event)
                continue
            self.add(record.url, event.message.partition, title=record.title)

    def add(self, url: str, partition: int, title: str | None = None) -> None:
        """Register a feed (inside the event that carried it); a known feed keeps its state."""
        if url in self.states:
            return
        stored = self.table.get(url)
        if stored is not None:
            state = FeedState.from_bytes(stored, self.seen_table.get(url))
        else:
            state = FeedState(
                url=url,
                partition=partition,
                interval=self.poll_config.first_interval,
                next_due=time.time(),
                title=title,
            )
            self.table[url] = state.to_bytes()
        self.states[url] = state
        if not state.gone and not (self.once and url in self.polled):
            self.queue.put(url, state.next_due)

    def _rebuild(self) -> None:
        """After a rebalance: the feeds of the partitions now owned, from the table."""
        mine = self.ss.ownership.partitions_of(FEEDS)
        self.states.clear()
        self.queue.clear()
        for url, value in list(self.table.items()):
            if value is None:
                continue
            state = FeedState.from_bytes(value)
            if state.partition not in mine:
                continue
            seen = self.seen_table.get(url)
            if seen is not None:
                state.seen = FeedState.from_bytes(value, seen).seen
            self.states[url] = state
            skip = state.gone or url in self.in_flight or (self.once and url in self.polled)
            if not skip:
                self.queue.put(url, state.next_due)
        self.built = self.generation

    async def submit_feeds_file(self) -> None:
        """Send the feeds of STORYSTREAM_FEEDS_FILE to the ``feeds`` topic at start."""
        from pathlib import Path

        from pipeline.feeds.entries import parse_feed_list

        urls = parse_feed_list(Path(self.ss.settings.feeds_file).read_text(encoding="utf-8"))
        await submit_feeds(self.ss, urls)

    # -- polling -------------------------------------------------------------------------

    async def poll_loop(self) -> None:
        app = self.ss.app
        limit = asyncio.Semaphore(self.ss.settings.feed_concurrency)
        try:
            while True:
                consumer = app.consumer
                if (
                    app.rebalancing
                    or app.in_recovery
                    or consumer is None
                    or not consumer.assignment()
                ):
                    await asyncio.sleep(0.2)
                    continue
                if self.built != self.generation:
                    self._rebuild()
                now = time.time()
                free = self.ss.settings.feed_concurrency - len(self.in_flight)
                for url in self.queue.pop_due(now, max(0, free)):
                    self.in_flight.add(url)
                    task = asyncio.ensure_future(self._poll_guarded(url, limit))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                nxt = self.queue.next_time()
                await asyncio.sleep(0.25 if nxt is None else min(0.25, max(0.01, nxt - now)))
        finally:
            for task in list(self._tasks):
                task.cancel()
            await self.client.close()

    async def _poll_guarded(self, url: str, limit: asyncio.Semaphore) -> None:
        try:
            async with limit:
                await self.poll(url)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - one feed's failure must not stop the rest
            log.warning("poll of %s failed: %r", url, exc)
            state = self.states.get(url)
            if state is not None:
                after_error(state, time.time(), "internal", self.poll_config)
                self._save(state)
        finally:
            self.in_flight.discard(url)
            self.polled.add(url)

    async def poll(self, url: str) -> None:
        """Poll one feed: conditional GET, new entries (with their pages) to articles.raw."""
        state = self.states.get(url)
        if state is None:
            return
        now = time.time()
        try:
            resp = await self.client.get(url, etag=state.etag, last_modified=state.last_modified)
        except FetchError as exc:
            self._failed(state, now, exc)
            return
        self._observe("feed", resp.seconds)
        if resp.status == 304:
            self.metrics.polls.labels(result="not_modified").inc()
            after_success(state, now, 0, self.poll_config, status=304)
            self._save(state)
            return
        try:
            parsed = parse_feed(resp.body, content_type=resp.content_type)
        except FeedError as exc:
            self._failed(state, now, FetchError("parse", str(exc)[:200], status=resp.status))
            return
        state.etag, state.last_modified = resp.etag, resp.last_modified
        state.title = parsed.title or state.title
        fresh = set(state.unseen(e.key for e in parsed.entries))
        # Oldest first: a feed lists its newest entries first.
        todo = [e for e in reversed(parsed.entries) if e.key in fresh]
        sent = await self._send_entries(todo, state.title)
        state.mark_seen(sent, self.poll_config.seen_per_feed)
        self.metrics.polls.labels(result="ok").inc()
        after_success(state, now, len(sent), self.poll_config, status=resp.status)
        self._save(state, seen_changed=bool(sent))

    async def _send_entries(self, entries: Iterable[Entry], outlet: str | None) -> list[str]:
        """Send entries (fetching pages where the feed has no full text); the keys sent.
        An entry whose page failed for a reason that may pass is left for the next poll."""
        min_chars = self.ss.settings.feed_full_text_chars
        sent: list[str] = []
        deliveries = []
        for entry in entries:
            body: str | None = None
            source = "feed"
            if entry.needs_page(min_chars):
                assert entry.link is not None
                try:
                    page = await self.client.get(entry.link)
                    self._observe("page", page.seconds)
                    body, source = page.text(), "page"
                except FetchError as exc:
                    self.metrics.errors.labels(what="page", kind=exc.kind).inc()
                    if not exc.permanent:
                        continue
            raw = entry.raw_article(outlet, body)
            raw.received_at = time.time()
            deliveries.append(await self.ss.send_raw(raw.to_json(), entry.link or entry.key))
            self.metrics.articles.labels(source=source).inc()
            sent.append(entry.key)
            for listener in self.article_listeners:
                listener(raw)
        await asyncio.gather(*(d for d in deliveries if d is not None))
        return sent

    def _failed(self, state: FeedState, now: float, exc: FetchError) -> None:
        self.metrics.polls.labels(result="error").inc()
        self.metrics.errors.labels(what="feed", kind=exc.kind).inc()
        after_error(
            state, now, exc.kind, self.poll_config, status=exc.status, retry_after=exc.retry_after
        )
        self._save(state)

    def _observe(self, what: str, seconds: float) -> None:
        self.metrics.fetch_seconds.labels(what=what).observe(seconds)
        self.latencies.append(seconds)

    def _save(self, state: FeedState, seen_changed: bool = False) -> None:
        """Write the feed's state (and its seen entries when they changed) to its changelog
        partition and schedule its next poll."""
        with event_context(PartitionEvent(FEEDS, state.partition)):  # type: ignore[arg-type]
            self.table[state.url] = state.to_bytes()
            if seen_changed:
                self.seen_table[state.url] = state.seen_bytes()
        if state.url in self.states:
            # A rebalance may have rebuilt the feed from the table while it was polled: this
            # object is the newer one.
            self.states[state.url] = state
            if not self.once and not state.gone:
                self.queue.put(state.url, state.next_due)

    # -- ops -------------------------------------------------------------------------------

    def health(self, limit: int = 50) -> dict[str, Any]:
        """Feed health for the ops dashboard: counts, errors by kind, latency, worst feeds."""
        now = time.time()
        states = list(self.states.values())
        errors: dict[str, int] = collections.Counter()
        polls: dict[str, float] = {}
        for metric in self.metrics.errors.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    key = f"{sample.labels['what']}:{sample.labels['kind']}"
                    errors[key] += int(sample.value)
        for metric in self.metrics.polls.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    polls[sample.labels["result"]] = int(sample.value)
        lat = sorted(self.latencies)

        def pct(q: float) -> float | None:
            return round(lat[min(len(lat) - 1, int(q * len(lat)))], 4) if lat else None

        worst = sorted(states, key=lambda s: (-s.errors, s.next_due))[:limit]
        return {
            "feeds": len(states),
            "failing": sum(1 for s in states if s.errors),
            "gone": sum(1 for s in states if s.gone),
            "overdue": sum(1 for s in states if not s.gone and s.next_due < now - 60),
            "polls": polls,
            "errors": dict(errors),
            "fetch_seconds": {"p50": pct(0.5), "p95": pct(0.95)},
            "list": [
                {
                    "url": s.url,
                    "title": s.title,
                    "last_status": s.last_status,
                    "last_error": s.last_error,
                    "errors": s.errors,
                    "interval": round(s.interval, 1),
                    "next_in": round(s.next_due - now, 1),
                    "polls": s.polls,
                }
                for s in worst
            ],
        }


async def submit_feeds(ss: Storystream, urls: Iterable[str]) -> int:
    """Put feeds on the ``feeds`` topic (keyed by url) and wait for the broker; how many."""
    deliveries = [await ss.send_feed(url) for url in urls]
    await asyncio.gather(*(d for d in deliveries if d is not None))
    return len(deliveries)
