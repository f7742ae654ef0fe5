"""When to poll a feed: an adaptive interval, backoff on errors, and the entries already seen.

Each feed's state is one small record (kept in a changelogged table by the fetcher agent):
its conditional-GET validators, its interval, when it is due, its error streak and the keys
of the entries already sent, so a restarted worker neither re-polls too early nor re-ingests.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

import orjson


@dataclass(frozen=True)
class PollConfig:
    """Tuning values of feed polling.

    Attributes:
        first_interval: seconds between polls of a feed not yet seen to change.
        min_interval: the interval never goes below this (a feed that changes every poll).
        max_interval: nor above this (a feed that never changes).
        faster: the interval is multiplied by this when a poll found new entries...
        slower: ...and by this when it found none (or got 304 Not Modified).
        max_backoff: longest wait after repeated errors (the wait doubles per error).
        seen_per_feed: entry keys remembered per feed (a feed lists its latest entries only).
    """

    first_interval: float = 300.0
    min_interval: float = 60.0
    max_interval: float = 3600.0
    faster: float = 0.5
    slower: float = 1.5
    max_backoff: float = 6 * 3600.0
    seen_per_feed: int = 1000


@dataclass(slots=True)
class FeedState:
    """What is known about one feed between polls."""

    url: str
    partition: int = 0
    etag: str | None = None
    last_modified: str | None = None
    interval: float = 300.0
    next_due: float = 0.0
    errors: int = 0
    last_error: str | None = None
    last_status: int | None = None
    last_polled: float | None = None
    polls: int = 0
    title: str | None = None
    gone: bool = False
    seen: list[str] = field(default_factory=list)

    def to_bytes(self) -> bytes:
        """The schedule and validators (the seen keys are stored apart: :meth:`seen_bytes`)."""
        fields = (k for k in self.__slots__ if k != "seen")  # type: ignore[attr-defined]
        return orjson.dumps({k: getattr(self, k) for k in fields})

    @classmethod
    def from_bytes(cls, data: bytes, seen: bytes | None = None) -> FeedState:
        values = orjson.loads(data)
        known = set(cls.__slots__) - {"seen"}  # type: ignore[attr-defined]
        state = cls(**{k: v for k, v in values.items() if k in known})
        if seen is not None:
            state.seen = orjson.loads(seen)
        return state

    def seen_bytes(self) -> bytes:
        return orjson.dumps(self.seen)

    def unseen(self, keys: Iterable[str]) -> list[str]:
        """The entry keys not seen before, in the given order."""
        seen = set(self.seen)
        return [k for k in keys if entry_digest(k) not in seen]

    def mark_seen(self, keys: Iterable[str], limit: int) -> None:
        """Remember ``keys`` (as short digests); only the latest ``limit`` are kept."""
        seen = set(self.seen)
        for digest in (entry_digest(k) for k in keys):
            if digest not in seen:
                seen.add(digest)
                self.seen.append(digest)
        if len(self.seen) > limit:
            del self.seen[: len(self.seen) - limit]


def entry_digest(key: str) -> str:
    """A short stable digest of an entry key (guid or link): 16 hex digits."""
    return hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def after_success(
    state: FeedState, now: float, new_entries: int, config: PollConfig, status: int = 200
) -> None:
    """A poll answered (200 or 304): adapt the interval and schedule the next poll."""
    factor = config.faster if new_entries else config.slower
    if state.polls == 0 and not new_entries:
        factor = 1.0
    state.interval = min(config.max_interval, max(config.min_interval, state.interval * factor))
    state.errors, state.last_error, state.last_status = 0, None, status
    state.polls += 1
    state.last_polled = now
    state.next_due = now + state.interval


def after_error(
    state: FeedState,
    now: float,
    kind: str,
    config: PollConfig,
    status: int | None = None,
    retry_after: float | None = None,
) -> None:
    """A poll failed: back off (the wait doubles per consecutive error, a server's
    Retry-After wins when longer); 410 Gone stops polling the feed."""
    state.errors += 1
    state.last_error, state.last_status = kind, status
    state.polls += 1
    state.last_polled = now
    if status == 410:
        state.gone = True
    wait = min(config.max_backoff, state.interval * 2 ** (state.errors - 1))
    if retry_after is not None:
        wait = min(config.max_backoff, max(wait, retry_after))
    state.next_due = now + wait


class DueQueue:
    """Feeds ordered by when they are due (a heap with lazy removal)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, str]] = []
        self._due: dict[str, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def __contains__(self, url: str) -> bool:
        return url in self._due

    def put(self, url: str, due: float) -> None:
        self._due[url] = due
        heapq.heappush(self._heap, (due, url))

    def discard(self, url: str) -> None:
        self._due.pop(url, None)

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()

    def next_time(self) -> float | None:
        """When the earliest feed is due, or None when there is none."""
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now: float, limit: int) -> list[str]:
        """Up to ``limit`` feeds due by ``now``, earliest first; they leave the queue."""
        out: list[str] = []
        while len(out) < limit:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                break
            _, url = heapq.heappop(self._heap)
            del self._due[url]
            out.append(url)
        return out

    def _drop_stale(self) -> None:
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
