"""The read model and the web views (API, live updates, pages, metrics, health) without Kafka."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer
from openapi_spec_validator import validate
from prometheus_client.parser import text_string_to_metric_families

from agents.app import build_app
from agents.broker import free_port
from agents.runtime import Storystream
from agents.settings import Settings
from agents.web import feed_of
from agents.web.inputs import parse_articles
from agents.web.readmodel import ReadModel, ReadModelConfig, read_stage_metrics
from agents.web.render import cite, safe_url
from schemas import (
    DEADLETTER,
    STORIES_ASSIGNMENTS,
    STORIES_UPDATES,
    Article,
    CitedText,
    DeadLetter,
    DedupVerdict,
    OutletCoverage,
    RelatedStory,
    Section,
    Source,
    StoryArticle,
    StoryAssignment,
    StoryUpdate,
)

DAY = 86400.0
T0 = 1_767_000_000.0
XSS_TITLE = '<script>window.__pwned=1</script>Harbour <img src=x onerror="window.__pwned=2">'


# -- builders (invented text) ---------------------------------------------------------------


def make_update(
    story_id: str = "s-harbour",
    version: int = 1,
    count: int = 2,
    *,
    headline: str = "Harbour festival draws record crowds to Quillfield",
    published: float = T0,
    merged_into: str | None = None,
    related: list[RelatedStory] | None = None,
) -> StoryUpdate:
    articles = [
        StoryArticle(
            article_id=f"{story_id}-a{i}",
            outlet=f"outlet{i}.example",
            title=f"Festival report number {i}",
            url=f"https://outlet{i}.example/festival/{i}",
            published=published + i * 600,
        )
        for i in range(1, count + 1)
    ]
    sources = [
        Source(n=i, article_id=a.article_id, outlet=a.outlet, title=a.title, url=a.url)
        for i, a in enumerate(articles[:2], start=1)
    ]
    return StoryUpdate(
        story_id=story_id,
        version=version,
        updated_at=published + count * 600,
        first_seen=published,
        headline=headline,
        status_line=f"Updated ({count} articles)",
        article_count=count,
        outlets=[a.outlet for a in articles],
        sections=[
            Section("Crowds on the quay", "Thousands lined the old quay [1][2].", [1, 2]),
            Section("Boats and bands", "Forty boats sailed past the lighthouse [2].", [2]),
            Section("What comes next", "Organisers plan a longer route [1] and [9].", [1]),
        ],
        sources=sources,
        whats_new=[CitedText("A brass band played until dusk.", [1])],
        minority_reports=[CitedText("One outlet counted fewer boats.", [2], ["outlet2.example"])],
        unique_by_outlet=[
            OutletCoverage("outlet1.example", [CitedText("Ticket sales doubled.", [1])])
        ],
        related_stories=related or [],
        articles=articles,
        merged_into=merged_into,
    )


def make_assignment(
    article_id: str, story_id: str, kind: str = "original", content_hash: str = "h1"
) -> StoryAssignment:
    article = Article(
        id=article_id,
        url=f"https://news.example/{article_id}",
        outlet="news.example",
        title=f"Title of {article_id}",
        text="Some text about the harbour.",
        lang="en",
        published=T0,
        content_hash=content_hash,
    )
    return StoryAssignment(
        story_id=story_id,
        article=article,
        verdict=DedupVerdict(article_id=article_id, kind=kind),
    )


def xss_update() -> StoryUpdate:
    update = make_update("s-xss", headline=XSS_TITLE)
    update.sections[0] = Section(
        "<b>bold</b> heading", 'Text with <img src=x onerror="window.__pwned=3"> [1].', [1]
    )
    update.sources[0] = Source(
        n=1, article_id="x<1>", outlet="<i>outlet</i>", title=XSS_TITLE, url="javascript:alert(1)"
    )
    update.articles[0] = StoryArticle(
        article_id="x<1>", outlet="<i>outlet</i>", title=XSS_TITLE, url="javascript:alert(1)"
    )
    return update


# -- the read model --------------------------------------------------------------------------


def test_read_model_keeps_the_newest_version_and_ignores_redeliveries():
    model = ReadModel(ReadModelConfig(max_versions=3))
    for version in (1, 2, 3, 2, 4, 5):
        model.apply_update(make_update(version=version, count=version + 1))
    entry = model.story("s-harbour")
    assert entry is not None and entry.latest.version == 5
    assert [orjson.loads(v)["version"] for v in model.versions("s-harbour")] == [5, 4, 3]
    assert orjson.loads(entry.latest_json)["article_count"] == 6


def test_read_model_decodes_topic_records_and_counts_bad_ones():
    model = ReadModel()
    model.apply(STORIES_UPDATES, make_update().to_json())
    model.apply(STORIES_ASSIGNMENTS, make_assignment("a1", "s-harbour").to_json())
    model.apply(DEADLETTER, DeadLetter(stage="normalize", reason="empty text", original="{}")
                .to_json())
    model.apply(STORIES_UPDATES, b"{not json")
    assert model.story("s-harbour") is not None
    assert model.article("a1").story_id == "s-harbour"
    assert model.dead_letter_count == 1
    assert model.bad_records == 1 and model.records == 4


def test_merges_resolve_to_the_absorbing_story_and_leave_the_listing():
    model = ReadModel()
    model.apply_update(make_update("s-a"))
    model.apply_update(make_update("s-b", published=T0 + 10))
    model.apply_assignment(
        StoryAssignment(
            story_id="s-b",
            article=make_assignment("a9", "s-b").article,
            verdict=DedupVerdict(article_id="a9", kind="original"),
            merged_from=["s-a"],
        )
    )
    model.apply_update(make_update("s-a", version=2, merged_into="s-b"))
    assert model.resolve("s-a") == "s-b"
    stories, total = model.top()
    assert total == 1 and stories[0]["story_id"] == "s-b"
    assert model.story_counts()["merged"] == 1


def test_ranking_by_recency_and_by_velocity_with_paging():
    model = ReadModel(ReadModelConfig(velocity_window_seconds=DAY, dormant_after_seconds=3 * DAY))
    # "busy": many articles in the last day; "fresh": updated last but with one article.
    model.apply_update(make_update("s-busy", count=6, published=T0 + 5 * DAY))
    model.apply_update(make_update("s-fresh", count=1, published=T0 + 5 * DAY + 7200))
    model.apply_update(make_update("s-old", count=4, published=T0))
    recent, total = model.top("recent", limit=2)
    assert total == 3
    assert [s["story_id"] for s in recent] == ["s-fresh", "s-busy"]
    assert [s["story_id"] for s in model.top("recent", limit=2, offset=2)[0]] == ["s-old"]
    fastest = [s["story_id"] for s in model.top("velocity")[0]]
    assert fastest[0] == "s-busy"
    assert model.top("velocity")[0][0]["velocity"] == 6
    old = next(s for s in model.top()[0] if s["story_id"] == "s-old")
    assert old["dormant"] is True and old["velocity"] == 0
    assert model.story_counts() == {"active": 2, "dormant": 1, "merged": 0}


def test_duplicate_counts_are_per_article_version_not_per_delivery():
    model = ReadModel()
    model.apply_assignment(make_assignment("a1", "s"))
    model.apply_assignment(make_assignment("a1", "s"))  # redelivered
    model.apply_assignment(make_assignment("a2", "s", kind="syndicated"))
    model.apply_assignment(make_assignment("a1", "s", kind="revision", content_hash="h2"))
    stats = model.duplicate_stats()
    assert stats["total"] == 3
    assert stats["counts"]["original"] == 1 and stats["counts"]["syndicated"] == 1
    assert stats["rates"]["revision"] == pytest.approx(1 / 3)


def test_dead_letters_keep_the_latest_reasons_first():
    model = ReadModel(ReadModelConfig(max_dead_letters=2))
    for i in range(3):
        model.apply_dead_letter(DeadLetter(stage="normalize", reason=f"reason {i}", original=""))
    stats = model.dead_letter_stats()
    assert stats["count"] == 3 and stats["by_stage"] == {"normalize": 3}
    assert [d["reason"] for d in stats["latest"]] == ["reason 2", "reason 1"]


def test_eviction_keeps_the_most_recent_stories():
    model = ReadModel(ReadModelConfig(max_stories=10))
    for i in range(11):
        model.apply_update(make_update(f"s-{i:02d}", published=T0 + i * 3600))
        model.apply_assignment(make_assignment(f"s-{i:02d}-a1", f"s-{i:02d}"))
    assert len(model.stories) == 10
    assert model.story("s-00") is None and model.story("s-10") is not None
    assert model.article("s-00-a1") is None


async def test_subscriptions_filter_by_story_and_drop_the_oldest_when_full():
    model = ReadModel(ReadModelConfig(subscriber_queue=2))
    async with model.subscribe(["s-a"]) as only_a, model.subscribe() as everything:
        for version in (1, 2, 3):
            model.apply_update(make_update("s-a", version=version))
        model.apply_update(make_update("s-b"))
        got = [only_a.queue.get_nowait().version for _ in range(only_a.queue.qsize())]
        assert got == [2, 3] and only_a.dropped == 1
        assert everything.queue.qsize() == 2
    assert not model.subscriptions


async def test_a_subscription_follows_its_story_into_the_story_that_absorbed_it():
    model = ReadModel()
    async with model.subscribe(["s-a"]) as sub:
        model.apply_update(make_update("s-b"))
        model.apply_update(make_update("s-a", version=2, merged_into="s-b"))
        model.apply_update(make_update("s-b", version=2, count=5))
        got = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert [(u.story_id, u.version) for u in got] == [("s-a", 2), ("s-b", 2)]


def test_stage_metrics_are_read_from_the_registry():
    from agents.metrics import Metrics

    metrics = Metrics()
    metrics.observe_batch("normalize", 5, 0.5)
    metrics.story_updates.inc()
    stages, updates = read_stage_metrics(metrics.registry)
    assert stages["normalize"].messages == 5 and stages["normalize"].batches == 1
    assert stages["normalize"].batch_seconds == pytest.approx(0.5)
    assert updates == 1


# -- helpers -----------------------------------------------------------------------------------


def test_citations_become_links_only_for_listed_sources_after_escaping():
    html = str(cite("<b>x</b> said [1][2] and [7]", {1, 2}))
    assert "&lt;b&gt;x&lt;/b&gt;" in html
    assert '<a class="cite" href="#source-1">[1]</a>' in html
    assert '<a class="cite" href="#source-2">[2]</a>' in html
    assert "[7]" in html and "#source-7" not in html


def test_only_plain_web_urls_are_linked():
    assert safe_url("https://a.example/x") == "https://a.example/x"
    for bad in ("javascript:alert(1)", "data:text/html,x", "//a.example", "", None, "http://"):
        assert safe_url(bad) is None


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{nope", "not JSON"),
        (b'"text"', "got a string"),
        (b"[]", "empty array"),
        (b'{"id": "a", "text": 5}', "article.text: expected str"),
        (b'{"text": "words"}', "needs an id or a url"),
        (b'{"id": "a", "text": "   "}', "no text or body"),
        (b'{"id": "a", "url": "javascript:x", "text": "t"}', "not an http(s) URL"),
        (b'[{"id": "a", "text": "t"}, 3]', "article[1]: expected a JSON object"),
        (b'{"id": "a", "authors": [1], "text": "t"}', "article.authors[0]"),
    ],
)
def test_posted_articles_are_validated_with_a_reason(body, reason):
    from agents.web.inputs import Rejected

    with pytest.raises(Rejected, match=re.escape(reason)):
        parse_articles(body, max_body_bytes=1000)


def test_posted_articles_over_the_body_limit_are_rejected():
    from agents.web.inputs import Rejected

    with pytest.raises(Rejected, match="body over 10 bytes"):
        parse_articles(b'{"id": "a", "text": "' + b"x" * 11 + b'"}', max_body_bytes=10)


# -- views through the aiohttp server ------------------------------------------------------------


class Web:
    """A built (not started) app, its read model, a test client and what POST sent."""

    def __init__(self, ss: Storystream, client: TestClient) -> None:
        self.ss = ss
        self.client = client
        self.model = feed_of(ss).model
        self.sent: list[tuple[bytes, str | None]] = []

        async def send_raw(payload: bytes, key: str | None = None) -> None:
            self.sent.append((payload, key))

        ss.send_raw = send_raw  # type: ignore[method-assign]

    async def get(self, path: str, **kw: Any):
        return await self.client.get(path, **kw)


async def make_web(tmp_path: Path, **settings: Any) -> Web:
    ss = build_app(
        Settings(
            broker_url=f"kafka://127.0.0.1:{free_port()}",
            store_url="memory://",
            data_dir=tmp_path,
            web_port=free_port(),
            **settings,
        )
    )
    client = TestClient(TestServer(ss.app.web.web_app))
    await client.start_server()
    return Web(ss, client)


@pytest.fixture
async def web(tmp_path: Path) -> AsyncIterator[Web]:
    w = await make_web(tmp_path)
    yield w
    await w.client.close()


async def test_story_list_pages_and_rejects_bad_arguments(web: Web):
    for i in range(3):
        web.model.apply_update(make_update(f"s-{i}", published=T0 + i * 3600))
    r = await web.get("/api/stories?limit=2")
    body = await r.json()
    assert r.status == 200 and body["total"] == 3
    assert [s["story_id"] for s in body["stories"]] == ["s-2", "s-1"]
    r2 = await web.get(body["next"])
    assert [s["story_id"] for s in (await r2.json())["stories"]] == ["s-0"]
    assert (await r2.json())["next"] is None
    for bad in ("limit=0", "limit=abc", "offset=-1", "sort=random", "limit=101"):
        r = await web.get(f"/api/stories?{bad}")
        assert r.status == 400 and (await r.json())["error"]


async def test_story_versions_and_articles(web: Web):
    web.model.apply_update(make_update(version=1))
    web.model.apply_update(make_update(version=2, count=3))
    web.model.apply_assignment(make_assignment("a1", "s-harbour"))
    r = await web.get("/api/stories/s-harbour")
    assert r.status == 200 and (await r.json())["version"] == 2
    r = await web.get("/api/stories/s-harbour/versions?limit=1")
    body = await r.json()
    assert body["total"] == 2 and [v["version"] for v in body["versions"]] == [2]
    r = await web.get("/api/articles/a1")
    body = await r.json()
    assert body["story_id"] == "s-harbour" and body["verdict"]["kind"] == "original"
    assert body["article"]["title"] == "Title of a1"
    for path in ("/api/stories/nope", "/api/stories/nope/versions", "/api/articles/nope"):
        r = await web.get(path)
        assert r.status == 404 and (await r.json())["error"]


async def test_post_articles_queues_valid_ones_and_explains_rejections(web: Web):
    one = {"id": "p1", "title": "Boats", "text": "Forty boats sailed.", "outlet": "x.example"}
    r = await web.client.post("/api/articles", data=orjson.dumps(one))
    assert r.status == 202 and await r.json() == {"accepted": 1, "keys": ["p1"]}
    assert orjson.loads(web.sent[0][0]) == one and web.sent[0][1] == "p1"
    many = [{"url": "https://y.example/1", "text": "a"}, {"id": "p3", "body": "<p>b</p>"}]
    r = await web.client.post("/api/articles", data=orjson.dumps(many))
    assert (await r.json())["keys"] == ["https://y.example/1", "p3"]
    bad = [{"id": "ok", "text": "fine"}, {"id": "bad", "text": ""}]
    r = await web.client.post("/api/articles", data=orjson.dumps(bad))
    assert r.status == 400 and "article[1]" in (await r.json())["error"]
    assert len(web.sent) == 3  # nothing of the rejected request was sent


async def test_post_articles_needs_the_bearer_token_when_one_is_set(tmp_path: Path):
    web = await make_web(tmp_path, api_token="s3cret")
    try:
        article = orjson.dumps({"id": "t1", "text": "words"})
        r = await web.client.post("/api/articles", data=article)
        assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
        r = await web.client.post(
            "/api/articles", data=article, headers={"Authorization": "Bearer wrong"}
        )
        assert r.status == 401
        r = await web.client.post(
            "/api/articles", data=article, headers={"Authorization": "Bearer s3cret"}
        )
        assert r.status == 202 and len(web.sent) == 1
    finally:
        await web.client.close()


async def _next_event(resp, timeout: float = 5.0) -> dict[str, str]:
    event: dict[str, str] = {}
    while True:
        line = (await asyncio.wait_for(resp.content.readline(), timeout)).decode().rstrip("\n")
        if not line:
            if "data" in event:
                return event
            continue
        if line.startswith(":") or line.startswith("retry:"):
            continue
        name, _, value = line.partition(": ")
        event[name] = value


async def test_live_updates_stream_only_the_followed_story(web: Web):
    resp = await web.get("/api/updates?story=s-a")
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/event-stream"
    for _ in range(50):
        if web.model.subscriptions:
            break
        await asyncio.sleep(0.02)
    web.model.apply_update(make_update("s-b"))
    web.model.apply_update(make_update("s-a", version=3))
    event = await _next_event(resp)
    assert event["event"] == "update" and event["id"] == "s-a:3"
    assert orjson.loads(event["data"])["story_id"] == "s-a"
    web.model.close()
    resp.close()


async def test_live_updates_start_with_the_followed_story_unless_the_client_has_it(web: Web):
    web.model.apply_update(make_update("s-a", version=4))
    resp = await web.get("/api/updates?story=s-a")
    assert (await _next_event(resp))["id"] == "s-a:4"
    resp.close()
    resp = await web.get("/api/updates?story=s-a", headers={"Last-Event-ID": "s-a:4"})
    for _ in range(50):
        if len(web.model.subscriptions) == 2:  # the first stream is still open server-side
            break
        await asyncio.sleep(0.02)
    web.model.apply_update(make_update("s-a", version=5))
    assert (await _next_event(resp))["id"] == "s-a:5"
    web.model.close()
    resp.close()


async def test_story_page_renders_the_seed_layout(web: Web):
    related = [RelatedStory("s-other", "Lighthouse reopens", 4)]
    web.model.apply_update(make_update(count=3, related=related))
    r = await web.get("/stories/s-harbour")
    html = await r.text()
    assert r.status == 200
    assert "Content-Security-Policy" in r.headers
    assert "<h1 class=\"headline\">Harbour festival draws record crowds to Quillfield</h1>" in html
    assert "Updated (3 articles)" in html
    assert len(re.findall(r'<h2 class="section-heading">', html)) == 3
    cited = set(re.findall(r'href="#source-(\d+)"', html))
    listed = set(re.findall(r'<li id="source-(\d+)"', html))
    assert cited and cited <= listed
    assert "[9]" in html and "#source-9" not in html  # an unlisted number stays text
    for heading in (
        "Sources (2 articles)",
        "Stories about this story (1 story)",
        "All related articles (3 articles)",
        "Minority Reports",
        "Unique coverage by outlet",
        "What's new",
    ):
        assert heading in html
    assert 'href="/stories/s-other"' in html and "outlet3.example" in html
    assert "2026-" in html or "2025-" in html  # article times are shown
    fragment = await (await web.get("/stories/s-harbour?fragment=1")).text()
    assert fragment.lstrip().startswith("<article") and "Updated (3 articles)" in fragment


async def test_article_strings_are_escaped_everywhere(web: Web):
    web.model.apply_update(xss_update())
    for path in ("/stories/s-xss", "/", "/stories/s-xss?fragment=1"):
        html = await (await web.get(path)).text()
        scripts = re.findall(r"<script[^>]*>", html)
        assert all(tag.startswith('<script src="/static/') for tag in scripts), scripts
        assert "<img" not in html and "<i>outlet" not in html and "<b>bold" not in html
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in html
        assert "javascript:" not in html
    html = await (await web.get("/stories/s-xss")).text()
    assert "onerror=&#34;window.__pwned=3&#34;" in html


async def test_home_page_lists_top_stories_and_merged_stories_redirect(web: Web):
    web.model.apply_update(make_update("s-a", headline="Ferry timetable changes"))
    web.model.apply_update(make_update("s-b", headline="Harbour festival", published=T0 + 60))
    html = await (await web.get("/")).text()
    assert "Top Headlines" in html
    assert html.index("Harbour festival") < html.index("Ferry timetable changes")
    web.model.apply_update(make_update("s-a", version=2, merged_into="s-b"))
    r = await web.get("/stories/s-a", allow_redirects=False)
    assert r.status == 302 and r.headers["Location"] == "/stories/s-b"
    r = await web.get("/stories/never-seen")
    assert r.status == 404 and "Story not found" in await r.text()


async def test_metrics_parse_and_follow_prometheus_conventions(web: Web):
    web.ss.metrics.observe_batch("normalize", 3, 0.02)
    web.ss.metrics.duplicates.labels(kind="original").inc()
    web.model.apply_update(make_update("s-secret-story"))
    await web.get("/api/stories/s-secret-story")
    await web.get("/stories/s-secret-story")
    await feed_of(web.ss).sample_once()
    r = await web.get("/metrics")
    text = await r.text()
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["storystream_stage_messages"].type == "counter"
    assert families["storystream_http_request_duration_seconds"].type == "histogram"
    samples = [s for f in families.values() for s in f.samples]
    assert any(
        s.name == "storystream_stage_messages_total" and s.value == 3 for s in samples
    )
    for family in families.values():
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        if family.type == "histogram":
            assert family.name.endswith("_seconds")
    assert "s-secret-story" not in text
    labels = {name for s in samples for name in s.labels}
    assert not labels & {"story", "story_id", "article", "article_id"}
    routes = {s.labels.get("route") for s in samples if "route" in s.labels}
    assert "/stories/{story_id}" in routes


async def test_readyz_is_503_until_recovery_and_assignment(web: Web, monkeypatch):
    r = await web.get("/readyz")
    assert r.status == 503 and (await r.json())["status"] == "starting"
    app = web.ss.app
    app.tables.recovery.completed.set()
    monkeypatch.setattr(type(app), "rebalancing", False, raising=False)
    consumer = app.consumer
    monkeypatch.setattr(consumer, "assignment", lambda: {("stories.updates", 0)})
    r = await web.get("/readyz")
    assert r.status == 200 and (await r.json())["status"] == "ready"
    assert (await web.get("/livez")).status == 200


async def test_openapi_document_validates_and_covers_the_api(web: Web):
    doc = await (await web.get("/openapi.json")).json()
    validate(doc)
    assert {
        "/api/stories",
        "/api/stories/{story_id}",
        "/api/stories/{story_id}/versions",
        "/api/articles/{article_id}",
        "/api/articles",
        "/api/updates",
    } <= set(doc["paths"])
    update = doc["components"]["schemas"]["StoryUpdate"]
    assert {"story_id", "version", "status_line", "sections", "sources"} <= set(
        update["properties"]
    )


async def test_ops_data_has_every_panel(web: Web):
    web.ss.metrics.observe_batch("normalize", 4, 0.1)
    feed = feed_of(web.ss)
    await feed.sample_once()
    web.ss.metrics.observe_batch("normalize", 6, 0.1)
    await asyncio.sleep(0.05)
    await feed.sample_once()
    web.model.apply_dead_letter(DeadLetter(stage="normalize", reason="<b>empty</b>", original=""))
    ops = await (await web.get("/api/ops")).json()
    assert ops["totals"]["normalize"]["messages"] == 10
    assert ops["series"]["normalize"][-1]["rate"] > 0
    assert ops["dead_letters"]["count"] == 1
    assert set(ops["duplicates"]["counts"]) == set(DedupVerdict.KINDS)
    assert set(ops["stories"]) == {"active", "dormant", "merged"}
    html = await (await web.get("/ops")).text()
    assert "&lt;b&gt;empty&lt;/b&gt;" in html and "Consumer lag" in html


async def test_static_files_are_served_and_unknown_ones_are_404(web: Web):
    r = await web.get("/static/story.js")
    assert r.status == 200 and "EventSource" in await r.text()
    assert (await web.get("/static/nothing.js")).status == 404


async def test_story_page_shows_each_sentence_once_and_points_at_new_sections(web: Web):
    update = make_update(story_id="s-once", count=3)
    update.whats_new = [
        CitedText("Forty boats sailed past the lighthouse.", [2]),
        CitedText("A brass band played until dusk.", [1]),
        CitedText("One outlet counted fewer boats.", [2]),
    ]
    web.model.apply_update(update)
    html = await (await web.get("/stories/s-once")).text()
    assert html.count("Forty boats sailed past the lighthouse") == 1
    assert html.count("A brass band played until dusk") == 1
    assert 'New in <a href="#section-2">Boats and bands</a>' in html
    assert 'id="section-2"' in html and html.count('class="new-badge"') == 1
    assert html.count("One outlet counted fewer boats") == 1
    assert 'New in <a href="#minority-reports">Minority Reports</a>' in html
    # The raw JSON listing is not offered as a page in the navigation.
    nav = html.split("<nav>", 1)[1].split("</nav>", 1)[0]
    assert "/api/" not in nav
