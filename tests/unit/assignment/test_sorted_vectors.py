"""The compiled sorted-vector operations agree with plain dictionaries of term weights."""

from __future__ import annotations

import math
import random

import numpy as np

from pipeline.assignment import sorted_vectors
from pipeline.assignment.sorted_vectors import EMPTY, SortedVector


def _vector(rng: random.Random, n: int, ids: range = range(1000)) -> dict[int, float]:
    return {i: rng.random() for i in rng.sample(ids, n)}


def _sorted(vec: dict[int, float]) -> SortedVector:
    return sorted_vectors.from_pairs(np.array(list(vec), np.int64), np.array(list(vec.values())))


def _as_dict(vec: SortedVector) -> dict[int, float]:
    return dict(zip(vec.ids.tolist(), vec.weights.tolist(), strict=True))


def test_from_pairs_sorts_by_id_and_adds_the_weights_of_a_repeated_id() -> None:
    vec = sorted_vectors.from_pairs(np.array([7, 3, 7, 1]), np.array([0.5, 1.0, 0.25, 2.0]))
    assert vec.ids.tolist() == [1, 3, 7]
    assert vec.weights.tolist() == [2.0, 1.0, 0.75]
    unit = sorted_vectors.unit_from_pairs(np.array([9, 4]), np.array([3.0, 4.0]))
    assert unit.ids.tolist() == [4, 9] and unit.weights.tolist() == [0.8, 0.6]
    zero = sorted_vectors.unit_from_pairs(np.array([9, 4]), np.array([0.0, 0.0]))
    assert len(zero.ids) == 0 and len(zero.weights) == 0


def test_dot_matches_a_dictionary_dot_product() -> None:
    rng = random.Random(4)
    for _ in range(200):
        a, b = _vector(rng, rng.randrange(0, 60)), _vector(rng, rng.randrange(0, 400))
        expected = sum(w * b.get(i, 0.0) for i, w in a.items())
        assert math.isclose(sorted_vectors.dot(_sorted(a), _sorted(b)), expected, abs_tol=1e-12)
    assert sorted_vectors.dot(EMPTY, _sorted({1: 1.0})) == 0.0


def test_add_sums_entries_and_keeps_the_norm_up_to_date() -> None:
    rng = random.Random(5)
    total: dict[int, float] = {}
    vec, norm = EMPTY, 0.0
    for _ in range(30):
        part = _vector(rng, 40)
        for i, w in part.items():
            total[i] = total.get(i, 0.0) + w
        vec, norm = sorted_vectors.add(vec, norm, _sorted(part), keep=10_000)
        assert np.all(np.diff(vec.ids) > 0)
        assert _as_dict(vec).keys() == total.keys()
        assert all(math.isclose(w, total[i]) for i, w in _as_dict(vec).items())
        assert math.isclose(norm, math.sqrt(sum(w * w for w in total.values())))


def test_add_cuts_a_sum_past_twice_keep_to_its_heaviest() -> None:
    rng = random.Random(6)
    base = _vector(rng, 15)
    part = _vector(rng, 10, range(1000, 2000))  # no id in common: the sum has 25 entries
    vec, norm = sorted_vectors.add(_sorted(base), 0.0, _sorted(part), keep=12)
    both = {**base, **part}
    heaviest = sorted(both.values(), reverse=True)[:12]
    assert sorted(vec.weights.tolist(), reverse=True) == heaviest
    assert math.isclose(norm, math.sqrt(sum(w * w for w in heaviest)))
    # under twice keep nothing is cut
    vec, _ = sorted_vectors.add(_sorted(base), 0.0, _sorted(part), keep=13)
    assert len(vec.ids) == 25


def test_cut_keeps_the_heaviest_and_the_greater_ids_among_ties() -> None:
    vec = sorted_vectors.from_pairs(np.array([1, 2, 3, 4, 5]), np.array([0.5, 2.0, 1.0, 1.0, 0.1]))
    kept, norm = sorted_vectors.cut(vec, 2)
    assert kept.ids.tolist() == [2, 4]  # of the tied 3 and 4, the greater id stays
    assert math.isclose(norm, math.sqrt(5.0))
    same, _ = sorted_vectors.cut(vec, 5)
    assert same is vec
    # the top ids follow the same rule, heaviest first
    assert sorted_vectors.top_ids(vec, 3).tolist() == [2, 4, 3]
    assert sorted_vectors.top_ids(EMPTY, 3).tolist() == []


def test_warm_up_leaves_every_operation_ready() -> None:
    sorted_vectors.warm_up()
    sorted_vectors.warm_up()  # a second call does nothing
    vec = sorted_vectors.from_pairs(np.array([3, 1]), np.array([1.0, 2.0]))
    assert sorted_vectors.top_ids(vec, 1).tolist() == [1]
    assert sorted_vectors.count_in(vec, np.array([1, 2, 3])) == 2
