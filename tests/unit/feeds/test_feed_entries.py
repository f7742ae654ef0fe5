"""Feed lists, feed entries and the polling schedule (pure: no network)."""

from __future__ import annotations

import pytest

from pipeline.feeds.entries import FeedError, parse_feed, parse_feed_list
from pipeline.feeds.schedule import (
    DueQueue,
    FeedState,
    PollConfig,
    after_error,
    after_success,
    entry_digest,
)
from tests.feedserver import rss


def test_feed_list_one_url_a_line_and_opml():
    text = "# my feeds\nhttp://a.test/rss\n\nhttps://b.test/atom.xml\nhttp://a.test/rss\n"
    assert parse_feed_list(text) == ["http://a.test/rss", "https://b.test/atom.xml"]
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><head><title>f</title></head><body>'
        '<outline text="News"><outline text="A" type="rss" xmlUrl="http://a.test/rss"/>'
        '<outline text="B" type="rss" xmlUrl="https://b.test/feed"/></outline>'
        '<outline text="no feed"/></body></opml>'
    )
    assert parse_feed_list(opml) == ["http://a.test/rss", "https://b.test/feed"]
    with pytest.raises(FeedError):
        parse_feed_list("ftp://nope\n")
    with pytest.raises(FeedError):
        parse_feed_list("<opml><body>")


def test_entries_keyed_by_guid_else_link_and_which_need_their_page():
    items = [
        {"guid": "g-1", "link": "http://x.test/1", "title": "One", "description": "Short."},
        {"guid": "", "link": "http://x.test/2", "title": "Two", "description": "word " * 200},
    ]
    feed = parse_feed(rss(items, title="X News"))
    assert feed.title == "X News"
    assert [e.key for e in feed.entries] == ["g-1", "http://x.test/2"]
    assert feed.entries[0].needs_page(400) and not feed.entries[1].needs_page(400)
    raw = feed.entries[0].raw_article("X News", "<html><p>full</p></html>")
    assert raw.url == "http://x.test/1" and raw.body.startswith("<html>")
    assert raw.outlet == "X News" and raw.content_type == "text/html"


@pytest.mark.parametrize(
    "data",
    [b"<rss><channel><item><title>unclosed", b"<html><body>not a feed</body></html>", b""],
)
def test_malformed_documents_are_feed_errors(data):
    with pytest.raises(FeedError):
        parse_feed(data)


def test_malformed_feed_with_entries_is_salvaged():
    data = rss([{"guid": "a", "link": "http://x.test/a", "title": "A & B"}]).replace(
        b"A &amp; B", b"A & B"
    )
    feed = parse_feed(data)
    assert [e.key for e in feed.entries] == ["a"]


def test_interval_adapts_and_errors_back_off():
    cfg = PollConfig(first_interval=300, min_interval=60, max_interval=3600, max_backoff=7200)
    st = FeedState(url="http://x.test/rss", interval=300)
    after_success(st, 1000.0, new_entries=0, config=cfg)
    assert st.interval == 300 and st.next_due == 1300  # the first poll sets no trend
    after_success(st, 1300.0, new_entries=3, config=cfg)
    assert st.interval == 150 and st.next_due == 1450
    for _ in range(5):
        after_success(st, 2000.0, new_entries=1, config=cfg)
    assert st.interval == 60  # never below the minimum
    for _ in range(20):
        after_success(st, 2000.0, new_entries=0, config=cfg, status=304)
    assert st.interval == 3600 and st.last_status == 304
    after_error(st, 5000.0, "http_5xx", cfg, status=500)
    first_wait = st.next_due - 5000.0
    after_error(st, 5000.0, "http_5xx", cfg, status=500)
    assert st.errors == 2 and st.next_due - 5000.0 == min(7200, 2 * first_wait)
    after_error(st, 5000.0, "http_4xx", cfg, status=429, retry_after=7000)
    assert st.next_due - 5000.0 == 7200  # capped
    after_success(st, 9000.0, new_entries=0, config=cfg)
    assert st.errors == 0 and st.last_error is None
    after_error(st, 9000.0, "http_4xx", cfg, status=410)
    assert st.gone


def test_state_round_trip_and_bounded_seen_keys():
    st = FeedState(url="http://x.test/rss", etag='"e"')
    st.mark_seen(["a"], limit=3)
    st.mark_seen(["a", "b", "c", "d"], limit=3)
    assert st.seen == [entry_digest(k) for k in "bcd"]
    assert len(st.to_bytes()) < 400 and b"seen" not in st.to_bytes()
    back = FeedState.from_bytes(st.to_bytes(), st.seen_bytes())
    assert back == st
    assert back.unseen(["d", "e", "b", "f"]) == ["e", "f"]
    assert FeedState.from_bytes(st.to_bytes()).unseen(["b"]) == ["b"]


def test_due_queue_orders_and_reschedules():
    q = DueQueue()
    q.put("a", 5.0)
    q.put("b", 1.0)
    q.put("c", 3.0)
    q.put("a", 0.5)  # rescheduled earlier: the old entry is ignored
    assert q.next_time() == 0.5
    assert q.pop_due(3.0, limit=10) == ["a", "b", "c"]
    assert len(q) == 0 and q.pop_due(100.0, 10) == []
    q.put("d", 2.0)
    q.discard("d")
    assert q.next_time() is None
