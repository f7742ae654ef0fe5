"""Returns fetched records to the fetcher when faust would drop them without delivering them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from typing import Any

import faust
from aiokafka.errors import IllegalStateError

log = logging.getLogger(__name__)


def hand_back(
    aioconsumer: Any, records: Mapping[Any, list[Any]], deliverable: Callable[[Any], bool]
) -> dict[Any, list[Any]]:
    """Keep the records of deliverable partitions; seek the others back to their first record.

    Args:
        aioconsumer: The aiokafka consumer that returned ``records`` (called on its own loop).
        records: Fetched records by topic partition, each list in offset order.
        deliverable: Whether faust will deliver the records of a partition.

    Returns:
        The records of the deliverable partitions.
    """
    kept: dict[Any, list[Any]] = {}
    for tp, messages in records.items():
        if not messages or deliverable(tp):
            kept[tp] = messages
            continue
        try:
            aioconsumer.seek(tp, messages[0].offset)
        except IllegalStateError:  # no longer assigned: its next owner reads it
            continue
        log.info(
            "%s[%d]: %d fetched records handed back from offset %d (faust would drop them)",
            tp.topic,
            tp.partition,
            len(messages),
            messages[0].offset,
        )
    return kept


def hand_back_undelivered_records(app: faust.App) -> None:
    """Records a fetch drained but faust will not deliver go back to the fetcher.

    faust's fetch runs on the consumer thread and hands aiokafka the consumer's live set of
    active partitions, which a rebalance empties; aiokafka reads an empty set as "every
    partition", and a fetch that started before a rebalance waits for the new assignment and
    then carries on. Such a fetch can drain the changelog partitions a table recovery has just
    sought to, while flow is still stopped; faust then drops the records and seeks only to
    committed offsets, which changelogs do not have, so the recovery waits forever for records
    already read past. Here, on the consumer thread and before anything else runs there, each
    partition whose records faust would drop (flow stopped, generation changed, partition not
    active) is sought back to its first drained record, so the next fetch returns them again.
    No faust setting changes how its fetch selects or drops records, hence the wrapper.
    """
    new_consumer = app._new_consumer

    def make_consumer() -> Any:
        consumer = new_consumer()
        thread = consumer._thread
        fetch = thread._fetch_records

        async def fetch_records(
            aioconsumer: Any,
            active_partitions: Collection[Any] | None,
            timeout: float | None = None,
            max_records: int | None = None,
        ) -> Mapping[Any, list[Any]]:
            generation = app.consumer_generation_id
            records = await fetch(
                aioconsumer, active_partitions, timeout=timeout, max_records=max_records
            )
            if not records:
                return records

            def deliverable(tp: Any) -> bool:
                if not consumer.flow_active or app.consumer_generation_id != generation:
                    return False
                return (
                    active_partitions is None
                    or tp in active_partitions
                    or tp in consumer._buffered_partitions
                )

            return hand_back(aioconsumer, records, deliverable)

        thread._fetch_records = fetch_records
        return consumer

    app._new_consumer = make_consumer
