"""Answers already given, by delivery, kept for redeliveries and recorded a batch at a time."""

from __future__ import annotations

import heapq
from collections.abc import Callable

import orjson

from pipeline.common.jsonbytes import json_bytes

# Reads a record of the earlier one-answer-per-record form: (answer, time).
LegacyReader = Callable[[bytes], tuple[bytes, float]]


class DeliveryMemos:
    """The answer each delivery got, so that a redelivered message gets it again.

    A stage that answers every message at least once must answer a redelivery as it did the
    first time, whatever its state has learned since. One table record per delivery costs a
    write, and later a delete, for every message; here the answers given between two drains
    share one record, keyed ``prefix + <its first delivery>``, which is deleted once every
    answer in it has expired. Answers are JSON bytes; each carries a time (event time, in the
    stage's own sense), and :meth:`expire` drops the records whose latest time is before a
    cutoff. No library keeps such a memo, hence this class.
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._answers: dict[str, tuple[bytes, float]] = {}  # delivery: (answer, time)
        self._fresh: list[str] = []  # deliveries answered since the last drain
        self._records: dict[str, list[str]] = {}  # record key: its deliveries
        self._expiry: list[tuple[float, str]] = []  # (latest time in the record, record key)
        self._changes: dict[str, bytes | None] = {}

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, delivery: str) -> bytes | None:
        """The answer given to ``delivery``, if it is remembered."""
        memo = self._answers.get(delivery)
        return None if memo is None else memo[0]

    def add(self, delivery: str, answer: bytes, time: float) -> None:
        """Remember ``answer`` (JSON bytes) for ``delivery``; it goes to the next drained record."""
        if delivery not in self._answers:
            self._fresh.append(delivery)
        self._answers[delivery] = (answer, time)

    def expire(self, cutoff: float) -> None:
        """Forget the records (and their answers) whose every answer is older than ``cutoff``."""
        heap = self._expiry
        while heap and heap[0][0] < cutoff:
            _, key = heapq.heappop(heap)
            for delivery in self._records.pop(key, ()):
                self._answers.pop(delivery, None)
            self._changes[key] = None

    def drain(self) -> list[tuple[str, bytes | None]]:
        """Records written since the last drain: deletions, then the new answers' record."""
        fresh = [d for d in self._fresh if d in self._answers]
        self._fresh = []
        if fresh:
            key = self.prefix + fresh[0]
            latest = max(self._answers[d][1] for d in fresh)
            rows = [[d, self._answers[d][1], orjson.Fragment(self._answers[d][0])] for d in fresh]
            self._changes[key] = orjson.dumps({"t": latest, "batch": rows})
            self._file(key, fresh, latest)
        changes = list(self._changes.items())
        self._changes = {}
        return changes

    def restore(self, key: str, value: bytes, legacy: LegacyReader) -> bool:
        """Take a record back (False when ``key`` is not one of this memo's).

        ``legacy`` reads a record of one answer (``prefix + <delivery>``), as written before
        answers were recorded a batch at a time.
        """
        if not key.startswith(self.prefix):
            return False
        data = orjson.loads(value)
        if isinstance(data, dict) and "batch" in data:
            deliveries = []
            for delivery, time, answer in data["batch"]:
                self._answers[delivery] = (json_bytes(answer), float(time))
                deliveries.append(delivery)
            self._file(key, deliveries, float(data["t"]))
        else:
            delivery = key[len(self.prefix) :]
            answer, time = legacy(value)
            self._answers[delivery] = (answer, time)
            self._file(key, [delivery], time)
        return True

    def record_bytes(self) -> int:
        """Approximate size of the answers' records."""
        return sum(len(d) + len(a) + 24 for d, (a, _) in self._answers.items())

    def _file(self, key: str, deliveries: list[str], latest: float) -> None:
        self._records[key] = deliveries
        heapq.heappush(self._expiry, (latest, key))
