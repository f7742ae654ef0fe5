"""Two workers share the partitions; each one's web server still answers for every story."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import orjson
import pytest

from agents.broker import EmbeddedBroker
from tests.e2e.conftest import seed_lines
from tests.integration.conftest import WorkerProcess

pytestmark = pytest.mark.e2e


def _story_with(base_url: str, count: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stories = httpx.get(f"{base_url}/api/stories", timeout=2).json()["stories"]
        except (httpx.HTTPError, ValueError, KeyError):
            stories = []
        found = [s for s in stories if s["article_count"] == count]
        if found:
            return found[0]
        time.sleep(0.3)
    raise AssertionError(f"{base_url} lists no {count}-article story within {timeout} s")


def _readiness(workers: list[WorkerProcess], timeout: float) -> list[list[int]]:
    """Poll every worker's /readyz until all answer 200; the status changes each one saw."""
    seen: list[list[int]] = [[] for _ in workers]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker, statuses in zip(workers, seen, strict=True):
            try:
                status = httpx.get(f"{worker.base_url}/readyz", timeout=1).status_code
            except httpx.HTTPError:
                continue  # not listening yet
            if not statuses or statuses[-1] != status:
                statuses.append(status)
        if all(s and s[-1] == 200 for s in seen):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"workers not ready within {timeout} s: {seen}")


def test_every_worker_serves_every_story(tmp_path: Path):
    with EmbeddedBroker() as broker:
        workers = [WorkerProcess(broker, tmp_path).start() for _ in range(2)]
        try:
            # Not ready (503) while tables recover and partitions are assigned, then 200.
            for statuses in _readiness(workers, 90):
                assert statuses[0] == 503 and statuses[-1] == 200, statuses
                assert set(statuses) == {200, 503}
            first, second = workers
            articles = [orjson.loads(line) for line in seed_lines()]
            posted = httpx.post(
                f"{first.base_url}/api/articles", content=orjson.dumps(articles), timeout=10
            )
            assert posted.status_code == 202 and posted.json()["accepted"] == 3
            story = _story_with(second.base_url, 3, 90)
            for worker in workers:
                # Each worker's read model catches up on its own: wait for it, then compare.
                assert _story_with(worker.base_url, 3, 60)["story_id"] == story["story_id"]
                latest = httpx.get(f"{worker.base_url}/api/stories/{story['story_id']}").json()
                assert latest["status_line"] == "Updated (3 articles)"
                page = httpx.get(f"{worker.base_url}/stories/{story['story_id']}")
                assert page.status_code == 200 and "Updated (3 articles)" in page.text
                found = httpx.get(f"{worker.base_url}/api/articles/seed-003").json()
                assert found["story_id"] == story["story_id"]
        finally:
            for worker in workers:
                worker.stop(kill=True)
