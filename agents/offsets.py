"""Kafka addresses and the worker group's offsets, read without joining the group."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition

FETCHED_END_TIMEOUT = 5.0  # seconds to wait for the fetches that confirm end offsets


def bootstrap_of(broker_url: str) -> str:
    """faust broker URL(s) -> aiokafka bootstrap servers."""
    hosts = []
    for part in broker_url.split(";"):
        part = part.strip()
        if "://" in part:
            part = part.split("://", 1)[1]
        hosts.extend(h for h in part.split(",") if h)
    return ",".join(hosts)


async def started_consumer(bootstrap: str, **options: object) -> AIOKafkaConsumer:
    """A started consumer that never subscribes (stopped again if starting fails)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, **options)
    try:
        await consumer.start()
    except BaseException:
        await consumer.stop()
        raise
    return consumer


async def confirm_end_offsets(
    probe: AIOKafkaConsumer,
    listed: Mapping[TopicPartition, int],
    timeout: float = FETCHED_END_TIMEOUT,
) -> dict[TopicPartition, int]:
    """End offsets as a fetch reports them (its high watermark), given the listed ones.

    The embedded broker's offset listing counts a partition's last record batch as one
    record: after one batch of eight records at offsets 0-7 it lists the end as 1, while a
    fetch reports the true high watermark, 8. With producers that batch records every listed
    end would be too low, and a table's recovery would stop short of its changelog's end. A
    fetch from the listed end's last offset reads that last batch, and its answer carries the
    high watermark; partitions listed empty are empty. ``probe`` is a started consumer this
    call may assign and seek (it reads at most one record per partition).
    """
    ends = dict(listed)
    wanted = [tp for tp, end in listed.items() if end > 0]
    if not wanted:
        return ends
    probe.assign(wanted)
    for tp in wanted:
        probe.seek(tp, listed[tp] - 1)
    pending = set(wanted)
    deadline = time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        await probe.getmany(*pending, timeout_ms=100, max_records=1)
        for tp in list(pending):
            highwater = probe.highwater(tp)
            if highwater is not None:
                ends[tp] = max(highwater, listed[tp])
                pending.discard(tp)
    if pending:
        raise TimeoutError(f"no fetch answered for {sorted(map(str, pending))}")
    return ends


async def fetched_end_offsets(
    bootstrap: str, listed: Mapping[TopicPartition, int]
) -> dict[TopicPartition, int]:
    """:func:`confirm_end_offsets` with a consumer of its own."""
    if not any(end > 0 for end in listed.values()):
        return dict(listed)
    probe = await started_consumer(bootstrap)
    try:
        return await confirm_end_offsets(probe, listed)
    finally:
        await probe.stop()


class GroupOffsets:
    """Committed and end offsets of the worker group's partitions.

    Read by a consumer that carries the group id but never subscribes, so it never joins (or
    disturbs) the group; started on first use. One per worker serves the ops lag gauge and the
    stall watchdog.
    """

    def __init__(self, bootstrap: str, group_id: str, *, fetched_ends: bool = False) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.fetched_ends = fetched_ends  # confirm ends by fetch (see fetched_end_offsets)
        self.reader: AIOKafkaConsumer | None = None
        self.probe: AIOKafkaConsumer | None = None

    async def _reader(self) -> AIOKafkaConsumer:
        if self.reader is None:
            self.reader = await started_consumer(self.bootstrap, group_id=self.group_id)
        return self.reader

    async def committed(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset of each partition (None: nothing committed yet)."""
        reader = await self._reader()
        offsets = await asyncio.gather(*(reader.committed(tp) for tp in tps))
        return dict(zip(tps, offsets, strict=True))

    async def ends(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The end offset of each partition."""
        listed = await (await self._reader()).end_offsets(list(tps))
        if not self.fetched_ends:
            return listed
        if self.probe is None:
            self.probe = await started_consumer(self.bootstrap)
        return await confirm_end_offsets(self.probe, listed)

    async def close(self) -> None:
        for consumer in (self.reader, self.probe):
            if consumer is not None:
                await consumer.stop()
        self.reader = self.probe = None
