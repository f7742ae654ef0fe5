"""The stage agents under faust's test context, with a memory store and captured sends."""

from __future__ import annotations

import asyncio
import tempfile
import time
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
    DEDUP_BANDS,
    DEDUP_MATCHES,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    Article,
    DeadLetter,
    DedupedArticle,
    StoryUpdate,
)
from schemas.bands import BandWatermark
from tests.agent.conftest import story_article


class CapturedTopic:
    """Stands in for a topic: records what an agent sends to it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.sent: list[tuple[bytes | None, bytes]] = []
        self.partitions: list[int | None] = []

    async def send(
        self, key: bytes | None = None, value: bytes = b"", partition: int | None = None,
        **_: object,
    ) -> asyncio.Future:
        self.sent.append((key, value))
        self.partitions.append(partition)
        delivered = asyncio.get_running_loop().create_future()
        delivered.set_result(None)
        return delivered


def _built(tmp_path: Path, dedup_partitions: int):
    settings = Settings.from_env(
        broker_url="kafka://127.0.0.1:1",
        store_url="memory://",
        data_dir=tmp_path,
        web_enabled=False,
        batch_within_seconds=0.05,
        summary_debounce_seconds=1.0,
        dedup_partitions=dedup_partitions,
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
        DEDUP_BANDS,
        DEDUP_MATCHES,
        STORIES_ASSIGNMENTS,
        STORIES_UPDATES,
        DEADLETTER,
    ):
        built.topics[name] = CapturedTopic(name)
    return built


@pytest.fixture
def ss(tmp_path: Path):
    """Two dedup partitions: the home and band-owner agents."""
    return _built(tmp_path, dedup_partitions=2)


@pytest.fixture
def ss_single(tmp_path: Path):
    """One dedup partition: the single dedup agent."""
    return _built(tmp_path, dedup_partitions=1)


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


async def _deliver(agent, topic: str, value: bytes, partition: int, offset: int) -> None:
    """Put one message on an agent's stream as if read from ``topic``/``partition``."""
    channel = agent.stream().channel
    message = agent.to_message(b"k", value, partition=partition, offset=offset)
    message.topic = topic
    await channel.put(await channel.decode(message))


def _bridge_article(article_id: str = "a1", outlet: str = "a.example") -> Article:
    return Article(
        id=article_id,
        url=f"https://{outlet}/{article_id}",
        outlet=outlet,
        title="Harbor bridge reopens after repairs",
        text="The harbor bridge reopened on Monday after eight months of repairs.\n"
        "Officials said traffic would return to normal within a week, and the ferry that "
        "carried commuters across the harbor since March will stop running on Friday.",
        lang="en",
        published=1_700_000_000.0,
        content_hash="h1",
    )


async def test_single_dedup_agent_decides_in_place_and_logs_its_state(ss_single):
    ss = ss_single
    out = ss.topics[ARTICLES_DEDUPED]
    assert not [a for a in ss.app.agents.values() if a.name.endswith(("dedup-home", "bands"))]
    original, copy = _bridge_article(), _bridge_article("w9", "wire.example")
    async with _agent(ss, "dedup").test_context() as agent:
        await _deliver(agent, ARTICLES_NORMALIZED, original.to_json(), 0, 0)
        await _deliver(agent, ARTICLES_NORMALIZED, copy.to_json(), 0, 1)
        await _deliver(agent, ARTICLES_NORMALIZED, original.to_json(), 0, 2)  # a resend
        await _deliver(agent, ARTICLES_NORMALIZED, copy.to_json(), 0, 1)  # delivered again
        await _deliver(agent, ARTICLES_NORMALIZED, b"{not an article", 0, 3)
        await _settle(lambda: len(out.sent) == 4 and ss.topics[DEADLETTER].sent)
    verdicts = [DedupedArticle.from_json(v).verdict for _, v in out.sent]
    assert [v.kind for v in verdicts] == ["original", "syndicated", "resend", "syndicated"]
    assert verdicts[1].duplicate_of == "a1" and verdicts[3] == verdicts[1]
    assert ss.topics[DEDUP_BANDS].sent == [] and ss.topics[DEDUP_MATCHES].sent == []
    logged = {(fut.message.channel.get_topic_name(), fut.message.key) for (fut,), _ in ss.changelog}
    assert {t for t, _ in logged} == {"storystream-dedup-index-changelog"}
    assert {b'"a/a1"', b'"a/w9"'} <= {k for _, k in logged}  # each article's record


