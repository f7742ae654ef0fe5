"""Batches close when the input goes quiet, fill up under load, and are acknowledged only once
the agent got through them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

import pytest

from agents.batching import take_drained


@dataclass
class FakeEvent:
    value: int


class FakeStream:
    """The part of a faust stream the batching loop uses, fed from a schedule of values."""

    def __init__(self, schedule: list[tuple[float, int]]) -> None:
        self.schedule = schedule  # (delay before the value, value)
        self.enable_acks = True
        self.should_stop = False
        self.current_event: FakeEvent | None = None
        self._processors: list[Any] = []
        self.acked: list[int] = []
        self.channel = self
        self.feeding: asyncio.Task | None = None

    def __aiter__(self) -> FakeStream:
        return self

    async def __anext__(self) -> int:  # never read directly: values come through processors
        raise StopAsyncIteration

    def add_processor(self, processor: Any) -> None:
        self._processors.append(processor)

    def _enable_passive(self, channel: Any) -> None:
        async def feed() -> None:
            for delay, value in self.schedule:
                await asyncio.sleep(delay)
                self.current_event = FakeEvent(value)
                for processor in list(self._processors):
                    await processor(value)

        self.feeding = asyncio.ensure_future(feed())

    async def wait(self, event: asyncio.Event) -> None:
        await event.wait()

    async def wait_for_stopped(self, event: asyncio.Event, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), timeout)

    async def ack(self, event: FakeEvent) -> None:
        self.acked.append(event.value)


async def batches_of(stream: FakeStream, count: int, **kw: Any) -> list[list[int]]:
    out: list[list[int]] = []
    async for batch in take_drained(stream, 100, within=1.0, **kw):
        out.append([e.value for e in batch])
        if sum(map(len, out)) >= count:
            break
    return out


async def test_a_burst_is_one_batch_and_a_pause_closes_it():
    stream = FakeStream([(0.0, 1), (0.0, 2), (0.0, 3), (0.1, 4), (0.0, 5)])
    batches = await asyncio.wait_for(batches_of(stream, 5, quiet=0.02), 5)
    assert batches == [[1, 2, 3], [4, 5]]
    # The first batch was processed (the loop came back for more); the loop left with the
    # second, so it stays unacknowledged.
    assert stream.acked == [1, 2, 3]


async def test_a_lone_event_is_handed_over_long_before_the_window():
    stream = FakeStream([(0.0, 1)])
    started = asyncio.get_running_loop().time()
    batches = await asyncio.wait_for(batches_of(stream, 1, quiet=0.01), 5)
    assert batches == [[1]]
    assert asyncio.get_running_loop().time() - started < 0.5  # the window is 1 s


async def test_a_batch_the_agent_did_not_get_through_is_not_acknowledged():
    stream = FakeStream([(0.0, 1), (0.1, 2), (0.0, 3)])

    async def agent() -> None:
        async for batch in take_drained(stream, 100, within=1.0, quiet=0.02):
            if any(e.value == 2 for e in batch):
                raise RuntimeError("the agent crashed mid-batch")

    with pytest.raises(RuntimeError):
        await asyncio.wait_for(agent(), 5)
    await asyncio.sleep(0)  # the abandoned generator is closed
    assert stream.acked == [1]
