"""The normalize stage: a raw scraped article in, a clean Article with its metadata out."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

from pipeline.common.errors import BadInput
from pipeline.common.text import split_sentences, stable_hash, words
from pipeline.normalization import encoding, furniture, metadata, spam
from schemas.records import Article, RawArticle, SchemaError

__all__ = ["NormalizeConfig", "normalize", "parse_raw"]


@dataclass(frozen=True)
class NormalizeConfig:
    """Tuning values of the normalize stage.

    Attributes:
        max_body_bytes: bodies larger than this (UTF-8 bytes) are rejected as bad input.
        lede_max_chars: the lede is the first sentences of the first paragraph, up to this.
        title_max_chars: a title taken from the text is cut to this many characters.
        lang_sample_chars: language identification looks at this many leading characters.
        english_stopword_ratio: share of English stopwords that lets mostly-ASCII text skip
            the language identifier and be called "en".
        repair_encoding: undo mojibake (UTF-8 read as cp1252; legacy CJK through Latin-1).
        remove_spam: drop injected foreign-script and keyword spam and rejoin split words.
        strip_furniture: take captions, bylines, asset ids, prompts and related blocks out.
        html_min_text_chars: an HTML page whose extracted text is shorter is bad input.
        date_languages: languages dateparser tries on a published date that is neither ISO
            nor RFC 2822.
        legacy_max_chars: texts longer than this skip the legacy CJK repair (it reads about
            400k characters/s).
    """

    max_body_bytes: int = 2_000_000
    lede_max_chars: int = 320
    title_max_chars: int = 160
    lang_sample_chars: int = 600
    english_stopword_ratio: float = 0.2
    repair_encoding: bool = True
    remove_spam: bool = True
    strip_furniture: bool = True
    html_min_text_chars: int = 1
    date_languages: tuple[str, ...] = metadata.DATE_LANGUAGES
    legacy_max_chars: int = 400_000


DEFAULT_CONFIG = NormalizeConfig()

_HTML_START = re.compile(r"^\s*(?:<!--.*?-->\s*)*(?:<!doctype\s+html|<html[\s>]|<head[\s>])",
                         re.IGNORECASE | re.DOTALL)
_TITLE_SUFFIX = re.compile(r"\s+[|\-–—:]\s+([^|\-–—:]{2,40})$")
_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff\u00ad\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalize_message(
    message: bytes | RawArticle, *, received_at: float, config: NormalizeConfig | None = None
) -> Article:
    """A raw article (or its JSON bytes, parsed first), normalized; raises BadInput as
    :func:`parse_raw` and :func:`normalize` do."""
    raw = message if isinstance(message, RawArticle) else parse_raw(message)
    return normalize(raw, received_at=received_at, config=config)


def parse_raw(payload: bytes) -> RawArticle:
    """Decode a raw article from JSON bytes.

    Raises:
        BadInput: undecodable bytes, text that is not JSON, JSON that is not an object, or an
            object whose fields do not fit RawArticle.
    """
    if isinstance(payload, bytes | bytearray | memoryview):
        try:
            bytes(payload).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"undecodable bytes: not UTF-8 ({exc.reason} at {exc.start})") from exc
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise BadInput(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise BadInput(f"not a JSON object: got {type(data).__name__}")
    try:
        return RawArticle.from_dict(data)
    except SchemaError as exc:
        raise BadInput(f"schema error: {exc}") from exc


def normalize(
    raw: RawArticle, *, received_at: float, config: NormalizeConfig | None = None
) -> Article:
    """Turn a raw article into a normalized Article.

    Raises:
        BadInput: no id and no url, empty or whitespace-only text, a body over
            ``config.max_body_bytes``, or nothing left once furniture is removed.
    """
    cfg = config or DEFAULT_CONFIG
    if not (raw.id and str(raw.id).strip()) and not (raw.url and raw.url.strip()):
        raise BadInput("missing both id and url")
    content = raw.content
    if not isinstance(content, str):
        raise BadInput("text is not a string")
    if len(content) > cfg.max_body_bytes or (
        len(content) * 4 > cfg.max_body_bytes
        and len(content.encode("utf-8", "surrogatepass")) > cfg.max_body_bytes
    ):
        raise BadInput(f"body over {cfg.max_body_bytes} bytes")
    if not content.strip():
        raise BadInput("empty text")

    url = metadata.canonical_url(raw.url)
    repairs: list[str] = []
    title = raw.title.strip() if raw.title and raw.title.strip() else None
    authors = [a.strip() for a in raw.authors if a and a.strip()]
    published_text = raw.published
    ctype = (raw.content_type or "").lower()

    if "html" in ctype or _looks_like_html(content):
        from pipeline.normalization import html

        page = html.extract(content, url=raw.url)
        if page is None or len(page.text.strip()) < cfg.html_min_text_chars:
            raise BadInput("no article text found in the HTML page")
        content = page.text
        title = title or page.title
        if not authors:
            authors = page.authors
        published_text = published_text or page.date
        repairs.append("html_extracted")
        captions_html = page.captions
    else:
        captions_html = []

    text = content
    if not text.isascii():
        if cfg.repair_encoding and encoding.needs_repair(text):
            fixed = encoding.repair_text(text, legacy_max_chars=cfg.legacy_max_chars)
            text = fixed.text
            repairs.extend(fixed.repairs)
        # Zero-width characters, soft hyphens and stray controls (after the repair: a soft
        # hyphen may be half of a mojibake pair).
        text = _INVISIBLE.sub("", text)
    raw_lines = text.splitlines()
    if cfg.remove_spam:
        cleaned = spam.remove_spam(raw_lines)
        if cleaned.removed:
            raw_lines = cleaned.lines
            repairs.append(f"spam_removed:{cleaned.removed}")
            if cleaned.rejoined:
                repairs.append(f"words_rejoined:{cleaned.rejoined}")
    lines = [" ".join(line.split()) for line in raw_lines]
    blank = sum(1 for line in lines if not line) - sum(1 for line in raw_lines if not line)
    lines = [line for line in lines if line]
    if blank:
        repairs.append(f"blank_paragraphs:{blank}")

    subtitle = None
    captions = list(captions_html)
    if cfg.strip_furniture:
        furn = furniture.strip_furniture(lines, have_title=title)
        lines = furn.lines
        captions.extend(furn.captions)
        for name in furn.authors:
            if name not in authors:
                authors.append(name)
        subtitle = furn.subtitle
        if title is None and furn.title:
            title = furn.title
        if furn.captions:
            repairs.append(f"captions:{len(furn.captions)}")
        if furn.authors:
            repairs.append(f"byline:{len(furn.authors)}")
        if furn.removed:
            repairs.append(f"furniture_removed:{furn.removed}")
    if not lines:
        raise BadInput("no article text left after removing page furniture")

    clean = "\n".join(lines)
    outlet = (raw.outlet or "").strip() or metadata.outlet_from_url(url) or "unknown"
    if title is not None:
        if cfg.repair_encoding and encoding.needs_repair(title):
            title = encoding.repair_text(title).text
        title = _clean_title(title, outlet)
    else:
        title = _title_from_text(lines, cfg.title_max_chars)

    published = metadata.parse_published(published_text, cfg.date_languages)
    source = "given"
    if published is None:
        published = float(received_at)
        source = "received"

    article_id = str(raw.id).strip() if raw.id and str(raw.id).strip() else stable_hash(url or "")
    return Article(
        id=article_id,
        url=url,
        outlet=outlet,
        title=title,
        text=clean,
        lang=metadata.detect_language(
            clean, sample_chars=cfg.lang_sample_chars, english_ratio=cfg.english_stopword_ratio
        ),
        published=published,
        published_source=source,
        subtitle=subtitle,
        lede=_lede(lines, cfg.lede_max_chars),
        authors=authors,
        captions=captions,
        word_count=len(words(clean)),
        content_hash=stable_hash(clean),
        repairs=repairs,
    )


_HTML_TAG = re.compile(r"</?(?:p|div|article|section|span|a|br|h[1-6]|figure|li)\b[^>]*>", re.I)


def _looks_like_html(content: str) -> bool:
    """An HTML document (doctype, <html>, <head>) or a fragment dense with block tags."""
    head = content[:2000].lstrip()
    if not head.startswith("<"):
        return False
    if _HTML_START.match(head):
        return True
    return len(_HTML_TAG.findall(content[:20000])) >= 6


def _clean_title(title: str, outlet: str) -> str:
    """Whitespace-fold a given title and drop a trailing " | Outlet" / " - Outlet" suffix."""
    title = " ".join(title.split())
    m = _TITLE_SUFFIX.search(title)
    if m:
        suffix = m.group(1).strip()
        key = re.sub(r"\W", "", suffix.lower())
        outlet_key = re.sub(r"\W", "", outlet.lower().rsplit(".", 1)[0])
        if key and (
            key in outlet_key
            or outlet_key in key
            or (m.group(0).lstrip()[0] == "|" and len(suffix.split()) <= 4)
        ):
            title = title[: m.start()].rstrip()
    return title


_DATELINE = re.compile(r"^[A-Z][A-Z .,'’]{1,40}(?:\([^)]{1,30}\))?\s*[—–-]+\s+(?=\S)")


def _title_from_text(lines: list[str], max_chars: int) -> str:
    """A title from the text: its first sentence without a dateline, cut at a word boundary."""
    first = split_sentences(_DATELINE.sub("", lines[0]))
    title = first[0] if first else lines[0]
    if len(title) > max_chars:
        title = title[:max_chars].rsplit(" ", 1)[0] + "…"
    return title


def _lede(lines: list[str], max_chars: int) -> str:
    """The first sentences of the first paragraph that reads as prose."""
    para = next((line for line in lines if len(line.split()) >= 8), lines[0])
    lede = ""
    for sentence in split_sentences(para):
        if lede and len(lede) + 1 + len(sentence) > max_chars:
            break
        lede = f"{lede} {sentence}".strip()
    if len(lede) > max_chars:
        lede = lede[:max_chars].rsplit(" ", 1)[0] + "…"
    return lede
