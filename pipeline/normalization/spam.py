"""Injected spam: foreign-script and keyword runs at line starts, and the words they split."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from pipeline.common.text import STOPWORDS

_HANGUL = "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff"
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u2e80-\u2fdf"
_KANA = "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_CJK_PUNCT = "\u3000-\u303f\uff01-\uff65"
_FOREIGN = _HANGUL + _HAN + _KANA
# Left-over single-byte mojibake may cling to a run whose bytes did not all decode.
_CLING = "\u00a1-\u00ff\u0152-\u0192\u02c6\u02dc"
# Digits belong to a run only between foreign characters ("바다신2게임"), never at its end:
# a run prefixed to "17-year-old" must leave the number.
_RUN = re.compile(
    f"^(?:[{_FOREIGN}{_CJK_PUNCT}]|[0-9{_CLING}](?=[0-9{_CLING}]*[{_FOREIGN}]))"
    f"(?:[{_FOREIGN}{_CJK_PUNCT}{_CLING}]|[0-9]+(?=[{_FOREIGN}]))*"
)
_LATIN_LETTER = re.compile(r"[A-Za-z\u00c0-\u024f]")
_FOREIGN_CHAR = re.compile(f"[{_FOREIGN}]")

# Gambling/casino/SEO keywords that mark a run or short line as spam in any language.
SPAM_KEYWORDS: tuple[str, ...] = (
    # Korean
    "카지노", "바카라", "토토", "릴게임", "바다이야기", "슬롯", "야마토", "게임몰", "먹튀", "경마",
    "파칭코", "홀덤", "배팅", "온라인게임", "사설",
    # Chinese
    "娱乐", "博彩", "彩票", "赌场", "赌博", "百家乐", "老虎机", "棋牌", "六合彩", "时时彩", "真人",
    "葡京", "澳门", "体育投注", "娛樂", "博彩網",
    # Japanese
    "カジノ", "パチンコ", "スロット", "オンライン", "ボーナス", "競馬", "パチスロ", "ギャンブル",
    # Latin SEO/gambling
    "casino", "slot gacor", "slot online", "togel", "judi", "poker online", "sbobet", "baccarat",
    "sportsbook", "betting tips", "viagra", "cialis", "escort",
)
_LATIN_SPAM = re.compile(
    r"\b(?:casino|slot gacor|slot online|togel|judi|poker online|sbobet|baccarat|sportsbook|"
    r"bet365|jackpot|viagra|cialis|escort|payday loans?|crypto signals?)\b",
    re.IGNORECASE,
)
# Substrings that must occur before the keyword pattern is worth running.
_LATIN_KEYS = ("casino", "slot", "togel", "judi", "poker", "sbobet", "baccarat", "sportsbook",
               "bet365", "jackpot", "viagra", "cialis", "escort", "payday", "crypto")
_WORDS = re.compile(r"[A-Za-z]+")
_SENTENCE_END = tuple(".!?:;\"”’)]…")
_CONTRACTIONS = frozenset({"s", "m", "t", "d", "re", "ve", "ll"})


@dataclass(slots=True)
class SpamResult:
    """Lines without spam, how many spam runs were removed and how many words rejoined."""

    lines: list[str]
    removed: int = 0
    rejoined: int = 0
    runs: list[str] = field(default_factory=list)


def main_script(text: str) -> str:
    """"latin", "hangul", "han", "kana" or "other": the script most letters belong to."""
    counts = Counter()
    sample = text[:4000]
    counts["latin"] = len(_LATIN_LETTER.findall(sample))
    counts["hangul"] = len(re.findall(f"[{_HANGUL}]", sample))
    counts["kana"] = len(re.findall(f"[{_KANA}]", sample))
    counts["han"] = len(re.findall(f"[{_HAN}]", sample))
    if counts["kana"]:
        # Japanese text mixes kana and kanji.
        counts["kana"] += counts.pop("han") if counts["kana"] * 5 > counts["han"] else 0
    script, n = counts.most_common(1)[0]
    return script if n else "other"


def _has_keyword(run: str) -> bool:
    low = run.lower()
    return any(k in low for k in SPAM_KEYWORDS)


def _spam_position(run: str, rest: str) -> bool:
    """Whether a foreign-script run at a line start sits where injected spam sits.

    Spam is glued to the text ("<run>President"), or followed by one space and the rest of a
    split word ("<run> p” through"), or stands alone. A short run followed by a space and a
    capital, bracket, quote or digit reads as a name or quoted word ("習近平 (Xi Jinping)
    said"), and is kept unless it holds a gambling keyword.
    """
    if _has_keyword(run) or not rest.strip():
        return len(run) >= 5 or _has_keyword(run)
    if not rest[0].isspace():
        return True
    body = rest.lstrip()
    if body[0].islower():
        return True
    return len(run) >= 5


def _same_script_spam(run: str, rest: str) -> bool:
    """A keyword run in the article's own script is spam only when it stands alone on its line
    or is glued to Latin text: "카지노 업계는..." in a Korean article is news about casinos."""
    if not _has_keyword(run):
        return False
    rest = rest.strip()
    return not rest or bool(_LATIN_LETTER.match(rest))


def _foreign_to(run: str, script: str) -> bool:
    """True when the run's letters are in a script the article is not written in."""
    if script == "latin":
        return bool(_FOREIGN_CHAR.search(run))
    if script == "hangul":
        return bool(re.search(f"[{_HAN}{_KANA}]", run)) and not re.search(f"[{_HANGUL}]", run)
    if script == "kana":
        return bool(re.search(f"[{_HANGUL}]", run))
    if script == "han":
        return bool(re.search(f"[{_HANGUL}{_KANA}]", run))
    return False


def remove_spam(lines: list[str]) -> SpamResult:
    """Drop spam runs at line starts and rejoin the words they split.

    Hand-written because the pattern is positional: spam injectors prepend a run to a line
    (often breaking a word of the previous line), while legitimate non-Latin names and quotes
    sit inside sentences, after a space or an opening quote or bracket. Only runs at the very
    start of a line are candidates; a run is removed when its script is foreign to the article
    and it sits where spam sits (see ``_spam_position``), or when it holds a gambling keyword
    and stands alone or glued to Latin text.

    Args:
        lines: the article's raw lines (whitespace not yet folded: a trailing space on the
            previous line tells a split between words from a split inside a word).
    """
    text = "\n".join(lines)
    # Cheap check first: a run can only start a line with a non-ASCII character or a digit.
    if not any(_RUN.match(line.lstrip()) for line in lines if line and not line[0].isalpha()
               or line and not line[0].isascii()):
        low = text.lower()
        if not any(k in low for k in _LATIN_KEYS) or not _LATIN_SPAM.search(text):
            return SpamResult(lines=lines)
        return _remove_latin_spam_lines(lines)
    script = main_script(text)
    result = SpamResult(lines=[])
    pending: list[tuple[int, str]] = []  # (index in out, rest) of lines that lost a run
    out: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        m = _RUN.match(stripped)
        run = m.group(0) if m else ""
        rest = stripped[len(run) :]
        if run and (
            (_foreign_to(run, script) and _spam_position(run, rest)) or _same_script_spam(run, rest)
        ):
            result.removed += 1
            result.runs.append(run)
            if not rest.strip():
                continue
            out.append(rest)
            pending.append((len(out) - 1, rest))
            continue
        if _LATIN_SPAM.search(line) and _is_keyword_line(line, script):
            result.removed += 1
            result.runs.append(line.strip())
            continue
        out.append(line)
    if not result.removed:
        return SpamResult(lines=lines)
    vocab = Counter(w.lower() for line in out for w in _WORDS.findall(line))
    merged: list[str] = []
    joins = {idx for idx, _ in pending}
    for idx, line in enumerate(out):
        if idx in joins and merged:
            joined = _rejoin(merged[-1], line, vocab)
            if joined is not None:
                merged[-1] = joined
                result.rejoined += 1
                continue
            line = line.lstrip()
        merged.append(line)
    result.lines = merged
    return result


def _is_keyword_line(line: str, script: str) -> bool:
    """A short line made of gambling/SEO keywords (never a sentence of the article)."""
    words = line.split()
    if len(words) > 12 or line.rstrip().endswith((".", "!", "?", "”", '"')):
        return False
    return len(_LATIN_SPAM.findall(line)) >= 2 or script != "latin"


@lru_cache(maxsize=1)
def _zipf_fn() -> Callable[[str], float]:
    """wordfreq's English Zipf frequency; without wordfreq, stopwords only (a degraded mode
    that still never crashes the stage)."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:  # pragma: no cover - wordfreq is a declared dependency
        return lambda w: 6.0 if w in STOPWORDS else 0.0
    return lambda w: zipf_frequency(w, "en")


def _zipf(word: str) -> float:
    return _zipf_fn()(word)


def _rejoin(prev: str, rest: str, vocab: Counter[str]) -> str | None:
    """Join a line that lost its leading spam run to the line before, or None to keep it apart.

    The run split the sentence when the previous line stops on a letter or digit (no closing
    punctuation) and the rest goes on after at most one space. The pieces are glued without a
    space when the glued form is a word (wordfreq, or the article spells it elsewhere:
    "relationshi / p", "gener / ative", "Mc / Dermott"), or when a piece is no word on its own;
    they keep a space when both pieces are words and the glued form is not ("the / workers").
    Capitals decide some cases first: "Medical / Center" (two words), "RE / LEASE" (one),
    "FMC / following" (two); a capitalised piece inside a sentence counts as a word (a name).
    """
    if not prev or prev.endswith(_SENTENCE_END):
        return None
    if prev.endswith(" "):
        return prev + rest.lstrip()
    if not prev[-1].isalnum():
        return None
    body = rest[1:] if rest.startswith(" ") else rest
    if not body or body[0].isspace():
        return None
    if not rest.startswith(" ") and not body[0].islower():
        return None  # a run prefixed to a new paragraph ("<run>President", "<run>2. Arsenal")
    left = re.search(r"[A-Za-z]+(?:['’][A-Za-z]+)?$", prev)
    right = re.match(r"[A-Za-z]+", body)
    if left and right:
        piece = left.group(0)
        a, b = piece.lower().replace("’", "'"), right.group(0).lower()
        if vocab[(a + b).replace("'", "")] > 0 and "'" not in a:
            return prev + body  # the article spells the whole word elsewhere ("McDermott")
        if body[0].isupper() and not body[: len(right.group(0))].isupper():
            # "Medical / Center", "RB / Peyton": a capitalised word starts; "Mc / Dermott" not.
            return prev + body if piece in ("Mc", "Mac") else f"{prev} {body}"
        if "'" in a or (len(piece) >= 2 and piece.isupper() and body[0].islower()):
            return f"{prev} {body}"  # "We’re / tired", "FMC / following"
        if a in _CONTRACTIONS and prev[: left.start()].rstrip().endswith(("'", "’")):
            return f"{prev} {body}"  # "I’ m / hosting": a tokenized contraction ends a word
        word_b = right.group(0)
        if piece.islower() and len(word_b) >= 2 and word_b.isupper():
            return f"{prev} {body}"  # "via / WSOTV": an acronym starts after a word
        if piece[-1].isupper() and not piece.isupper():
            return prev + body  # "ShotS / potter": a cut inside a CamelCase word
        before = prev[: left.start()].rstrip()
        # A capitalised piece inside a sentence: a name, which wordfreq may not know.
        name = (
            piece[0].isupper()
            and not piece.isupper()
            and bool(before)
            and not before.endswith(_SENTENCE_END)
        )
        za, zb, zab = _zipf(a), _zipf(b), _zipf(a + b)
        ab_word = zab >= 3.0 or (zab >= 1.5 and zab >= min(za, zb) - 2.0)
        if ab_word or len(b) == 1 or (len(a) == 1 and a not in ("a", "i")):
            return prev + body
        a_word = za >= 2.0 or vocab[a] > 1 or name
        if name:
            b_word = len(b) >= 3 and (zb >= 3.5 or vocab[b] > 1)
        else:
            b_word = zb >= 2.0 or vocab[b] > 1 or (len(b) >= 6 and za >= 5.0 and zab == 0.0)
        return f"{prev} {body}" if a_word and b_word else prev + body
    if body[0].isupper() or right or body[0] in "“‘\"'([":
        return f"{prev} {body}"  # a word after a number, or an opening quote
    if body[0].isdigit() and not prev[-1].isdigit():
        return f"{prev} {body}"
    return prev + body


def _remove_latin_spam_lines(lines: list[str]) -> SpamResult:
    out: list[str] = []
    removed = 0
    runs: list[str] = []
    for line in lines:
        if _LATIN_SPAM.search(line) and _is_keyword_line(line, "latin"):
            removed += 1
            runs.append(line.strip())
            continue
        out.append(line)
    return SpamResult(lines=out, removed=removed, runs=runs)
