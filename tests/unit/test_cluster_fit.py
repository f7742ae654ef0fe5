"""Tests of the offline fitting tool for the join decision."""

from __future__ import annotations

from test_cluster import FLOOD, ROBOT, T0, TRIAL, art

from pipeline.cluster import FEATURE_NAMES, ClusterConfig
from pipeline.cluster_fit import (
    PairSet,
    fit_logistic,
    online_scores,
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
