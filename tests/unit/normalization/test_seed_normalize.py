"""The three damaged seed articles (bundled in the demo sample) come back as a reader sees them."""

from __future__ import annotations

import re
from importlib import resources

import orjson
import pytest

from pipeline.normalization.normalize import normalize, parse_raw
from schemas import Article

HANGUL = re.compile("[\uac00-\ud7af\u1100-\u11ff\u3130-\u318f]")


@pytest.fixture(scope="module")
def seeds() -> dict[str, Article]:
    data = resources.files("agents") / "data" / "sample.jsonl"
    out = {}
    for line in data.read_bytes().splitlines():
        if line.strip() and orjson.loads(line)["id"].startswith("seed-"):
            article = normalize(parse_raw(line), received_at=1.7e9)
            out[article.id] = article
    return out


@pytest.mark.parametrize(
    "phrase",
    [
        "stable relationship”",
        "more generative chapter",
        "with public support",
        "Lee told Takaichi",
        "Nara’s ancient landmarks",
        "“Korea and Japan will move forward together",
        "Cheong Wa Dae noted that it is rare",
    ],
)
def test_seed_002_reads_as_written(seeds, phrase):
    assert phrase in seeds["seed-002"].text


def test_seed_002_has_no_mojibake_spam_or_lost_dash(seeds):
    text = seeds["seed-002"].text
    assert not HANGUL.search(text)
    assert "¡" not in text and "°" not in text
    assert "NARA ?" not in text and re.search("NARA [—–-] South", text)
    assert not any(line.rstrip().endswith("(Yonhap)") for line in text.split("\n"))
    assert len(seeds["seed-002"].captions) >= 2
    repairs = seeds["seed-002"].repairs
    assert "legacy_mojibake:cp949" in repairs
    assert any(r.startswith("spam_removed:") for r in repairs)


def test_seed_003_furniture_is_gone_and_author_parsed(seeds):
    article = seeds["seed-003"]
    for furniture in ("JU7UZSH6RROOFJOKUDWTG56KLU", "Leave a Reply", "RELATED:", "Author:"):
        assert furniture not in article.text
    assert article.authors == ["Kenji Yoshida"]
    assert "The summit lasted roughly 90 minutes" in article.text


def test_seed_004_byline_in_authors_and_no_blank_paragraphs(seeds):
    article = seeds["seed-004"]
    assert article.authors == ["Lee Jon-Young", "Andy Hyun"]
    assert "Publisher-Chairman" not in article.text
    assert all(line.strip() for line in article.text.split("\n"))
    assert "Director Wi stated" in article.text
    assert article.lang == "en"
