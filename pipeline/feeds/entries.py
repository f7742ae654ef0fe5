"""Feed lists (one URL a line, or OPML) and feed entries (RSS/Atom parsed by feedparser)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import feedparser

from schemas.records import RawArticle

_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


class FeedError(ValueError):
    """A feed document that is not a readable RSS/Atom feed."""


def parse_feed_list(text: str) -> list[str]:
    """Feed URLs of a feed list: OPML (every outline's ``xmlUrl``) or one URL a line.

    Blank lines and lines starting with ``#`` are skipped; duplicates are kept once, in order.
    OPML is read with the standard library's XML parser (an outline's attribute is all it
    takes; no feed-list library is a dependency).
    """
    urls: list[str] = []
    stripped = text.lstrip()
    if stripped.startswith("<"):
        try:
            root = ET.fromstring(stripped)
        except ET.ParseError as exc:
            raise FeedError(f"not a readable OPML document: {exc}") from exc
        for outline in root.iter("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            if _URL.match(url):
                urls.append(url)
    else:
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                if not _URL.match(line):
                    raise FeedError(f"not a feed URL: {line!r}")
                urls.append(line)
    return list(dict.fromkeys(urls))


@dataclass(slots=True)
class Entry:
    """One feed entry: its identity, link and whatever text the feed carries."""

    key: str  # guid, else link
    link: str | None
    title: str | None
    summary: str
    content: str | None
    published: str | None
    authors: list[str] = field(default_factory=list)

    def needs_page(self, min_chars: int) -> bool:
        """True when the feed carries no full text: the linked page must be fetched."""
        if not self.link:
            return False
        text = self.content if self.content is not None else self.summary
        return len(" ".join(_TAGS.sub(" ", text or "").split())) < min_chars

    def raw_article(self, outlet: str | None, body: str | None = None) -> RawArticle:
        """The entry as a raw article: the fetched page's HTML when given, else its text."""
        content_type = "text/html"
        if body is None:
            body = self.content if self.content is not None else self.summary
            if not _TAGS.search(body):
                content_type = "text/plain"  # a feed's plain-text summary
        return RawArticle(
            id=None,
            url=self.link,
            outlet=outlet,
            title=self.title,
            body=body,
            content_type=content_type,
            published=self.published,
            authors=self.authors,
        )


@dataclass(slots=True)
class ParsedFeed:
    """A feed's title and entries, newest first as the feed lists them."""

    title: str | None
    entries: list[Entry]


def parse_feed(data: bytes, *, content_type: str | None = None) -> ParsedFeed:
    """Parse RSS/Atom bytes (feedparser handles the encodings and the quirks).

    Raises:
        FeedError: the document is not a feed (malformed with no entry to salvage, or an
            HTML page).
    """
    headers = {"content-type": content_type} if content_type else None
    feed = feedparser.parse(data, response_headers=headers)
    entries = [entry for entry in (_entry(e) for e in feed.entries) if entry is not None]
    if not entries and (feed.bozo or not feed.get("version")):
        reason = feed.get("bozo_exception") or "no RSS/Atom document"
        raise FeedError(f"not a readable RSS/Atom feed: {reason}")
    title = feed.feed.get("title") or None
    return ParsedFeed(title=title, entries=entries)


def _entry(e: Any) -> Entry | None:
    link = e.get("link") or None
    key = e.get("id") or link
    if not key:
        return None
    content = e.get("content")
    body = content[0].get("value") if content else None
    return Entry(
        key=str(key),
        link=link,
        title=e.get("title") or None,
        summary=e.get("summary", "") or "",
        content=body or None,
        published=e.get("published") or e.get("updated") or None,
        authors=[a.get("name") for a in e.get("authors", []) if a.get("name")],
    )
