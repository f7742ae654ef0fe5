"""``storystream demo``: embedded broker, a worker and the web UI in one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import orjson
from rich.console import Console
from rich.markup import escape

from agents.app import build_app
from agents.broker import EmbeddedBroker, free_port
from agents.cli.jsonl import read_jsonl
from agents.runtime import Storystream
from agents.settings import Settings
from agents.worker import run_worker
from pipeline.summaries.book import member_key
from schemas import DeadLetter, StoryAssignment, StoryUpdate

# Off a terminal (a log, a pipe) every update stays on one line: no wrapping at 80 columns.
console = Console(highlight=False, soft_wrap=True)


def sample_lines() -> list[bytes]:
    """The bundled sample articles as raw JSON lines."""
    data = resources.files("agents") / "data" / "sample.jsonl"
    return [line for line in data.read_bytes().splitlines() if line.strip()]


def input_lines(path: Path) -> list[bytes]:
    """Raw lines of an input file; malformed lines are still fed (they are dead-lettered)."""
    return [line.raw for line in read_jsonl(path)]


@dataclass
class Completion:
    """Tracks whether every fed article was assigned and its story update published."""

    fed: int = 0
    accounted: int = 0
    expected: dict[str, set[str]] = field(default_factory=dict)
    covered: dict[str, set[str]] = field(default_factory=dict)
    merged: set[str] = field(default_factory=set)
    feeding_done: bool = False

    def on_assignment(self, assignment: StoryAssignment) -> None:
        self.accounted += 1
        key = member_key(assignment.article, assignment.verdict)
        self.expected.setdefault(assignment.story_id, set()).add(key)
        for absorbed in assignment.merged_from:
            self.expected[assignment.story_id] |= self.expected.pop(absorbed, set())
            self.merged.add(absorbed)
        split = assignment.split
        if split is not None:
            kept = self.expected.setdefault(split.story_id, set())
            moving = kept & set(split.article_ids)
            kept -= moving
            self.expected.setdefault(split.new_story_id, set()).update(moving)

    def on_dead_letter(self, letter: DeadLetter) -> None:
        if letter.stage in ("normalize", "dedup", "assign"):
            self.accounted += 1

    def on_update(self, update: StoryUpdate) -> None:
        if update.merged_into:
            self.merged.add(update.story_id)
        self.covered[update.story_id] = {a.article_id for a in update.articles}

    @property
    def done(self) -> bool:
        if not self.feeding_done or self.accounted < self.fed:
            return False
        return all(
            story in self.merged or keys <= self.covered.get(story, set())
            for story, keys in self.expected.items()
        )


def print_update(update: StoryUpdate) -> None:
    if update.merged_into:
        console.print(f"[dim]{escape(update.story_id)} merged into {escape(update.merged_into)}")
        return
    console.print(
        f"[bold green]{escape(update.status_line)}[/] · {escape(update.headline)} "
        f"[dim]({escape(update.story_id)} v{update.version})"
    )


#: Seconds ``demo --once`` allows beyond its timeout for starting up and shutting down.
SHUTDOWN_GRACE = 60.0


class DeadlineGuard:
    """Calls ``on_expiry`` from a background thread unless cancelled within ``seconds``.

    ``demo --once`` promises to end: its own timeout runs inside the event loop, which cannot
    help if the worker never starts or its shutdown hangs on an unresponsive broker. The
    guard is a thread, so it fires whatever the loop is doing.
    """

    def __init__(self, seconds: float, on_expiry: Callable[[], None]) -> None:
        self._timer = threading.Timer(seconds, on_expiry)
        self._timer.daemon = True

    def __enter__(self) -> DeadlineGuard:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


def _abandon(broker: EmbeddedBroker, tmp: str, seconds: float) -> None:
    """Stop the broker, remove the demo's state and end the process with exit code 1."""
    console.print(
        f"[red]the demo did not finish within {seconds:.0f}s; stopping it. "
        f"Last lines of the broker's log:[/]\n{broker.log_tail()}"
    )
    broker.stop(timeout=2.0)
    shutil.rmtree(tmp, ignore_errors=True)
    os._exit(1)


def _abandon_stop(broker: EmbeddedBroker, tmp: str) -> None:
    """A stop that did not finish in time: stop the broker, remove the state, exit 1."""
    console.print("[red]the worker did not stop in time; stopping the demo now")
    broker.stop(timeout=2.0)
    shutil.rmtree(tmp, ignore_errors=True)
    os._exit(1)


