"""Batches that close as soon as the input is drained.

faust's ``Stream.take_events(max_, within)`` hands over a batch when it holds ``max_`` events
or when ``within`` seconds have passed: a lone article waits the whole window at every stage
it crosses. :func:`take_drained` closes a batch as soon as no further event is already waiting
in the stream's queue, so an idle pipeline passes an article on at once while a busy one still
gets large batches (whatever arrived while the previous batch was processed). ``within`` stays
as the longest a batch is held open. faust offers no such mode, hence this variant of its
buffering loop; acknowledgements follow faust's: each event is acknowledged after the batch
that holds it has been processed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import EventT


def _queue_of(channel_it: Any) -> Any:
    """The queue the stream reads from, when its channel exposes one."""
    queue = getattr(channel_it, "queue", None)
    return queue if queue is not None and hasattr(queue, "empty") else None


async def take_drained(
    stream: faust.StreamT, max_: int, within: float
) -> AsyncIterator[list[EventT]]:
    """Yield lists of up to ``max_`` events: all that is waiting, at most ``within`` s late."""
    events: list[EventT] = []
    ready = asyncio.Event()  # a batch may be handed over
    consumed = asyncio.Event()  # the handed-over batch was processed
    consuming: asyncio.Future | None = None
    channel_it = aiter(stream.channel)
    queue = _queue_of(channel_it)

    async def add(value: Any) -> Any:
        nonlocal consuming
        if consuming is not None:
            try:
                await consuming
            finally:
                consuming = None
        event = stream.current_event
        if event is None:
            raise RuntimeError("an event reached the batch without its message")
        events.append(event)
        if len(events) >= max_:
            ready.set()
            consumed.clear()
            await stream.wait(consumed)  # never more than max_ events in one batch
        elif queue is not None and queue.empty():
            ready.set()  # nothing else is waiting: hand over what there is
        return value

    enable_acks = stream.enable_acks
    stream.enable_acks = False  # acknowledged here, once their batch is processed
    stream.add_processor(add)
    stream._enable_passive(channel_it)
    try:
        while not stream.should_stop:
            await stream.wait_for_stopped(ready, timeout=within)
            if not events:
                ready.clear()
                continue
            consuming = asyncio.get_running_loop().create_future()
            batch = list(events)
            try:
                yield batch
            finally:
                events.clear()
                for event in batch:
                    await stream.ack(event)
                if not consuming.done():
                    consuming.set_result(None)
                ready.clear()
                consumed.set()
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(add)
