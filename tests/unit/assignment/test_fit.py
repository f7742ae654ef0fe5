"""Tests of the offline fitting tool for the join decision."""

from __future__ import annotations

from test_assigner import FLOOD, ROBOT, T0, TRIAL, art

from pipeline.assignment.assigner import FEATURE_NAMES, ClusterConfig
from pipeline.assignment.fit import (
    PairSet,
    fit_logistic,
    online_scores,
    order_counts,
    replay_order,
    teacher_forced_pairs,
    tune_weights,
)


def _labelled() -> list:
    out = []
    for i, (label, texts) in enumerate((("flood", FLOOD), ("trial", TRIAL), ("robot", ROBOT))):
        for j, text in enumerate(texts):
            out.append((art(f"{label}{j}", text, T0 + 3600 * (i + 3 * j)), label))
    out.sort(key=lambda pair: pair[0].published)
    return out


def test_replay_order_sorts_dated_rows_and_appends_undated() -> None:
    rows = [
        {"id": "b", "published": "2020-01-02"},
        {"id": "u", "published": None},
        {"id": "a", "published": "2020-01-01T10:00:00Z"},
    ]
    assert [r["id"] for r in replay_order(rows)] == ["a", "b", "u"]


def test_replay_order_falls_back_to_the_date_parsed_from_the_text() -> None:
    rows = [
        {"id": "u1", "published": None},
        {"id": "h", "published": None, "published_heuristic": "2019-05-01"},
        {"id": "u2"},
        {"id": "p", "published": "2020-01-01", "published_heuristic": "2018-01-01"},
    ]
    ordered = replay_order(rows)
    assert [r["id"] for r in ordered] == ["h", "p", "u1", "u2"]
    assert [r["_order"] for r in ordered] == [
        "published_heuristic",
        "published",
        "undated",
        "undated",
    ]
    assert order_counts(ordered) == {"published": 1, "published_heuristic": 1, "undated": 2}


def test_teacher_forced_pairs_label_the_gold_story() -> None:
    pairs = PairSet([], [], [])
    teacher_forced_pairs("mini", _labelled(), ClusterConfig(), pairs)
    assert pairs.joins == 3  # two more flood articles, one more trial article
    assert sum(pairs.labels) == pairs.joins - pairs.retrieval_misses
    assert all(len(f) == len(FEATURE_NAMES) for f in pairs.features)
    # a candidate that is not the story (all signals off) so both classes are present
    pairs.features.append([0.0] * len(FEATURE_NAMES))
    pairs.labels.append(0)
    pairs.corpus.append("mini")
    weights, bias = fit_logistic(pairs)
    assert len(weights) == len(FEATURE_NAMES)
    assert isinstance(bias, float)


def test_online_scores_with_the_default_configuration() -> None:
    scores = online_scores(_labelled(), ClusterConfig())
    assert scores["gold"] == 3
    assert scores["bcubed"] == 1.0


def test_tune_weights_keeps_a_configuration_that_is_already_right() -> None:
    start = ClusterConfig()
    tuned, scores = tune_weights({"mini": _labelled()}, start, rounds=1, bars={"mini": 0.9})
    assert scores == {"mini": 1.0}
    assert len(tuned.weights) == len(start.weights)
    assert tuned.weights == tuple(round(w, 4) for w in start.weights)


def test_priors_are_put_back_after_a_fit_and_left_alone_by_the_search() -> None:
    from dataclasses import replace

    from pipeline.assignment.fit import PRIORS, with_priors

    base = ClusterConfig()
    gap = FEATURE_NAMES.index("log_gap_days")
    fitted = replace(base, weights=tuple(0.5 for _ in base.weights))
    kept = with_priors(fitted, base)
    for name in PRIORS:
        i = FEATURE_NAMES.index(name)
        assert kept.weights[i] == base.weights[i]
    assert kept.weights[FEATURE_NAMES.index("cos_lede")] == 0.5
    # a start that splits the mini corpus, so the search has something to change
    weights = list(base.weights)
    weights[gap] = -0.7
    start = replace(base, weights=tuple(weights), bias=-6.0)
    tuned, _ = tune_weights({"mini": _labelled()}, start, rounds=1, bars={"mini": 0.99})
    assert (tuned.weights, tuned.bias) != (start.weights, start.bias)
    assert tuned.weights[gap] == -0.7


def test_online_scores_follow_the_dedup_verdicts_when_given() -> None:
    from schemas.records import DedupVerdict

    items = [(a, label, DedupVerdict(article_id=a.id, kind="original")) for a, label in _labelled()]
    first, label, _ = items[0]
    copy = art("copy-of-" + first.id, first.text, first.published + 60)
    items.append(
        (copy, label, DedupVerdict(article_id=copy.id, kind="resend", duplicate_of=first.id))
    )
    scores = online_scores(items, ClusterConfig())
    assert scores["bcubed"] == 1.0
    assert scores["found"] == 3


def test_load_corpus_gives_articles_labels_and_verdicts_in_replay_order(tmp_path) -> None:
    import orjson

    from pipeline.assignment.fit import load_corpus

    rows = [
        {"id": 2, "title": "B", "text": FLOOD[1], "published": "2020-01-02", "event": "f"},
        {"id": 1, "title": "A", "text": FLOOD[0], "published": "2020-01-01", "event": "f"},
        {"id": 3, "title": "C", "text": ROBOT[0], "published": None, "event": "r"},
    ]
    path = tmp_path / "mini.jsonl"
    path.write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
    counts: dict[str, int] = {}
    items = load_corpus(str(path), normalize=False, dedup=False, ordered_by=counts)
    assert [(a.id, label, v.kind) for a, label, v in items] == [
        ("1", "f", "original"),
        ("2", "f", "original"),
        ("3", "r", "original"),
    ]
    assert counts == {"published": 2, "published_heuristic": 0, "undated": 1}
