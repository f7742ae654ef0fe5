"""Tests of the normalize stage on small articles written here, damaged the ways scraped news is."""

from __future__ import annotations

import re

import pytest

from pipeline.common.errors import BadInput
from pipeline.common.text import stable_hash
from pipeline.normalization.normalize import NormalizeConfig, normalize, parse_raw
from schemas.records import RawArticle
from tests.mojibake import shown_through

T0 = 1_700_000_000.0

CLEAN = (
    "The harbour council met on Monday to approve a “modest but overdue” repair plan for the "
    "old sea wall.\n"
    "Officials said the work would start in spring and finish before the storm season.\n"
    "“We have waited long enough,” the council’s chair told reporters after the vote.\n"
    "Residents who live near the wall welcomed the decision, though some asked for more detail "
    "about the cost."
)


def inject_spam(text: str, spam: list[str]) -> str:
    """Put a spam run at the start of a new line in the middle of words of every paragraph."""
    paragraphs = text.split("\n")
    out: list[str] = []
    for k, para in enumerate(paragraphs):
        words = para.split(" ")
        cut = len(words) // 2
        word = words[cut]
        if len(word) >= 4:
            left, right = word[:2], word[2:]
            line1 = " ".join(words[:cut] + [left])
            line2 = f"{spam[k % len(spam)]} " + " ".join([right] + words[cut + 1 :])
            out.extend([line1, line2])
        else:
            out.append(para)
    return "\n".join(out)


def damage(text: str, codec: str, spam: list[str]) -> str:
    return shown_through(inject_spam(text, spam).encode(codec, errors="replace"))


def fold(text: str) -> str:
    text = re.sub(r"[\u2012-\u2015\u2212]|(?<= )\?(?= )", "-", text)
    return " ".join(text.split())


def norm(text: str, **kw) -> object:
    return normalize(RawArticle(id="a1", text=text, **kw), received_at=T0)


# --- parse_raw and bad input -----------------------------------------------------------------


def test_parse_raw_reads_a_json_object():
    raw = parse_raw(b'{"id": "x1", "url": "https://example.com/a", "text": "Hello there."}')
    assert raw.id == "x1" and raw.text == "Hello there."


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"not json at all", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (b'"just a string"', "not a JSON object"),
        (b'{"id": "x", "text": "caf\xe9"}', "undecodable"),
        (b'{"id": "x", "text": 42}', "schema"),
        (b'{"id": "x", "authors": "one name"}', "schema"),
    ],
)
def test_parse_raw_rejects_bad_payloads(payload, reason):
    with pytest.raises(BadInput) as err:
        parse_raw(payload)
    assert reason in err.value.reason


@pytest.mark.parametrize("text", ["", "   \n\t ", "\u00a0\n\u00a0"])
def test_empty_text_is_bad_input(text):
    with pytest.raises(BadInput, match="empty"):
        norm(text)


def test_missing_id_and_url_is_bad_input():
    with pytest.raises(BadInput, match="id and url"):
        normalize(RawArticle(text="Some words here."), received_at=T0)


def test_oversized_body_is_bad_input():
    cfg = NormalizeConfig(max_body_bytes=100)
    with pytest.raises(BadInput, match="over 100 bytes"):
        normalize(RawArticle(id="x", text="word " * 30), received_at=T0, config=cfg)
    # Multi-byte characters count in bytes, not characters.
    with pytest.raises(BadInput, match="bytes"):
        normalize(RawArticle(id="x", text="é" * 60), received_at=T0, config=cfg)
    assert normalize(RawArticle(id="x", text="é" * 40), received_at=T0, config=cfg).text


def test_default_size_limit_is_two_megabytes():
    assert NormalizeConfig().max_body_bytes == 2_000_000


# --- identity and metadata ---------------------------------------------------------------------


def test_id_url_outlet_from_url():
    raw = RawArticle(
        url="HTTPS://News.Example.co.uk:443/world/story.html?utm_source=feed&id=7&fbclid=zz#top",
        text=CLEAN,
    )
    art = normalize(raw, received_at=T0)
    assert art.url == "https://news.example.co.uk/world/story.html?id=7"
    assert art.id == stable_hash(art.url)
    assert art.outlet == "example.co.uk"


def test_urls_that_differ_only_in_an_identifying_parameter_stay_apart() -> None:
    def url_of(url: str) -> str | None:
        return normalize(RawArticle(id="x", url=url, text="A story."), received_at=0.0).url

    base = "http://archive.example.com/gst/fullpage.html?res="
    assert url_of(base + "9A0DE2") == base + "9A0DE2"
    assert url_of(base + "9402E6") == base + "9402E6"
    tracked = url_of("http://www.example.com/?sid=35&nid=148&s_cid=rss-extlink")
    assert tracked == "http://www.example.com/?nid=148&sid=35"


