"""A timer that reads again the input partitions whose committed offset stopped moving."""

from __future__ import annotations

import logging

from aiokafka import TopicPartition

from agents.runtime import Storystream
from agents.watchdog import StallWatch

log = logging.getLogger(__name__)

STALL_CHECK_SECONDS = 5.0  # how often input partitions are checked for stalled messages


class StallTimer:
    """Partitions with waiting messages and a committed offset that stopped are read again
    (see :class:`~agents.watchdog.StallWatch`)."""

    def __init__(self, ss: Storystream) -> None:
        self.ss = ss
        self.watch = StallWatch(ss.group_offsets)

    def register(self) -> None:
        self.ss.app.timer(STALL_CHECK_SECONDS)(self.reread_stalled_partitions)

    async def reread_stalled_partitions(self) -> None:
        """Never during a rebalance or a table recovery: the offset look-ups take time, so
        this is checked again before seeking."""
        app = self.ss.app

        def settled() -> bool:
            return not (app.rebalancing or app.in_recovery)

        if not settled():
            return
        inputs = [TopicPartition(topic, part) for topic, part in self.ss.ownership.inputs]
        try:
            await self.watch.unstick(app.consumer, inputs, may_seek=settled)
        except Exception as exc:  # noqa: BLE001 - a broker away must not crash the worker
            log.warning("stalled partitions not checked: %r", exc)
