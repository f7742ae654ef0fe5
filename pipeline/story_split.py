"""Whether a story is telling two events as one: a two-way split of its articles and its test."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import chain, islice
from operator import itemgetter

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform


def cosine_matrix(vectors: Sequence[dict[str, float]], limit: int | None = None) -> np.ndarray:
    """Pairwise cosines of sparse vectors, each cut to its first ``limit`` entries.

    Vectors list their heaviest entries first, so the cut keeps the heaviest.
    """
    cut = [list(islice(vec.items(), limit)) for vec in vectors]
    column = {key: i for i, key in enumerate(dict.fromkeys(k for items in cut for k, _ in items))}
    sizes = list(map(len, cut))
    total = sum(sizes)
    entries = list(chain.from_iterable(cut))
    cols = np.fromiter(map(column.__getitem__, map(itemgetter(0), entries)), np.intp, total)
    values = np.fromiter(map(itemgetter(1), entries), np.float64, total)
    dense = np.zeros((len(vectors), len(column)))
    dense[np.repeat(np.arange(len(vectors)), sizes), cols] = values
    norms = np.linalg.norm(dense, axis=1)
    dense /= np.where(norms > 0.0, norms, 1.0)[:, None]
    return dense @ dense.T


def _second_cluster(merges: np.ndarray, n: int) -> np.ndarray:
    """Leaves under the second child of the last merge of a linkage (the two-cluster cut)."""
    out = np.zeros(n, dtype=bool)
    pending = [int(merges[-1, 1])]
    while pending:
        node = pending.pop()
        if node < n:
            out[node] = True
        else:
            pending.extend(int(child) for child in merges[node - n, :2])
    return out


def two_way_split(
    vectors: Sequence[dict[str, float]],
    min_side: int,
    max_ratio: float,
    min_within: float,
    terms: int | None = None,
) -> list[bool] | None:
    """The members that should leave the story, or None when it holds together.

    The articles are cut in two by average-linkage clustering of their cosines. The cut
    stands when each side has ``min_side`` articles or more, the articles resemble the other
    side (mean cross cosine) less than ``max_ratio`` times as much as their own side (mean
    cosine within the sides, weighted by size), and the sides themselves are tight (that mean
    at least ``min_within``): a loose story whose articles all differ is one broad story,
    not two events.

    Args:
        vectors: unit TF-IDF vectors of the story's articles, in arrival order.
        min_side: fewest articles on either side.
        max_ratio: largest accepted ratio of cross to within similarity.
        min_within: smallest accepted within similarity.
        terms: each vector's heaviest entries compared (all when None).

    Returns:
        One flag per article, True for those on the side without the first article.
    """
    n = len(vectors)
    if n < 2 * min_side:
        return None
    sims = cosine_matrix(vectors, terms)
    distances = np.clip(1.0 - sims, 0.0, 2.0)
    np.fill_diagonal(distances, 0.0)
    side = _second_cluster(linkage(squareform(distances, checks=False), "average"), n)
    if side[0]:
        side = ~side
    k = int(side.sum())
    if min(k, n - k) < min_side:
        return None
    out = side.astype(float)
    stay = 1.0 - out
    diagonal = np.diag(sims)
    pairs_out = out @ sims @ out - diagonal @ out
    pairs_stay = stay @ sims @ stay - diagonal @ stay
    # mean cosine within each side (1 for a side of one article), weighted by the side's size
    within = (
        (pairs_stay / (n - k - 1) if n - k > 1 else 1.0) + (pairs_out / (k - 1) if k > 1 else 1.0)
    ) / n
    cross = float(stay @ sims @ out) / (k * (n - k))
    if within < min_within or cross >= max_ratio * within:
        return None
    return side.tolist()