def test_given_id_and_outlet_win():
    art = normalize(
        RawArticle(id="given", url="https://a.example.com/x", outlet="The Paper", text=CLEAN),
        received_at=T0,
    )
    assert (art.id, art.outlet) == ("given", "The Paper")


def test_outlet_unknown_without_url():
    assert norm(CLEAN).outlet == "unknown"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2014-02-13", 1392249600.0),
        ("2014-02-13T10:00:00Z", 1392285600.0),
        ("2014-02-13T12:00:00+02:00", 1392285600.0),
        ("Thu, 13 Feb 2014 10:00:00 GMT", 1392285600.0),
        ("February 13, 2014", 1392249600.0),
    ],
)
def test_published_is_utc_epoch(value, expected):
    art = norm(CLEAN, published=value)
    assert art.published == expected and art.published_source == "given"


def test_published_falls_back_to_received():
    for value in (None, "sometime soon-ish, maybe"):
        art = norm(CLEAN, published=value)
        assert art.published == T0 and art.published_source == "received"


def test_clean_text_is_unchanged_with_metadata():
    art = norm(CLEAN, title="Sea wall repairs approved | Harbour Times", outlet="Harbour Times")
    assert art.text == CLEAN
    assert art.repairs == []
    assert art.title == "Sea wall repairs approved"
    assert art.lang == "en"
    assert art.lede.startswith("The harbour council met on Monday")
    assert art.word_count == len(re.findall(r"[^\W_]+(?:['’][^\W_]+)*", CLEAN))
    assert art.content_hash == stable_hash(CLEAN)


def test_title_from_text_when_missing():
    assert norm(CLEAN).title.startswith("The harbour council met on Monday")


def test_language_of_non_english_text():
    german = (
        "Der Stadtrat hat am Montag beschlossen, die alte Hafenmauer im Frühjahr zu reparieren. "
        "Die Anwohner begrüßten die Entscheidung, fragten aber nach den Kosten."
    )
    assert norm(german).lang == "de"


def test_whitespace_and_nbsp_paragraphs():
    text = "First  paragraph\tis here.  \n\u00a0\n \n\nSecond\u00a0paragraph is here.\u00a0\n\u00a0"
    art = norm(text)
    assert art.text == "First paragraph is here.\nSecond paragraph is here."
    assert "blank_paragraphs:3" in art.repairs


# --- encoding repair ---------------------------------------------------------------------------


def test_utf8_read_as_cp1252_is_repaired():
    broken = shown_through(CLEAN.encode("utf-8"), utf8_share=0.0)
    assert broken != CLEAN
    art = norm(broken)
    assert art.text == CLEAN
    assert "mojibake:cp1252" in art.repairs


def test_cp949_through_mixed_decoder_with_korean_spam():
    spam = ["릴게임몰메가", "바다이야기슬롯", "야마토연타", "바다신2게임"]
    text = CLEAN.replace("overdue”", "overdue” — so the mayor said —")
    broken = damage(text, "cp949", spam)
    runs = len(inject_spam(text, spam).split("\n")) - len(text.split("\n"))
    assert "¡°" in broken and "—" not in broken  # the dash was lost to "?"
    art = norm(broken)
    assert fold(art.text) == fold(text)
    assert not re.search("[\uac00-\ud7af]", art.text)
    assert "¡" not in art.text and "°" not in art.text
    assert "legacy_mojibake:cp949" in art.repairs
    assert runs >= 3 and f"spam_removed:{runs}" in art.repairs
    assert any(r.startswith("dashes_restored") for r in art.repairs)
    assert "so the mayor said" in art.text and " ? " not in art.text


def test_gbk_with_chinese_spam():
    spam = ["澳门新葡京娱乐场", "彩票平台注册", "百家乐官网"]
    art = norm(damage(CLEAN, "gbk", spam))
    assert fold(art.text) == fold(CLEAN)
    assert "legacy_mojibake:gbk" in art.repairs
    assert not re.search("[\u4e00-\u9fff]", art.text)


def test_shift_jis_with_japanese_spam():
    spam = ["オンラインカジノ", "パチンコ必勝法", "スロット無料"]
    art = norm(damage(CLEAN, "shift_jis", spam))
    assert fold(art.text) == fold(CLEAN)
    assert "legacy_mojibake:shift_jis" in art.repairs
    assert not re.search("[\u3040-\u30ff\u4e00-\u9fff]", art.text)


def test_big5_quotes_without_spam():
    art = norm(shown_through(CLEAN.encode("big5", errors="replace")))
    assert art.text == CLEAN
    assert "legacy_mojibake:big5" in art.repairs


