"""Article metadata for the normalize stage: canonical URL, outlet, published time, language."""

from __future__ import annotations

import email.utils
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import courlan

from pipeline.common.text import STOPWORDS

_WORD = re.compile(r"[a-z']+")
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}")


def canonical_url(url: str | None) -> str | None:
    """The canonical form of a URL: lower-case host, no default port, no tracking parameters
    (utm_*, fbclid...), no fragment; meaningful query parameters are kept and sorted.

    Many sites name an article only by a query parameter (``fullpage.html?res=...``,
    ``index.php?sid=...``); dropping every parameter would give all their articles one URL,
    and the dedup stage would take each new article for a revision of the previous one.
    """
    if not url or not url.strip():
        return None
    url = url.strip()
    try:
        canon = courlan.normalize_url(url, strict=False)
    except (ValueError, TypeError):
        canon = url
    return canon.split("#", 1)[0]


@lru_cache(maxsize=1)
def _tld_extractor() -> Any:
    import tldextract

    # The bundled public-suffix snapshot only: no network fetch, no cache directory.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


def outlet_from_url(url: str | None) -> str | None:
    """The URL's registered domain ("news.bbc.co.uk" -> "bbc.co.uk"), offline."""
    if not url:
        return None
    ext = _tld_extractor()(url)
    if hasattr(ext, "top_domain_under_public_suffix"):  # the newer name of registered_domain
        domain = ext.top_domain_under_public_suffix
    else:
        domain = ext.registered_domain
    return domain.lower() or None


DATE_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "pt", "it", "nl", "ko", "ja", "zh")


def parse_published(value: str | None, languages: tuple[str, ...] = DATE_LANGUAGES) -> float | None:
    """Epoch seconds (UTC) from an ISO date, RFC 2822 date or another common written form.

    Naive times are taken as UTC. Fast paths (ISO, RFC 2822) run first; dateparser handles
    the rest, limited to ``languages`` (loading every locale costs seconds). Returns None when
    nothing parses.
    """
    if not value or not value.strip():
        return None
    value = value.strip()
    dt: datetime | None = None
    if _ISO_DAY.match(value):
        try:
            dt = datetime.fromisoformat(value.replace(" UTC", "+00:00"))
        except ValueError:
            dt = None
    if dt is None and ("," in value or re.search(r"[+-]\d{4}$|GMT$", value)):
        try:
            dt = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            dt = None
    if dt is None:
        dt = _dateparser(value, languages)
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _dateparser(value: str, languages: tuple[str, ...]) -> datetime | None:
    import dateparser

    try:
        return dateparser.parse(
            value,
            languages=list(languages),
            settings={
                "TIMEZONE": "UTC",
                "TO_TIMEZONE": "UTC",
                "RETURN_AS_TIMEZONE_AWARE": True,
                "PREFER_DAY_OF_MONTH": "first",
            },
        )
    except (ValueError, OverflowError, TypeError):
        return None


@lru_cache(maxsize=1)
def _lingua() -> Any:
    from lingua import LanguageDetectorBuilder

    # Low-accuracy mode loads in well under a second (high accuracy: ~10 s for all languages)
    # and is reliable on the few hundred characters of prose it is given here.
    return LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()


def detect_language(
    text: str, *, sample_chars: int = 600, english_ratio: float = 0.2, lingua_chars: int = 300
) -> str:
    """ISO 639-1 code of the text's language, "und" when unknown.

    A cheap check answers "en" for mostly-ASCII text whose words are largely English
    stopwords; anything else goes to lingua on the first ``lingua_chars`` characters.
    """
    sample = text[:sample_chars]
    if not sample.strip():
        return "und"
    ascii_share = len(sample.encode("ascii", "ignore")) / len(sample)
    if ascii_share > 0.97:
        tokens = _WORD.findall(sample.lower())
        if len(tokens) >= 8 and sum(t in STOPWORDS for t in tokens) / len(tokens) >= english_ratio:
            return "en"
    lang = _lingua().detect_language_of(sample[:lingua_chars])
    if lang is None:
        return "und"
    return lang.iso_code_639_1.name.lower()
