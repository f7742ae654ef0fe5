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


def test_every_worker_serves_every_story(tmp_path: Path):
    with EmbeddedBroker() as broker:
        workers = [WorkerProcess(broker, tmp_path).start() for _ in range(2)]
        try:
            for worker in workers:
                worker.wait_ready(90)
            first, second = workers
            articles = [orjson.loads(line) for line in seed_lines()]
            posted = httpx.post(
                f"{first.base_url}/api/articles", content=orjson.dumps(articles), timeout=10
            )
            assert posted.status_code == 202 and posted.json()["accepted"] == 3
            story = _story_with(second.base_url, 3, 90)
            for worker in workers:
                latest = httpx.get(f"{worker.base_url}/api/stories/{story['story_id']}").json()
                assert latest["status_line"] == "Updated (3 articles)"
                page = httpx.get(f"{worker.base_url}/stories/{story['story_id']}")
                assert page.status_code == 200 and "Updated (3 articles)" in page.text
                found = httpx.get(f"{worker.base_url}/api/articles/seed-003").json()
                assert found["story_id"] == story["story_id"]
        finally:
            for worker in workers:
                worker.stop(kill=True)
