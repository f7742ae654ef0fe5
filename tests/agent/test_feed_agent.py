"""The feed fetcher agent against a local site: entries and pages to articles.raw, retries,
conditional GET, and no re-ingestion after a restart (the state comes back from its table)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.app import build_app
from agents.runtime import PartitionEvent, event_context
from agents.settings import Settings
from schemas import ARTICLES_RAW, DEADLETTER, FEEDS, DeadLetter, FeedRecord, RawArticle
from tests.agent.test_agents import CapturedTopic, _agent, _settle
from tests.feedserver import Site, news_page, rss

PARAS = {
    "a": ["Flood waters rose overnight in the river town of Millbrook, officials said."] * 3,
    "b": ["The council voted to rebuild the old bridge before the winter storms arrive."] * 3,
}


def _build(tmp_path: Path):
    settings = Settings.from_env(
        broker_url="kafka://127.0.0.1:1",
        store_url="memory://",
        data_dir=tmp_path,
        web_enabled=False,
        fetch_host_delay_seconds=0.0,
        fetch_timeout_seconds=2.0,
        feed_interval_seconds=120.0,
    )
    ss = build_app(settings)
    ss.app.finalize()
    ss.app.flow_control.resume()
    ss.app.producer.send_soon = lambda *a, **k: None
    for name in (ARTICLES_RAW, DEADLETTER):
        ss.topics[name] = CapturedTopic(name)
    return ss


@pytest.fixture
async def site():
    s = await Site().start()
    yield s
    await s.stop()


def _serve_feed(site: Site) -> str:
    items = [
        {"guid": "full-1", "link": site.url("/full"), "title": "Full text in the feed",
         "description": "<p>" + "A complete article carried by the feed itself. " * 12 + "</p>"},
        {"guid": "a", "link": site.url("/a"), "title": "Millbrook flood",
         "description": "Waters rose."},
        {"guid": "b", "link": site.url("/b"), "title": "Bridge vote", "description": "A vote."},
        {"guid": "p", "link": site.url("/private/p"), "title": "Robots say no",
         "description": "Only this line."},
    ]
    site.resources["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    site.resources["/a"] = (
        200, {"Content-Type": "text/html; charset=utf-8"},
        news_page("Millbrook flood", PARAS["a"]).encode(),
    )
    site.resources["/b"] = (500, {}, b"try later")
    return site.url("/feed.xml")


def _raws(ss) -> list[RawArticle]:
    return [RawArticle.from_json(v) for _, v in ss.topics[ARTICLES_RAW].sent]


async def test_poll_sends_entries_retries_failed_pages_and_survives_a_restart(site, tmp_path):
    ss = _build(tmp_path / "one")
    url = _serve_feed(site)
    fa = ss.feeds
    with event_context(PartitionEvent(FEEDS, 0)):  # type: ignore[arg-type]
        fa.add(url, 0)
    await fa.poll(url)
    sent = {r.url: r for r in _raws(ss)}
    # /b answered 500: left for the next poll; the robots-disallowed page is sent as its
    # feed line; the full-text entry needs no page.
    assert set(sent) == {site.url("/full"), site.url("/a"), site.url("/private/p")}
    assert PARAS["a"][0] in sent[site.url("/a")].body and "<nav>" in sent[site.url("/a")].body
    assert sent[site.url("/private/p")].body == "Only this line."
    assert sent[site.url("/private/p")].content_type == "text/plain"
    assert sent[site.url("/full")].content_type == "text/html"
    assert site.hits["/full"] == 0 and site.hits["/private/p"] == 0
    assert site.hits["/b"] == 1
    state = fa.states[url]
    assert state.errors == 0 and state.next_due > 0 and state.unseen(["b", "a"]) == ["b"]

    site.resources["/b"] = (
        200, {"Content-Type": "text/html"}, news_page("Bridge vote", PARAS["b"]).encode()
    )
    await fa.poll(url)
    assert [r.url for r in _raws(ss)][3:] == [site.url("/b")]

    # A restart: a new worker whose table holds what the changelog restores.
    stored = {name: dict(ss.tables[name].items()) for name in ("feed-state", "feed-seen")}
    ss2 = _build(tmp_path / "two")
    with event_context(PartitionEvent(FEEDS, 0)):  # type: ignore[arg-type]
        for name, items in stored.items():
            for key, value in items.items():
                ss2.tables[name][key] = value
    ss2.ownership.inputs.add((FEEDS, 0))
    ss2.feeds._rebuild()
    assert url in ss2.feeds.queue
    hits_before = sum(site.hits[p] for p in ("/a", "/b"))
    await ss2.feeds.poll(url)
    assert ss2.topics[ARTICLES_RAW].sent == []
    assert sum(site.hits[p] for p in ("/a", "/b")) == hits_before


async def test_etag_gives_304_and_errors_are_counted(site, tmp_path):
    ss = _build(tmp_path)
    url = _serve_feed(site)
    site.resources["/b"] = site.resources["/a"]
    site.etags["/feed.xml"] = '"v7"'
    fa = ss.feeds
    with event_context(PartitionEvent(FEEDS, 0)):  # type: ignore[arg-type]
        fa.add(url, 0)
        fa.add(site.url("/broken.xml"), 0)
    site.resources["/broken.xml"] = (200, {"Content-Type": "text/xml"}, b"<rss><channel><ite")
    await fa.poll(url)
    await fa.poll(url)
    await fa.poll(site.url("/broken.xml"))
    assert len(_raws(ss)) == 4
    assert fa.states[url].etag == '"v7"' and fa.states[url].last_status == 304
    broken = fa.states[site.url("/broken.xml")]
    assert broken.errors == 1 and broken.last_error == "parse"
    health = fa.health()
    assert health["feeds"] == 2 and health["failing"] == 1
    assert health["polls"] == {"ok": 1, "not_modified": 1, "error": 1}
    assert health["errors"] == {"feed:parse": 1, "page:robots": 1}
    metrics = ss.metrics.render().decode()
    assert 'storystream_feed_polls_total{result="not_modified"} 1.0' in metrics
    assert "storystream_fetch_duration_seconds_bucket" in metrics


async def test_feed_messages_register_feeds_and_bad_ones_are_dead_lettered(tmp_path):
    ss = _build(tmp_path)
    good = FeedRecord(url="http://127.0.0.1:9/rss").to_json()
    async with _agent(ss, "feeds").test_context() as agent:
        await agent.put(value=b"{not json", key=b"x")
        await agent.put(value=FeedRecord(url="file:///etc/passwd").to_json(), key=b"y")
        await agent.put(value=good, key=b"http://127.0.0.1:9/rss")
        await _settle(lambda: "http://127.0.0.1:9/rss" in ss.feeds.states)
    letters = [DeadLetter.from_json(v) for _, v in ss.topics[DEADLETTER].sent]
    assert [letter.stage for letter in letters] == ["feeds", "feeds"]
    assert ss.feeds.table.get("http://127.0.0.1:9/rss") is not None


async def test_feeds_file_is_sent_to_the_feeds_topic(tmp_path):
    listing = tmp_path / "feeds.opml"
    listing.write_text(
        '<opml version="2.0"><body><outline text="a" xmlUrl="http://a.test/rss"/>'
        '<outline text="b" xmlUrl="https://b.test/atom"/></body></opml>'
    )
    ss = build_app(
        Settings.from_env(store_url="memory://", data_dir=tmp_path, feeds_file=str(listing))
    )
    ss.topics[FEEDS] = CapturedTopic(FEEDS)
    await ss.feeds.submit_feeds_file()
    sent = [(k, FeedRecord.from_json(v).url) for k, v in ss.topics[FEEDS].sent]
    assert sent == [(b"http://a.test/rss", "http://a.test/rss"),
                    (b"https://b.test/atom", "https://b.test/atom")]
