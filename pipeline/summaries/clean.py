"""Sentence hygiene for summaries: datelines off; captions, bylines, spam, fragments out."""

from __future__ import annotations

import re

_DATELINE = re.compile(
    r"^(?:[A-Z][A-Z.'’-]+(?:[ ,]+[A-Z][A-Za-z.'’-]+){0,3},?"  # NARA / SEOUL, South Korea
    r"(?:\s*,?\s*[A-Z][a-z]{2,8}\.? \d{1,2})?"  # , Jan. 13
    r"(?:\s*\([A-Za-z .&-]{2,30}\))?"  # (Reuters)
    r"|(?:[A-Z][a-z]{2,8}\.? \d{1,2} )?\([A-Za-z .&-]{2,30}\))"  # (AP) / Jan 13 (Reuters)
    r"\s*(?:[-—–:_]{1,2}|\?)\s+"
)
_MOJIBAKE = re.compile(
    r"â€|Ã[\x80-\xbf¡-ÿ]|Â[\xa0-\xbf]|[¡-¿À-ÿ]{3,}|[\u0080-\u009f]|\ufffd|¡[°¯±]"
)
_FOREIGN_SCRIPT = re.compile(r"[\u0370-\u03ff\u0400-\u04ff\u0590-\u06ff\u0e00-\u0e7f"
                             r"\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u9fff\uac00-\ud7af]")
_CAPTION = re.compile(
    r"(?:\((?:[^()]*(?:Yonhap|Reuters|AFP|AP|EPA|Xinhua|Kyodo|Getty|Photo|photo|Pool|Images|"
    r"file|File|courtesy|Courtesy)[^()]*)\)\s*$)"
    r"|^(?:Photo|Image|Picture|Credit|File photo|Caption|Pictured|Above|Below)\b\s*[:|(-]"
    r"|(?:AP Photo|Getty Images|Photo by|Photograph:|/ AFP|/AFP|Image source)"
)
_BYLINE = re.compile(
    r"^(?:By|BY|Author|Authors|Written by|Reporting by|Editing by|Additional reporting|"
    r"Contact|Reported by)\b[\s:]"
)
_FURNITURE_PHRASES = (
    "leave a reply", "related:", "read more", "read also", "subscribe", "sign up", "click here",
    "all rights reserved", "copyright", "©", "follow us", "share this", "advertisement",
    "newsletter", "cookie", "posted on", "last updated", "updated:", "download the app",
    "terms of use", "privacy policy", "http://", "https://", "www.", "whatsapp",
    "telegram channel",
)
_FURNITURE = re.compile(r"^(?:watch|video|listen):|comments?\s*\(\d+\)|@\w|\bemail\b")
_ID_TOKEN = re.compile(r"\b[A-Z0-9]{12,}\b")
_LOST_DASH = re.compile(r"\w \? \w")
_ENDS = re.compile(r"[.!?…][\"”’'\)\]]*$")
_STARTS = re.compile(r"^[\"“‘'(\[]?[A-Z0-9]")
_QUOTE_OPEN = re.compile(r"^[\"“‘']")
_FUTURE = re.compile(
    r"\b(?:will|shall|is (?:expected|set|scheduled|due|slated|poised) to|"
    r"are (?:expected|set|scheduled|due|slated|poised) to|plans? to|planning to|"
    r"intends? to|to be held|upcoming|ahead of (?:the|their|his|her) (?:summit|meeting|talks|"
    r"visit|vote|trial|hearing))\b",
)
_WS = re.compile(r"\s+")


def strip_dateline(sentence: str) -> str:
    """Drop a leading news dateline ("SEOUL, Jan. 13 (Yonhap) --", "NARA —")."""
    match = _DATELINE.match(sentence)
    if match and match.end() < len(sentence):
        rest = sentence[match.end():]
        if rest[:1].isupper() or rest[:1] in "\"“‘":
            return rest
    return sentence


def clean_sentence(
    sentence: str,
    *,
    min_words: int = 6,
    max_words: int = 55,
    captions: frozenset[str] = frozenset(),
) -> str | None:
    """Return the sentence ready for a summary, or None when it is not summary material.

    Rejected: mojibake or foreign-script spam, captions, bylines, page furniture, ids, URLs,
    fragments (no capital start or terminal punctuation, too short), run-ons and broken quotes.
    """
    text = _WS.sub(" ", sentence).strip()
    if not text or text in captions:
        return None
    text = strip_dateline(text)
    n_words = len(text.split())
    if n_words < min_words or n_words > max_words:
        return None
    if not text.isascii() and (_MOJIBAKE.search(text) or _FOREIGN_SCRIPT.search(text)):
        return None
    if " ? " in text and _LOST_DASH.search(text):
        return None
    low = text.lower()
    if any(p in low for p in _FURNITURE_PHRASES) or _FURNITURE.search(low):
        return None
    if _BYLINE.match(text) or ("(" in text and _CAPTION.search(text)):
        return None
    if any(_is_id(tok) for tok in _ID_TOKEN.findall(text)):
        return None
    if not _ENDS.search(text[-4:]) or not _STARTS.match(text):
        return None
    if text.count('"') % 2 or text.count("“") != text.count("”"):
        return None
    if text.count("(") != text.count(")"):
        return None
    if _shouted(text):
        return None  # shouted page furniture ("STORY CAN END HERE")
    return text


def _shouted(text: str) -> bool:
    """More than half of the letters are capitals."""
    letters = [c for c in text if c.isalpha()]
    return bool(letters) and sum(c.isupper() for c in letters) > 0.5 * len(letters)


def _is_id(token: str) -> bool:
    """An asset id or hash: long, letters mixed with digits, or a very long capital run."""
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    return (has_digit and has_alpha) or len(token) >= 20


def is_caption_paragraph(paragraph: str) -> bool:
    """True for a photo caption or credit paragraph ("... on Tuesday. (Yonhap)")."""
    text = paragraph.strip()
    return bool(_CAPTION.search(text)) or bool(_BYLINE.match(text))


_QUOTED = re.compile(r"[\"“]([^\"“”]*)[\"”]")


def is_quote(sentence: str) -> bool:
    """True for a sentence that opens with a direct quotation or is mostly one."""
    if _QUOTE_OPEN.match(sentence):
        return True
    quoted = sum(len(m.group(1)) for m in _QUOTED.finditer(sentence))
    return quoted > 0.5 * len(sentence)


def is_future(sentence: str) -> bool:
    """True for a sentence about something still to happen ("will", "is expected to")."""
    return bool(_FUTURE.search(sentence.lower()))