def test_legitimate_non_latin_names_and_quotes_are_kept():
    text = (
        "President Lee Jae-myung (이재명) met the visiting delegation in Seoul on Monday.\n"
        "習近平 (Xi Jinping) sent a letter that was read out at the start of the meeting.\n"
        "東京 Governor Yuriko Koike also sent her greetings.\n"
        "“안녕하세요,” he said in greeting, before switching to English for the talks.\n"
        "The menu listed 東京 specialities and a dessert called 抹茶 ice cream.\n"
        "Officials said the meeting went well and that more talks would follow."
    )
    art = norm(text)
    assert art.text == text
    assert not any(r.startswith("spam_removed") for r in art.repairs)


def test_korean_article_keeps_its_own_words():
    text = (
        "카지노 업계는 올해 방문객이 크게 늘었다고 밝혔다.\n"
        "정부는 다음 달 새로운 관광 정책을 발표할 예정이다.\n"
        "릴게임몰메가\n"
        "관계자는 \"회복세가 이어지고 있다\"고 말했다."
    )
    art = norm(text)
    assert art.lang == "ko"
    assert art.text.split("\n") == [
        "카지노 업계는 올해 방문객이 크게 늘었다고 밝혔다.",
        "정부는 다음 달 새로운 관광 정책을 발표할 예정이다.",
        "관계자는 \"회복세가 이어지고 있다\"고 말했다.",
    ]
    assert "spam_removed:1" in art.repairs


def test_latin_keyword_spam_lines_are_dropped():
    text = CLEAN + "\nbest casino online slot gacor jackpot bonus\n"
    art = norm(text)
    assert art.text == CLEAN
    assert "spam_removed:1" in art.repairs


def test_spam_run_prefixed_to_a_paragraph_keeps_the_paragraph():
    text = (
        "The bridge reopened on Friday after two weeks of repairs.\n"
        "바다이야기슬롯Engineers said the deck was now safe for heavy trucks.\n"
        "Traffic returned to normal by the evening."
    )
    art = norm(text)
    assert art.text.split("\n")[1] == "Engineers said the deck was now safe for heavy trucks."
    assert "spam_removed:1" in art.repairs


def test_spam_between_whole_words_keeps_the_space():
    text = (
        "The bridge reopened on Friday after repairs and the council thanked the\n"
        "바다이야기 workers for their patience.\nTraffic returned to normal by the evening."
    )
    art = norm(text)
    assert "thanked the workers for their patience." in art.text


def test_clean_text_skips_the_expensive_repairs(monkeypatch):
    from pipeline.normalization import encoding

    def boom(*a, **k):
        raise AssertionError("repair ran on clean text")

    monkeypatch.setattr(encoding, "repair_legacy_cjk", boom)
    monkeypatch.setattr(encoding, "repair_utf8_mojibake", boom)
    assert norm(CLEAN).text == CLEAN
    assert norm("Prices rose 5% — the “biggest” jump… since 2009, café owners said.").repairs == []


# --- furniture ---------------------------------------------------------------------------------


FURNISHED = (
    "Lakeside\n"
    "Ferry service returns to the north shore after ten years\n"
    "A new operator promises hourly crossings in summer\n"
    "By Senior Reporter Mara Quill, Editor Tom Esk\n"
    "\u00a0\n"
    "Q2W3E4R5T6Y7U8I9O0PASDFGH\n"
    "The first ferry in a decade left the north shore pier on Saturday morning with forty "
    "passengers aboard.\n"
    "\u00a0\n"
    "Passengers wave from the deck of the ferry as it leaves the pier on Saturday. (Yonhap)\n"
    "The operator said crossings would run every hour from June to September.\n"
    "Local shops expect more visitors as a result, the chamber of commerce said.\n"
    "RELATED:\n"
    "Pier repairs finish ahead of schedule\n"
    "Author: Mara Quill\n"
    "Share this:\n"
    "Leave a Reply"
)


def test_furniture_is_taken_out():
    art = norm(FURNISHED)
    assert art.text.split("\n") == [
        "The first ferry in a decade left the north shore pier on Saturday morning with forty "
        "passengers aboard.",
        "The operator said crossings would run every hour from June to September.",
        "Local shops expect more visitors as a result, the chamber of commerce said.",
    ]
    assert art.title == "Ferry service returns to the north shore after ten years"
    assert art.subtitle == "A new operator promises hourly crossings in summer"
    assert art.authors == ["Mara Quill", "Tom Esk"]
    assert art.captions == [
        "Passengers wave from the deck of the ferry as it leaves the pier on Saturday. (Yonhap)"
    ]
    assert "captions:1" in art.repairs


def test_given_title_repeated_as_first_line_is_dropped():
    art = norm("Ferry returns\n" + CLEAN, title="Ferry returns")
    assert art.text == CLEAN


