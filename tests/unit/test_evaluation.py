"""Tests of the clustering metrics."""

from __future__ import annotations

import pytest

from pipeline.evaluation import bcubed, cluster_count, pairwise


def test_perfect_clustering_scores_one() -> None:
    gold = {"a": 1, "b": 1, "c": 2}
    pred = {"a": "x", "b": "x", "c": "y"}
    assert bcubed(pred, gold).f1 == pytest.approx(1.0)
    assert pairwise(pred, gold).f1 == pytest.approx(1.0)


def test_all_in_one_cluster() -> None:
    gold = {"a": 1, "b": 1, "c": 2, "d": 2}
    pred = dict.fromkeys(gold, "x")
    b = bcubed(pred, gold)
    assert b.recall == pytest.approx(1.0)
    assert b.precision == pytest.approx(0.5)
    p = pairwise(pred, gold)
    # 6 predicted pairs, 2 of them gold pairs
    assert p.precision == pytest.approx(2 / 6)
    assert p.recall == pytest.approx(1.0)


def test_all_singletons() -> None:
    gold = {"a": 1, "b": 1, "c": 1, "d": 2}
    pred = {k: k for k in gold}
    b = bcubed(pred, gold)
    assert b.precision == pytest.approx(1.0)
    # items of class 1 recall 1/3 each, item d recall 1
    assert b.recall == pytest.approx((3 * (1 / 3) + 1) / 4)
    p = pairwise(pred, gold)
    assert p.recall == pytest.approx(0.0)
    assert p.f1 == pytest.approx(0.0)


def test_items_without_gold_are_ignored() -> None:
    gold = {"a": 1, "b": 1, "c": None}
    pred = {"a": "x", "b": "x", "c": "x", "z": "x"}
    assert bcubed(pred, gold).f1 == pytest.approx(1.0)
    assert cluster_count(gold) == 1
