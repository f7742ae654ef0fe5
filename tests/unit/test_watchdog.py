"""The stall watch re-reads only partitions whose waiting messages stopped being processed."""

from __future__ import annotations

from aiokafka import TopicPartition
from aiokafka.errors import IllegalStateError

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
        self.revoked: set[TopicPartition] = set()

    async def seek_wait(self, offsets) -> None:
        if self.revoked.intersection(offsets):
            raise IllegalStateError("partition is not assigned")
        self.seeks.extend(offsets.items())


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


async def test_no_seek_when_the_worker_started_rebalancing_during_the_check() -> None:
    stuck = TopicPartition("articles.raw", 0)
    reader = FakeOffsets()
    reader.end = {stuck: 3}
    reader.commits = {stuck: 1}
    watch = StallWatch(reader, checks=1)
    consumer = FakeConsumer()
    assert await watch.unstick(consumer, [stuck], may_seek=lambda: False) == 0
    assert consumer.seeks == []
    assert watch.reread == 0
    assert await watch.unstick(consumer, [stuck], may_seek=lambda: True) == 1
    assert consumer.seeks == [(stuck, 1)]


async def test_a_partition_revoked_before_its_seek_is_skipped() -> None:
    gone, kept = TopicPartition("articles.raw", 0), TopicPartition("articles.raw", 1)
    reader = FakeOffsets()
    reader.end = {gone: 3, kept: 5}
    reader.commits = {gone: 1, kept: 2}
    watch = StallWatch(reader, checks=1)
    consumer = FakeConsumer()
    consumer.revoked = {gone}
    assert await watch.unstick(consumer, [gone, kept]) == 2
    assert consumer.seeks == [(kept, 2)]
    assert watch.reread == 1
