"""A polite HTTP client for feeds and pages (aiohttp).

One request at a time per host (scheme, host and port) with a minimum delay between them,
robots.txt respected (the standard library's parser, fetched through the same client), a
User-Agent naming the project, conditional GET, a total timeout, a size limit and a redirect
limit. Page bytes become text by w3lib's ``html_to_unicode`` (charset from the headers, a byte
order mark or the page's meta tag, else detected by charset-normalizer).
"""

from __future__ import annotations

import asyncio
import time
import urllib.robotparser
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from charset_normalizer import from_bytes
from w3lib.encoding import html_to_unicode

USER_AGENT = "storystream-feed-fetcher/0.1 (+https://github.com/storystream/storystream)"
ROBOTS_AGENT = "storystream"


@dataclass(frozen=True)
class FetchConfig:
    """Tuning values of the client (from Settings)."""

    user_agent: str = USER_AGENT
    timeout: float = 15.0
    connect_timeout: float = 5.0
    max_bytes: int = 2_000_000
    max_redirects: int = 5
    host_delay: float = 1.0
    robots_ttl: float = 3600.0
    robots_error_ttl: float = 300.0


class FetchError(Exception):
    """A fetch that failed; ``kind`` names the failure for metrics and ops."""

    def __init__(
        self,
        kind: str,
        detail: str = "",
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.status, self.retry_after = kind, status, retry_after

    @property
    def permanent(self) -> bool:
        """A failure that asking again will not cure (robots, 4xx other than 408/429)."""
        if self.kind == "robots":
            return True
        return self.status is not None and 400 <= self.status < 500 and self.status not in (
            408,
            429,
        )


@dataclass(slots=True)
class Response:
    """A fetched resource: status, final url, headers that matter, the body bytes."""

    status: int
    url: str
    body: bytes = b""
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    seconds: float = 0.0

    def text(self) -> str:
        """The body as text: declared charset (header, BOM, meta), else detected."""
        _, text = html_to_unicode(
            f"text/html; charset={self._header_charset()}" if self._header_charset() else None,
            self.body,
            auto_detect_fun=_detect,
        )
        return text

    def _header_charset(self) -> str | None:
        if not self.content_type or "charset=" not in self.content_type.lower():
            return None
        value = self.content_type.lower().split("charset=", 1)[1].split(";")[0]
        return value.strip().strip("\"'") or None


def _detect(data: bytes) -> str | None:
    best = from_bytes(data[:65536]).best()
    return best.encoding if best is not None else None


def host_of(url: str) -> str:
    """The politeness key of a url: scheme, host and port."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass
class _Host:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    robots_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    ready_at: float = 0.0
    robots: urllib.robotparser.RobotFileParser | None = None
    robots_until: float = 0.0


class PoliteClient:
    """Fetches urls one at a time per host, with a delay, within robots.txt."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config or FetchConfig()
        self._hosts: dict[str, _Host] = {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> PoliteClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            cfg = self.config
            self._session = aiohttp.ClientSession(
                headers={"User-Agent": cfg.user_agent},
                timeout=aiohttp.ClientTimeout(total=cfg.timeout, sock_connect=cfg.connect_timeout),
                connector=aiohttp.TCPConnector(limit=256, ttl_dns_cache=300),
                auto_decompress=True,
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def get(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> Response:
        """GET ``url`` politely; 304 comes back as a Response with status 304.

        Raises:
            FetchError: robots.txt disallows it, a timeout, a connection error, too many
                redirects, a body over the size limit, or an HTTP error status.
        """
        if not await self.allowed(url):
            raise FetchError("robots", f"robots.txt disallows {url}")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._polite_get(url, headers)

    async def allowed(self, url: str) -> bool:
        """Whether robots.txt of the url's host lets this client fetch it.

        Raises:
            FetchError: the host does not answer at all (connect or timeout).
        """
        host = self._host(url)
        if host.robots is None or time.monotonic() >= host.robots_until:
            async with host.robots_lock:  # one robots.txt request for concurrent first fetches
                await self._load_robots(url, host)
        assert host.robots is not None
        return host.robots.can_fetch(ROBOTS_AGENT, url)

    async def _load_robots(self, url: str, host: _Host) -> None:
        now = time.monotonic()
        if host.robots is None or now >= host.robots_until:
            parser = urllib.robotparser.RobotFileParser()
            ttl = self.config.robots_ttl
            try:
                resp = await self._polite_get(host_of(url) + "/robots.txt", {}, robots=True)
                parser.parse(resp.text().splitlines())
            except FetchError as exc:
                if exc.status is None and exc.kind in ("connect", "timeout"):
                    raise  # the host does not answer: that is the failure to report
                if exc.status is not None and 400 <= exc.status < 500:
                    parser.parse([])  # no robots.txt: everything is allowed
                else:
                    # Unreachable robots.txt: assume a full disallow for a while (RFC 9309).
                    parser.parse(["User-agent: *", "Disallow: /"])
                    ttl = self.config.robots_error_ttl
            host.robots, host.robots_until = parser, time.monotonic() + ttl

    def _host(self, url: str) -> _Host:
        key = host_of(url)
        host = self._hosts.get(key)
        if host is None:
            host = self._hosts[key] = _Host()
        return host

    async def _polite_get(
        self, url: str, headers: dict[str, str], robots: bool = False
    ) -> Response:
        host = self._host(url)
        async with host.lock:
            wait = host.ready_at - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            try:
                return await self._get(url, headers, robots)
            finally:
                host.ready_at = time.monotonic() + self.config.host_delay

    async def _get(self, url: str, headers: dict[str, str], robots: bool) -> Response:
        cfg = self.config
        started = time.perf_counter()
        try:
            async with self.session().get(
                url, headers=headers, max_redirects=cfg.max_redirects, allow_redirects=True
            ) as resp:
                if resp.status == 304:
                    return Response(304, str(resp.url), seconds=time.perf_counter() - started)
                if resp.status >= 400:
                    raise FetchError(
                        _status_kind(resp.status),
                        f"HTTP {resp.status}",
                        status=resp.status,
                        retry_after=_retry_after(resp.headers.get("Retry-After")),
                    )
                limit = 512_000 if robots else cfg.max_bytes
                declared = resp.content_length
                if declared is not None and declared > limit:
                    raise FetchError("too_large", f"{declared} bytes declared")
                chunks: list[bytes] = []
                size = 0
                async for chunk in resp.content.iter_chunked(65536):
                    size += len(chunk)
                    if size > limit:
                        raise FetchError("too_large", f"over {limit} bytes")
                    chunks.append(chunk)
                return Response(
                    resp.status,
                    str(resp.url),
                    b"".join(chunks),
                    content_type=resp.headers.get("Content-Type"),
                    etag=resp.headers.get("ETag"),
                    last_modified=resp.headers.get("Last-Modified"),
                    seconds=time.perf_counter() - started,
                )
        except FetchError:
            raise
        except aiohttp.TooManyRedirects as exc:
            raise FetchError("redirects", f"more than {cfg.max_redirects} redirects") from exc
        except TimeoutError as exc:
            raise FetchError("timeout", f"no answer within {cfg.timeout:g}s") from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise FetchError("connect", type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise FetchError("http", f"{type(exc).__name__}: {exc}") from exc


def _status_kind(status: int) -> str:
    return "http_5xx" if status >= 500 else "http_4xx"


def _retry_after(value: Any) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
