"""End offsets of partitions written in multi-record batches, confirmed by fetch."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from agents.offsets import GroupOffsets, fetched_end_offsets

pytestmark = pytest.mark.integration

TOPIC = "offsets.batched"


async def create_topic(bootstrap: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(TOPIC, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


async def write_batches(bootstrap: str, batches: list[int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=50)
    await producer.start()
    try:
        for size in batches:  # each loop's records go out together, as one batch
            sent = [await producer.send(TOPIC, b"x", partition=0) for _ in range(size)]
            await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def test_ends_confirmed_by_fetch_count_every_record_of_a_batch(broker):
    await create_topic(broker.bootstrap)
    await write_batches(broker.bootstrap, [8, 5, 5])
    written, empty = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap)
    await consumer.start()
    try:
        listed = await consumer.end_offsets([written, empty])
    finally:
        await consumer.stop()
    assert listed[empty] == 0
    # The broker lists the last batch as one record; a fetch counts all 18.
    assert listed[written] < 18
    assert await fetched_end_offsets(broker.bootstrap, listed) == {written: 18, empty: 0}

    offsets = GroupOffsets(broker.bootstrap, "end-offsets-test", fetched_ends=True)
    try:
        assert await offsets.ends([written, empty]) == {written: 18, empty: 0}
        await write_batches(broker.bootstrap, [4])
        assert (await offsets.ends([written]))[written] == 22  # the probe consumer is reused
    finally:
        await offsets.close()

