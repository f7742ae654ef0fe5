"""Fixtures that start the embedded broker and real worker processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from importlib import resources
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.broker import EmbeddedBroker, free_port, stop_process
from schemas import ARTICLES_RAW

ROOT = Path(__file__).resolve().parents[2]


def sample_articles() -> dict[str, bytes]:
    """The bundled sample's raw lines by id (resends and revisions keep the last line)."""
    data = resources.files("agents") / "data" / "sample.jsonl"
    lines = [line for line in data.read_bytes().splitlines() if line.strip()]
    return {orjson.loads(line)["id"]: line for line in lines}


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as running:
        yield running


class WorkerProcess:
    """A ``storystream worker`` subprocess on the embedded broker."""

    def __init__(self, broker: EmbeddedBroker, data_dir: Path, **env: str) -> None:
        self.broker = broker
        self.port = free_port()
        self.log_path = data_dir / f"worker-{self.port}.log"
        self.env = {
            **os.environ,
            "BROKER_URL": broker.url,
            "STORYSTREAM_BROKER_PROFILE": "embedded",
            "STORE_URL": "memory://",
            "STORYSTREAM_DATA_DIR": str(data_dir),
            "STORYSTREAM_WEB_PORT": str(self.port),
            "STORYSTREAM_SUMMARY_DEBOUNCE": "0.5",
            "STORYSTREAM_LOG_LEVEL": "info",
            **env,
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> WorkerProcess:
        self.log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until /readyz says the tables are recovered and partitions assigned."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"worker not ready in {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        stop_process(self.proc, 30, kill_first=kill)
        self.log.close()


@pytest.fixture
def worker_factory(broker: EmbeddedBroker, tmp_path: Path) -> Iterator:
    workers: list[WorkerProcess] = []

    def make(**env: str) -> WorkerProcess:
        worker = WorkerProcess(broker, tmp_path, **env)
        workers.append(worker)
        return worker.start()

    yield make
    for worker in workers:
        worker.stop(kill=True)


@pytest.fixture
async def producer(broker: EmbeddedBroker) -> AsyncIterator[AIOKafkaProducer]:
    prod = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
    await prod.start()
    yield prod
    await prod.stop()


async def send_raw(producer: AIOKafkaProducer, payload: bytes, key: str | None = None) -> None:
    await producer.send_and_wait(ARTICLES_RAW, payload, key=key.encode() if key else None)


class TopicReader:
    """Reads every record of a topic from the beginning (no consumer group)."""

    def __init__(
        self,
        broker: EmbeddedBroker,
        topic: str,
        parse: Callable[[bytes], dict | None] = orjson.loads,
    ) -> None:
        """``parse`` decodes a record's value; records it returns None for are left out."""
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
        )
        self.parse = parse
        self.records: list[dict] = []

    def _add(self, batch: dict) -> None:
        for messages in batch.values():
            for message in messages:
                record = self.parse(message.value)
                if record is not None:
                    self.records.append(record)

    async def __aenter__(self) -> TopicReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(self, predicate, timeout: float = 60.0) -> list[dict]:
        """Collect records until ``predicate(records)`` holds; fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while not predicate(self.records):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out; got {len(self.records)} records")
            batch = await self.consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            self._add(batch)
        return self.records

    async def drain(self, seconds: float) -> list[dict]:
        """Collect whatever arrives during ``seconds``."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            batch = await self.consumer.getmany(timeout_ms=200)
            self._add(batch)
            await asyncio.sleep(0)
        return self.records