def test_body_lines_that_look_a_little_like_furniture_stay():
    text = (
        "By the time police arrived, the two men had left the building.\n"
        "Share prices fell sharply after the announcement, analysts said.\n"
        "Photos of the scene were posted online by neighbours within minutes, police said."
    )
    assert norm(text).text == text


# --- HTML --------------------------------------------------------------------------------------


PAGE = """<!DOCTYPE html>
<html><head><title>Ferry returns to the north shore | Lake Post</title>
<meta property="og:title" content="Ferry returns to the north shore">
<meta name="author" content="Mara Quill">
<meta property="article:published_time" content="2024-06-01T09:30:00+00:00">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li></ul></nav>
<article><h1>Ferry returns to the north shore</h1>
<p>The first ferry in a decade left the north shore pier on Saturday morning with forty
passengers aboard, the operator said.</p>
<figure><img src="f.jpg"><figcaption>Passengers wave from the deck. (Photo: Lake Post)
</figcaption></figure>
<p>The operator said crossings would run every hour from June to September, weather
permitting, and that tickets would cost the same as the bus.</p>
<p>Local shops expect more visitors as a result, the chamber of commerce said on Friday.</p>
<div class="share"><a href="#">Share on Facebook</a> <a href="#">Share on X</a></div>
</article>
<aside><h3>Related</h3><ul><li><a href="/a">Pier repairs finish early</a></li>
<li><a href="/b">Bus timetable changes</a></li></ul></aside>
<section id="comments"><h3>Leave a Reply</h3><form><textarea></textarea>
<button>Post Comment</button></form></section>
<footer>Copyright 2024 Lake Post</footer></body></html>"""


def test_html_page_main_text_and_metadata():
    art = normalize(
        RawArticle(id="h1", url="https://lakepost.example.com/ferry", body=PAGE,
                   content_type="text/html"),
        received_at=T0,
    )
    assert "first ferry in a decade" in art.text
    assert "chamber of commerce said on Friday." in art.text
    for junk in ("Home", "Share on", "Pier repairs", "Leave a Reply", "Copyright", "Passengers"):
        assert junk not in art.text
    assert art.title == "Ferry returns to the north shore"
    assert art.authors == ["Mara Quill"]
    assert art.published == 1717234200.0
    assert "html_extracted" in art.repairs


def test_html_detected_without_content_type():
    art = norm(PAGE)
    assert "html_extracted" in art.repairs and "<p>" not in art.text


def test_html_fragment_detected_without_content_type():
    fragment = (
        "<div class='story'><p>The first ferry in a decade left the north shore pier on "
        "Saturday morning with forty passengers aboard, the operator said.</p>"
        "<p>The operator said crossings would run every hour from June to September, "
        "weather permitting, and tickets would cost the same as the bus.</p>"
        "<p>Local shops expect more visitors, the chamber of commerce said on Friday.</p></div>"
    )
    art = norm(fragment)
    assert "html_extracted" in art.repairs
    assert art.text.startswith("The first ferry") and "<p>" not in art.text


def test_text_mentioning_tags_is_not_html():
    text = "Use the <p> tag for paragraphs, the guide says.\nIt is a short guide for beginners."
    art = norm(text)
    assert art.text == text and "html_extracted" not in art.repairs


def test_title_from_text_drops_the_dateline():
    art = norm("HARBOURTON — The council met on Monday. It approved the plan.")
    assert art.title == "The council met on Monday."


def test_damaged_title_is_repaired():
    broken = shown_through("Council’s “plan”".encode(), utf8_share=0.0)
    art = norm(CLEAN, title=broken)
    assert art.title == "Council’s “plan”"


def test_legacy_repair_keeps_a_korean_name_inside_a_sentence():
    text = (
        "President Lee Jae-myung (이재명) told reporters the “talks went well” on Monday.\n"
        "Officials said the next meeting would take place in the spring in Tokyo."
    )
    broken = damage(text, "cp949", ["릴게임몰메가", "바다이야기슬롯"])
    art = norm(broken)
    assert art.text == text
    assert "legacy_mojibake:cp949" in art.repairs


@pytest.mark.parametrize(
    ("line", "authors"),
    [
        ("By JONATHAN MILTONAssociated Press", ["Jonathan Milton"]),
        ("By Liz Kotalik, Phil Villarreal. CREATED Oct 9, 2015 - UPDATED: Oct 9",
         ["Liz Kotalik", "Phil Villarreal"]),
        ("By Sarah Smith and John Doe, Staff Writers", ["Sarah Smith", "John Doe"]),
        ("By Jane Doe | The Daily Example", ["Jane Doe"]),
        ("By The Associated Press", []),
        ("Reporter: Kim Min-ji", ["Kim Min-ji"]),
    ],
)
def test_byline_lines(line, authors):
    art = norm(f"{line}\n{CLEAN}", title="Sea wall repairs approved")
    assert art.text == CLEAN
    assert art.authors == authors
