"""Web views on the worker's aiohttp server: JSON API, live updates, story pages, ops, health."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import re
import time
import weakref
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

import orjson
from aiohttp import web as aioweb
from faust.web import Request, Response, View
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram

from agents.readmodel import ReadModel, ReadModelConfig, ReadModelFeed
from schemas import RawArticle, StoryUpdate
from schemas.records import SchemaError

if TYPE_CHECKING:
    from agents.app import Storystream

MAX_ARTICLES_PER_POST = 1000
MAX_PAGE = 100
SSE_HEARTBEAT_SECONDS = 15.0
SSE_MAX_SECONDS = 300.0
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)
_CITATION = re.compile(r"\[(\d{1,4})\]")
_FEEDS: weakref.WeakKeyDictionary[Any, ReadModelFeed] = weakref.WeakKeyDictionary()


def is_ready(ss: Storystream) -> bool:
    """Ready when table recovery has completed and the worker owns partitions."""
    app = ss.app
    recovery = app.tables.recovery
    consumer = app.consumer
    return bool(
        recovery.completed.is_set()
        and not app.rebalancing
        and consumer is not None
        and consumer.assignment()
    )


def feed_of(ss: Storystream) -> ReadModelFeed:
    """The read model feed that ``register_views`` attached to this app."""
    return _FEEDS[ss.app]


# -- rendering helpers ------------------------------------------------------------------------


def safe_url(url: str | None) -> str | None:
    """The URL if it is plain http(s), else None (no javascript: or data: links)."""
    if not url:
        return None
    with contextlib.suppress(ValueError):
        parts = urlsplit(url.strip())
        if parts.scheme in ("http", "https") and parts.netloc:
            return url.strip()
    return None


def when(ts: float | None) -> str:
    """An event time as a short UTC string."""
    if not ts:
        return ""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat() if ts else ""


def cite(text: str, known: set[int] | frozenset[int] = frozenset()) -> Markup:
    """Escape ``text`` and turn its [n] markers into links to the sources list.

    Escaping first means the markers are the only markup in the result; markers that name no
    listed source stay plain text.
    """
    escaped = str(escape(text))

    def link(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if n not in known:
            return match.group(0)
        return f'<a class="cite" href="#source-{n}">[{n}]</a>'

    return Markup(_CITATION.sub(link, escaped))


def citation_links(citations: list[int], known: set[int]) -> Markup:
    return Markup("").join(
        Markup('<a class="cite" href="#source-{0}">[{0}]</a>').format(n)
        for n in citations
        if n in known
    )


def templates() -> Environment:
    env = Environment(
        loader=PackageLoader("agents", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        cite=cite, when=when, iso=iso, safe_url=safe_url, citation_links=citation_links
    )
    return env


def static_files() -> dict[str, tuple[bytes, str]]:
    """The bundled static files with their content types, read once."""
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
    files: dict[str, tuple[bytes, str]] = {}
    for item in (resources.files("agents") / "static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in types:
            files[item.name] = (item.read_bytes(), types[suffix])
    return files


# -- article intake ---------------------------------------------------------------------------


class Rejected(ValueError):
    """A posted article that cannot be accepted; ``str()`` is the reason."""


def check_article(data: Any, where: str, max_body_bytes: int) -> tuple[bytes, str]:
    """Validate one posted raw article; returns its JSON bytes and its key.

    The checks mirror the normalize stage's first ones (schema, id or url, non-empty text,
    size) so a client hears about them at once; anything subtler is still dead-lettered by the
    stage with its reason.
    """
    try:
        raw = RawArticle.from_dict(data, where=where)
    except SchemaError as exc:
        raise Rejected(str(exc)) from exc
    if not ((raw.id and raw.id.strip()) or (raw.url and raw.url.strip())):
        raise Rejected(f"{where}: needs an id or a url")
    if raw.id is not None and len(raw.id) > 512:
        raise Rejected(f"{where}.id: longer than 512 characters")
    if raw.url and safe_url(raw.url) is None:
        raise Rejected(f"{where}.url: not an http(s) URL")
    content = raw.content
    if not content.strip():
        raise Rejected(f"{where}: no text or body")
    if len(content.encode("utf-8", "surrogatepass")) > max_body_bytes:
        raise Rejected(f"{where}: body over {max_body_bytes} bytes")
    try:
        payload = orjson.dumps(data)
    except TypeError as exc:
        raise Rejected(f"{where}: {exc}") from exc
    key = raw.id.strip() if raw.id and raw.id.strip() else str(raw.url).strip()
    return payload, key


def parse_articles(body: bytes, max_body_bytes: int) -> list[tuple[bytes, str]]:
    """Decode a POST body (one object or an array of them) into checked articles."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Rejected(f"body is not JSON: {exc}") from exc
    if isinstance(data, dict):
        return [check_article(data, "article", max_body_bytes)]
    if not isinstance(data, list):
        raise Rejected(f"expected an article object or an array of them, got {_kind(data)}")
    if not data:
        raise Rejected("empty array: no articles")
    if len(data) > MAX_ARTICLES_PER_POST:
        raise Rejected(f"more than {MAX_ARTICLES_PER_POST} articles in one request")
    return [check_article(item, f"article[{i}]", max_body_bytes) for i, item in enumerate(data)]


