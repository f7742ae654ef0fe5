"""Faults on a live worker: SIGKILL mid-ingest, a frozen broker, hostile input on every topic.

Each test runs real ``storystream worker`` processes on the embedded broker and checks the
semantics users rely on: nothing lost, nothing counted twice, bad input dead-lettered with a
reason, and a worker that recovers by itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Iterable
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import RecordMetadata

from agents.broker import EmbeddedBroker
from pipeline.assignment.assigner import ClusterConfig, article_terms
from pipeline.normalization.normalize import normalize, parse_raw
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    DedupedArticle,
    DedupVerdict,
    StoryAssignment,
)
from tests.integration.conftest import TopicReader, WorkerProcess
from tests.integration.faultdata import event_of, hostile_messages, input_topics, story_articles

pytestmark = pytest.mark.integration

# One partition per topic the articles cross before assign: the assign stage then sees them
# in the order they were sent, so two runs can be compared story for story.
ORDERED = {"STORYSTREAM_RAW_PARTITIONS": "1", "STORYSTREAM_DEDUP_PARTITIONS": "1"}


def final_stories(updates: Iterable[dict]) -> dict[str, dict]:
    """Each live story's latest version (stories merged into another left out)."""
    latest: dict[str, dict] = {}
    for update in updates:
        seen = latest.get(update["story_id"])
        if seen is None or update["version"] > seen["version"]:
            latest[update["story_id"]] = update
    return {sid: u for sid, u in latest.items() if not u.get("merged_into")}


def members(update: dict) -> list[str]:
    """Article ids a story version lists."""
    return [a["article_id"] for a in update["articles"]]


def all_published(ids: set[str]):
    """Predicate on story updates: every id in ``ids`` is listed by some story's latest version."""

    def check(updates: list[dict]) -> bool:
        listed = {a for u in final_stories(updates).values() for a in members(u)}
        return ids <= listed

    return check


def assert_each_counted_once(updates: list[dict], ids: set[str]) -> dict[str, set[str]]:
    """Every article is a member of exactly one story's latest version; counts add up.

    Returns the stories as sets of article ids.
    """
    stories = final_stories(updates)
    listed = [a for u in stories.values() for a in members(u)]
    twice = {a for a in listed if listed.count(a) > 1}
    assert not twice, f"articles in two stories (or twice in one): {sorted(twice)[:10]}"
    assert set(listed) == ids, f"missing: {sorted(ids - set(listed))[:10]}"
    for update in stories.values():
        assert update["article_count"] == len(members(update)), update["status_line"]
        assert update["status_line"] == f"Updated ({update['article_count']} articles)"
    assert sum(u["article_count"] for u in stories.values()) == len(ids)
    return {sid: set(members(u)) for sid, u in stories.items()}


def as_partition(stories: dict[str, set[str]]) -> set[frozenset[str]]:
    return {frozenset(s) for s in stories.values()}


async def send_all(producer: AIOKafkaProducer, articles: list[dict]) -> None:
    """Send raw articles (keyed by id) and wait until the broker has every one."""
    futures = [
        await producer.send(ARTICLES_RAW, orjson.dumps(a), key=a["id"].encode()) for a in articles
    ]
    await asyncio.gather(*futures)


def valid_assignment(value: bytes) -> dict | None:
    """An assignment record, or None for a message that is not one (hostile input)."""
    try:
        return StoryAssignment.from_json(value).to_dict()
    except Exception:  # noqa: BLE001 - any undecodable message is not an assignment
        return None


def assigned_ids(records: list[dict]) -> set[str]:
    return {r["article"]["id"] for r in records}


async def settled_stories(
    broker: EmbeddedBroker, ids: set[str], timeout: float
) -> tuple[list[dict], list[dict]]:
    """Story updates once every article is published, and every assignment made by then."""
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        await updates.until(all_published(ids), timeout=timeout)
        # the refresh debounce is 0.5 s: a version in flight lands within a few seconds
        published = await updates.drain(2.0)
    async with TopicReader(broker, STORIES_ASSIGNMENTS, valid_assignment) as assignments:
        assigned = await assignments.until(lambda r: ids <= assigned_ids(r), timeout=30)
    return published, assigned


