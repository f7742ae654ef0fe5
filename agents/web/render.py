"""Rendering helpers of the web side: citations as links, times, templates, static files."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web as aioweb
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from schemas import StoryUpdate

_CITATION = re.compile(r"\[(\d{1,4})\]")


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
        loader=PackageLoader("agents.web", "templates"),
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
    for item in (resources.files("agents.web") / "static").iterdir():
        suffix = "." + item.name.rsplit(".", 1)[-1]
        if item.is_file() and suffix in types:
            files[item.name] = (item.read_bytes(), types[suffix])
    return files


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
