"""HTML input: the main text of a news page and its metadata, by trafilatura."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SPLIT_AUTHORS = re.compile(r"\s*(?:;|,|\band\b|&)\s*")


@dataclass(slots=True)
class Page:
    """What an HTML page yields: body text (paragraphs by line), title, authors, date, captions."""

    text: str
    title: str | None = None
    authors: list[str] = field(default_factory=list)
    date: str | None = None
    captions: list[str] = field(default_factory=list)


def extract(html: str, *, url: str | None = None) -> Page | None:
    """Extract the article from an HTML page; None when no main text is found."""
    import trafilatura
    from lxml import html as lxml_html

    doc = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        favor_precision=True,
        deduplicate=False,
        date_extraction_params={
            "extensive_search": True,
            "original_date": True,
            "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        },
    )
    if doc is None:
        return None
    data = doc if isinstance(doc, dict) else doc.as_dict()
    text = data.get("text") or ""
    if not text.strip():
        return None
    captions: list[str] = []
    try:
        tree = lxml_html.fromstring(html)
        for node in tree.iter("figcaption"):
            cap = " ".join(node.text_content().split())
            if cap:
                captions.append(cap)
    except (ValueError, TypeError):  # lxml raises ValueError on some odd documents
        pass
    if captions:
        caps = set(captions)
        text = "\n".join(line for line in text.split("\n") if " ".join(line.split()) not in caps)
    author = data.get("author") or ""
    authors = [a.strip() for a in _SPLIT_AUTHORS.split(author) if a.strip()] if author else []
    return Page(
        text=text,
        title=data.get("title") or None,
        authors=authors,
        date=data.get("date") or None,
        captions=captions,
    )
