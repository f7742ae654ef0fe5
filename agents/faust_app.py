"""The worker's faust App: bounded shutdown, acknowledgements guarded across rebalances."""

from __future__ import annotations

import asyncio
import logging
import warnings
from typing import Any

import faust
import faust.streams
from aiokafka import TopicPartition

from agents.offsets import fetched_end_offsets
from agents.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_ACK_WAIT = 5.0  # seconds a stopping worker waits for in-flight events to be acked


class StorystreamApp(faust.App):
    """faust's App, except that a stopping worker waits a bounded time for acknowledgements.

    faust waits, without a limit, for every event it handed to an agent to be acknowledged
    before a worker stops (``stream_wait_empty``). An agent reading with ``take_events`` that
    is stopped while it holds a part-filled batch never yields those events, so they are never
    acknowledged and the worker never stops; the dedup band owners, which receive watermarks
    every fraction of a second, are nearly always holding some. Here the wait ends after
    :data:`SHUTDOWN_ACK_WAIT` seconds. Unacknowledged events are not committed, so whichever
    worker owns their partitions next reads them again, and every stage is idempotent. A
    rebalance keeps faust's wait: its streams keep running, so their batches drain.
    """

    async def on_stop(self) -> None:
        consumer = self._consumer
        if consumer is not None and self.conf.stream_wait_empty:
            try:
                await asyncio.wait_for(consumer.wait_empty(), SHUTDOWN_ACK_WAIT)
            except TimeoutError:
                log.warning(
                    "stopping without waiting longer for %d unacknowledged events; the next"
                    " owner of their partitions reads them again",
                    len(consumer._unacked_messages),
                )
            except Exception as exc:  # noqa: BLE001 - a consumer that never started
                log.debug("no wait for acknowledgements: %r", exc)
            with warnings.catch_warnings():
                # faust warns on changing a setting after start; the consumer reads it when
                # it stops, which is the point
                warnings.simplefilter("ignore")
                self.conf.stream_wait_empty = False
        await super().on_stop()


def keep_unprocessed_unacked(app: faust.App) -> None:
    """Never acknowledge a message fetched before the current rebalance generation.

    faust skips the events it fetched before a rebalance (or while flow is paused for one) but
    still acknowledges them, so their offsets get committed and the messages are never read
    again: an article posted while a worker dies could vanish. With this guard such an ack is
    refused; after the rebalance the consumer seeks back to the committed offset and the
    message is delivered again (the stages are idempotent, so a message that was in fact
    processed just gets its first answer again). faust's compiled stream iterator acknowledges
    skipped events inline, past the consumer, so streams use its pure-Python iterator, which
    acknowledges through the consumer and so through this guard.

    A refused message also leaves the consumer's set of messages awaiting acknowledgement:
    a rebalance waits for that set to empty before it hands partitions over, and a message
    whose acknowledgement was refused would keep it waiting forever.
    """
    faust.streams._CStreamIterator = None
    new_consumer = app._new_consumer

    def make_consumer() -> Any:
        consumer = new_consumer()
        ack = consumer.ack

        def guarded_ack(message: Any) -> bool:
            stale = getattr(message, "generation_id", app.consumer_generation_id)
            if stale != app.consumer_generation_id or not app.flow_control.is_active():
                consumer._unacked_messages.discard(message)
                return False
            return ack(message)

        consumer.ack = guarded_ack
        return consumer

    app._new_consumer = make_consumer


def app_config(settings: Settings) -> dict[str, Any]:
    """faust settings for the chosen broker profile."""
    config: dict[str, Any] = {
        "broker": settings.broker_url,
        "store": settings.store_url,
        "datadir": str(settings.data_dir),
        "web_enabled": settings.web_enabled,
        "web_host": settings.web_host,
        "web_port": settings.web_port,
        "web_bind": settings.web_host,
        "topic_partitions": 1,
        "topic_allow_declare": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        # An article may carry a body up to max_body_bytes, and the worker writes it on in
        # Article, DedupedArticle and StoryAssignment records and in table changelogs: the
        # producer's default limit (1 MB) would make the send raise and the agent crash.
        "producer_max_request_size": max(1_000_000, 2 * settings.max_body_bytes + 1_000_000),
        # A partition's batch is sent once full: at the default 16 KiB that is after two or
        # three articles, so nearly every record went in a request of its own. With 1 MiB,
        # what gathered meanwhile goes together (at 200 articles/s on the embedded broker:
        # 5,500 produce requests for 3,000 articles became 2,300).
        "producer_max_batch_size": 1 << 20,
        "table_cleanup_interval": 60.0,
        "table_standby_replicas": settings.standby_replicas,
    }
    if settings.embedded:
        config.update(
            broker_session_timeout=3.0,
            broker_heartbeat_interval=0.5,
            broker_rebalance_timeout=2.0,
            # Produce requests carry batches of records: what gathered while the previous
            # request was on its way, or for 5 ms (fewer requests: the broker's CPU per
            # article falls by a quarter at 200 articles/s). The broker's end offsets are
            # confirmed by fetch for them (fetched_highwaters).
            producer_linger=0.005,
            broker_commit_every=100,
            broker_commit_interval=0.5,
        )
    return config


