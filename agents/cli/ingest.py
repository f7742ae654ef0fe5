"""``storystream ingest``: JSONL files, folders of .txt/.html, or RSS/Atom feeds to articles.raw."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import feedparser
import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError

from agents.cli.jsonl import err_console, read_jsonl
from schemas import ARTICLES_RAW, RawArticle


def _from_feed(source: str) -> Iterator[bytes]:
    feed = feedparser.parse(source)
    if feed.bozo and not feed.entries:
        raise ValueError(f"not a readable RSS/Atom feed: {source} ({feed.bozo_exception})")
    outlet = feed.feed.get("title") or None
    for entry in feed.entries:
        content = entry.get("content")
        body = content[0].get("value") if content else entry.get("summary", "")
        raw = RawArticle(
            id=entry.get("id") or None,
            url=entry.get("link"),
            outlet=outlet,
            title=entry.get("title"),
            body=body,
            content_type="text/html",
            published=entry.get("published") or entry.get("updated"),
            authors=[a.get("name") for a in entry.get("authors", []) if a.get("name")],
        )
        yield raw.to_json()


def _from_folder(folder: Path) -> Iterator[bytes]:
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix not in (".txt", ".html", ".htm"):
            continue
        body = path.read_bytes().decode("utf-8", "replace")
        raw = RawArticle(
            id=path.stem,
            body=body,
            content_type="text/html" if suffix != ".txt" else "text/plain",
        )
        yield raw.to_json()


class BrokerUnreachable(ConnectionError):
    """No Kafka broker answered at the bootstrap address."""


def check_source(source: str) -> None:
    """Fail before any broker is contacted when SOURCE is neither a path nor a feed URL."""
    if not (Path(source).exists() or source.startswith(("http://", "https://"))):
        raise FileNotFoundError(f"no such file, folder or feed: {source}")


def iter_source(source: str) -> Iterator[bytes]:
    """Raw article payloads from a JSONL file, a folder, or a feed (path or URL)."""
    check_source(source)
    path = Path(source)
    if path.is_dir():
        yield from _from_folder(path)
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        for line in read_jsonl(path):
            if line.error:
                err_console.print(f"[yellow]{line.error} (sent anyway: it will be dead-lettered)")
            yield line.raw
    else:
        yield from _from_feed(source)


def _key(payload: bytes) -> bytes | None:
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if isinstance(data, dict):
        value = data.get("id") or data.get("url")
        if value:
            return str(value).encode()
    return None


async def ingest(source: str, bootstrap: str) -> int:
    """Send every article of ``source`` to ``articles.raw``; returns the count sent.

    Raises:
        FileNotFoundError: ``source`` does not exist (checked before connecting).
        BrokerUnreachable: no broker answered at ``bootstrap``.
    """
    check_source(source)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    try:
        await producer.start()
    except KafkaConnectionError as exc:
        await producer.stop()
        raise BrokerUnreachable(
            f"cannot reach Kafka at {bootstrap} (set BROKER_URL or --broker)"
        ) from exc
    sent = 0
    started = time.perf_counter()
    try:
        futures = []
        for payload in iter_source(source):
            futures.append(await producer.send(ARTICLES_RAW, payload, key=_key(payload)))
            sent += 1
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    elapsed = time.perf_counter() - started
    err_console.print(f"sent {sent} articles to {ARTICLES_RAW} in {elapsed:.1f}s")
    return sent
