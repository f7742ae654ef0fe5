"""The polite client against a local site: statuses, limits, encodings, robots, politeness."""

from __future__ import annotations

import asyncio
import time

import pytest

from agents.fetching import FetchConfig, FetchError, PoliteClient
from tests.feedserver import Site, rss

FAST = FetchConfig(
    user_agent="storystream-test/1", timeout=1.0, max_bytes=200_000, max_redirects=3,
    host_delay=0.0,
)


@pytest.fixture
async def site():
    s = await Site().start()
    yield s
    await s.stop()


async def _get(url: str, config: FetchConfig = FAST, **kw):
    async with PoliteClient(config) as client:
        return await client.get(url, **kw)


async def test_200_then_304_with_the_etag(site):
    site.resources["/feed.xml"] = (200, {"Content-Type": "application/rss+xml"}, rss([]))
    site.etags["/feed.xml"] = '"v1"'
    first = await _get(site.url("/feed.xml"))
    assert first.status == 200 and first.etag == '"v1"' and first.body.startswith(b"<?xml")
    again = await _get(site.url("/feed.xml"), etag=first.etag)
    assert again.status == 304 and again.body == b""
    assert site.agents == {"storystream-test/1"}


@pytest.mark.parametrize(
    ("path", "status", "kind", "permanent"),
    [("/missing", 404, "http_4xx", True), ("/boom", 500, "http_5xx", False)],
)
async def test_error_statuses(site, path, status, kind, permanent):
    site.resources["/boom"] = (500, {"Retry-After": "120"}, b"oops")
    with pytest.raises(FetchError) as err:
        await _get(site.url(path))
    assert err.value.status == status and err.value.kind == kind
    assert err.value.permanent is permanent
    if status == 500:
        assert err.value.retry_after == 120.0


@pytest.mark.parametrize("path", ["/slow", "/trickle"])
async def test_slow_answers_time_out(site, path):
    started = time.monotonic()
    with pytest.raises(FetchError) as err:
        await _get(site.url(path))
    assert err.value.kind == "timeout"
    assert time.monotonic() - started < 2.5


async def test_huge_response_is_cut_off(site):
    with pytest.raises(FetchError) as err:
        await _get(site.url("/huge"))
    assert err.value.kind == "too_large"


async def test_redirect_loop_stops(site):
    with pytest.raises(FetchError) as err:
        await _get(site.url("/loop-a"))
    assert err.value.kind == "redirects"
    assert site.hits["/loop-a"] + site.hits["/loop-b"] <= FAST.max_redirects + 1


async def test_connection_refused_is_a_connect_error():
    with pytest.raises(FetchError) as err:
        await _get("http://127.0.0.1:9/feed.xml")
    assert err.value.kind == "connect" and err.value.status is None
    assert not err.value.permanent


async def test_robots_disallow_is_respected(site):
    site.resources["/private/page"] = (200, {"Content-Type": "text/html"}, b"<p>secret</p>")
    with pytest.raises(FetchError) as err:
        await _get(site.url("/private/page"))
    assert err.value.kind == "robots" and err.value.permanent
    assert site.hits["/private/page"] == 0 and site.hits["/robots.txt"] == 1


@pytest.mark.parametrize(("robots_status", "allowed"), [(503, False), (404, True)])
async def test_robots_unreachable_disallows_missing_allows(site, robots_status, allowed):
    site.robots_status = robots_status
    site.resources["/page"] = (200, {}, b"<p>x</p>")
    if allowed:
        assert (await _get(site.url("/page"))).status == 200
    else:
        with pytest.raises(FetchError) as err:
            await _get(site.url("/page"))
        assert err.value.kind == "robots" and site.hits["/page"] == 0


SENTENCE = "Café owners in Zürich said “déjà vu” — naïve façades, 25 €."


@pytest.mark.parametrize(
    ("codec", "headers", "meta"),
    [
        ("cp1252", {"Content-Type": "text/html; charset=windows-1252"}, ""),
        ("cp1252", {"Content-Type": "text/html"}, '<meta charset="windows-1252">'),
        ("iso-8859-15", {"Content-Type": "text/html"},
         '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-15">'),
        ("utf-8", {"Content-Type": "text/html"}, ""),
    ],
)
async def test_non_utf8_pages_are_decoded(site, codec, headers, meta):
    text = SENTENCE if codec != "iso-8859-15" else SENTENCE.replace("“", '"').replace("”", '"')
    text = text.replace("—", "-") if codec == "iso-8859-15" else text
    page = f"<html><head>{meta}<title>t</title></head><body><p>{text}</p></body></html>"
    site.resources["/page"] = (200, headers, page.encode(codec))
    resp = await _get(site.url("/page"))
    assert text in resp.text()


async def test_undeclared_legacy_encoding_is_detected(site):
    text = "Москва: переговоры продолжатся завтра, сообщили в министерстве иностранных дел. " * 5
    page = f"<html><head><title>t</title></head><body><p>{text}</p></body></html>"
    site.resources["/ru"] = (200, {"Content-Type": "text/html"}, page.encode("cp1251"))
    resp = await _get(site.url("/ru"))
    assert text.strip() in resp.text()


async def test_one_request_at_a_time_per_host_with_a_delay(site):
    site.delay = 0.05
    for n in range(4):
        site.resources[f"/p{n}"] = (200, {}, b"ok")
    config = FetchConfig(timeout=2.0, host_delay=0.1)
    async with PoliteClient(config) as client:
        started = time.monotonic()
        await asyncio.gather(*(client.get(site.url(f"/p{n}")) for n in range(4)))
        elapsed = time.monotonic() - started
    assert site.max_active == 1 and site.hits["/robots.txt"] == 1
    # robots.txt then four requests, 0.05 s each, with 0.1 s between them
    assert elapsed >= 5 * 0.05 + 4 * 0.1
