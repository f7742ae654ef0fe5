"""Kafka addresses and the worker group's offsets, read without joining the group."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition


def bootstrap_of(broker_url: str) -> str:
    """faust broker URL(s) -> aiokafka bootstrap servers."""
    hosts = []
    for part in broker_url.split(";"):
        part = part.strip()
        if "://" in part:
            part = part.split("://", 1)[1]
        hosts.extend(h for h in part.split(",") if h)
    return ",".join(hosts)


class GroupOffsets:
    """Committed and end offsets of the worker group's partitions.

    Read by a consumer that carries the group id but never subscribes, so it never joins (or
    disturbs) the group; started on first use. One per worker serves the ops lag gauge and the
    stall watchdog.
    """

    def __init__(self, bootstrap: str, group_id: str) -> None:
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.reader: AIOKafkaConsumer | None = None

    async def _reader(self) -> AIOKafkaConsumer:
        if self.reader is None:
            reader = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap, group_id=self.group_id, enable_auto_commit=False
            )
            try:
                await reader.start()
            except BaseException:
                await reader.stop()
                raise
            self.reader = reader
        return self.reader

    async def committed(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int | None]:
        """The group's committed offset of each partition (None: nothing committed yet)."""
        reader = await self._reader()
        offsets = await asyncio.gather(*(reader.committed(tp) for tp in tps))
        return dict(zip(tps, offsets, strict=True))

    async def ends(self, tps: Sequence[TopicPartition]) -> dict[TopicPartition, int]:
        """The end offset of each partition."""
        return await (await self._reader()).end_offsets(list(tps))

    async def close(self) -> None:
        if self.reader is not None:
            await self.reader.stop()
            self.reader = None