def run_demo(
    input_path: Path | None = None,
    *,
    once: bool = False,
    timeout: float = 180.0,
    web_port: int | None = None,
    feeds_path: Path | None = None,
) -> int:
    """Start the embedded broker and a worker, feed the articles, print story updates.

    With ``feeds_path`` the articles come from polling the feeds it lists (one URL a line, or
    OPML) and fetching their pages; with ``once`` each feed is polled a single time.
    Returns the process exit code: 0, or 1 when ``once`` did not complete within ``timeout``.
    """
    feed_urls: list[str] = []
    if feeds_path is not None:
        from pipeline.feeds.entries import parse_feed_list

        feed_urls = parse_feed_list(feeds_path.read_text(encoding="utf-8"))
        lines: list[bytes] = []
    else:
        lines = input_lines(input_path) if input_path else sample_lines()
    exit_code = 0
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory(prefix="storystream-") as tmp:
        port = web_port or int(os.environ.get("STORYSTREAM_WEB_PORT", "0")) or free_port()
        settings = Settings.from_env(
            broker_url=broker.url,
            broker_profile="embedded",
            store_url="memory://",
            data_dir=Path(tmp),
            web_port=port,
        )
        ss = build_app(settings, feeds_once=once and feeds_path is not None)
        completion = Completion(fed=len(lines))
        if feeds_path is not None:
            ss.feeds.article_listeners.append(lambda raw: _count_fed(completion))
        ss.update_listeners += [print_update, completion.on_update]
        ss.assignment_listeners.append(completion.on_assignment)
        ss.deadletter_listeners.append(completion.on_dead_letter)
        base = f"http://{settings.web_host}:{settings.web_port}"
        console.print(f"[bold]storystream demo[/] · embedded broker at {broker.bootstrap}")
        console.print(
            f"web: {base}/   api: {base}/api/stories   ops: {base}/ops   metrics: {base}/metrics"
        )
        state = {"code": 0}

        @ss.app.task
        async def feed() -> None:
            await wait_until_assigned(ss)
            if feeds_path is not None:
                await _follow_feeds(ss, feed_urls, completion, once, time.monotonic() + timeout)
            else:
                for line in lines:
                    key = _key_of(line)
                    await ss.send_raw(line, key)
                completion.feeding_done = True
                console.print(f"[dim]fed {len(lines)} articles to articles.raw")
            if not once:
                return
            deadline = time.monotonic() + timeout
            while not completion.done:
                if time.monotonic() > deadline:
                    console.print(
                        f"[red]timed out after {timeout:.0f}s: {completion.accounted} of "
                        f"{completion.fed} articles accounted for"
                    )
                    state["code"] = 1
                    break
                await asyncio.sleep(0.2)
            else:
                console.print("[bold]all articles assigned and their stories published")
            os.kill(os.getpid(), signal.SIGTERM)

        if once:
            limit = timeout + SHUTDOWN_GRACE
            with DeadlineGuard(limit, lambda: _abandon(broker, tmp, limit)):
                run_worker(ss, on_deadline=lambda: _abandon_stop(broker, tmp))
        else:
            run_worker(ss, on_deadline=lambda: _abandon_stop(broker, tmp))
        exit_code = state["code"]
    return exit_code


def _count_fed(completion: Completion) -> None:
    completion.fed += 1


async def _follow_feeds(
    ss: Storystream, urls: list[str], completion: Completion, once: bool, deadline: float
) -> None:
    """Put the feeds on the ``feeds`` topic; with ``once``, wait (until ``deadline``) for
    each to be polled."""
    from agents.stages.feeds import submit_feeds

    await submit_feeds(ss, urls)
    console.print(f"[dim]following {len(urls)} feeds")
    if not once:
        return
    while not (set(urls) <= ss.feeds.polled and not ss.feeds.in_flight):
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(0.1)
    completion.feeding_done = True
    failing = [s for s in ss.feeds.states.values() if s.last_error]
    for state in failing:
        console.print(f"[yellow]feed {state.url}: {state.last_error} ({state.last_status})")
    console.print(
        f"[dim]polled {len(urls)} feeds: fed {completion.fed} articles to articles.raw"
    )


def _key_of(line: bytes) -> str | None:
    with contextlib.suppress(orjson.JSONDecodeError, AttributeError, TypeError):
        data = orjson.loads(line)
        value = data.get("id") or data.get("url")
        return str(value) if value else None
    return None


async def wait_until_assigned(ss: Storystream, timeout: float = 60.0) -> None:
    """Wait until the worker has joined its group and owns partitions."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        consumer = ss.app.consumer
        if consumer is not None and consumer.assignment() and not ss.app.rebalancing:
            return
        await asyncio.sleep(0.1)
