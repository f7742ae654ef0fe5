"""The real worker on the embedded broker: stories, dead letters, restarts without double counts."""

from __future__ import annotations

import orjson
import pytest

from schemas import DEADLETTER, STORIES_ASSIGNMENTS, STORIES_UPDATES
from tests.integration.conftest import TopicReader, sample_articles, send_raw

pytestmark = pytest.mark.integration

SEEDS = ("seed-002", "seed-003", "seed-004")


def _latest(updates: list[dict], story_id: str) -> dict | None:
    mine = [u for u in updates if u["story_id"] == story_id]
    return max(mine, key=lambda u: u["version"]) if mine else None


def _has_count(n: int):
    return lambda updates: any(u["article_count"] == n for u in updates)


async def test_three_seed_articles_become_one_story(broker, worker_factory, producer):
    worker = worker_factory()
    worker.wait_ready()
    articles = sample_articles()
    for seed in SEEDS:
        await send_raw(producer, articles[seed], seed)
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        records = await updates.until(_has_count(3), timeout=60)
    final = next(u for u in records if u["article_count"] == 3)
    assert final["status_line"] == "Updated (3 articles)"
    assert {a["article_id"] for a in final["articles"]} == set(SEEDS)
    assert len({u["story_id"] for u in records}) == 1
    versions = [u["version"] for u in records]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
    # No faust envelope: subscribers read the contract's fields at the top level.
    assert "__faust" not in final and "headline" in final


async def test_malformed_message_is_dead_lettered_and_the_next_one_processed(
    broker, worker_factory, producer
):
    worker = worker_factory()
    worker.wait_ready()
    await send_raw(producer, b"{this is not json", "broken")
    await send_raw(producer, b'["an", "array"]', "array")
    empty = {"id": "empty", "url": "https://x.example/e", "text": " "}
    await send_raw(producer, orjson.dumps(empty))
    await send_raw(producer, sample_articles()["seed-003"], "seed-003")
    async with TopicReader(broker, DEADLETTER) as letters:
        dead = await letters.until(lambda r: len(r) >= 3, timeout=60)
    assert {d["stage"] for d in dead} == {"normalize"}
    assert any(d["original"] == "{this is not json" for d in dead)
    assert all(d["reason"] for d in dead)
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        records = await updates.until(_has_count(1), timeout=60)
    assert records[0]["articles"][0]["article_id"] == "seed-003"


@pytest.mark.parametrize("store", ["memory://", "rocksdb://"])
async def test_restarted_worker_recovers_state_and_does_not_double_count(
    broker, worker_factory, producer, store
):
    """memory:// recovers from the changelogs alone; rocksdb:// also keeps its local files."""
    articles = sample_articles()
    first = worker_factory(STORE_URL=store)
    first.wait_ready()
    await send_raw(producer, articles["seed-002"], "seed-002")
    await send_raw(producer, articles["seed-003"], "seed-003")
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        await updates.until(_has_count(2), timeout=60)
    first.stop(kill=True)

    second = worker_factory(STORE_URL=store)
    second.wait_ready(timeout=90)
    # A resend of an article seen before the restart, then the third seed article.
    await send_raw(producer, articles["seed-002"], "seed-002")
    await send_raw(producer, articles["seed-004"], "seed-004")
    async with TopicReader(broker, STORIES_UPDATES) as updates:
        records = await updates.until(_has_count(3), timeout=90)
        records = await updates.drain(3.0)
    story_ids = {u["story_id"] for u in records}
    assert len(story_ids) == 1
    final = _latest(records, story_ids.pop())
    assert final["article_count"] == 3
    assert max(u["article_count"] for u in records) == 3
    async with TopicReader(broker, STORIES_ASSIGNMENTS) as assignments:
        assigned = await assignments.until(lambda r: len(r) >= 4, timeout=30)
    resend = [a for a in assigned if a["article"]["id"] == "seed-002"]
    assert [a["verdict"]["kind"] for a in resend][-1] == "resend"
