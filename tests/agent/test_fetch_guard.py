"""Records a fetch drained while faust would drop them are sought back, not lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

CHANGELOG = TopicPartition("storystream-assign-state-changelog", 0)
STREAM = TopicPartition("articles.normalized", 1)


class FakeAioConsumer:
    """Stands in for aiokafka's consumer: records the seeks made on it."""

    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.seeks.append((tp, offset))


def _records(tp: TopicPartition, first: int, count: int) -> list[Any]:
    return [
        SimpleNamespace(topic=tp.topic, partition=tp.partition, offset=first + n)
        for n in range(count)
    ]


@pytest.fixture
def fetched(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What faust's fetch on the consumer thread returns (set by each test)."""
    state: dict[str, Any] = {"records": {}, "during": None}

    async def fetch_records(self, consumer, active_partitions, timeout=None, max_records=None):
        if state["during"] is not None:
            state["during"]()
        return dict(state["records"])

    monkeypatch.setattr(AIOKafkaConsumerThread, "_fetch_records", fetch_records)
    return state


def test_records_drained_while_flow_is_stopped_are_sought_back(
    offline_consumer: Callable[[], Any], fetched: dict[str, Any]
) -> None:
    async def run() -> None:
        consumer = offline_consumer()
        # A fetch that outlived a rebalance: flow stopped, the active set emptied, and the
        # changelog records a recovery has just sought to came back with the stream's.
        consumer.stop_flow()
        consumer._active_partitions = set()
        fetched["records"] = {CHANGELOG: _records(CHANGELOG, 0, 11), STREAM: _records(STREAM, 5, 2)}
        aio = FakeAioConsumer()
        got = await consumer._thread._fetch_records(aio, consumer._active_partitions, timeout=1.0)
        assert got == {}
        assert sorted(aio.seeks) == sorted([(CHANGELOG, 0), (STREAM, 5)])

    asyncio.run(run())


def test_records_faust_delivers_are_kept(
    offline_consumer: Callable[[], Any], fetched: dict[str, Any]
) -> None:
    async def run() -> None:
        consumer = offline_consumer()
        consumer.resume_flow()
        consumer._active_partitions = {CHANGELOG}
        consumer._buffered_partitions = {STREAM}
        fetched["records"] = {CHANGELOG: _records(CHANGELOG, 0, 3), STREAM: _records(STREAM, 5, 1)}
        aio = FakeAioConsumer()
        got = await consumer._thread._fetch_records(aio, consumer._active_partitions, timeout=1.0)
        assert got == fetched["records"]
        assert aio.seeks == []

    asyncio.run(run())


def test_inactive_partitions_and_a_new_generation_are_sought_back(
    offline_consumer: Callable[[], Any], fetched: dict[str, Any]
) -> None:
    async def run() -> None:
        consumer = offline_consumer()
        app = consumer.app
        consumer.resume_flow()
        consumer._active_partitions = {CHANGELOG}
        fetched["records"] = {CHANGELOG: _records(CHANGELOG, 3, 2), STREAM: _records(STREAM, 7, 1)}
        aio = FakeAioConsumer()
        got = await consumer._thread._fetch_records(aio, consumer._active_partitions, timeout=1.0)
        assert got == {CHANGELOG: fetched["records"][CHANGELOG]}
        assert aio.seeks == [(STREAM, 7)]

        def rebalance() -> None:
            app.consumer_generation_id += 1

        fetched["during"] = rebalance
        aio = FakeAioConsumer()
        got = await consumer._thread._fetch_records(aio, consumer._active_partitions, timeout=1.0)
        assert got == {}
        assert sorted(aio.seeks) == sorted([(CHANGELOG, 3), (STREAM, 7)])

    asyncio.run(run())