async def test_dedup_home_and_band_agents_decide_and_log_their_state(ss):
    out = ss.topics[ARTICLES_DEDUPED]
    bands = ss.topics[DEDUP_BANDS]
    matches = ss.topics[DEDUP_MATCHES]
    article = _bridge_article()
    async with (
        _agent(ss, "dedup-home").test_context() as home,
        _agent(ss, "dedup-bands").test_context() as owner,
    ):
        await _deliver(home, ARTICLES_NORMALIZED, article.to_json(), 1, 0)
        await _settle(lambda: bands.sent)
        assert out.sent == []  # undecided until the band owners answer
        assert set(bands.partitions) <= {0, 1}
        for n, ((_, probe), part) in enumerate(zip(bands.sent, bands.partitions, strict=True)):
            await _deliver(owner, DEDUP_BANDS, probe, part, n)
        probes = len(bands.sent)
        assert matches.sent == []  # no watermark yet: earlier probes might still be coming
        for part in (0, 1):
            for home_part in (0, 1):
                mark = BandWatermark(home_part, 1e12).to_json()
                await _deliver(owner, DEDUP_BANDS, mark, part, 100 + 2 * home_part + part)
        await _settle(lambda: len(matches.sent) == probes)
        assert set(matches.partitions) == {1}  # answers go back to the article's home
        for n, (_, answer) in enumerate(matches.sent):
            await _deliver(home, DEDUP_MATCHES, answer, 1, n)
        await _settle(lambda: len(out.sent) == 1 and len(bands.sent) > probes)
        decisions = [v for _, v in bands.sent[probes:]]
        assert decisions and all(b'"decision"' in v for v in decisions)
        await _deliver(home, ARTICLES_NORMALIZED, article.to_json(), 1, 1)  # a resend
        await _settle(lambda: len(out.sent) == 2)
    kinds = [DedupedArticle.from_json(v).verdict.kind for _, v in out.sent]
    assert kinds == ["original", "resend"]
    logged = {(fut.message.channel.get_topic_name(), fut.message.partition, fut.message.key)
              for (fut,), _ in ss.changelog}
    # Home state on the article's partition, band state on the owners' partitions.
    assert any("dedup-homes" in t and p == 1 and b"1:a/a1" in k for t, p, k in logged)
    assert {p for t, p, k in logged if "dedup-bands" in t and b":p/0/a1" in k} == set(
        bands.partitions[:probes]
    )


async def test_summarize_agent_publishes_a_new_story_at_once_then_one_update_per_burst(ss):
    out = ss.topics[STORIES_UPDATES]
    index = ss.tables["story-index"]

    def members() -> int:
        return len(orjson.loads(index["s-1"])) if index.get("s-1") else 0

    async with _agent(ss, "summarize").test_context() as agent:
        for i in range(5):
            assignment = story_article(
                i,
                "b",
                "Council approves new transit budget",
                "The city council approved the transit budget on Tuesday",
                "The plan adds two bus lines and raises fares by ten cents.",
            )
            await agent.put(value=assignment.to_json(), key=b"s-1", partition=0)
            await _settle(lambda n=i + 1: members() == n)
            await ss.publish_due_summaries({0}, time.time())
            # The new story's first version went out at once; the burst after it waits.
            assert len(out.sent) == 1
        await ss.publish_due_summaries({0}, time.time())
        assert len(out.sent) == 1
        await ss.publish_due_summaries({0}, time.time() + 1.0)
        await ss.publish_due_summaries({0}, time.time() + 2.0)
    updates = [StoryUpdate.from_json(v) for _, v in out.sent]
    assert len(updates) == 2
    assert updates[0].status_line == "Updated (1 article)"
    assert updates[-1].status_line == "Updated (5 articles)"
    assert [u.version for u in updates] == list(range(1, len(updates) + 1))


def test_table_stores_get_a_bounded_rocksdb_cache_and_write_buffer() -> None:
    from faust.stores.rocksdb import RocksDBOptions

    from agents.faust_app import store_options

    assert store_options(Settings(store_url="memory://")) == {}
    wanted = store_options(Settings(store_url="rocksdb://", table_cache_mb=8))
    options = RocksDBOptions(**wanted)
    assert options.block_cache_size == 8 * 2**20
    assert options.write_buffer_size == 16 * 2**20 and options.max_write_buffer_number == 2
    # index and filter blocks count against that cache: the store really opens with them
    assert options.extra_options == {"cache_index_and_filter_blocks": True}
    assert getattr(RocksDBOptions.as_options, "caches_index", False)
    with tempfile.TemporaryDirectory() as tmp:
        db = RocksDBOptions(**wanted, use_rocksdict=True).open(Path(tmp) / "t.db")
        db[b"k"] = b"v"
        assert db[b"k"] == b"v"
        db.close()


def test_standby_replicas_are_a_setting_and_none_by_default() -> None:
    """A standby replays the other workers' state records; it is chosen, not implied."""
    from agents.faust_app import app_config

    assert app_config(Settings())["table_standby_replicas"] == 0
    assert app_config(Settings(standby_replicas=1))["table_standby_replicas"] == 1
    assert app_config(Settings(broker_profile="embedded"))["producer_linger"] == 0.005
    # a batch holds many articles (the producer's default sends one after two or three)
    assert app_config(Settings())["producer_max_batch_size"] >= 1 << 20
