"""Fixtures that run ``storystream demo`` on the embedded broker and a headless Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import httpx
import orjson
import pytest

from agents.broker import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("STORYSTREAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEEDS = ("seed-002", "seed-003", "seed-004")


def seed_lines() -> list[bytes]:
    """The three raw seed articles of the bundled sample, in file order."""
    data = resources.files("agents") / "data" / "sample.jsonl"
    lines = [line for line in data.read_bytes().splitlines() if line.strip()]
    return [line for line in lines if orjson.loads(line).get("id") in SEEDS]


@dataclass
class Demo:
    """A running ``storystream demo`` and the seed story it published."""

    base_url: str
    story_id: str
    headline: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    @property
    def bootstrap(self) -> str:
        """The embedded broker's address, as the demo printed it."""
        found = re.search(r"embedded broker at (\S+)", self.log_path.read_text(errors="replace"))
        assert found, f"no broker address in the demo output:\n{self.log_tail()}"
        return found.group(1)

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.base_url + path, timeout=10, **kw)

    def post_articles(self, articles: list[dict] | dict) -> httpx.Response:
        return httpx.post(
            self.base_url + "/api/articles", content=orjson.dumps(articles), timeout=10
        )


def _wait_for_seed_story(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"demo exited early:\n{log.read_text(errors='replace')}")
        try:
            stories = httpx.get(f"{base_url}/api/stories", timeout=2).json()["stories"]
        except (httpx.HTTPError, ValueError, KeyError):
            stories = []
        for story in stories:
            if story["article_count"] == 3:
                return story
        time.sleep(0.3)
    raise AssertionError(f"no 3-article story within 90 s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    source = tmp / "seeds.jsonl"
    source.write_bytes(b"\n".join(seed_lines()) + b"\n")
    port = free_port()
    log_path = tmp / "demo.log"
    log = log_path.open("wb")
    env = {
        **os.environ,
        "STORYSTREAM_SUMMARY_DEBOUNCE": "0.5",
        "STORYSTREAM_LOG_LEVEL": "warn",
        # A short event-time window so the dashboard has a dormant story to show.
        "STORYSTREAM_STORY_DORMANT_DAYS": "3",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.cli", "demo", "--input", str(source), "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        story = _wait_for_seed_story(base_url, proc, log_path)
        yield Demo(base_url, story["story_id"], story["headline"], proc, log_path)
    finally:
        stop_process(proc, 20)
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise AssertionError(f"{CHROMIUM} is missing: run .ci/system-deps (Debian's chromium)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator:
    context = browser.new_context(viewport={"width": 1100, "height": 1300})
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def screenshot(page, name: str) -> Path:
    """Save a screenshot under test-artifacts/e2e/ (kept as a CI artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