def story_by_assignment(records: list[dict]) -> dict[str, str]:
    """Each article's story on ``stories.assignments``; every delivery must name the same one."""
    story: dict[str, str] = {}
    for record in records:
        article, sid = record["article"]["id"], record["story_id"]
        assert story.setdefault(article, sid) == sid, f"{article} given two stories"
    return story


def by_story(story_of: dict[str, str]) -> set[frozenset[str]]:
    stories: dict[str, set[str]] = {}
    for article, sid in story_of.items():
        stories.setdefault(sid, set()).add(article)
    return {frozenset(s) for s in stories.values()}


async def settle(reader: TopicReader, ids: set[str], quiet: float = 5.0) -> list[dict]:
    """Story updates once every article is listed, or once none has come for ``quiet`` s."""
    deadline = time.monotonic() + 90
    count, since = -1, time.monotonic()
    while not all_published(ids)(reader.records):
        if len(reader.records) != count:
            count, since = len(reader.records), time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
        assert time.monotonic() < deadline, "story updates never settled"
        await reader.drain(0.5)
    return reader.records


async def test_worker_sigkilled_during_ingest_loses_nothing_and_counts_nothing_twice(
    broker, worker_factory, producer, tmp_path: Path
):
    articles = story_articles(240)
    ids = {a["id"] for a in articles}
    chunks = [articles[i : i + 40] for i in range(0, len(articles), 40)]
    worker = worker_factory(**ORDERED)
    worker.wait_ready()
    pids: list[int] = []
    unassigned: list[int] = []  # articles of the chunk not yet assigned at each kill
    async with TopicReader(broker, STORIES_ASSIGNMENTS) as assignments:
        for chunk in chunks[:-1]:
            await send_all(producer, chunk)
            chunk_ids = {a["id"] for a in chunk}
            # SIGKILL as soon as the worker has assigned part of this chunk: mid-ingest,
            # with batches in flight through every stage.
            await assignments.until(lambda r, c=chunk_ids: bool(c & assigned_ids(r)), timeout=90)
            unassigned.append(len(chunk_ids - assigned_ids(assignments.records)))
            assert worker.proc is not None
            pids.append(worker.proc.pid)
            worker.proc.send_signal(signal.SIGKILL)
            worker.proc.wait()
            worker = worker_factory(**ORDERED)  # restarted at once; the ingest goes on
        await send_all(producer, chunks[-1])
        assigned = await assignments.until(lambda r: ids <= assigned_ids(r), timeout=120)
    assert len(pids) == 5
    assert any(unassigned), "no kill struck while a chunk was being assigned"
    # Nothing lost by the assign stage, no article given two stories, however often the
    # kills made it give its answer again.
    killed_story = story_by_assignment(assigned)
    assert set(killed_story) == ids
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        published = await settle(updates, ids)
    stories = final_stories(published)
    listed = [a for u in stories.values() for a in members(u)]
    # Nothing counted twice: an article is listed once, in the story it was assigned to, and
    # every count is the number of articles listed.
    assert len(listed) == len(set(listed)) and set(listed) <= ids
    for sid, update in stories.items():
        assert {killed_story[a] for a in members(update)} <= {sid}
        assert update["article_count"] == len(members(update)), update["status_line"]
    # Nothing lost: every article is listed, even one whose member record was written and
    # whose index entry was not when the worker was killed (the redelivery lists it).
    assert set(listed) == ids, f"assigned but never published: {sorted(ids - set(listed))}"
    # each invented event is one story
    assert {frozenset(event_of(a) for a in s) for s in by_story(killed_story)} == {
        frozenset({e}) for e in {event_of(a) for a in ids}
    }

    # The same articles on a fresh broker, one uninterrupted worker: the same stories.
    with EmbeddedBroker() as fresh:
        reference = WorkerProcess(fresh, tmp_path, **ORDERED).start()
        try:
            reference.wait_ready()
            prod = AIOKafkaProducer(bootstrap_servers=fresh.bootstrap)
            await prod.start()
            try:
                await send_all(prod, articles)
            finally:
                await prod.stop()
            published, assigned = await settled_stories(fresh, ids, timeout=120)
        finally:
            reference.stop(kill=True)
    uninterrupted = assert_each_counted_once(published, ids)
    reference_story = story_by_assignment(assigned)
    assert killed_story == reference_story  # story ids too: each comes from its first article
    published_killed = {sid: set(members(u)) for sid, u in stories.items() if members(u)}
    assert published_killed == {sid: arts for sid, arts in uninterrupted.items() if arts}