def store_options(settings: Settings) -> dict[str, Any]:
    """Options of each table's store: a bounded RocksDB cache and write buffer.

    The store's defaults (a 2 GiB block cache and three 64 MiB write buffers per table
    partition) would let a long-running worker's memory grow with the history it reads back.
    The in-memory store ignores them.
    """
    if not settings.store_url.startswith("rocksdb"):
        return {}
    cache_index_and_filter_blocks()
    mib = 1 << 20
    return {
        "block_cache_size": settings.table_cache_mb * mib,
        "write_buffer_size": settings.table_write_buffer_mb * mib,
        "max_write_buffer_number": 2,
        # the index and filter blocks of every file count against the cache as well, rather
        # than growing with the table's size beside it
        "cache_index_and_filter_blocks": True,
    }


def bound_fetch_wait(app: faust.App, seconds: float) -> None:
    """Let a fetch wait at most ``seconds`` for new records (faust fixes it at 1.5 s).

    A broker that answers a fetch only when its wait runs out, instead of as soon as records
    arrive, adds that wait to every hop an article makes; the embedded broker answers after
    about half a second. faust exposes no setting, so the worker consumer it builds gets the
    shorter wait before it starts (its fetcher reads the value on start).
    """
    new_consumer = app._new_consumer

    def make_consumer() -> Any:
        consumer = new_consumer()
        thread = consumer._thread
        create = thread._create_worker_consumer

        def create_with_wait(transport: Any) -> Any:
            client = create(transport)
            client._fetch_max_wait_ms = int(seconds * 1000)
            return client

        thread._create_worker_consumer = create_with_wait
        return consumer

    app._new_consumer = make_consumer


def fetched_highwaters(app: faust.App, bootstrap: str) -> None:
    """Make the worker consumer's end offsets those a fetch reports.

    Table recovery reads each changelog up to its listed end offset. The embedded broker
    lists a partition's last record batch as one record (see
    :func:`~agents.offsets.confirm_end_offsets`), so a recovery would stop short of the
    changelog's end and then find the store's persisted offset past it. The consumer thread
    faust builds gets end offsets confirmed by a fetch, through a consumer of its own.
    """
    new_consumer = app._new_consumer

    def make_consumer() -> Any:
        consumer = new_consumer()
        thread = consumer._thread
        listed_highwaters = thread._highwaters

        async def confirmed_highwaters(partitions: list[Any]) -> Any:
            listed = await listed_highwaters(partitions)
            plain = {TopicPartition(tp.topic, tp.partition): tp for tp in listed}
            ends = await fetched_end_offsets(
                bootstrap, {tp: listed[faust_tp] for tp, faust_tp in plain.items()}
            )
            return {plain[tp]: end for tp, end in ends.items()}

        thread._highwaters = confirmed_highwaters
        return consumer

    app._new_consumer = make_consumer


def cache_index_and_filter_blocks() -> None:
    """Let table stores keep their index and filter blocks in the block cache.

    RocksDB holds every file's index and bloom-filter blocks in memory beside the block
    cache unless told otherwise, so a store's memory grows with its size on disk: the assign
    stage's table grows with the history it archives. faust builds the store's table options
    itself and ignores this one, so its options are rebuilt here (as faust makes them) with
    the flag set when a table's options ask for ``cache_index_and_filter_blocks``.
    """
    import rocksdict
    from faust.stores import rocksdb as faust_rocksdb

    made = faust_rocksdb.RocksDBOptions.as_options
    if getattr(made, "caches_index", False):
        return

    def as_options(self: Any) -> Any:
        options = made(self)
        if self.use_rocksdict and self.extra_options.get("cache_index_and_filter_blocks"):
            table = rocksdict.BlockBasedOptions()
            table.set_bloom_filter(self.bloom_filter_size, block_based=True)
            table.set_block_cache(rocksdict.Cache(self.block_cache_size))
            table.set_index_type(rocksdict.BlockBasedIndexType.binary_search())
            table.set_cache_index_and_filter_blocks(True)
            options.set_block_based_table_factory(table)
        return options

    as_options.caches_index = True  # type: ignore[attr-defined]
    faust_rocksdb.RocksDBOptions.as_options = as_options
