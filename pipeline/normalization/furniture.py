"""Page furniture: captions, bylines, asset ids, share prompts and header lines around a story."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Credits that end a photo caption: "... on Tuesday. (Yonhap)", "(Pool photo via Yonhap)".
_CAPTION_CREDIT = re.compile(
    r"\((?:[^()]{0,40}\b)?(?:photo|photos|pool|yonhap|ap|afp|reuters|getty|epa|xinhua|kyodo|"
    r"newsis|news1|image|images|courtesy|file|credit|illustration|screenshot|capture|"
    r"graphic|video)(?:\b[^()]{0,60})?\)\s*$",
    re.IGNORECASE,
)
_CAPTION_PREFIX = re.compile(
    r"^(?:photo|image|caption|pictured|above|top|file photo)\s*(?::|\||by\b)", re.IGNORECASE
)
_ASSET_ID = re.compile(r"^(?=[A-Z0-9_-]*\d)(?=[A-Z0-9_-]*[A-Z])[A-Z0-9_-]{16,}$|^[0-9a-f-]{24,}$")
_PROMPT = re.compile(
    r"^(?:leave a (?:reply|comment)|post a comment|add a comment|comments?(?: \(\d+\))?|"
    r"\d+ comments?|share(?: this(?: story| article)?)?(?::.*)?|share on \w+|click to share.*|"
    r"tweet|email|print|advertisement|advertise on \w+.*|advertisement \|.*|"
    r"sign up for .{0,80}|subscribe(?: now| to .{0,60})?|follow us(?: on .{0,60})?|"
    r"follow [\w.]+ ?:.{0,80}|read more|read more:.{0,120}|continue reading|"
    r"you (?:may|might) also like|recommended(?: for you)?|most (?:read|popular)|"
    r"skip to (?:main )?content|back to top|view comments|show comments|load comments|"
    r"all rights reserved\.?|copyright .{0,160}|© .{0,160}|\(c\) \d{4}.{0,160})$",
    re.IGNORECASE,
)
_RELATED_HEAD = re.compile(
    r"^(?:related(?: (?:articles?|stories|coverage|content|news|links|posts?))?|"
    r"more (?:on|from) .{0,40}|see also|also read|read also|further reading)\s*:?\s*$",
    re.IGNORECASE,
)
_RELATED_INLINE = re.compile(
    r"^(?:RELATED|READ MORE|ALSO READ|SEE ALSO)\s*[:|]\s*\S", re.IGNORECASE
)
_AUTHOR_LINE = re.compile(
    r"^(?:author|authors|written by|reporter|reported by|by)\s*[:\-]?\s+(.+)$", re.IGNORECASE
)
_ROLE_WORDS = frozenset(
    (
        "publisher", "chairman", "chairwoman", "chair", "editor", "editors", "reporter",
        "reporters",
        "correspondent", "correspondents", "staff", "writer", "writers", "senior", "chief",
        "managing", "executive", "associate", "contributing", "contributor", "columnist",
        "photographer", "photojournalist", "political", "business", "desk", "news", "deputy",
        "international", "foreign", "national", "special", "bureau", "political-editor",
        "editor-in-chief", "president", "ceo", "founder", "the", "our", "by",
    )
)
_NAME_TOKEN = re.compile(r"^[A-Z][\w.'’-]*$")
_TERMINAL = ("." , "!", "?", ":", ";", ",", "\"", "”", "’", "'", ")")


@dataclass(slots=True)
class Furniture:
    """What was taken out of the text, and the body lines that remain."""

    lines: list[str]
    captions: list[str] = field(default_factory=list)
    authors: list[str] = field(default_factory=list)
    title: str | None = None
    subtitle: str | None = None
    section: str | None = None
    removed: int = 0


_NOT_CREDIT = re.compile(r"^\((?:see|read|watch|click|view|listen|more)\b|\.\)$", re.IGNORECASE)


def is_caption(line: str) -> bool:
    """A photo caption: a short line ending in a photo credit, or starting "Photo:"."""
    if len(line) > 400:
        return False
    if line.endswith(")"):
        m = _CAPTION_CREDIT.search(line[-110:])
        if m and not _NOT_CREDIT.search(m.group(0).rstrip()):
            return True
    return bool(_CAPTION_PREFIX.match(line))


def _is_prompt(line: str) -> bool:
    return len(line) <= 200 and bool(_PROMPT.match(line))


def _headline_like(line: str, max_words: int = 20) -> bool:
    """A short line without closing punctuation: a title, label, subtitle or link text."""
    if not line or line.endswith(_TERMINAL) and not line.endswith(("?", "!")):
        return False
    return len(line.split()) <= max_words and len(line) <= 180


# News agencies and desks that sign articles: a byline line, but not a person.
_ORGS = frozenset(
    (
        "associated press", "the associated press", "ap", "reuters", "afp", "agence france-presse",
        "cnn", "bbc", "yonhap", "yonhap news", "kyodo", "xinhua", "bloomberg", "upi", "dpa",
        "staff", "staff reports", "wire reports", "wire services", "news services", "wires",
        "the editorial board", "editorial board", "news desk", "web staff",
        "staff and wire reports",
    )
)
_NAME_PARTICLES = frozenset(("de", "van", "von", "da", "del", "der", "bin", "al", "la", "le"))
# Trailing bits of a byline line: ". CREATED Oct 9", " - UPDATED: ...", " | Outlet", "  Posted".
_BYLINE_TAIL = re.compile(
    r"\.\s+(?=[A-Z]{3,}\b|(?:Posted|Updated|Published|Created)\b)|\s[|/–—-]\s|\s{2,}"
)


def parse_byline(text: str) -> list[str] | None:
    """Names from a byline body: "Publisher-Chairman A, Editor B" -> ["A", "B"].

    Role words (editor, staff writer...) and news agencies ("Associated Press") are dropped;
    all-capital names are title-cased; a name glued to an agency ("MILTONAssociated Press") is
    cut apart. Returns None when the text does not read as a list of names and agencies.
    """
    text = _BYLINE_TAIL.split(text.strip(), maxsplit=1)[0].strip().rstrip(".")
    text = re.sub(r"([A-Z]{2,})([A-Z][a-z])", r"\1 \2", text)
    parts = re.split(r"\s*,\s*|\s+and\s+|\s*&\s*|\s*;\s*", text)
    names: list[str] = []
    for part in parts:
        tokens = part.split()
        while tokens and all(p.lower() in _ROLE_WORDS for p in re.split(r"[-–]", tokens[0]) if p):
            tokens.pop(0)
        while tokens and tokens[-1].lower() in _ROLE_WORDS:
            tokens.pop()
        for n in (4, 3, 2, 1):
            if len(tokens) >= n and " ".join(tokens[-n:]).lower() in _ORGS:
                tokens = tokens[:-n]
                break
        if not tokens:
            continue
        if len(tokens) > 5 or not all(
            _NAME_TOKEN.match(t) or t.lower() in _NAME_PARTICLES for t in tokens
        ):
            return None
        name = " ".join(tokens)
        if name.isupper() and len(tokens) >= 2:
            name = " ".join(t.capitalize() if t.isupper() else t for t in tokens)
        elif len(tokens) == 1 and name.isupper():
            continue  # "AP", "CNN": an agency, not a person
        names.append(name)
    return names


def _byline(line: str) -> list[str] | None:
    """Names when the line is a byline or an "Author:" line (possibly none: "By AP"), else
    None."""
    if len(line) > 160:
        return None
    m = _AUTHOR_LINE.match(line)
    if not m:
        return None
    if line[:2].lower() == "by" and line[:3].lower() != "by ":
        return None
    return parse_byline(m.group(1))


def strip_furniture(lines: list[str], *, have_title: str | None = None) -> Furniture:
    """Split page furniture from body lines.

    The rules are hand-written line patterns: scraped plain text carries no markup to tell
    furniture from body, so the patterns are anchored to whole short lines and body paragraphs
    stay intact.

    Args:
        lines: non-empty, whitespace-normalized lines of the article.
        have_title: the article's given title, if any; a first line repeating it is dropped
            and no title is taken from the text.
    """
    out = Furniture(lines=[])
    lines = _strip_header(lines, out, have_title)
    body: list[str] = []
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        names = _byline(line)
        if names is not None:
            out.authors.extend(names)
            out.removed += 1
            i += 1
            continue
        if is_caption(line):
            out.captions.append(line)
            i += 1
            continue
        if _ASSET_ID.match(line) or _is_prompt(line) or _RELATED_INLINE.match(line):
            out.removed += 1
            i += 1
            continue
        if _RELATED_HEAD.match(line):
            out.removed += 1
            i += 1
            # The related block's link titles: short headline-like lines.
            while i < n and _headline_like(lines[i], 24) and _byline(lines[i]) is None:
                if _is_prompt(lines[i]):
                    break
                out.removed += 1
                i += 1
            continue
        body.append(line)
        i += 1
    # Trailing prompts and headline-like crumbs after the last paragraph (tags, "Share").
    while body and _is_prompt(body[-1]):
        body.pop()
        out.removed += 1
    out.lines = body
    return out


def _strip_header(lines: list[str], out: Furniture, have_title: str | None) -> list[str]:
    """Take a section label, title, subtitle and byline off the top of the text."""
    if not lines:
        return lines
    if have_title is not None:
        if len(lines) > 1 and _same(lines[0], have_title):
            out.removed += 1
            return lines[1:]
        return lines
    # Header block: headline-like lines (at most 4), then a byline or a body paragraph.
    head: list[str] = []
    j = 0
    while j < min(len(lines), 4) and _headline_like(lines[j]) and _byline(lines[j]) is None:
        head.append(lines[j])
        j += 1
    if not head or j >= len(lines):
        return lines
    nxt = lines[j]
    if _byline(nxt) is None and (len(nxt.split()) < 12 or _headline_like(nxt)):
        return lines
    k = 0
    if len(head) >= 2 and len(head[0].split()) <= 3 < len(head[1].split()):
        out.section = head[0]  # "Diplomacy" above the headline
        k = 1
    if len(head[k].split()) < 3:
        out.section = None
        return lines
    out.title = head[k]
    k += 1
    # A deck under the headline; a line ending in . ! ? is more likely the first sentence.
    if k < len(head) and len(head[k].split()) >= 3 and not head[k].endswith((".", "!", "?")):
        out.subtitle = head[k]
        k += 1
    out.removed += k
    return lines[k:]


def _same(a: str, b: str) -> bool:
    def fold(s: str) -> str:
        return re.sub(r"\W+", " ", s).strip().lower()

    return fold(a) == fold(b)
