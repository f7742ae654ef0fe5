"""A message whose acknowledgement is refused during a rebalance neither commits nor blocks it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from faust.types import Message


def _delivered(consumer: Any, offset: int) -> Message:
    """A message of an input topic, as the consumer tracks it once handed to a stream."""
    message = Message("articles.raw", 0, offset, 0.0, 0, None, b"k", b"v", None)
    message.generation_id = consumer.app.consumer_generation_id
    consumer.track_message(message)
    return message


def test_a_refused_ack_leaves_the_pending_set_and_commits_nothing(
    offline_consumer: Callable[[], Any],
) -> None:
    async def run() -> None:
        consumer = offline_consumer()
        app = consumer.app
        refused = _delivered(consumer, 7)
        app.flow_control.suspend()  # a rebalance has begun
        assert consumer.ack(refused) is False
        assert refused not in consumer._unacked_messages
        assert not consumer._acked[refused.tp]  # so its offset is never committed
        # the rebalance's wait for acknowledgements ends instead of waiting forever
        await asyncio.wait_for(consumer.wait_empty(), timeout=5.0)

    asyncio.run(run())


def test_a_message_of_the_current_generation_is_acknowledged(
    offline_consumer: Callable[[], Any],
) -> None:
    async def run() -> None:
        consumer = offline_consumer()
        app = consumer.app
        app.flow_control.resume()
        current = _delivered(consumer, 3)
        stale = _delivered(consumer, 4)
        app.consumer_generation_id += 1  # a rebalance happened after ``stale`` was fetched
        assert consumer.ack(stale) is False
        current.generation_id = app.consumer_generation_id
        consumer.ack(current)
        assert current.acked and not stale.acked  # faust's own ack ran for ``current`` only
        consumer._clean_unacked_messages()
        assert not consumer._unacked_messages

    asyncio.run(run())
