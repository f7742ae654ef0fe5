"""Tests of the ``summarize`` command module on a JSONL file written by the test."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson
import pytest

from agents.cli.summarize import run_summarize
from pipeline.common.errors import BadInput
from schemas.records import StoryUpdate


def _story():
    """The made-up story of the summarize tests (loaded by path: tests are not a package)."""
    spec = importlib.util.spec_from_file_location(
        "summarize_story_fixture", Path(__file__).parents[1] / "summaries" / "test_summarize.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.STORY


STORY = _story()


@pytest.fixture
def story_file(tmp_path):
    path = tmp_path / "story.jsonl"
    with path.open("wb") as fh:
        for aid, outlet, title, hours, text in STORY:
            line = {"id": aid, "url": f"https://example.org/{aid}", "outlet": outlet,
                    "title": title, "published": f"2024-03-0{1 + hours // 24}T{hours:02d}:00:00Z"}
            line["text" if hours % 2 else "body"] = text
            fh.write(orjson.dumps(line) + b"\n")
        fh.write(b"not json\n")
    return path


def test_text_is_plain_sentences_cut_at_the_word_limit(story_file):
    text = run_summarize(story_file, max_words=40)
    assert len(text.split()) == 40
    assert "[" not in text and "##" not in text
    full = run_summarize(story_file, max_words=0)
    assert full.startswith(text)
    assert len(full.split()) > 40
    assert "Brackwater" in text


def test_json_is_the_story_update(story_file):
    update = StoryUpdate.from_json(run_summarize(story_file, fmt="json"))
    assert update.article_count == len(STORY)
    assert update.status_line == f"Updated ({len(STORY)} articles)"
    assert len(update.sections) >= 3
    assert all(a.duplicate_of is None for a in update.articles)


def test_bad_input(tmp_path, story_file):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(BadInput):
        run_summarize(empty)
    with pytest.raises(BadInput):
        run_summarize(story_file, fmt="xml")
