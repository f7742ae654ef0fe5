"""Web views on the worker's aiohttp server: JSON API, live updates, story pages, ops, health.

Each view is a class of its own; :func:`register_views` builds the :class:`WebContext` (the
worker context, the read model and its feed, templates, request metrics) and registers a
subclass of every view bound to it. Nothing here imports the app module: the worker context
is handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from aiohttp import web as aioweb
from faust.web import Request, Response, View
from jinja2 import Environment
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram

from agents.web.inputs import (
    Rejected,
    TooLarge,
    int_arg,
    parse_articles,
    parse_feed_urls,
    read_body,
)
from agents.web.readmodel import ReadModel, ReadModelConfig, ReadModelFeed
from agents.web.render import (
    event_id,
    respond,
    sse_event,
    static_files,
    story_context,
    templates,
)

if TYPE_CHECKING:
    from agents.runtime import Storystream

MAX_PAGE = 100
SSE_HEARTBEAT_SECONDS = 15.0
SSE_MAX_SECONDS = 300.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_FEEDS: weakref.WeakKeyDictionary[Any, ReadModelFeed] = weakref.WeakKeyDictionary()


def is_ready(ss: Storystream) -> bool:
    """Ready when the broker answers, table recovery has completed and the worker owns
    partitions."""
    app = ss.app
    recovery = app.tables.recovery
    consumer = app.consumer
    return bool(
        ss.broker_health.reachable
        and recovery.completed.is_set()
        and not app.rebalancing
        and consumer is not None
        and consumer.assignment()
    )


def feed_of(ss: Storystream) -> ReadModelFeed:
    """The read model feed that ``register_views`` attached to this app."""
    return _FEEDS[ss.app]


@dataclass
class WebContext:
    """What every view reads: the worker context, the read model, templates and metrics."""

    ss: Storystream
    model: ReadModel
    feed: ReadModelFeed
    env: Environment
    statics: dict[str, tuple[bytes, str]]
    requests_total: Counter
    request_seconds: Histogram


class Base(View):
    """Times every request and answers a Rejected argument with 400."""

    route = ""
    ctx: WebContext  # set on the subclass each registration makes (see register_views)

    @property
    def ss(self) -> Storystream:
        return self.ctx.ss

    @property
    def model(self) -> ReadModel:
        return self.ctx.model

    @property
    def feed(self) -> ReadModelFeed:
        return self.ctx.feed

    async def dispatch(self, request: Any) -> Any:
        started = time.perf_counter()
        status = 500
        try:
            response = await super().dispatch(request)
            status = getattr(response, "status", 200)
            return response
        except aioweb.HTTPException as exc:  # redirects and the like
            status = exc.status
            raise
        finally:
            if not isinstance(self, Updates):
                self.ctx.request_seconds.labels(route=self.route).observe(
                    time.perf_counter() - started
                )
            self.ctx.requests_total.labels(
                route=self.route, method=request.method, status=str(status)
            ).inc()

    def error(self, status: int, reason: str, **extra: Any) -> Response:
        return self.bytes(
            orjson.dumps({"error": reason, **extra}),
            content_type="application/json",
            status=status,
        )

    def unauthorized(self, request: Request) -> Response | None:
        """401 when an API token is set and the request does not carry it, else None."""
        token = self.ss.settings.api_token
        if not token:
            return None
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        response = self.error(401, "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = 'Bearer realm="storystream"'
        return response

    async def queue_acknowledged(
        self, what: str, sends: list[Callable[[], Awaitable[Any]]], late: str
    ) -> Response | None:
        """Run ``sends`` and wait for the broker to acknowledge them all: None when it did,
        else the 503 to answer (nothing is sent while the broker is known not to answer)."""
        if not self.ss.broker_health.reachable:
            return self.unavailable(f"the broker does not answer; no {what} was accepted")
        try:
            deliveries = [await send() for send in sends]
            await asyncio.wait_for(
                asyncio.gather(*(d for d in deliveries if d is not None)),
                self.ss.settings.intake_ack_seconds,
            )
        except TimeoutError:
            return self.unavailable(late)
        except Exception as exc:  # noqa: BLE001 - the broker is away: tell the client
            return self.unavailable(f"could not queue the {what}s: {type(exc).__name__}")
        return None

    def unavailable(self, reason: str) -> Response:
        """503 with a reason and a hint to retry."""
        response = self.error(503, reason)
        response.headers["Retry-After"] = "5"
        return response

    def ok(self, document: Any, status: int = 200) -> Response:
        return self.bytes(orjson.dumps(document), content_type="application/json", status=status)

    def page_html(self, name: str, status: int = 200, **context: Any) -> Response:
        html = self.ctx.env.get_template(name).render(**context)
        return respond(
            html.encode(),
            "text/html; charset=utf-8",
            status,
            {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
        )


# -- health and metrics ------------------------------------------------------------------


class Livez(Base):
    route = "/livez"

    async def get(self, request: Request) -> Response:
        return self.json({"status": "alive"})


class Readyz(Base):
    route = "/readyz"

    async def get(self, request: Request) -> Response:
        ready = is_ready(self.ss)
        return self.json(
            {
                "status": "ready" if ready else "starting",
                "read_model": "current" if self.model.caught_up else "catching up",
            },
            status=200 if ready else 503,
        )


class Metrics(Base):
    route = "/metrics"

    async def get(self, request: Request) -> Response:
        return respond(self.ss.metrics.render(), CONTENT_TYPE_LATEST)


# -- JSON API ----------------------------------------------------------------------------


class Stories(Base):
    route = "/api/stories"

    async def get(self, request: Request) -> Response:
        try:
            limit = int_arg(request, "limit", 20, 1, MAX_PAGE)
            offset = int_arg(request, "offset", 0, 0, 10**9)
        except Rejected as exc:
            return self.error(400, str(exc))
        sort = request.query.get("sort", "recent")
        if sort not in ("recent", "velocity"):
            return self.error(400, "sort must be 'recent' or 'velocity'")
        stories, total = self.model.top(sort, limit, offset)
        following = None
        if offset + limit < total:
            following = "/api/stories?" + urlencode(
                {"sort": sort, "limit": limit, "offset": offset + limit}
            )
        return self.ok(
            {
                "stories": stories,
                "total": total,
                "sort": sort,
                "limit": limit,
                "offset": offset,
                "next": following,
            }
        )


class Story(Base):
    route = "/api/stories/{story_id}"

    async def get(self, request: Request, story_id: str) -> Response:
        entry = self.model.story(story_id)
        if entry is None:
            return self.error(404, "no such story", story_id=story_id)
        return self.bytes(entry.latest_json, content_type="application/json")


class Versions(Base):
    route = "/api/stories/{story_id}/versions"

    async def get(self, request: Request, story_id: str) -> Response:
        try:
            limit = int_arg(request, "limit", 20, 1, MAX_PAGE)
            offset = int_arg(request, "offset", 0, 0, 10**9)
        except Rejected as exc:
            return self.error(400, str(exc))
        if self.model.story(story_id) is None:
            return self.error(404, "no such story", story_id=story_id)
        kept = self.model.versions(story_id)
        chosen = kept[offset : offset + limit]
        body = (
            b'{"story_id":'
            + orjson.dumps(story_id)
            + b',"total":'
            + str(len(kept)).encode()
            + b',"versions":['
            + b",".join(chosen)
            + b"]}"
        )
        return self.bytes(body, content_type="application/json")


class ArticleView(Base):
    route = "/api/articles/{article_id}"

    async def get(self, request: Request, article_id: str) -> Response:
        assignment = self.model.article(article_id)
        if assignment is None:
            return self.error(404, "no such article", article_id=article_id)
        return self.ok(
            {
                "article_id": assignment.article.id,
                "story_id": self.model.story_of(article_id),
                "assigned_story_id": assignment.story_id,
                "verdict": assignment.verdict,
                "article": assignment.article,
            }
        )


class Articles(Base):
    route = "/api/articles"

    async def post(self, request: Request) -> Response:
        refused = self.unauthorized(request)
        if refused is not None:
            return refused
        limit = self.ss.settings.max_body_bytes * 4 + 65536
        body = await read_body(request, limit)
        if body is None:
            return self.error(413, f"request body over {limit} bytes")
        try:
            articles = parse_articles(body, self.ss.settings.max_body_bytes)
        except TooLarge as exc:
            return self.error(413, str(exc))
        except Rejected as exc:
            return self.error(400, str(exc))
        failed = await self.queue_acknowledged(
            "article",
            [lambda p=payload, k=key: self.ss.send_raw(p, k) for payload, key in articles],
            late="the broker did not acknowledge the articles in time; send them again"
            " (a resend changes nothing)",
        )
        if failed is not None:
            return failed
        return self.ok(
            {"accepted": len(articles), "keys": [key for _, key in articles]}, status=202
        )


class Feeds(Base):
    """``POST /api/feeds``: feeds to poll, onto the ``feeds`` topic (token as for articles)."""

    route = "/api/feeds"

    async def post(self, request: Request) -> Response:
        refused = self.unauthorized(request)
        if refused is not None:
            return refused
        body = await read_body(request, 1_000_000)
        if body is None:
            return self.error(413, "request body over 1000000 bytes")
        try:
            urls = parse_feed_urls(body)
        except Rejected as exc:
            return self.error(400, str(exc))
        failed = await self.queue_acknowledged(
            "feed",
            [lambda u=url: self.ss.send_feed(u) for url in urls],
            late="the broker did not acknowledge the feeds in time",
        )
        if failed is not None:
            return failed
        return self.ok({"accepted": len(urls), "feeds": urls}, status=202)


class Updates(Base):
    route = "/api/updates"

    async def get(self, request: Request) -> Any:
        wanted = [s for s in request.query.getall("story", []) if s]
        stories = set(wanted) | {self.model.resolve(s) for s in wanted}
        response = aioweb.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        deadline = time.monotonic() + SSE_MAX_SECONDS
        with contextlib.suppress(ConnectionError):
            await response.write(b"retry: 2000\n: connected\n\n")
            async with self.model.subscribe(stories) as sub:
                # A followed story's current version goes first, unless the client says
                # (Last-Event-ID) it has it: nothing is lost between page load and connect.
                last_seen = request.headers.get("Last-Event-ID", "")
                for story_id in sorted({self.model.resolve(s) for s in wanted}):
                    entry = self.model.story(story_id)
                    if entry is not None and last_seen != event_id(entry.latest):
                        await response.write(sse_event(entry.latest))
                while time.monotonic() < deadline and not self.model.closed:
                    try:
                        update = await asyncio.wait_for(sub.queue.get(), SSE_HEARTBEAT_SECONDS)
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")
                        continue
                    if update is None:
                        break
                    await response.write(sse_event(update))
        return response


class Ops(Base):
    route = "/api/ops"

    async def get(self, request: Request) -> Response:
        ops = self.feed.ops()
        if self.ss.feeds is not None:
            ops["feeds"] = self.ss.feeds.health()
        return self.ok(ops)


class OpenAPI(Base):
    route = "/openapi.json"

    async def get(self, request: Request) -> Response:
        from agents.web.openapi import openapi_document

        return self.ok(openapi_document())


# -- pages -------------------------------------------------------------------------------


class Home(Base):
    route = "/"

    async def get(self, request: Request) -> Response:
        try:
            number = int_arg(request, "page", 1, 1, 10**6)
        except Rejected as exc:
            return self.error(400, str(exc))
        sort = request.query.get("sort", "recent")
        sort = sort if sort in ("recent", "velocity") else "recent"
        per_page = 20
        stories, total = self.model.top(sort, per_page, (number - 1) * per_page)
        name = "home_list.html" if request.query.get("fragment") else "home.html"
        return self.page_html(
            name,
            stories=stories,
            total=total,
            sort=sort,
            page=number,
            pages=max(1, -(-total // per_page)),
            caught_up=self.model.caught_up,
        )


class StoryPage(Base):
    route = "/stories/{story_id}"

    async def get(self, request: Request, story_id: str) -> Response:
        fragment = bool(request.query.get("fragment"))
        entry = self.model.story(story_id)
        if entry is not None and entry.latest.merged_into:
            target = self.model.resolve(story_id)
            if target != story_id and self.model.story(target) is not None:
                suffix = "?fragment=1" if fragment else ""
                raise aioweb.HTTPFound(f"/stories/{target}{suffix}")
        if entry is None:
            return self.page_html(
                "missing.html", status=404, story_id=story_id, caught_up=self.model.caught_up
            )
        return self.page_html(
            "story_main.html" if fragment else "story.html",
            **story_context(entry.latest),
        )


class OpsPage(Base):
    route = "/ops"

    async def get(self, request: Request) -> Response:
        feeds = self.ss.feeds.health() if self.ss.feeds is not None else None
        return self.page_html("ops.html", ops=self.feed.ops(), feeds=feeds)


class Static(Base):
    route = "/static/{name}"

    async def get(self, request: Request, name: str) -> Response:
        found = self.ctx.statics.get(name)
        if found is None:
            return self.error(404, "no such file")
        body, content_type = found
        response = self.bytes(body, content_type=content_type)
        response.headers["Cache-Control"] = "public, max-age=300"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


VIEWS: tuple[type[Base], ...] = (
    Livez,
    Readyz,
    Metrics,
    Stories,
    Story,
    Versions,
    ArticleView,
    Articles,
    Feeds,
    Updates,
    Ops,
    OpenAPI,
    Home,
    StoryPage,
    OpsPage,
    Static,
)


def register_views(ss: Storystream, config: ReadModelConfig | None = None) -> None:
    """Attach the API, live updates, pages, ops dashboard, health and metrics views."""
    app = ss.app
    config = config or ReadModelConfig(
        dormant_after_seconds=ss.cluster_config.dormant_after_seconds
    )
    model = ReadModel(config)
    feed = ReadModelFeed(ss, model)
    _FEEDS[app] = feed
    app.service(feed)
    registry = ss.metrics.registry
    ctx = WebContext(
        ss=ss,
        model=model,
        feed=feed,
        env=templates(),
        statics=static_files(),
        requests_total=Counter(
            "storystream_http_requests",
            "HTTP requests served, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        ),
        request_seconds=Histogram(
            "storystream_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            registry=registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
        ),
    )
    for view in VIEWS:
        app.page(view.route)(type(view.__name__, (view,), {"ctx": ctx}))
