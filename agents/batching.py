"""Batches that close as soon as the input goes quiet.

faust's ``Stream.take_events(max_, within)`` hands over a batch when it holds ``max_`` events
or when ``within`` seconds have passed: a lone article waits the whole window at every stage
it crosses. :func:`take_drained` also closes a batch once no further event has arrived for
``quiet`` seconds, so an idle pipeline passes an article on after a few milliseconds while a
busy one, whose events keep coming, still fills large batches (up to ``within``). Closing as
soon as the stream's queue is empty does not do: the consumer hands messages over one at a
time, so the queue is empty between nearly any two and batches of one cost every per-batch
write again. faust offers no such mode, hence this variant of its buffering loop;
each event is acknowledged after the batch that holds it has been processed, and never when the
agent did not get through it (faust's loop acknowledges the batch in that case too).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import faust
from faust.types import EventT

QUIET_SECONDS = 0.01  # a batch closes once no event has arrived for this long


async def take_drained(
    stream: faust.StreamT, max_: int, within: float, quiet: float = QUIET_SECONDS
) -> AsyncIterator[list[EventT]]:
    """Yield lists of up to ``max_`` events, each closed when the input has been quiet for
    ``quiet`` seconds or ``within`` seconds after it opened."""
    events: list[EventT] = []
    ready = asyncio.Event()  # a batch may be handed over
    consumed = asyncio.Event()  # the handed-over batch was processed
    consuming: asyncio.Future | None = None
    channel_it = aiter(stream.channel)
    loop = asyncio.get_running_loop()
    quiet_timer: asyncio.TimerHandle | None = None

    async def add(value: Any) -> Any:
        nonlocal consuming, quiet_timer
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
        else:  # hand over what there is unless another event comes soon
            if quiet_timer is not None:
                quiet_timer.cancel()
            quiet_timer = loop.call_later(quiet, ready.set)
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
            if quiet_timer is not None:
                quiet_timer.cancel()
            consuming = loop.create_future()
            batch = list(events)
            processed = False
            try:
                yield batch
                processed = True
            finally:
                events.clear()
                # A batch the agent did not get through (it crashed or was stopped holding
                # it) stays unacknowledged: it is not committed and is read again.
                if processed:
                    for event in batch:
                        await stream.ack(event)
                if not consuming.done():
                    consuming.set_result(None)
                ready.clear()
                consumed.set()
    finally:
        if quiet_timer is not None:
            quiet_timer.cancel()
        stream.enable_acks = enable_acks
        stream._processors.remove(add)
