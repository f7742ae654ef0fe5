"""The stage agents under faust's test context, with a memory store and captured sends."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

import orjson
import pytest

from agents.app import build_app
from agents.settings import Settings
from schemas import (
    ARTICLES_DEDUPED,
    ARTICLES_NORMALIZED,
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    Article,
    DeadLetter,
    DedupedArticle,
    DedupVerdict,
    StoryAssignment,
    StoryUpdate,
)


class CapturedTopic:
    """Stands in for a topic: records what an agent sends to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[bytes | None, bytes]] = []

    async def send(
        self, key: bytes | None = None, value: bytes = b"", **_: object
    ) -> asyncio.Future:
        self.sent.append((key, value))
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


@pytest.fixture
def ss(tmp_path: Path):
    settings = Settings.from_env(
        broker_url="kafka://127.0.0.1:1",
        store_url="memory://",
        data_dir=tmp_path,
        web_enabled=False,
        batch_within_seconds=0.05,
        summary_debounce_seconds=0.05,
    )
    built = build_app(settings)
    built.app.finalize()
    built.app.flow_control.resume()
    # Table writes go to their changelog through the producer: capture them too.
    built.changelog = []

    def send_soon(*args, **kwargs):
        built.changelog.append((args, kwargs))

    built.app.producer.send_soon = send_soon
    for name in (
        ARTICLES_NORMALIZED,
        ARTICLES_DEDUPED,
        STORIES_ASSIGNMENTS,
        STORIES_UPDATES,
        DEADLETTER,
    ):
        built.topics[name] = CapturedTopic(name)
    return built


def _agent(ss, name: str):
    return next(a for a in ss.app.agents.values() if a.name.endswith(name))


def _sample(article_id: str) -> bytes:
    data = resources.files("agents") / "data" / "sample.jsonl"
    for line in data.read_bytes().splitlines():
        if line.strip() and orjson.loads(line)["id"] == article_id:
            return line
    raise KeyError(article_id)


async def _settle(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("agent did not produce the expected output")
        await asyncio.sleep(0.02)


async def test_normalize_agent_emits_articles_and_dead_letters_bad_input(ss):
    out = ss.topics[ARTICLES_NORMALIZED]
    dead = ss.topics[DEADLETTER]
    async with _agent(ss, "normalize").test_context() as agent:
        await agent.put(value=b"not json at all", key=b"k1")
        await agent.put(value=_sample("seed-003"), key=b"seed-003")
        await _settle(lambda: out.sent and dead.sent)
    article = Article.from_json(out.sent[0][1])
    assert article.id == "seed-003" and article.text
    letter = DeadLetter.from_json(dead.sent[0][1])
    assert letter.stage == "normalize" and letter.original == "not json at all"
    assert letter.reason


async def test_dedup_agent_flags_a_resend_and_logs_its_state(ss):
    out = ss.topics[ARTICLES_DEDUPED]
    article = Article(
        id="a1",
        url="https://a.example/1",
        outlet="a.example",
        title="Harbor bridge reopens after repairs",
        text="The harbor bridge reopened on Monday after eight months of repairs.\n"
        "Officials said traffic would return to normal within a week.",
        lang="en",
        published=1_700_000_000.0,
        content_hash="h1",
    )
    async with _agent(ss, "dedup").test_context() as agent:
        await agent.put(value=article.to_json(), key=b"a1")
        await agent.put(value=article.to_json(), key=b"a1")
        await _settle(lambda: len(out.sent) == 2)
    kinds = [DedupedArticle.from_json(v).verdict.kind for _, v in out.sent]
    assert kinds == ["original", "resend"]
    assert ss.changelog, "dedup state must be written to its changelogged table"


async def test_summarize_agent_publishes_one_update_per_burst(ss):
    out = ss.topics[STORIES_UPDATES]
    async with _agent(ss, "summarize").test_context() as agent:
        for i in range(5):
            article = Article(
                id=f"b{i}",
                url=f"https://o{i}.example/story",
                outlet=f"o{i}.example",
                title="Council approves new transit budget",
                text=f"The city council approved the transit budget on Tuesday, outlet {i} said.\n"
                "The plan adds two bus lines and raises fares by ten cents.",
                lang="en",
                published=1_700_000_000.0 + i,
                content_hash=f"h{i}",
            )
            assignment = StoryAssignment(
                story_id="s-1",
                article=article,
                verdict=DedupVerdict(article_id=article.id, kind="original"),
            )
            await agent.put(value=assignment.to_json(), key=b"s-1")
        await _settle(
            lambda: out.sent and StoryUpdate.from_json(out.sent[-1][1]).article_count == 5
        )
    updates = [StoryUpdate.from_json(v) for _, v in out.sent]
    assert len(updates) < 5
    assert updates[-1].status_line == "Updated (5 articles)"
    assert [u.version for u in updates] == list(range(1, len(updates) + 1))
