"""POST /api/feeds: feeds onto the feeds topic, token-protected like the article intake; feed
health in the ops snapshot."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.unit.web.test_web import make_web


async def test_feeds_are_queued_with_the_token_and_rejected_without(tmp_path: Path):
    web = await make_web(tmp_path, api_token="s3cret")
    queued: list[str] = []

    async def send_feed(url: str) -> None:
        queued.append(url)

    web.ss.send_feed = send_feed  # type: ignore[method-assign]
    try:
        body = orjson.dumps(
            {"urls": ["http://a.test/rss", "https://b.test/atom", "http://a.test/rss"]}
        )
        r = await web.client.post("/api/feeds", data=body)
        assert r.status == 401 and queued == []
        auth = {"Authorization": "Bearer s3cret"}
        r = await web.client.post("/api/feeds", data=body, headers=auth)
        assert r.status == 202
        assert await r.json() == {
            "accepted": 2,
            "feeds": ["http://a.test/rss", "https://b.test/atom"],
        }
        assert queued == ["http://a.test/rss", "https://b.test/atom"]
        r = await web.client.post("/api/feeds", data=b'{"url": "http://c.test/feed"}', headers=auth)
        assert r.status == 202 and queued[-1] == "http://c.test/feed"
        for bad in (b"[1]", b'{"url": "javascript:alert(1)"}', b'{"urls": []}', b"{", b"{}"):
            r = await web.client.post("/api/feeds", data=bad, headers=auth)
            assert r.status == 400 and (await r.json())["error"], bad
        assert len(queued) == 3
    finally:
        await web.client.close()


async def test_ops_snapshot_carries_feed_health(tmp_path: Path):
    web = await make_web(tmp_path)
    try:
        r = await web.client.get("/api/ops")
        feeds = (await r.json())["feeds"]
        assert feeds["feeds"] == 0 and feeds["polls"] == {} and feeds["list"] == []
    finally:
        await web.client.close()


async def test_ops_page_shows_feed_health(tmp_path: Path):
    web = await make_web(tmp_path)
    try:
        web.ss.feeds.metrics.polls.labels(result="not_modified").inc(3)
        web.ss.feeds.metrics.errors.labels(what="page", kind="timeout").inc()
        r = await web.client.get("/ops")
        page = await r.text()
        assert r.status == 200
        assert '<span id="feeds-304">3</span>' in page
        assert "<strong>page:timeout</strong>: 1" in page
    finally:
        await web.client.close()