def _kind(value: Any) -> str:
    return {str: "a string", int: "a number", float: "a number", bool: "a boolean"}.get(
        type(value), "null" if value is None else type(value).__name__
    )


# -- views ------------------------------------------------------------------------------------


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    value = request.query.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise Rejected(f"{name} must be an integer") from exc
    if not low <= number <= high:
        raise Rejected(f"{name} must be between {low} and {high}")
    return number


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
    env = templates()
    statics = static_files()
    registry = ss.metrics.registry
    requests_total = Counter(
        "storystream_http_requests",
        "HTTP requests served, by route template, method and status.",
        ["route", "method", "status"],
        registry=registry,
    )
    request_seconds = Histogram(
        "storystream_http_request_duration_seconds",
        "Time to answer an HTTP request, by route template.",
        ["route"],
        registry=registry,
        buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
    )

    class Base(View):
        """Times every request and answers a Rejected argument with 400."""

        route = ""

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
                    request_seconds.labels(route=self.route).observe(time.perf_counter() - started)
                requests_total.labels(
                    route=self.route, method=request.method, status=str(status)
                ).inc()

        def error(self, status: int, reason: str, **extra: Any) -> Response:
            return self.bytes(
                orjson.dumps({"error": reason, **extra}),
                content_type="application/json",
                status=status,
            )

        def ok(self, document: Any, status: int = 200) -> Response:
            return self.bytes(
                orjson.dumps(document), content_type="application/json", status=status
            )

        def page_html(self, name: str, status: int = 200, **context: Any) -> Response:
            html = env.get_template(name).render(**context)
            return respond(
                html.encode(),
                "text/html; charset=utf-8",
                status,
                {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff"},
            )

    def page(path: str) -> Any:
        def decorate(cls: type[Base]) -> Any:
            cls.route = path
            return app.page(path)(cls)

        return decorate

    # -- health and metrics ------------------------------------------------------------------

    @page("/livez")
    class Livez(Base):
        async def get(self, request: Request) -> Response:
            return self.json({"status": "alive"})

    @page("/readyz")
    class Readyz(Base):
        async def get(self, request: Request) -> Response:
            ready = is_ready(ss)
            return self.json(
                {
                    "status": "ready" if ready else "starting",
                    "read_model": "current" if model.caught_up else "catching up",
                },
                status=200 if ready else 503,
            )

    @page("/metrics")
    class Metrics(Base):
        async def get(self, request: Request) -> Response:
            return respond(ss.metrics.render(), CONTENT_TYPE_LATEST)

    # -- JSON API ----------------------------------------------------------------------------

    @page("/api/stories")
    class Stories(Base):
        async def get(self, request: Request) -> Response:
            try:
                limit = _int_arg(request, "limit", 20, 1, MAX_PAGE)
                offset = _int_arg(request, "offset", 0, 0, 10**9)
            except Rejected as exc:
                return self.error(400, str(exc))
            sort = request.query.get("sort", "recent")
            if sort not in ("recent", "velocity"):
                return self.error(400, "sort must be 'recent' or 'velocity'")
            stories, total = model.top(sort, limit, offset)
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

    @page("/api/stories/{story_id}")
    class Story(Base):
        async def get(self, request: Request, story_id: str) -> Response:
            entry = model.story(story_id)
            if entry is None:
                return self.error(404, "no such story", story_id=story_id)
            return self.bytes(entry.latest_json, content_type="application/json")

    @page("/api/stories/{story_id}/versions")
    class Versions(Base):
        async def get(self, request: Request, story_id: str) -> Response:
            try:
                limit = _int_arg(request, "limit", 20, 1, MAX_PAGE)
                offset = _int_arg(request, "offset", 0, 0, 10**9)
            except Rejected as exc:
                return self.error(400, str(exc))
            if model.story(story_id) is None:
                return self.error(404, "no such story", story_id=story_id)
            kept = model.versions(story_id)
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

    @page("/api/articles/{article_id}")
    class ArticleView(Base):
        async def get(self, request: Request, article_id: str) -> Response:
            assignment = model.article(article_id)
            if assignment is None:
                return self.error(404, "no such article", article_id=article_id)
            return self.ok(
                {
                    "article_id": assignment.article.id,
                    "story_id": model.story_of(article_id),
                    "assigned_story_id": assignment.story_id,
                    "verdict": assignment.verdict,
                    "article": assignment.article,
                }
            )

    @page("/api/articles")
    class Articles(Base):
        async def post(self, request: Request) -> Response:
            token = ss.settings.api_token
            if token:
                given = request.headers.get("Authorization", "")
                expected = f"Bearer {token}"
                if not hmac.compare_digest(given.encode(), expected.encode()):
                    response = self.error(401, "a valid bearer token is required")
                    response.headers["WWW-Authenticate"] = 'Bearer realm="storystream"'
                    return response
            limit = ss.settings.max_body_bytes * 4 + 65536
            body = await request.content.read(limit + 1)
            if len(body) > limit:
                return self.error(413, f"request body over {limit} bytes")
            try:
                articles = parse_articles(body, ss.settings.max_body_bytes)
            except Rejected as exc:
                return self.error(400, str(exc))
            try:
                for payload, key in articles:
                    await ss.send_raw(payload, key)
            except Exception as exc:  # noqa: BLE001 - the broker is away: tell the client
                return self.error(503, f"could not queue the articles: {type(exc).__name__}")
            return self.ok(
                {"accepted": len(articles), "keys": [key for _, key in articles]}, status=202
            )

    @page("/api/updates")
    class Updates(Base):
        async def get(self, request: Request) -> Any:
            wanted = [s for s in request.query.getall("story", []) if s]
            stories = set(wanted) | {model.resolve(s) for s in wanted}
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
                async with model.subscribe(stories) as sub:
                    # A followed story's current version goes first, unless the client says
                    # (Last-Event-ID) it has it: nothing is lost between page load and connect.
                    last_seen = request.headers.get("Last-Event-ID", "")
                    for story_id in sorted({model.resolve(s) for s in wanted}):
                        entry = model.story(story_id)
                        if entry is not None and last_seen != event_id(entry.latest):
                            await response.write(sse_event(entry.latest))
                    while time.monotonic() < deadline and not model.closed:
                        try:
                            update = await asyncio.wait_for(sub.queue.get(), SSE_HEARTBEAT_SECONDS)
                        except TimeoutError:
                            await response.write(b": keep-alive\n\n")
                            continue
                        if update is None:
                            break
                        await response.write(sse_event(update))
            return response

    @page("/api/ops")
    class Ops(Base):
        async def get(self, request: Request) -> Response:
            return self.ok(feed.ops())

    @page("/openapi.json")
    class OpenAPI(Base):
        async def get(self, request: Request) -> Response:
            from agents.openapi import openapi_document

            return self.ok(openapi_document())

    # -- pages -------------------------------------------------------------------------------

    @page("/")
    class Home(Base):
        async def get(self, request: Request) -> Response:
            try:
                number = _int_arg(request, "page", 1, 1, 10**6)
            except Rejected as exc:
                return self.error(400, str(exc))
            sort = request.query.get("sort", "recent")
            sort = sort if sort in ("recent", "velocity") else "recent"
            per_page = 20
            stories, total = model.top(sort, per_page, (number - 1) * per_page)
            name = "home_list.html" if request.query.get("fragment") else "home.html"
            return self.page_html(
                name,
                stories=stories,
                total=total,
                sort=sort,
                page=number,
                pages=max(1, -(-total // per_page)),
                caught_up=model.caught_up,
            )

    @page("/stories/{story_id}")
    class StoryPage(Base):
        async def get(self, request: Request, story_id: str) -> Response:
            fragment = bool(request.query.get("fragment"))
            entry = model.story(story_id)
            if entry is not None and entry.latest.merged_into:
                target = model.resolve(story_id)
                if target != story_id and model.story(target) is not None:
                    suffix = "?fragment=1" if fragment else ""
                    raise aioweb.HTTPFound(f"/stories/{target}{suffix}")
            if entry is None:
                return self.page_html(
                    "missing.html", status=404, story_id=story_id, caught_up=model.caught_up
                )
            return self.page_html(
                "story_main.html" if fragment else "story.html",
                **story_context(entry.latest),
            )

    @page("/ops")
    class OpsPage(Base):
        async def get(self, request: Request) -> Response:
            return self.page_html("ops.html", ops=feed.ops())

    @page("/static/{name}")
    class Static(Base):
        async def get(self, request: Request, name: str) -> Response:
            found = statics.get(name)
            if found is None:
                return self.error(404, "no such file")
            body, content_type = found
            response = self.bytes(body, content_type=content_type)
            response.headers["Cache-Control"] = "public, max-age=300"
            response.headers["X-Content-Type-Options"] = "nosniff"
            return response

    # Unused names keep linters quiet about the classes the decorators registered.
    del Livez, Readyz, Metrics, Stories, Story, Versions, ArticleView, Articles, Ops
    del OpenAPI, Home, StoryPage, OpsPage, Static


def respond(
    body: bytes, content_type: str, status: int = 200, headers: dict[str, str] | None = None
) -> Any:
    """A response whose Content-Type may carry parameters (aiohttp refuses them otherwise)."""
    return aioweb.Response(
        body=body, status=status, headers={"Content-Type": content_type, **(headers or {})}
    )


def event_id(update: StoryUpdate) -> str:
    return f"{update.story_id}:{update.version}"


def sse_event(update: StoryUpdate) -> bytes:
    """One Server-Sent Event carrying a full StoryUpdate."""
    return (
        f"id: {event_id(update)}\nevent: update\n".encode() + b"data: " + update.to_json() + b"\n\n"
    )


def story_context(update: StoryUpdate) -> dict[str, Any]:
    """What the story templates need: the update plus the set of listed source numbers."""
    known = {s.n for s in update.sources}
    return {"u": update, "known": known, "live_story": update.story_id}