async def test_one_of_two_workers_sigkilled_during_ingest_loses_nothing(
    broker, producer, tmp_path: Path
):
    """Two workers on RocksDB tables without standby copies: each kill hands the victim's
    partitions to the other worker, which recovers them from their changelogs."""
    articles = story_articles(160, seed=11)
    ids = {a["id"] for a in articles}
    chunks = [articles[i : i + 40] for i in range(0, len(articles), 40)]
    env = {"STORE_URL": "rocksdb://", "STORYSTREAM_STANDBY_REPLICAS": "0"}
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    workers = [WorkerProcess(broker, d, **env).start() for d in dirs]
    try:
        for worker in workers:
            worker.wait_ready()
        async with TopicReader(broker, STORIES_ASSIGNMENTS) as assignments:
            for n, chunk in enumerate(chunks[:-1]):
                await send_all(producer, chunk)
                chunk_ids = {a["id"] for a in chunk}
                await assignments.until(
                    lambda r, c=chunk_ids: bool(c & assigned_ids(r)), timeout=90
                )
                victim = n % 2
                workers[victim].stop(kill=True)
                workers[victim] = WorkerProcess(broker, dirs[victim], **env).start()
            await send_all(producer, chunks[-1])
            assigned = await assignments.until(lambda r: ids <= assigned_ids(r), timeout=120)
        story_of = story_by_assignment(assigned)  # no article given two stories
        assert set(story_of) == ids
        async with TopicReader(broker, STORIES_UPDATES) as updates:
            published = await settle(updates, ids)
        stories = assert_each_counted_once(published, ids)
        for sid, listed in stories.items():
            assert {story_of[a] for a in listed} <= {sid}
    finally:
        for worker in workers:
            worker.stop(kill=True)


