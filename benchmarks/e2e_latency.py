"""End-to-end latency of the live worker: article sent → first story update that lists it.

Starts the embedded broker and one or more real ``storystream worker`` subprocesses (RocksDB
tables, default settings unless ``--env`` overrides some), feeds articles from a JSONL file to
``articles.raw`` at a steady rate, and times each article from its send to the first message
on ``stories.updates`` whose ``articles`` list it. A fresh broker and fresh workers serve each
rate, so runs do not see each other's state.

    python benchmarks/e2e_latency.py ../shared/corpora/gva_dev.jsonl --rates 10 50 100 200
    python benchmarks/e2e_latency.py CORPUS.jsonl --rates 50 --workers 2 --seconds 20 --json

Reports per rate: articles sent, published, lost (never listed), p50/p95/p99/max latency in
seconds, the sustained rate (articles published per second from first send to last update)
and the CPU milliseconds per article of the workers (with their helper processes) and of the
broker.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agents.broker import EmbeddedBroker  # noqa: E402
from schemas import ARTICLES_RAW, STORIES_UPDATES  # noqa: E402
from tests.integration.conftest import WorkerProcess  # noqa: E402

# The worker as deployed: RocksDB tables and the default debounce and log level (the test
# fixture's process defaults to memory tables and a shorter debounce).
DEPLOYED = {
    "STORE_URL": "rocksdb://",
    "STORYSTREAM_SUMMARY_DEBOUNCE": "1.0",
    "STORYSTREAM_LOG_LEVEL": "warn",
}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, its reaped children and its living
    descendants (the summary helper processes), from /proc."""

    def stat(p: int) -> list[str]:
        try:
            return Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return []

    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := stat(int(entry.name))):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        fields = stat(p)
        total += sum(int(f) for f in fields[11:15]) if fields else 0
        todo += children.get(p, [])
    return total / os.sysconf("SC_CLK_TCK")


def load_articles(path: Path, count: int) -> list[dict[str, Any]]:
    """The first ``count`` articles of the file, as raw articles with unique ids."""
    out: list[dict[str, Any]] = []
    for n, line in enumerate(path.read_bytes().splitlines()):
        if not line.strip():
            continue
        row = orjson.loads(line)
        text = row.get("text") or row.get("body")
        if not text:
            continue
        out.append(
            {
                "id": f"lat-{n}-{row.get('id', n)}",
                "url": row.get("url") or f"https://bench.example/{n}",
                "outlet": row.get("outlet"),
                "title": row.get("title"),
                "text": text,
                "published": row.get("published") or row.get("published_heuristic"),
            }
        )
        if len(out) >= count:
            break
    return out


async def measure(
    broker: EmbeddedBroker, articles: list[dict[str, Any]], rate: float, drain: float
) -> dict[str, Any]:
    """Send ``articles`` at ``rate`` per second; time each to its first listing update."""
    sent_at: dict[str, float] = {}
    seen_at: dict[str, float] = {}
    reader = AIOKafkaConsumer(
        STORIES_UPDATES, bootstrap_servers=broker.bootstrap, auto_offset_reset="latest"
    )
    await reader.start()
    await reader.seek_to_end()
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=0)
    await producer.start()
    done = asyncio.Event()

    async def read() -> None:
        while not done.is_set():
            batch = await reader.getmany(timeout_ms=100)
            now = time.monotonic()
            for messages in batch.values():
                for message in messages:
                    update = orjson.loads(message.value)
                    for item in update.get("articles", []):
                        seen_at.setdefault(item["article_id"], now)

    reading = asyncio.create_task(read())
    start = time.monotonic()
    for n, article in enumerate(articles):
        due = start + n / rate
        pause = due - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        sent_at[article["id"]] = time.monotonic()
        await producer.send(ARTICLES_RAW, orjson.dumps(article), key=article["id"].encode())
    await producer.flush()
    last_send = time.monotonic()
    while time.monotonic() - last_send < drain and not set(sent_at) <= set(seen_at):
        await asyncio.sleep(0.2)
    done.set()
    await reading
    await reader.stop()
    await producer.stop()
    latencies = sorted(seen_at[a] - sent_at[a] for a in sent_at if a in seen_at)
    published = [seen_at[a] for a in sent_at if a in seen_at]
    span = (max(published) - start) if published else float("nan")
    return {
        "rate": rate,
        "sent": len(sent_at),
        "published": len(latencies),
        "lost": len(sent_at) - len(latencies),
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": latencies[-1] if latencies else float("nan"),
        "sustained_per_s": len(latencies) / span if published else 0.0,
    }


def run_rate(
    path: Path, rate: float, seconds: float, workers: int, env: dict[str, str], drain: float
) -> dict[str, Any]:
    articles = load_articles(path, max(1, int(rate * seconds)))
    with tempfile.TemporaryDirectory(prefix="e2e-latency-") as tmp, EmbeddedBroker() as broker:
        started = []
        for n in range(workers):
            data_dir = Path(tmp) / f"worker-{n}"
            data_dir.mkdir()
            started.append(WorkerProcess(broker, data_dir, **{**DEPLOYED, **env}).start())
        try:
            for worker in started:
                worker.wait_ready(timeout=120.0)
            time.sleep(2.0)  # let the group settle after the last join
            cpu0 = sum(cpu_seconds(w.proc.pid) for w in started)
            assert broker.process is not None
            broker0 = cpu_seconds(broker.process.pid)
            result = asyncio.run(measure(broker, articles, rate, drain))
            cpu = sum(cpu_seconds(w.proc.pid) for w in started) - cpu0
            broker_cpu = cpu_seconds(broker.process.pid) - broker0
        finally:
            for worker in started:
                worker.stop()
    result["workers"] = workers
    result["cpu_ms_per_article"] = 1000 * cpu / max(1, result["sent"])
    result["broker_cpu_ms_per_article"] = 1000 * broker_cpu / max(1, result["sent"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("input", type=Path, help="JSONL of articles (text or body)")
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--seconds", type=float, default=20.0, help="feeding time per rate")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--drain", type=float, default=60.0, help="seconds to wait at the end")
    parser.add_argument(
        "--env", action="append", default=[], help="NAME=VALUE for the workers (repeatable)"
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per rate")
    args = parser.parse_args()
    if not args.input.is_file():
        parser.error(f"{args.input}: no such file")
    env = dict(item.split("=", 1) for item in args.env)
    if not args.json:
        print(
            f"{'rate/s':>7} {'workers':>7} {'sent':>6} {'lost':>5} {'p50 s':>7} {'p95 s':>7}"
            f" {'p99 s':>7} {'max s':>7} {'kept up/s':>9} {'CPU ms/art':>10} {'broker':>6}"
        )
    for rate in args.rates:
        r = run_rate(args.input, rate, args.seconds, args.workers, env, args.drain)
        if args.json:
            print(json.dumps(r))
        else:
            print(
                f"{r['rate']:7.0f} {r['workers']:7d} {r['sent']:6d} {r['lost']:5d}"
                f" {r['p50']:7.2f} {r['p95']:7.2f} {r['p99']:7.2f} {r['max']:7.2f}"
                f" {r['sustained_per_s']:9.1f} {r['cpu_ms_per_article']:10.1f}"
                f" {r['broker_cpu_ms_per_article']:6.1f}"
            )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
