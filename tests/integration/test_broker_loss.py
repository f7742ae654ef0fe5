"""A worker whose broker dies: readiness falls, intake refuses, logs stay small, stop is quick."""

from __future__ import annotations

import signal
import time

import httpx
import orjson
import pytest

pytestmark = pytest.mark.integration


def _wait_for(condition, timeout: float) -> float:
    """Seconds until ``condition()`` held; fails after ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s")


def test_broker_killed_under_a_worker(broker, worker_factory):
    worker = worker_factory()
    worker.wait_ready()
    article = orjson.dumps({"id": "b1", "url": "https://x.example/b1", "text": "Bridge opens."})
    accepted = httpx.post(f"{worker.base_url}/api/articles", content=article, timeout=15)
    assert accepted.status_code == 202

    assert broker.process is not None
    broker.process.kill()
    broker.process.wait()

    def not_ready() -> bool:
        return httpx.get(f"{worker.base_url}/readyz", timeout=2).status_code == 503

    to_unready = _wait_for(not_ready, 10.0)
    refused = httpx.post(f"{worker.base_url}/api/articles", content=article, timeout=15)
    assert refused.status_code == 503 and "broker" in refused.json()["error"]

    size_before = worker.log_path.stat().st_size
    time.sleep(10)
    grown = worker.log_path.stat().st_size - size_before
    assert grown < 20_000, f"log grew {grown} bytes in 10 s:\n{worker.log_tail()}"

    assert worker.proc is not None
    stopping = time.monotonic()
    worker.proc.send_signal(signal.SIGTERM)
    worker.proc.wait(timeout=15)
    to_exit = time.monotonic() - stopping
    print(f"not ready after {to_unready:.1f} s; log grew {grown} B in 10 s; exit {to_exit:.1f} s")
    assert to_exit < 10.0
