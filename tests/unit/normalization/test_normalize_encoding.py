"""Tests of the encoding repair behind the normalize stage, on text written here."""

from __future__ import annotations

import pytest

from pipeline.normalization.encoding import (
    needs_repair,
    repair_legacy_cjk,
    repair_text,
    restore_lost_bytes,
    restore_lost_dashes,
)
from tests.mojibake import shown_cp1252_lossy, shown_through

SENTENCE = "The mayor said “we will rebuild” and the crowd’s mood lifted… at last."


@pytest.mark.parametrize("codec", ["cp949", "gbk", "shift_jis", "big5"])
@pytest.mark.parametrize("utf8", [False, True])
def test_each_legacy_codec_comes_back(codec, utf8):
    broken = shown_through(SENTENCE.encode(codec, errors="replace"), 1.0 if utf8 else 0.0)
    assert broken != SENTENCE
    fixed = repair_text(broken)
    expected = SENTENCE.encode(codec, errors="replace").decode(codec)
    assert fixed.text == expected
    # CP949 and GBK spell curly quotes with the same bytes: either name is a right answer
    # when nothing else in the text tells them apart.
    codecs = {"cp949", "gbk"} if codec in ("cp949", "gbk") else {codec}
    assert any(f"legacy_mojibake:{c}" in fixed.repairs for c in codecs)


def test_cp949_pair_that_is_also_utf8():
    """C5 B8 (a Hangul syllable in CP949) is also UTF-8 for "Ÿ", which is cp1252 byte 0x9F."""
    word = "야마토연타"
    shown = shown_through(word.encode("cp949"))
    assert "Ÿ" in shown and "俬" in shown
    assert repair_legacy_cjk(shown).text == word


def test_hangul_spam_line_decodes_to_hangul():
    line = "릴게임몰메가 p” through shuttle diplomacy"
    shown = shown_through(line.encode("cp949"))
    assert shown.startswith("¸±°Ô")
    fixed = repair_legacy_cjk(shown)
    assert fixed.text == line and fixed.repairs == ["legacy_mojibake:cp949"]


def test_lost_dashes_between_words():
    text, n = restore_lost_dashes("NARA ? South Korea met ? or so it seemed. Why? Because.")
    assert n == 2
    assert text == "NARA — South Korea met — or so it seemed. Why? Because."


def test_dash_restored_only_after_a_legacy_repair():
    assert repair_text("Is it true ? He asked ? twice.").text == "Is it true ? He asked ? twice."
    data = "Seoul — “yes” he said".encode("cp949", errors="replace")
    broken = shown_through(data, utf8_share=0.0)
    assert repair_text(broken).text == "Seoul — “yes” he said"


@pytest.mark.parametrize(
    "text",
    [
        "Plain ASCII only.",
        "Curly “quotes”, dashes — and… ellipses are fine.",
        "Café owners in Zürich paid €5 for crème brûlée, said François Müller.",
        "“Écrasez l’infâme,” wrote the author; the Bière café was full.",
        "President Lee Jae-myung (이재명) met 東京 officials.",
    ],
)
def test_clean_text_is_left_alone(text):
    assert repair_text(text).text == text
    assert repair_text(text).repairs == []


def test_cheap_check_passes_typographic_text():
    assert not needs_repair("He said “no” — twice… and left’s")
    assert needs_repair("He said ¡°no¡±")
    assert needs_repair("He said â€œnoâ€\x9d")


def test_utf8_read_as_cp1252_and_c1_controls():
    fixed = repair_text("He said â€œnoâ€\x9d and cafÃ© closed")
    assert fixed.text == "He said “no” and café closed"
    assert fixed.repairs == ["mojibake:cp1252"]
    c1 = repair_text("the long \x97 dash and the \x92s")
    assert c1.text == "the long — dash and the ’s"
    assert c1.repairs == ["c1_controls:cp1252"]


def test_long_text_skips_legacy_search():
    broken = shown_through(SENTENCE.encode("cp949"), utf8_share=0.0)
    fixed = repair_text(broken, legacy_max_chars=10)
    assert fixed.text == broken and fixed.repairs == ["legacy_mojibake_skipped"]


@pytest.mark.parametrize("lost", ["\ufffd", ""])
def test_lossy_cp1252_closing_quote_comes_back(lost):
    """The byte 0x9D of ” is undefined in cp1252: pages show "â€\ufffd" or drop it."""
    broken = shown_cp1252_lossy(SENTENCE.encode("utf-8"), lost)
    assert "â€" in broken and "”" not in broken
    assert needs_repair(broken)
    fixed = repair_text(broken)
    assert fixed.text == SENTENCE
    assert fixed.repairs[0] == "lost_bytes:1"


def test_lossy_cp1252_other_lost_bytes():
    """Every lost byte of the family is put back as the most plausible character: a capital
    at a word start, a lower-case letter inside a word, Cyrillic."""
    text = "Álvaro met Łukasz in Tōkyō; “Привет, тест” ok."
    broken = shown_cp1252_lossy(text.encode("utf-8"))
    assert broken.count("\ufffd") >= 5
    fixed, n = restore_lost_bytes(broken)
    assert n == broken.count("\ufffd")
    assert repair_text(broken).text == text


def test_lossy_repair_leaves_a_genuine_replacement_character():
    text = "The file was corrupt \ufffd nothing else — “quoted”."
    assert repair_text(text).text == text
