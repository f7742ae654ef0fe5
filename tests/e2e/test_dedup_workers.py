"""Two workers split the dedup partitions: copies are found across homes and survive a death."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.partitioner import murmur2

from agents.broker import EmbeddedBroker
from agents.offsets import GroupOffsets
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    ARTICLES_RAW,
    DEDUP_BANDS,
    DEDUP_MATCHES,
)
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.e2e

PARAGRAPHS = [
    "The Wexley harbor bridge reopened to traffic on Monday morning after eight months of "
    "repairs to its corroded steel deck and the two lifting towers at either end.",
    "City engineers said the repairs cost 41 million dollars, about six million more than "
    "planned, because crews found more rust under the old asphalt than the survey showed.",
    "Ferry operators, who carried about nine thousand extra passengers a day during the "
    "closure, said they would return to their winter timetable at the end of the month.",
    "Shop owners on Quay Street said takings had fallen by a third since the spring and "
    "welcomed the reopening, though several asked the council for help with lost income.",
    "The council will vote next week on a plan to inspect the bridge every two years "
    "instead of every five, a change the engineers recommended in their final report.",
]


def _article(aid: str, outlet: str, url: str, title: str, paragraphs: list[str]) -> dict:
    return {
        "id": aid,
        "url": url,
        "outlet": outlet,
        "title": title,
        "text": "\n".join(paragraphs),
        "published": "2026-03-02T08:00:00Z",
    }


def _home_partition(url: str, partitions: int = 2) -> int:
    """The articles.normalized partition of an article keyed by ``url`` (default partitioner)."""
    return (murmur2(url.encode()) & 0x7FFFFFFF) % partitions


def _verdict(worker: WorkerProcess, article_id: str, timeout: float) -> dict:
    base_url = worker.base_url
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = httpx.get(f"{base_url}/api/articles/{article_id}", timeout=2)
            if found.status_code == 200:
                return found.json()
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError(
        f"{article_id} not assigned within {timeout} s; worker log:\n{worker.log_tail(80)}"
    )


async def _topic_dump(broker: EmbeddedBroker) -> str:
    """What the dedup topics hold (watermarks summarized), for a failure message."""
    lines = []
    offsets = GroupOffsets(broker.bootstrap, "storystream")
    try:
        tps = [TopicPartition(ARTICLES_RAW, p) for p in range(4)]
        tps += [TopicPartition(ARTICLES_NORMALIZED, p) for p in range(2)]
        committed = await offsets.committed(tps)
        lines += [f"committed {tp.topic}[{tp.partition}]: {committed[tp]}" for tp in tps]
    finally:
        await offsets.close()
    for topic in (ARTICLES_RAW, ARTICLES_NORMALIZED, DEDUP_BANDS, DEDUP_MATCHES, ARTICLES_DEDUPED):
        consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            records = []
            for _ in range(4):
                batch = await consumer.getmany(timeout_ms=500)
                for tp, messages in batch.items():
                    records += [(tp.partition, m.offset, m.value) for m in messages]
        finally:
            await consumer.stop()
        marks: dict[tuple[int, int], tuple[int, float]] = {}
        for part, offset, value in records:
            if b'"watermark"' in value:
                mark = orjson.loads(value)
                marks[(part, mark["home"])] = (offset, mark["order"])
            else:
                lines.append(f"{topic}[{part}]@{offset}: {value[:120]!r}")
        lines += [f"{topic}[{p}] last watermark of home {h}: {m}" for (p, h), m in marks.items()]
    return "\n".join(lines)


def _post(base_url: str, articles: list[dict]) -> None:
    posted = httpx.post(f"{base_url}/api/articles", content=orjson.dumps(articles), timeout=10)
    assert posted.status_code == 202, posted.text


def test_copies_on_other_homes_are_found_and_a_dead_worker_loses_nothing(tmp_path: Path):
    edited = [p.replace("Monday", "Tuesday").replace("nine", "ten") for p in PARAGRAPHS[:-1]]
    original = _article(
        "bridge-1", "wexley-herald.example", "https://wexley-herald.example/news/bridge",
        "Harbor bridge reopens after repairs", PARAGRAPHS,
    )
    copies = [
        _article("bridge-2", "coast-wire.example", "https://coast-wire.example/a/9913",
                 "Wexley bridge back in service", PARAGRAPHS),
        _article("bridge-3", "valley-times.example", "https://valley-times.example/b/15",
                 "Bridge open again, costs up", edited),
    ]
    later = _article("bridge-4", "bay-daily.example", "https://bay-daily.example/c/5",
                     "Traffic returns to Wexley harbor bridge", PARAGRAPHS)
    # The copies live on the other home partition than the original.
    assert _home_partition(original["url"]) == 0
    assert {_home_partition(a["url"]) for a in (*copies, later)} == {1}
    with EmbeddedBroker() as broker:
        workers = [WorkerProcess(broker, tmp_path).start() for _ in range(2)]
        try:
            for worker in workers:
                worker.wait_ready(90)
            first, second = workers
            _post(first.base_url, [original])
            first_seen = _verdict(second, "bridge-1", 90)
            assert first_seen["verdict"]["kind"] == "original"
            assert first_seen["article"]["url"] == original["url"]  # the key of its home
            _post(first.base_url, [*copies, original])  # two copies and a resend
            got = {a["id"]: _verdict(second, a["id"], 90)["verdict"] for a in copies}
            assert got["bridge-2"]["kind"] == "syndicated"
            assert got["bridge-3"]["kind"] in ("light_edit", "syndicated")
            assert {v["duplicate_of"] for v in got.values()} == {"bridge-1"}
            first.stop(kill=True)  # the survivor takes over every partition and its state
            _post(second.base_url, [later])
            try:
                verdict = _verdict(second, "bridge-4", 120)["verdict"]
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{asyncio.run(_topic_dump(broker))}") from None
            assert (verdict["kind"], verdict["duplicate_of"]) == ("syndicated", "bridge-1")
            story = _verdict(second, "bridge-1", 10)["story_id"]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                page = httpx.get(f"{second.base_url}/api/stories/{story}", timeout=2)
                if page.status_code == 200 and page.json()["article_count"] == 4:
                    break
                time.sleep(0.3)
            # The resend is not counted; the three copies are the outlets' coverage.
            assert page.json()["article_count"] == 4, page.json()["status_line"]
        finally:
            for worker in workers:
                worker.stop(kill=True)
