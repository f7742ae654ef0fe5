"""A stopping worker waits a bounded time for events that will never be acknowledged."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka import TopicPartition

import agents.faust_app


class StuckConsumer:
    """A consumer holding one event that no agent will acknowledge.

    It is what faust's consumer looks like when a ``take_events`` agent was stopped with a
    part-filled batch: the event stays unacknowledged and ``wait_empty`` never returns.
    """

    beacon = None  # faust builds its fetcher service with the consumer's beacon

    def __init__(self) -> None:
        self._unacked_messages = {object()}
        self.waits = 0
        self.flow_stopped = False

    def assignment(self) -> set[TopicPartition]:
        return {TopicPartition("dedup.bands", 0)}

    def stop_flow(self) -> None:
        self.flow_stopped = True

    def pause_partitions(self, partitions: object) -> None:
        pass

    async def wait_empty(self) -> None:
        self.waits += 1
        await asyncio.Event().wait()


def test_a_stopping_worker_does_not_wait_forever_for_unacknowledged_events(
    offline_app: Callable[[], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(agents.faust_app, "SHUTDOWN_ACK_WAIT", 0.2)
    app = offline_app()
    consumer = StuckConsumer()
    app._consumer = consumer
    assert app.conf.stream_wait_empty

    async def stop() -> None:
        await asyncio.wait_for(app.on_stop(), timeout=10.0)

    asyncio.run(stop())
    assert consumer.waits == 1  # one bounded wait, none after it
    assert consumer.flow_stopped  # faust's own stopping steps still ran
    assert app.conf.stream_wait_empty is False
