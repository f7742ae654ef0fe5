"""Whether a story is telling two events as one: a two-way split of its articles and its test."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import compress

import numpy as np


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


def _top_cut(dist: list[list[float]]) -> list[bool]:
    """The two clusters joined by the last merge of average-linkage clustering of ``dist``.

    Nearest-neighbour-chain agglomeration with the tie rules of scipy's ``linkage``
    (a chain starts at the first live cluster, the previous member of the chain wins a tie,
    a merged cluster takes the greater index, and of equally high merges the one found
    later is the last), so the cut is the one ``linkage(..., "average")`` gives. Written out
    because a story's check needs only this cut of at most a few dozen articles, where the
    library call's input checks cost several times the clustering itself.

    Args:
        dist: symmetric distances with a zero diagonal, one row per article.

    Returns:
        One flag per article, True for those in the later-indexed of the two clusters.
    """
    n = len(dist)
    inf = math.inf
    d = [row[:] for row in dist]
    for i in range(n):
        d[i][i] = inf
    members = [[i] for i in range(n)]
    live = list(range(n))
    chain: list[int] = []
    top_height = -inf
    top: list[int] = []
    for _ in range(n - 1):
        if not chain:
            chain.append(live[0])
        while True:  # follow nearest neighbours until two are each other's
            x = chain[-1]
            row = d[x]
            low = min(row)
            if len(chain) > 1:
                y = chain[-2]
                if row[y] <= low:
                    break
            y = row.index(low)
            chain.append(y)
        del chain[-2:]
        if x > y:
            x, y = y, x
        if low >= top_height:
            top_height, top = low, members[y]
        nx, ny = len(members[x]), len(members[y])
        members[y] = members[x] + members[y]
        live.remove(x)
        dx, dy = d[x], d[y]
        for i in live:  # the merged cluster's mean distance to every other cluster
            if i != y:
                di = d[i]
                di[y] = dy[i] = (nx * dx[i] + ny * dy[i]) / (nx + ny)
                di[x] = inf
        dy[x] = inf
    side = [False] * n
    for i in top:
        side[i] = True
    return side


def split_by_cosines(
    sims: np.ndarray | Sequence[Sequence[float]],
    min_side: int,
    max_ratio: float,
    min_within: float,
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
            order; the weights are non-negative, so every cosine is between 0 and 1.
        min_side: fewest articles on either side.
        max_ratio: largest accepted ratio of cross to within similarity.
        min_within: smallest accepted within similarity.

    Returns:
        One flag per article, True for those on the side without the first article.
    """
    rows = sims.tolist() if isinstance(sims, np.ndarray) else [list(r) for r in sims]
    n = len(rows)
    if n < 2 * min_side:
        return None
    side = _top_cut([[1.0 - s if s < 1.0 else 0.0 for s in row] for row in rows])
    if side[0]:
        side = [not s for s in side]
    k = sum(side)
    if min(k, n - k) < min_side:
        return None
    # each article's summed cosine to the leaving side, and to every article
    to_out = [sum(compress(row, side)) for row in rows]
    to_all = [sum(row) for row in rows]
    self_out = sum(rows[i][i] for i in range(n) if side[i])
    self_stay = sum(rows[i][i] for i in range(n) if not side[i])
    pairs_out = sum(compress(to_out, side)) - self_out
    cross_sum = sum(t for t, s in zip(to_out, side, strict=True) if not s)
    pairs_stay = sum(a - t for a, t, s in zip(to_all, to_out, side, strict=True) if not s)
    pairs_stay -= self_stay
    # mean cosine within each side (1 for a side of one article), weighted by the side's size
    within = (
        (pairs_stay / (n - k - 1) if n - k > 1 else 1.0) + (pairs_out / (k - 1) if k > 1 else 1.0)
    ) / n
    cross = cross_sum / (k * (n - k))
    if within < min_within or cross >= max_ratio * within:
        return None
    return side
