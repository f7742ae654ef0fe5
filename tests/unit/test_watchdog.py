"""The stall watch re-reads only partitions whose waiting messages stopped being processed."""

from __future__ import annotations

from aiokafka import TopicPartition

from agents.watchdog import StallWatch


class FakeOffsets:
    def __init__(self) -> None:
        self.end: dict[TopicPartition, int] = {}
        self.commits: dict[TopicPartition, int | None] = {}

    async def ends(self, tps):
        return {tp: self.end[tp] for tp in tps}

    async def committed(self, tps):
        return {tp: self.commits[tp] for tp in tps}


class FakeConsumer:
    def __init__(self) -> None:
        self.seeks: list[tuple[TopicPartition, int]] = []

    async def seek(self, tp, offset) -> None:
        self.seeks.append((tp, offset))


async def test_only_a_partition_stuck_twice_is_read_again() -> None:
    stuck, busy, done = (TopicPartition("articles.raw", p) for p in range(3))
    reader = FakeOffsets()
    reader.end = {stuck: 1, busy: 10, done: 4}
    reader.commits = {stuck: None, busy: 2, done: 4}
    watch = StallWatch(reader, checks=2)
    consumer = FakeConsumer()
    assert await watch.unstick(consumer, [stuck, busy, done]) == 0  # first sight: not yet
    reader.commits[busy] = 6  # still lagging, but moving
    assert await watch.unstick(consumer, [stuck, busy, done]) == 1
    assert consumer.seeks == [(stuck, 0)]
    assert watch.reread == 1
    reader.commits[stuck] = 1  # delivered and processed now
    reader.commits[busy] = 8
    assert await watch.unstick(consumer, [stuck, busy, done]) == 0
    assert await watch.check([]) == []
