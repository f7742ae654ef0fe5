"""Text shown the way careless scrapers show bytes: one generator for tests and benchmarks."""

from __future__ import annotations

import random


def shown_through(
    data: bytes, utf8_share: float = 1.0, rng: random.Random | None = None
) -> str:
    """Bytes as a scraper shows them: valid UTF-8 sequences as UTF-8, other bytes as cp1252.

    Args:
        data: The bytes (often a legacy codec's, or UTF-8).
        utf8_share: Share of the valid UTF-8 sequences shown as UTF-8 (1: all, 0: none, a
            pure cp1252 view); in between, each one is drawn from ``rng``.
        rng: Random source for shares between 0 and 1.
    """
    out: list[str] = []
    i = 0
    while i < len(data):
        b = data[i]
        if b >= 0xC2:
            for width in (2, 3, 4):
                try:
                    ch = data[i : i + width].decode("utf-8")
                except UnicodeDecodeError:
                    continue
                take = utf8_share >= 1.0 if rng is None else rng.random() < utf8_share
                if take:
                    out.append(ch)
                    i += width
                break
            else:
                take = False
            if take:
                continue
        out.append(cp1252_char(b))
        i += 1
    return "".join(out)


def cp1252_char(b: int) -> str:
    """One byte as cp1252 shows it (bytes cp1252 leaves undefined as their code point)."""
    if b < 0x80:
        return chr(b)
    try:
        return bytes([b]).decode("cp1252")
    except UnicodeDecodeError:
        return chr(b)


def shown_cp1252_lossy(data: bytes, lost: str = "\ufffd") -> str:
    """Bytes read as strict cp1252 where the bytes it leaves undefined (0x81, 0x8D, 0x8F, 0x90,
    0x9D) are lost: shown as ``lost`` (U+FFFD, as real pages show them, or "" when dropped)."""
    return data.decode("cp1252", errors="replace").replace("\ufffd", lost)
