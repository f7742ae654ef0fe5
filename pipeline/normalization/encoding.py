"""Encoding repair: UTF-8 read as a single-byte codec, and legacy CJK bytes shown as Latin-1."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import ftfy

# Codecs tried for legacy CJK mojibake, in preference order for equal scores.
LEGACY_CODECS: tuple[str, ...] = ("cp949", "gbk", "shift_jis", "big5")

# Characters a single-byte (cp1252, falling back to Latin-1) decoder produces for bytes >= 0x80.
_SINGLE_BYTE: dict[str, int] = {}
for _b in range(0x80, 0x100):
    try:
        _c = bytes([_b]).decode("cp1252")
    except UnicodeDecodeError:
        _c = chr(_b)
    _SINGLE_BYTE[_c] = _b
    # A Latin-1 decoder shows undefined-in-cp1252 bytes and all C1 bytes as U+0080..U+009F.
    _SINGLE_BYTE.setdefault(chr(_b), _b)

# Typographic characters that clean text uses freely; a pair of them is no sign of damage.
_TYPOGRAPHIC = frozenset("‘’“”–—…•€™\u00a0")
# Any character beyond ASCII and the typographic set: clean English news rarely has one.
_UNUSUAL = re.compile("[^\x00-\x7f" + "".join(sorted(_TYPOGRAPHIC)) + "]")
_SB_ALL = "".join(re.escape(c) for c in sorted(_SINGLE_BYTE))
_SB_ODD = "".join(re.escape(c) for c in sorted(set(_SINGLE_BYTE) - _TYPOGRAPHIC))
# Legacy double-byte mojibake: two single-byte characters in a row, one of them not
# typographic (CP949/GBK "¡°" for a curly quote, Big5 "¡§"), or a Shift-JIS lead byte shown
# as a C1 control, "‚" or "ƒ" before an ASCII trail byte ("\x81g" for a curly quote).
_LEGACY_PAIR = re.compile(
    f"[{_SB_ODD}][{_SB_ALL}]|[{_SB_ALL}][{_SB_ODD}]|[\x80-\x9f\u201a\u0192][\x40-\x7e]"
)
_UTF8_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152-\u0192\u02c6\u02dc\u2013-\u2122]|[\x80-\x9f]"
)
# A question mark standing alone between words: an em dash the legacy codec could not hold.
_LOST_DASH = re.compile(r"(?<=[\w,.;:”’\"')]) \? (?=[\w“‘\"'(])")


@dataclass(slots=True)
class Repaired:
    """A repaired text and the names of the repairs applied."""

    text: str
    repairs: list[str]


def needs_repair(text: str) -> bool:
    """Cheap check: True when the text shows any sign of encoding damage."""
    if text.isascii() or not _UNUSUAL.search(text):
        return False
    return bool(
        _LEGACY_PAIR.search(text) or _UTF8_MOJIBAKE.search(text) or _has_lost_bytes(text)
    )


# ---------------------------------------------------------------------------------------------
# UTF-8 read as cp1252 where the bytes cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D)
# were lost: replaced by U+FFFD ("â€\ufffd" for ”) or dropped ("â€" then a space).
#
# Hand-written: ftfy sees such a sequence as lossy and turns it into U+FFFD
# (``replace_lossy_sequences``), or reads "â€ " as a dagger with a lost no-break space; neither
# brings the character back. Here the missing byte is put back as the candidate whose decoded
# character is most plausible in its place (” first: it is by far the most common), and ftfy
# then repairs the whole text as plain cp1252 mojibake.

LOST_BYTES: tuple[int, ...] = (0x81, 0x8D, 0x8F, 0x90, 0x9D)
_CONT = "".join(
    sorted(re.escape(c) for c, b in _SINGLE_BYTE.items() if 0x80 <= b <= 0xBF)
)
_LOST = "\ufffd"
_LOSSY = re.compile(
    f"[\u00c2-\u00df]{_LOST}"
    f"|[\u00e0-\u00ef](?:[{_CONT}]{_LOST}|{_LOST}[{_CONT}])"
    f"|[\u00f0-\u00f4](?:[{_CONT}][{_CONT}]{_LOST}|[{_CONT}]{_LOST}[{_CONT}]"
    f"|{_LOST}[{_CONT}][{_CONT}])"
    # The dropped form: "â€" (E2 80) followed by no continuation byte at all.
    f"|\u00e2\u20ac(?![{_CONT}{_LOST}])"
)
# Characters with a lost byte that real text carries most often (ties between letters).
_FREQUENT_LOST = {"Á": 2, "Í": 2, "č": 2, "Ł": 2, "ō": 1, "с": 2, "я": 1, "Н": 1, "А": 1}


def _has_lost_bytes(text: str) -> bool:
    return ("\ufffd" in text or "\u00e2\u20ac" in text) and _LOSSY.search(text) is not None


def _lost_byte_score(ch: str, before: str, after: str) -> float:
    """Plausibility of ``ch`` as the character a lost byte belonged to."""
    if ch == "\u201d":
        return 10.0
    cat = unicodedata.category(ch)
    if cat.startswith("L"):
        score = 5.0 + _FREQUENT_LOST.get(ch, 0)
        in_word = before.isalpha()
        if ch.islower() == in_word:
            score += 2  # lower case inside a word, capital at its start
        return score
    if cat.startswith("P") or cat == "So":
        return 3.0
    return 0.0  # spaces, joiners and marks: rarely what a page carries


def restore_lost_bytes(text: str) -> tuple[str, int]:
    """Put back the cp1252-undefined bytes a lossy reading lost, as the C1 controls a sloppy
    cp1252 reading shows them, so ftfy can repair the text. Returns (text, how many)."""
    count = 0

    def fix(m: re.Match[str]) -> str:
        nonlocal count
        shown = m.group()
        dropped = _LOST not in shown
        if dropped:
            shown += _LOST
        before = text[m.start() - 1] if m.start() else " "
        after = text[m.end() : m.end() + 1]
        best: tuple[float, str] | None = None
        for b in LOST_BYTES:
            raw = bytes(b if c == _LOST else _SINGLE_BYTE[c] for c in shown)
            try:
                ch = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            score = _lost_byte_score(ch, before, after)
            if best is None or score > best[0]:
                best = (score, shown.replace(_LOST, chr(b)))
        if best is None:
            return m.group()
        count += 1
        return best[1]

    return _LOSSY.sub(fix, text), count


def repair_utf8_mojibake(text: str) -> Repaired:
    """Undo UTF-8 read as cp1252/Latin-1 (and stray C1 controls) with ftfy."""
    fixed = ftfy.fix_encoding_and_explain(text)
    repairs: list[str] = []
    if fixed.text != text:
        steps = fixed.explanation or []
        encoded = [_codec_name(arg) for step, arg in steps if step == "encode"]
        decoded = [_codec_name(arg) for step, arg in steps if step == "decode"]
        if encoded and decoded and decoded[0] != "utf-8":
            # Bytes 0x80-0x9F shown as C1 controls: a cp1252 text read as Latin-1.
            repairs.append(f"c1_controls:{decoded[0]}")
        elif encoded:
            repairs.append(f"mojibake:{encoded[0]}")
        else:
            repairs.append("mojibake")
    return Repaired(fixed.text, repairs)


def _codec_name(name: str) -> str:
    return name.replace("sloppy-windows-", "cp").replace("windows-", "cp")


def restore_lost_dashes(text: str) -> tuple[str, int]:
    """Turn " ? " between words (a dash the legacy codec lost) into an em dash."""
    return _LOST_DASH.subn(" \u2014 ", text)


# A run of CJK characters touching a Latin letter ("Bi鑽e", "橡crasez"): a wrong legacy reading
# of accented letters or quotes. Runs at a line start are left to the spam stage.
_CJK_RUN = re.compile("[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]+")


def _cjk_touching_latin(text: str) -> int:
    count = 0
    for m in _CJK_RUN.finditer(text):
        start, end = m.span()
        if start == 0 or text[start - 1] == "\n":
            continue
        before = text[start - 1]
        after = text[end : end + 1]
        if before.isascii() and before.isalpha() or after.isascii() and after.isalpha():
            count += 1
    return count


def weirdness(text: str) -> int:
    """How much of the text looks like mojibake: paired single-byte symbols, C1 controls, PUA,
    CJK runs glued to Latin letters inside a line."""
    score = len(_LEGACY_PAIR.findall(text)) * 2 + _cjk_touching_latin(text) * 3
    for ch in text:
        if ch.isascii():
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cs", "Cn") or ch == "\ufffd":
            score += 2
    return score


# ---------------------------------------------------------------------------------------------
# Legacy CJK mojibake.
#
# Hand-written: no library undoes a double-byte codec shown through a *mixed* decoder (UTF-8
# where the bytes happen to form UTF-8, cp1252/Latin-1 elsewhere). Each shown character maps
# back to one byte (its cp1252/Latin-1 byte) or to its UTF-8 bytes; which one is ambiguous, so a
# Viterbi search over the codec's byte state machine picks the reading whose decoded characters
# are most plausible (common Hangul/hanzi/kana/punctuation score high, rare extension
# characters low, characters left as they are score as mojibake).

_COMMON_PUNCT = frozenset("“”‘’…—–―·、。「」『』〈〉《》【】〔〕・〃々ー〜")
# Scores are log-probability-like costs (higher is better, all <= 0), so a reading that turns
# the same shown characters into more decoded characters gains nothing by it.
_COMMON = -1.0  # common Hangul/hanzi/kana/punctuation
_SECONDARY = -2.5  # less common characters of the codec's base character set
_SYMBOL = -3.0  # other symbols of the base set
_RARE = -6.0  # extension characters (UHC, GBK, Big5 extras, half-width kana)
_INVALID = -12.0  # controls, private use, unassigned
_LATIN_SYMBOL = -1.5  # symbols Latin-script news uses: € £ ° ± × ©...
# Keeping a single-byte symbol or control as it is ("¡", "°", "¸"; also curly quotes and dashes,
# which in a damaged text are as likely lead bytes: Shift-JIS kanji 0x91-0x97).
_LITERAL_MOJIBAKE = -4.0
_LITERAL_LETTER = -1.0  # keeping a Latin-1 letter (é, ñ, ü): normal in Latin-script text
_LITERAL_OTHER = -1.5  # keeping any other character as it is
# Reading a character that has a single-byte form as UTF-8 instead: possible (a mixed decoder
# shows C2 A1 as "¡" too) but the less likely reading.
_UTF8_CHOICE = -0.6
_LATIN_SYMBOLS = frozenset("€£¥¢°±×÷©®™§¶½¼¾‰")


def _char_score(codec: str, pair: bytes, ch: str) -> float:
    """Plausibility of one decoded double-byte character in ``codec``."""
    o = ord(ch)
    cat = unicodedata.category(ch)
    if cat in ("Co", "Cn", "Cc", "Cs"):
        return _INVALID
    if ch in _COMMON_PUNCT or 0x2010 <= o <= 0x2027 or 0x3000 <= o <= 0x303F:
        return _COMMON
    if 0x00C0 <= o <= 0x024F and cat.startswith("L"):
        return _COMMON  # an accented Latin letter (pinyin, European names) in a Latin text
    if ch in _LATIN_SYMBOLS:
        return _LATIN_SYMBOL
    lead, trail = pair[0], pair[1]
    if codec == "cp949":
        try:
            # Python's euc_kr spells syllables outside KS X 1001 as 8-byte jamo sequences.
            if len(ch.encode("euc_kr")) != 2:
                return _RARE  # a UHC extension syllable: rare in real text
        except UnicodeEncodeError:
            return _RARE
        if 0xAC00 <= o <= 0xD7A3:
            return _COMMON
        return _SECONDARY if cat.startswith("L") else _SYMBOL
    if codec == "gbk":
        try:
            ch.encode("gb2312")
        except UnicodeEncodeError:
            return _RARE
        if 0xB0 <= lead <= 0xD7:
            return _COMMON  # GB2312 level 1 hanzi
        return _SECONDARY if cat.startswith("L") else _SYMBOL
    if codec == "shift_jis":
        if 0x3040 <= o <= 0x30FF:
            return _COMMON
        if 0x889F <= (lead << 8 | trail) <= 0x9872:
            return _COMMON  # JIS level 1 kanji
        return _SECONDARY if cat.startswith("L") else _SYMBOL
    if codec == "big5":
        code = lead << 8 | trail
        if 0xA440 <= code <= 0xC67E:
            return _COMMON  # frequently used hanzi
        if 0xC940 <= code <= 0xF9D5:
            return _SECONDARY
        if lead <= 0xA3:
            return _SYMBOL
        return _RARE
    return _SYMBOL


@dataclass(slots=True)
class _CodecTable:
    leads: frozenset[int]
    pairs: dict[int, tuple[str, float]]  # (lead << 8 | trail) -> (char, score)
    singles: dict[int, tuple[str, float]]  # high single bytes that decode alone


@lru_cache(maxsize=8)
def _table(codec: str) -> _CodecTable:
    """Every valid double-byte sequence of ``codec`` with its decoded character and score."""
    pairs: dict[int, tuple[str, float]] = {}
    leads: set[int] = set()
    singles: dict[int, tuple[str, float]] = {}
    for lead in range(0x81, 0xFF):
        try:
            single = bytes([lead]).decode(codec)
        except UnicodeDecodeError:
            single = None
        if single is not None and len(single) == 1:
            singles[lead] = (single, _RARE)
            continue
        for trail in range(0x40, 0xFF):
            pair = bytes([lead, trail])
            try:
                ch = pair.decode(codec)
            except UnicodeDecodeError:
                continue
            if len(ch) != 1:
                continue
            leads.add(lead)
            pairs[lead << 8 | trail] = (ch, _char_score(codec, pair, ch))
    return _CodecTable(frozenset(leads), pairs, singles)


@lru_cache(maxsize=4096)
def _readings(ch: str) -> tuple[tuple[bytes, float], ...]:
    """The byte strings a mixed decoder could have shown as ``ch``, with a small prior."""
    out: list[tuple[bytes, float]] = []
    b = _SINGLE_BYTE.get(ch)
    if b is not None:
        out.append((bytes([b]), 0.0))
    utf8 = ch.encode("utf-8", "surrogatepass")
    if len(utf8) > 1:
        out.append((utf8, _UTF8_CHOICE if out else 0.0))
    return tuple(out)


def _decode_line(line: str, table: _CodecTable) -> tuple[str, float]:
    """Best reading of one line under a codec: (decoded text, score). Viterbi over the codec's
    byte state (0 = at a character boundary, else the pending lead byte)."""
    # state -> (score, backpointer chain as list of emitted strings)
    states: dict[int, tuple[float, tuple]] = {0: (0.0, ())}
    pairs, leads, singles = table.pairs, table.leads, table.singles
    for ch in line:
        o = ord(ch)
        if o < 0x80:
            nxt: dict[int, tuple[float, tuple]] = {}
            for st, (score, back) in states.items():
                if st == 0:
                    cand = (score, (back, ch))
                else:
                    hit = pairs.get(st << 8 | o)
                    if hit is None:
                        continue
                    cand = (score + hit[1], (back, hit[0]))
                if 0 not in nxt or cand[0] > nxt[0][0]:
                    nxt[0] = cand
            states = nxt
            if not states:
                return line, float("-inf")
            continue
        nxt = {}
        literal = _literal(ch)
        if 0 in states:
            score, back = states[0]
            nxt[0] = (score + literal, (back, ch))
        for raw, prior in _readings(ch):
            for st, (score, back) in states.items():
                emitted: list[str] = []
                total = score + prior
                cur = st
                ok = True
                for byte in raw:
                    if cur:
                        hit = pairs.get(cur << 8 | byte)
                        if hit is None:
                            ok = False
                            break
                        emitted.append(hit[0])
                        total += hit[1]
                        cur = 0
                    elif byte < 0x80:
                        emitted.append(chr(byte))
                    elif byte in leads:
                        cur = byte
                    elif byte in singles:
                        emitted.append(singles[byte][0])
                        total += singles[byte][1]
                    else:
                        ok = False
                        break
                if not ok:
                    continue
                if cur not in nxt or total > nxt[cur][0]:
                    nxt[cur] = (total, (back, "".join(emitted)) if emitted else back)
        states = nxt
        if not states:
            return line, float("-inf")
    if 0 not in states:
        return line, float("-inf")
    score, back = states[0]
    parts: list[str] = []
    while back:
        back, piece = back
        parts.append(piece)
    return "".join(reversed(parts)), score


def repair_legacy_cjk(text: str, codecs: tuple[str, ...] = LEGACY_CODECS) -> Repaired:
    """Undo a legacy double-byte codec (CP949, GBK, Shift-JIS, Big5) shown as single bytes or
    mixed UTF-8/single bytes: every line is read back to bytes and re-decoded, and the codec
    whose readings score best over the whole text wins."""
    lines = text.split("\n")
    todo = [i for i, line in enumerate(lines) if not line.isascii()]
    best: tuple[float, str, list[str]] | None = None
    for codec in codecs:
        table = _table(codec)
        total = 0.0
        out = list(lines)
        for i in todo:
            decoded, score = _decode_line(lines[i], table)
            if score == float("-inf"):
                decoded, score = lines[i], _literal_score(lines[i])
            out[i] = decoded
            total += score
        if best is None or total > best[0]:
            best = (total, codec, out)
    if best is None:
        return Repaired(text, [])
    _, codec, out = best
    fixed = "\n".join(out)
    if fixed == text:
        return Repaired(text, [])
    return Repaired(fixed, [f"legacy_mojibake:{codec}"])


@lru_cache(maxsize=4096)
def _literal(ch: str) -> float:
    """Score of keeping a shown character as it is."""
    if ch in _SINGLE_BYTE:
        if 0xC0 <= ord(ch) <= 0xFF and unicodedata.category(ch).startswith("L"):
            return _LITERAL_LETTER
        return _LITERAL_MOJIBAKE
    return _LITERAL_OTHER


def _literal_score(line: str) -> float:
    return sum(_literal(ch) for ch in line if not ch.isascii())


def repair_text(text: str, *, legacy_max_chars: int = 400_000) -> Repaired:
    """Repair encoding damage; the cheap check keeps clean text on a fast path.

    Candidates (ftfy's UTF-8 repair, the legacy CJK repair, both) are compared by how much
    mojibake they leave; the original wins ties. A legacy repair also turns " ? " between words
    back into a dash. The legacy search (about 400k characters/s) is skipped for texts longer
    than ``legacy_max_chars``, recorded as "legacy_mojibake_skipped".
    """
    if not needs_repair(text):
        return Repaired(text, [])
    lost = 0
    if _has_lost_bytes(text):
        text, lost = restore_lost_bytes(text)
    best = _repair_candidates(text, legacy_max_chars)
    if lost:
        best.repairs.insert(0, f"lost_bytes:{lost}")
    return best


def _repair_candidates(text: str, legacy_max_chars: int) -> Repaired:
    if len(text) > legacy_max_chars:
        fixed = repair_utf8_mojibake(text) if _UTF8_MOJIBAKE.search(text) else Repaired(text, [])
        if _LEGACY_PAIR.search(fixed.text):
            fixed.repairs.append("legacy_mojibake_skipped")
        return fixed
    candidates: list[Repaired] = [Repaired(text, [])]
    if _UTF8_MOJIBAKE.search(text):
        candidates.append(repair_utf8_mojibake(text))
    for base in list(candidates):
        if _LEGACY_PAIR.search(base.text):
            legacy = repair_legacy_cjk(base.text)
            if legacy.repairs:
                candidates.append(Repaired(legacy.text, base.repairs + legacy.repairs))
    best = min(candidates, key=lambda c: (weirdness(c.text), len(c.repairs)))
    if any(r.startswith("legacy_mojibake") for r in best.repairs):
        restored, n = restore_lost_dashes(best.text)
        if n:
            best = Repaired(restored, best.repairs + [f"dashes_restored:{n}"])
    return best
