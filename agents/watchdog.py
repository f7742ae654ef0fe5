"""Re-reads input partitions whose messages wait without being processed (a rebalance race)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

from agents.offsets import GroupOffsets

log = logging.getLogger(__name__)


class StallWatch:
    """Finds input partitions with unprocessed messages whose committed offset stopped moving,
    and seeks the worker's consumer back to that offset so the messages are delivered again.

    faust can fetch a message while its flow is paused at the end of a rebalance and move past
    it without delivering it; the message is not lost (its offset is never committed) but it
    would wait for the next restart. Hand-written because no faust setting covers it. Messages
    read twice get their first answer again: every stage is idempotent.

    Args:
        offsets: The worker group's committed and end offsets.
        checks: Consecutive checks a partition must be stuck before it is read again.
    """

    def __init__(self, offsets: GroupOffsets, checks: int = 2) -> None:
        self.offsets = offsets
        self.checks = checks
        self._seen: dict[TopicPartition, tuple[int, int]] = {}  # committed, times unchanged
        self.reread = 0

    async def check(self, partitions: Iterable[TopicPartition]) -> list[TopicPartition]:
        """The partitions stuck for ``checks`` checks in a row (their counters reset)."""
        tps = sorted(partitions)
        if not tps:
            self._seen.clear()
            return []
        ends = await self.offsets.ends(tps)
        committed_at = await self.offsets.committed(tps)
        stuck = []
        for tp in tps:
            committed = committed_at[tp] or 0
            if ends[tp] <= committed:
                self._seen.pop(tp, None)
                continue
            last, times = self._seen.get(tp, (-1, 0))
            times = times + 1 if last == committed else 1
            if times >= self.checks:
                stuck.append(tp)
                times = 0
            self._seen[tp] = (committed, times)
        return stuck

    async def unstick(
        self,
        consumer: Any,
        partitions: Iterable[TopicPartition],
        may_seek: Callable[[], bool] = lambda: True,
    ) -> int:
        """Check ``partitions`` and seek ``consumer`` (faust's) back on the stuck ones.

        Args:
            consumer: faust's consumer; its ``seek_wait`` seeks on the consumer's own thread.
            partitions: The input partitions to check.
            may_seek: Asked after the offset look-ups; no seek happens when it says no (the
                stuck partitions are then found again by a later check).

        Returns:
            The number of stuck partitions found (those revoked meanwhile are not sought).
        """
        stuck = await self.check(partitions)
        if not stuck or not may_seek():
            return 0
        for tp in stuck:
            offset = self._seen[tp][0]
            log.warning("partition %s[%d] stalled at offset %d: reading it again",
                        tp.topic, tp.partition, offset)
            try:
                await consumer.seek_wait({tp: offset})
            except IllegalStateError:  # revoked meanwhile: its next owner reads it
                continue
            self.reread += 1
        return len(stuck)
