"""Bounded loopback load on ``GET /api/stories/{id}``: concurrent clients, latency percentiles.

Either point it at a running worker on 127.0.0.1 (``--base-url``) or let it start
``storystream demo --input FILE`` itself (``--demo-input``) and pick the first story. It sends
a fixed number of requests from N concurrent keep-alive clients and stops when they are done
or when the time limit is reached, whichever comes first.

    python benchmarks/api_load.py --demo-input seeds.jsonl --clients 50 --requests 5000
    python benchmarks/api_load.py --base-url http://127.0.0.1:6066 --story s-... --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process from /proc (Linux), else None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


async def run_load(
    url: str, clients: int, requests: int, time_limit: float
) -> tuple[list[float], dict[int, int], int, float]:
    """Send ``requests`` GETs from ``clients`` concurrent keep-alive connections."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    remaining = requests
    deadline = time.monotonic() + time_limit

    async def client() -> None:
        nonlocal remaining, errors
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            while remaining > 0 and time.monotonic() < deadline:
                remaining -= 1
                started = time.perf_counter()
                try:
                    async with session.get(url) as response:
                        await response.read()
                        statuses[response.status] = statuses.get(response.status, 0) + 1
                except (aiohttp.ClientError, TimeoutError):
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    return latencies, statuses, errors, time.perf_counter() - started


@contextlib.contextmanager
def demo_server(input_path: Path, port: int):
    """Run ``storystream demo --input`` on ``port``; yields (base_url, pid)."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agents.cli", "demo", "--input", str(input_path),
             "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield f"http://127.0.0.1:{port}", proc.pid
        finally:
            from agents.broker import stop_process

            stop_process(proc, 20)


async def first_story(base_url: str, wait: float) -> str:
    """Wait until the server lists a story and return its id."""
    deadline = time.monotonic() + wait
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            with contextlib.suppress(aiohttp.ClientError, ValueError, KeyError, IndexError):
                async with session.get(f"{base_url}/api/stories?limit=1") as response:
                    return (await response.json())["stories"][0]["story_id"]
            await asyncio.sleep(0.5)
    raise SystemExit(f"no story at {base_url} within {wait:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--base-url", help="a running worker, e.g. http://127.0.0.1:6066")
    target.add_argument("--demo-input", type=Path, help="start the demo on this JSONL")
    parser.add_argument("--story", help="story id (default: the first listed)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000, help="total requests")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds, at most")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--port", type=int, default=0, help="demo port (default: a free one)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    args = parser.parse_args()

    if args.base_url:
        host = urlsplit(args.base_url).hostname or ""
        if host not in LOOPBACK:
            parser.error("only loopback targets (127.0.0.1) are allowed")
        server = contextlib.nullcontext((args.base_url.rstrip("/"), None))
    else:
        from agents.broker import free_port

        server = demo_server(args.demo_input, args.port or free_port())

    with server as (base_url, pid):
        story = args.story or asyncio.run(first_story(base_url, 120))
        url = f"{base_url}/api/stories/{story}"
        if args.warmup:
            asyncio.run(run_load(url, min(args.clients, 10), args.warmup, 30))
        server_cpu_before = process_cpu_seconds(pid) if pid else None
        client_cpu_before = time.process_time()
        latencies, statuses, errors, wall = asyncio.run(
            run_load(url, args.clients, args.requests, args.time_limit)
        )
        client_cpu = time.process_time() - client_cpu_before
        server_cpu_after = process_cpu_seconds(pid) if pid else None

    ordered = sorted(latencies)
    server_cpu = (
        server_cpu_after - server_cpu_before
        if server_cpu_before is not None and server_cpu_after is not None
        else None
    )
    result = {
        "url": url,
        "clients": args.clients,
        "requests": len(latencies),
        "errors": errors,
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(len(latencies) / wall, 1) if wall else None,
        "latency_ms": {
            "p50": round(1000 * percentile(ordered, 50), 2),
            "p95": round(1000 * percentile(ordered, 95), 2),
            "p99": round(1000 * percentile(ordered, 99), 2),
            "max": round(1000 * ordered[-1], 2) if ordered else None,
            "mean": round(1000 * statistics.fmean(ordered), 2) if ordered else None,
        },
        "client_cpu_seconds": round(client_cpu, 3),
        "server_cpu_seconds": round(server_cpu, 3) if server_cpu is not None else None,
        "server_cpu_ms_per_request": (
            round(1000 * server_cpu / len(latencies), 3) if server_cpu and latencies else None
        ),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        lat = result["latency_ms"]
        print(
            f"{result['requests']} requests from {args.clients} clients in "
            f"{result['wall_seconds']} s ({result['requests_per_second']}/s), "
            f"errors {errors}, statuses {result['statuses']}"
        )
        print(
            f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  max {lat['max']}"
        )
        print(
            f"CPU s: client {result['client_cpu_seconds']}, server "
            f"{result['server_cpu_seconds']} ({result['server_cpu_ms_per_request']} ms/request)"
        )
    return 0 if latencies and not errors else 1


if __name__ == "__main__":
    sys.exit(main())
