"""Whether a story is telling two events as one: a two-way split of its articles and its test."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.spatial.distance import squareform


def row_cosines(ids: Sequence[np.ndarray], weights: Sequence[np.ndarray]) -> np.ndarray:
    """Pairwise cosines of sparse rows given as arrays of term ids and their weights.

    Only terms shared by two rows or more can make two rows alike, so the dense matrix
    multiplied is built over those columns alone (a few hundred rather than every term of
    every row); each row is scaled to unit length first, so the diagonal is 1 (0 for a row
    without terms).
    """
    n = len(ids)
    sizes = np.fromiter(map(len, ids), np.intp, n)
    cols = np.concatenate(ids) if n else np.zeros(0, np.int64)
    vals = np.concatenate(weights).astype(np.float64) if n else np.zeros(0)
    rows = np.repeat(np.arange(n), sizes)
    norms = np.sqrt(np.bincount(rows, vals * vals, minlength=n))
    vals = vals / np.where(norms > 0.0, norms, 1.0)[rows]
    _, column, counts = np.unique(cols, return_inverse=True, return_counts=True)
    shared = counts > 1
    slot = np.cumsum(shared) - 1
    kept = shared[column]
    dense = np.zeros((n, int(shared.sum())))
    dense[rows[kept], slot[column[kept]]] = vals[kept]
    sims = dense @ dense.T
    np.fill_diagonal(sims, np.bincount(rows, vals * vals, minlength=n))
    return sims


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


def split_by_cosines(
    sims: np.ndarray, min_side: int, max_ratio: float, min_within: float
) -> list[bool] | None:
    """The members that should leave the story, or None when it holds together.

    The articles are cut in two by average-linkage clustering of their cosines. The cut
    stands when each side has ``min_side`` articles or more, the articles resemble the other
    side (mean cross cosine) less than ``max_ratio`` times as much as their own side (mean
    cosine within the sides, weighted by size), and the sides themselves are tight (that mean
    at least ``min_within``): a loose story whose articles all differ is one broad story,
    not two events.

    Args:
        sims: pairwise cosines of the story's articles (see :func:`row_cosines`), in arrival
            order.
        min_side: fewest articles on either side.
        max_ratio: largest accepted ratio of cross to within similarity.
        min_within: smallest accepted within similarity.

    Returns:
        One flag per article, True for those on the side without the first article.
    """
    n = len(sims)
    if n < 2 * min_side:
        return None
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
