"""Tests of the vector and name helpers behind story assignment."""

from __future__ import annotations

import math

import numpy as np
import orjson

from pipeline.assignment.assigner import (
    StoryAssigner,
    _entity_keys,
    _heaviest_of,
    _Story,
    _term_positions,
    _unit_entries,
    capitalized_phrases,
)
from pipeline.dedup.minhash import key_ids
from schemas.records import Article

TEXT = (
    "Mayor Lena Ortiz visited Eastbrook on Monday. Ortiz met the Marrow River Trust and "
    "The Bank of England's envoy; Police said Eastbrook's roads stay shut."
)


def test_lone_common_words_can_be_left_out_but_phrase_words_stay() -> None:
    plain = capitalized_phrases(TEXT)
    assert "police" in plain and "eastbrook" in plain
    filtered = capitalized_phrases(TEXT, lower_words={"police", "lena"})
    assert "police" not in filtered
    # "lena" is part of a longer phrase, so it stays a name there
    assert "lena" in filtered and "mayor lena ortiz" in filtered
    assert "monday" not in plain


def test_entity_keys_match_the_phrases_and_repeat_the_same_way() -> None:
    expected = ["e:" + p for p in capitalized_phrases(TEXT)]
    assert _entity_keys(TEXT) == expected
    assert _entity_keys(TEXT) == expected  # second time from the table of known matches


def test_unit_entries_are_unit_length_heaviest_first_and_stable_on_ties() -> None:
    keys = ["x", "y", "z", "w"]
    weights = np.array([1.0, 2.0, 1.0, 0.1])
    out = _unit_entries(keys, weights, _heaviest_of(weights, [0, 1, 2, 3], 3))
    assert out.keys == ["y", "x", "z"]
    assert math.isclose(sum(v * v for v in out.weights), 1.0)
    assert out.weights[0] == 2.0 * out.weights[1]
    # only the given positions are weighed, in their order on ties
    assert _unit_entries(keys, weights, _heaviest_of(weights, [2, 0, 3], 2)).keys == ["z", "x"]
    # with room for all the given positions, they are kept in their order, unsorted
    assert _heaviest_of(weights, [3, 1, 0], 3).tolist() == [3, 1, 0]
    empty = _unit_entries(keys, weights, _heaviest_of(weights, [], 5))
    assert empty.keys == [] and len(empty.weights) == 0


def test_title_and_lede_words_are_found_by_position_once_each() -> None:
    terms = ["storm", "coast", "ferry", "harbour"]
    title_at, lede_at = _term_positions(terms, ["ferry", "storm"], ["the", "storm", "hit", "coast"])
    assert title_at == [2, 0]
    assert lede_at == [2, 0, 1]  # title words first, then unseen opening words among the terms


def test_document_counts_survive_a_restore() -> None:
    assigner = StoryAssigner()
    for i in range(3):
        text = f"River flooding reached Eastbrook homes again, report {i}."
        article = Article(
            id=f"a{i}", url=None, outlet="o", title="", text=text, lang="en", published=1e9 + i
        )
        assigner.represent(article)
    assert assigner.document_frequency("river") == 3
    assert assigner.document_frequency("report") == 3
    records = dict(assigner.drain_changes())
    # one delta record for all the counted terms, not one record per term
    assert [k for k in records if k.startswith("df:")] == ["df:1"]
    restored = StoryAssigner()
    restored.restore(records.items())
    assert restored.document_frequency("river") == 3
    assert restored.document_frequency("e:eastbrook") == 3
    assert restored.document_frequency("unseen") == 0


def _article(i: int, text: str) -> Article:
    return Article(
        id=f"g{i}", url=None, outlet="o", title="", text=text, lang="en", published=1e9 + i
    )


def test_restored_counts_give_the_same_vectors_and_records() -> None:
    texts = [
        "Flood waters rose along the Marrow River as Eastbrook closed bridges.",
        "Eastbrook council met on flood defences for the Marrow River bridges.",
        "A robot vacuum maker in Kestrel Bay recalled batteries after fires.",
    ]
    original = StoryAssigner()
    for i, text in enumerate(texts):
        original.represent(_article(i, text))
    restored = StoryAssigner()
    restored.restore(original.drain_changes())
    probe = _article(9, "Marrow River flood: Eastbrook bridges reopen as waters fall.")
    a, b = original.represent(probe), restored.represent(probe)
    assert (a.terms, a.entities) == (b.terms, b.entities)
    assert (a.lede.ids.tolist(), a.lede.weights.tolist()) == (
        b.lede.ids.tolist(),
        b.lede.weights.tolist(),
    )
    assert dict(original.drain_changes()) == dict(restored.drain_changes())
    assert original.document_frequency("eastbrook") == 3


def test_a_story_record_keyed_by_term_is_read_into_sorted_vectors() -> None:
    record = {
        "id": "s-1",
        "seq": 1,
        "first": 0.0,
        "last": 0.0,
        "count": 2,
        "centroid": {"river": 0.5, "flood": 1.5},
        "title": {"flood": 1.0},
        "c_norm": math.sqrt(2.5),
        "entities": {"e:marrow river": 1.0},
        "top_names": ["e:marrow river"],
    }
    story = _Story.from_bytes(orjson.dumps(record))
    ids = key_ids(["river", "flood"]).tolist()
    assert story.centroid.ids.tolist() == sorted(ids)
    by_id = dict(zip(story.centroid.ids.tolist(), story.centroid.weights.tolist(), strict=True))
    assert by_id == {ids[0]: 0.5, ids[1]: 1.5}
    assert story.title.ids.tolist() == key_ids(["flood"]).tolist()
    assert len(story.lede.ids) == 0 and story.count == 2
    names = key_ids(["e:marrow river"]).tolist()
    assert story.top_names.tolist() == story.entities.ids.tolist() == names
    again = _Story.from_bytes(story.to_bytes())
    assert again.centroid.ids.tolist() == story.centroid.ids.tolist()
    assert again.centroid.weights.tolist() == story.centroid.weights.tolist()
    assert again.top_names.tolist() == names
