"""The bundled demo sample: shape, ordering and the duplicate cases it is meant to exercise."""

from __future__ import annotations

import importlib.resources
import json
from collections import Counter, defaultdict
from datetime import datetime

import pytest

FIELDS = ("id", "url", "outlet", "title", "text", "published")
SEED_IDS = ("seed-002", "seed-003", "seed-004")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    resource = importlib.resources.files("agents") / "data" / "sample.jsonl"
    lines = [line for line in resource.read_text(encoding="utf-8").split("\n") if line.strip()]
    return [json.loads(line) for line in lines]


def test_every_line_is_an_object_with_the_fields(rows: list[dict]) -> None:
    assert len(rows) >= 25
    for row in rows:
        assert isinstance(row, dict)
        for name in FIELDS:
            assert isinstance(row.get(name), str) and row[name].strip(), (row.get("id"), name)
        assert row["url"].startswith("https://")
        assert row["outlet"] in row["url"]
        assert datetime.fromisoformat(row["published"]).tzinfo is not None, row["id"]


def test_sorted_by_published_time(rows: list[dict]) -> None:
    times = [datetime.fromisoformat(row["published"]) for row in rows]
    assert times == sorted(times)


def test_seed_articles_come_first_with_their_defects(rows: list[dict]) -> None:
    assert tuple(row["id"] for row in rows[:3]) == SEED_IDS
    seeds = {row["id"]: row["text"] for row in rows[:3]}
    assert "NARA ? South Korea" in seeds["seed-002"]
    assert "¡°" in seeds["seed-002"]
    assert "Leave a Reply" in seeds["seed-003"]
    assert "\u00a0" in seeds["seed-004"]


def test_only_the_resend_and_revision_repeat_an_id(rows: list[dict]) -> None:
    counts = Counter(row["id"] for row in rows)
    repeated = {id_ for id_, n in counts.items() if n > 1}
    assert len(repeated) == 2
    assert all(counts[id_] == 2 for id_ in repeated)
    kinds = set()
    for id_ in repeated:
        (i, first), (j, later) = [(n, row) for n, row in enumerate(rows) if row["id"] == id_]
        assert i < j
        assert first["url"] == later["url"]
        if first == later:
            kinds.add("resend")
        else:
            assert first["text"] != later["text"]
            assert later["text"].count("\n") == first["text"].count("\n") + 1
            assert datetime.fromisoformat(later["published"]) > datetime.fromisoformat(
                first["published"]
            )
            kinds.add("revision")
    assert kinds == {"resend", "revision"}


def test_one_wire_copy_under_another_headline(rows: list[dict]) -> None:
    by_text: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_text[row["text"]].append(row)
    copies = [group for group in by_text.values() if len({row["url"] for row in group}) > 1]
    assert len(copies) == 1
    original, wire = copies[0]
    assert original["id"] != wire["id"]
    assert original["outlet"] != wire["outlet"]
    assert original["title"] != wire["title"]


def test_written_articles_are_short_news_items(rows: list[dict]) -> None:
    written = [row for row in rows if not row["id"].startswith("seed-")]
    assert len(written) >= 25
    for row in written:
        paragraphs = row["text"].split("\n")
        assert 4 <= len(paragraphs) <= 7, row["id"]
        assert 120 <= len(row["text"].split()) <= 300, row["id"]
        assert "Nara" not in row["text"], row["id"]
