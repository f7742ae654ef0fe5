"""Tests of the evaluation replay command."""

from __future__ import annotations

from pathlib import Path

import orjson

from agents.cli.eval import format_report, load_corpus, run_eval

ROWS = [
    {
        "id": "q1",
        "title": "Quarry blast shakes Dunmore village",
        "text": "A blast at the Dunmore quarry shook houses across the village on Monday. "
        "Quarry owner Halvard Stone said nobody was hurt by the blast.",
        "published": "2021-05-03",
        "outlet": "valley.example",
        "event": "quarry",
        "topic": "local",
    },
    {
        "id": "k1",
        "title": "Kite festival returns to Brisk Bay",
        "text": "The Brisk Bay kite festival returned after two years, with giant kites over "
        "the dunes and a night parade of lit kites. Organiser Mina Oduya praised the wind.",
        "published": "2021-05-02",
        "outlet": "coast.example",
        "event": "kites",
        "topic": "leisure",
    },
    {
        "id": "q2",
        "title": "Dunmore quarry blast: owner promises inspection",
        "text": "Halvard Stone, who owns the Dunmore quarry, promised an inspection after the "
        "blast that shook the village. Dunmore residents asked for limits on quarry blasts.",
        "published": None,
        "outlet": "hills.example",
        "event": "quarry",
        "topic": "local",
    },
]


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "mini.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in ROWS) + b"\n")
    return path


def test_replay_order_puts_dated_rows_first_by_date(tmp_path: Path) -> None:
    ordered = load_corpus(_write(tmp_path))
    assert [r["id"] for r in ordered] == ["k1", "q1", "q2"]
    # an undated row arrives "now": at the latest date of the corpus
    assert ordered[2]["_time"] == ordered[1]["_time"]


def test_run_eval_scores_stories_and_groups(tmp_path: Path) -> None:
    report = run_eval(_write(tmp_path), progress=False)
    assert report["articles"] == 3
    assert report["stories_gold"] == 2
    assert report["stories_found"] == 2
    assert report["stories"]["bcubed"]["f1"] == 1.0
    assert report["stories"]["pairwise"]["f1"] == 1.0
    assert "related" in report
    assert report["assign_articles_per_second"] > 0
    text = format_report(report)
    assert "stories bcubed" in text
    assert "stories found 2 vs gold 2" in text
    assert report["ordered_by"]["undated"] == 1
    assert "ordered by published: 2, published_heuristic: 0, undated: 1" in text
