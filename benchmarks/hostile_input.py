"""Throughput of a live worker with hostile input interleaved: good articles/s, clean vs hostile.

Starts the embedded broker and one real ``storystream worker`` per run (a fresh broker each
time), sends the same good articles to ``articles.raw`` — alone (clean run), then interleaved
with hostile messages (wrong JSON types, truncated JSON, invalid UTF-8, binary, bodies over the
size limit, deep nesting, wrong record shapes) on every topic the worker consumes — and times
from the first send until every good article is assigned and listed by its story's latest
update. Prints good articles/s of both runs and their ratio (the target: within 20%).

    python benchmarks/hostile_input.py
    python benchmarks/hostile_input.py --articles 1000 --hostile 1000 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.broker import EmbeddedBroker  # noqa: E402
from agents.settings import Settings  # noqa: E402
from schemas import (  # noqa: E402
    ARTICLES_RAW,
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
)
from tests.integration.conftest import WorkerProcess  # noqa: E402
from tests.integration.faultdata import (  # noqa: E402
    hostile_messages,
    input_topics,
    story_articles,
)


def _decode(value: bytes) -> dict | None:
    try:
        record = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    return record if isinstance(record, dict) else None


class Progress:
    """Follows assignments, updates and dead letters until every good article is published."""

    def __init__(self, broker: EmbeddedBroker, ids: set[str]) -> None:
        self.ids = ids
        self.consumer = AIOKafkaConsumer(
            STORIES_ASSIGNMENTS,
            STORIES_UPDATES,
            DEADLETTER,
            bootstrap_servers=broker.bootstrap,
            auto_offset_reset="earliest",
        )
        self.assigned: set[str] = set()
        self.latest: dict[str, dict] = {}
        self.dead = 0
        self.assigned_at = self.published_at = 0.0

    def listed(self) -> set[str]:
        return {a["article_id"] for u in self.latest.values() for a in u.get("articles", ())}

    def take(self, topic: str, record: dict) -> None:
        if topic == DEADLETTER:
            self.dead += 1
        elif topic == STORIES_ASSIGNMENTS:
            article = record.get("article")
            if isinstance(article, dict) and article.get("id") in self.ids:
                self.assigned.add(article["id"])
        else:
            seen = self.latest.get(record["story_id"])
            if seen is None or record["version"] > seen["version"]:
                self.latest[record["story_id"]] = record

    async def follow(self, timeout: float) -> None:
        await self.consumer.start()
        deadline = time.monotonic() + timeout
        try:
            while not self.published_at:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"timed out: {len(self.assigned)}/{len(self.ids)} assigned,"
                        f" {len(self.ids & self.listed())} published"
                    )
                batch = await self.consumer.getmany(timeout_ms=200)
                for tp, messages in batch.items():
                    for message in messages:
                        record = _decode(message.value)
                        if record is not None:
                            self.take(tp.topic, record)
                now = time.monotonic()
                if not self.assigned_at and self.assigned >= self.ids:
                    self.assigned_at = now
                if self.assigned_at and self.ids <= self.listed():
                    self.published_at = now
        finally:
            await self.consumer.stop()


async def one_run(articles: list[dict], hostile: list[tuple[str, bytes]], seed: int) -> dict:
    """Good articles (with ``hostile`` interleaved) through a fresh worker; its timings."""
    good = [(ARTICLES_RAW, orjson.dumps(a)) for a in articles]
    sends = [(True, t, v) for t, v in good] + [(False, t, v) for t, v in hostile]
    random.Random(seed).shuffle(sends)
    order = iter(good)
    sends = [(ok, *next(order)) if ok else (ok, t, v) for ok, t, v in sends]
    ids = {a["id"] for a in articles}
    with tempfile.TemporaryDirectory() as data, EmbeddedBroker() as broker:
        worker = WorkerProcess(broker, Path(data)).start()
        try:
            worker.wait_ready(timeout=120)
            progress = Progress(broker, ids)
            producer = AIOKafkaProducer(
                bootstrap_servers=broker.bootstrap, max_request_size=8 << 20
            )
            await producer.start()
            started = time.monotonic()
            following = asyncio.create_task(progress.follow(timeout=600))
            try:
                futures = [await producer.send(t, v) for _, t, v in sends]
                await asyncio.gather(*futures)
            finally:
                await producer.stop()
            await following
        finally:
            worker.stop()
    assigned, published = progress.assigned_at - started, progress.published_at - started
    return {
        "good": len(ids),
        "hostile": len(hostile),
        "dead_letters": progress.dead,
        "assigned_s": round(assigned, 2),
        "published_s": round(published, 2),
        "assigned_per_s": round(len(ids) / assigned, 1),
        "published_per_s": round(len(ids) / published, 1),
    }


async def main_async(args: argparse.Namespace) -> dict:
    articles = story_articles(args.articles, seed=args.seed)
    clean = await one_run(articles, [], args.seed)
    read = input_topics(Settings().dedup_partitions)  # the topics a default worker reads
    bad = hostile_messages(args.hostile, seed=args.seed, topics=read)
    hostile = await one_run(articles, bad, args.seed)
    ratio = hostile["published_per_s"] / clean["published_per_s"]
    return {"clean": clean, "hostile": hostile, "ratio": round(ratio, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000, help="good articles per run")
    parser.add_argument("--hostile", type=int, default=1000, help="hostile messages")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result))
        return
    for name in ("clean", "hostile"):
        run = result[name]
        print(
            f"{name:8s} {run['good']} good + {run['hostile']} hostile:"
            f" assigned in {run['assigned_s']} s ({run['assigned_per_s']}/s),"
            f" published in {run['published_s']} s ({run['published_per_s']}/s),"
            f" {run['dead_letters']} dead letters"
        )
    print(f"hostile/clean throughput (published articles/s): {result['ratio']:.2f}")


if __name__ == "__main__":
    main()
