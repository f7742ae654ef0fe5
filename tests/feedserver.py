"""A local news site for feed tests: feeds, pages and failures, on 127.0.0.1 only."""

from __future__ import annotations

import asyncio
import html
from collections import Counter
from dataclasses import dataclass, field

from aiohttp import web


def rss(items: list[dict[str, str]], title: str = "Local News") -> bytes:
    """An RSS 2.0 document; each item has guid, link, title, description (pubDate optional)."""
    parts = []
    for item in items:
        pub = f"<pubDate>{item['pubDate']}</pubDate>" if item.get("pubDate") else ""
        parts.append(
            f"<item><guid>{html.escape(item['guid'])}</guid>"
            f"<link>{html.escape(item['link'])}</link>"
            f"<title>{html.escape(item['title'])}</title>"
            f"<description>{html.escape(item.get('description', ''))}</description>{pub}</item>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{html.escape(title)}</title><link>http://example.invalid/</link>"
        f"<description>news</description>{''.join(parts)}</channel></rss>"
    ).encode()


def news_page(title: str, paragraphs: list[str], outlet: str = "Local News") -> str:
    """An article page with navigation, share links, a related list and a footer."""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    nav = "".join(f'<li><a href="/{n.lower()}">{n}</a></li>' for n in ("World", "Sport", "Opinion"))
    share = '<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>'
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        f'<meta property="og:site_name" content="{html.escape(outlet)}"></head><body>'
        f"<header><nav><ul>{nav}</ul></nav></header><main><article><h1>{html.escape(title)}</h1>"
        f'{share}{body}{share}</article><aside><h2>Related</h2><ul><li><a href="/r">Other news'
        f"</a></li></ul></aside></main><footer><p>Copyright Local News. All rights reserved.</p>"
        f'<a href="/privacy">Privacy Policy</a></footer></body></html>'
    )


@dataclass
class Site:
    """Routes served by the local site, and what was asked of it.

    ``resources`` maps a path to (status, headers, body); ``etags`` to the ETag a path answers
    with (a request carrying it gets 304). ``hits`` counts requests per path, ``agents`` the
    User-Agents seen, ``active``/``max_active`` the concurrent requests.
    """

    resources: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    hits: Counter = field(default_factory=Counter)
    agents: set[str] = field(default_factory=set)
    active: int = 0
    max_active: int = 0
    robots: str = "User-agent: *\nDisallow: /private/\n"
    robots_status: int = 200
    delay: float = 0.0
    runner: web.AppRunner | None = None
    base: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path_qs if request.query_string else request.path
        self.hits[path] += 1
        self.agents.add(request.headers.get("User-Agent", ""))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            return await self._answer(request, path)
        finally:
            self.active -= 1

    async def _answer(self, request: web.Request, path: str) -> web.StreamResponse:
        if path == "/robots.txt":
            return web.Response(
                status=self.robots_status, text=self.robots, content_type="text/plain"
            )
        if path == "/slow":
            await asyncio.sleep(3)
            return web.Response(text="late")
        if path == "/trickle":
            resp = web.StreamResponse(headers={"Content-Type": "text/html"})
            await resp.prepare(request)
            for _ in range(40):
                await resp.write(b"<p>drip</p>")
                await asyncio.sleep(0.1)
            return resp
        if path == "/huge":
            resp = web.StreamResponse(headers={"Content-Type": "text/html"})
            await resp.prepare(request)
            for _ in range(100):
                await resp.write(b"x" * 65536)
            return resp
        if path.startswith("/loop"):
            raise web.HTTPFound("/loop-b" if path == "/loop-a" else "/loop-a")
        etag = self.etags.get(path)
        if etag and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        found = self.resources.get(path)
        if found is None:
            return web.Response(status=404, text="not found")
        status, headers, body = found
        headers = dict(headers)
        if etag:
            headers["ETag"] = etag
        return web.Response(status=status, headers=headers, body=body)

    def url(self, path: str) -> str:
        return self.base + path

    async def start(self) -> Site:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


SEEDS = ("seed-002", "seed-003", "seed-004")


def seed_site(site: Site) -> str:
    """Serve the three seed articles of the bundled sample as news pages behind one RSS feed
    whose descriptions are one line; returns the feed's url."""
    from importlib import resources

    import orjson

    data = resources.files("agents") / "data" / "sample.jsonl"
    items = []
    for line in data.read_bytes().splitlines():
        if not line.strip():
            continue
        rec = orjson.loads(line)
        if rec.get("id") not in SEEDS:
            continue
        path = f"/news/{rec['id']}.html"
        paragraphs = [p for p in rec["text"].split("\n") if p.strip()]
        page = news_page(rec["title"], paragraphs, outlet=rec["outlet"])
        site.resources[path] = (200, {"Content-Type": "text/html; charset=utf-8"}, page.encode())
        first = paragraphs[0][:120]
        items.append(
            {
                "guid": rec["id"],
                "link": site.url(path),
                "title": rec["title"],
                "description": first,
                "pubDate": _rfc2822(rec["published"]),
            }
        )
    site.resources["/seeds.xml"] = (200, {"Content-Type": "application/rss+xml"}, rss(items))
    return site.url("/seeds.xml")


def _rfc2822(iso: str) -> str:
    from datetime import datetime
    from email.utils import format_datetime

    return format_datetime(datetime.fromisoformat(iso))


def serve_in_thread(site: Site) -> Site:
    """Start ``site`` on an event loop of its own thread (for tests that block)."""
    import threading

    loop = asyncio.new_event_loop()
    started = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(site.start())
        started.set()
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    if not started.wait(10):
        raise RuntimeError("local site did not start")
    site.loop = loop  # type: ignore[attr-defined]
    return site
