"""What the API accepts: posted raw articles and query arguments, checked before use."""

from __future__ import annotations

from typing import Any

import orjson
from faust.web import Request

from agents.web.render import safe_url
from schemas import RawArticle
from schemas.records import SchemaError

MAX_ARTICLES_PER_POST = 1000


class Rejected(ValueError):
    """A posted article that cannot be accepted; ``str()`` is the reason."""


class TooLarge(Rejected):
    """A posted article whose body is over the size limit (answered with 413)."""


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
        raise TooLarge(f"{where}: body over {max_body_bytes} bytes")
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


def int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
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


async def read_body(request: Request, limit: int) -> bytes | None:
    """The whole request body, or None when it is longer than ``limit`` bytes.

    One read returns only what has arrived so far; this reads to the end and stops as soon as
    the limit is passed (a declared Content-Length over it is refused before reading).
    """
    declared = request.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


MAX_FEEDS_PER_POST = 1000


def parse_feed_urls(body: bytes) -> list[str]:
    """Decode a ``POST /api/feeds`` body, ``{"url": U}`` or ``{"urls": [U, ...]}``, into
    distinct http(s) feed urls."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Rejected(f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise Rejected(f"body must be a JSON object, not {_kind(data)}")
    if "urls" in data:
        urls = data["urls"]
        if not isinstance(urls, list) or not urls:
            raise Rejected("urls: must be a non-empty array of feed urls")
    elif "url" in data:
        urls = [data["url"]]
    else:
        raise Rejected("needs url or urls")
    if len(urls) > MAX_FEEDS_PER_POST:
        raise Rejected(f"urls: more than {MAX_FEEDS_PER_POST}")
    out: list[str] = []
    for n, url in enumerate(urls):
        if not isinstance(url, str) or len(url) > 2048 or safe_url(url.strip()) is None:
            raise Rejected(f"urls[{n}]: not an http(s) URL")
        out.append(url.strip())
    return list(dict.fromkeys(out))