def _ready(worker: WorkerProcess) -> bool:
    try:
        return httpx.get(f"{worker.base_url}/readyz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_broker_frozen_for_30_s_mid_ingest_worker_recovers_by_itself(broker, worker_factory):
    articles = story_articles(96, seed=3)
    ids = {a["id"] for a in articles}
    before, during, after = articles[:40], articles[40:70], articles[70:]
    worker = worker_factory()
    worker.wait_ready()
    assert worker.proc is not None and broker.process is not None
    pid = worker.proc.pid
    # A producer that buffers while the broker does not answer and waits it out.
    producer = AIOKafkaProducer(
        bootstrap_servers=broker.bootstrap,
        request_timeout_ms=120_000,
        retry_backoff_ms=500,
        max_batch_size=1 << 20,
        acks="all",
    )
    await producer.start()
    try:
        await send_all(producer, before)
        async with TopicReader(broker, STORIES_ASSIGNMENTS) as assignments:
            first = {a["id"] for a in before}
            await assignments.until(lambda r: bool(first & assigned_ids(r)), timeout=60)
        os.kill(broker.process.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            sending = asyncio.create_task(send_all(producer, during))
            # the worker notices: readiness falls while the broker does not answer
            while _ready(worker):
                assert time.monotonic() - frozen < 25, "still ready with a frozen broker"
                await asyncio.sleep(0.5)
            assert not sending.done(), "the broker acknowledged while frozen"
            await asyncio.sleep(max(0.0, 30.0 - (time.monotonic() - frozen)))
        finally:
            os.kill(broker.process.pid, signal.SIGCONT)
        await asyncio.wait_for(sending, timeout=60)
        await send_all(producer, after)
    finally:
        await producer.stop()
    published, assigned = await settled_stories(broker, ids, timeout=90)
    assert_each_counted_once(published, ids)
    assert ids <= assigned_ids(assigned)
    # the same process recovered by itself, and says it is ready again
    assert worker.proc.poll() is None and worker.proc.pid == pid
    deadline = time.monotonic() + 30
    while not _ready(worker):
        assert time.monotonic() < deadline, f"not ready again:\n{worker.log_tail()}"
        await asyncio.sleep(0.5)


def _good_internal(articles: list[dict]) -> tuple[list[bytes], list[bytes]]:
    """Valid records for the internal inputs: normalized Articles and deduped articles."""
    normalized = [normalize(parse_raw(orjson.dumps(a)), received_at=time.time()) for a in articles]
    half = len(normalized) // 2
    as_normalized = [a.to_json() for a in normalized[:half]]
    as_deduped = [
        DedupedArticle(
            article=a,
            verdict=DedupVerdict(article_id=a.id, kind="original"),
            terms=article_terms(a, ClusterConfig()),
        ).to_json()
        for a in normalized[half:]
    ]
    return as_normalized, as_deduped


@pytest.mark.parametrize("dedup_partitions", [1, 2])
async def test_hostile_messages_on_every_input_topic_are_dead_lettered(
    broker, worker_factory, dedup_partitions
):
    """One dedup partition reads no band topics; two read them (the home/owner protocol)."""
    topics = input_topics(dedup_partitions)
    raw = story_articles(144, seed=5)
    # a good article near the body limit (STORYSTREAM_MAX_BODY_BYTES, 2,000,000)
    big = raw[77]
    big["text"] = "\n".join([big["text"]] * (1_950_000 // (len(big["text"]) + 1)))
    internal = story_articles(184, seed=5)[144:]  # same events, other articles
    as_normalized, as_deduped = _good_internal(internal)
    good = [(ARTICLES_RAW, orjson.dumps(a)) for a in raw]
    good += [(ARTICLES_NORMALIZED, v) for v in as_normalized]
    good += [(ARTICLES_DEDUPED, v) for v in as_deduped]
    ids = {a["id"] for a in raw + internal}
    hostile = hostile_messages(1000, topics=topics)
    # interleaved: the good ones in their order, the hostile ones between them at random
    rng = random.Random(3)
    sends = [(True, t, v) for t, v in good] + [(False, t, v) for t, v in hostile]
    rng.shuffle(sends)
    good_order = iter(good)
    sends = [(ok, *next(good_order)) if ok else (ok, t, v) for ok, t, v in sends]

    worker = worker_factory(STORYSTREAM_DEDUP_PARTITIONS=str(dedup_partitions))
    worker.wait_ready()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=8 << 20)
    await producer.start()
    try:
        futures = [(ok, v, await producer.send(t, v)) for ok, t, v in sends]
        results: list[tuple[bool, bytes, RecordMetadata]] = [
            (ok, v, await f) for ok, v, f in futures
        ]
    finally:
        await producer.stop()
    bad_at = {(m.topic, m.partition, m.offset): v for ok, v, m in results if not ok}
    good_at = {(m.topic, m.partition, m.offset) for ok, _, m in results if ok}
    assert len(bad_at) == 1000

    def letters_for(records: list[dict]) -> set[tuple[str, int, int]]:
        return {(d["topic"], d["partition"], d["offset"]) for d in records}

    async with TopicReader(broker, DEADLETTER) as letters:
        try:
            await letters.until(lambda r: set(bad_at) <= letters_for(r), timeout=120)
        except AssertionError:
            missing = sorted(set(bad_at) - letters_for(letters.records))
            kinds = sorted({(at[0], bad_at[at][:40]) for at in missing})
            raise AssertionError(
                f"{len(missing)} not dead-lettered: {kinds}\n{worker.log_tail()}"
            ) from None
        dead = letters.records
    assert all(d["reason"].strip() for d in dead)
    assert not letters_for(dead) & good_at, "a good message was dead-lettered"
    assert letters_for(dead) == set(bad_at)  # nothing else was dead-lettered either
    by_topic = {t: sum(1 for d in dead if d["topic"] == t) for t in {t for t, _ in hostile}}
    assert set(by_topic) == {t for t, _, _ in bad_at} == set(topics)

    published, assigned = await settled_stories(broker, ids, timeout=90)
    assert_each_counted_once(published, ids)
    assert ids <= assigned_ids(assigned)
    assert worker.proc is not None and worker.proc.poll() is None
    assert _ready(worker), worker.log_tail()
