"""Document frequencies per hashed bucket: counting, delta and page records, restore."""

from __future__ import annotations

import numpy as np

from pipeline.assignment.doc_freq import DocumentFrequencies


def _replay(records: list[tuple[str, bytes | None]]) -> DocumentFrequencies:
    """A fresh table restored from the latest value of every key, as a changelog gives it."""
    latest: dict[str, bytes | None] = {}
    for key, value in records:
        latest[key] = value
    table = DocumentFrequencies(1 << 12, page_bits=8, delta_max=50, snapshot_after=3)
    for key, value in latest.items():
        if value is not None:
            assert table.restore(key, value)
    table.finish_restore()
    return table


def test_counts_once_per_article_even_when_two_terms_share_a_bucket() -> None:
    table = DocumentFrequencies(1 << 12)
    assert table.count(np.array([5, 9, 5])).tolist() == [1, 1, 1]
    assert table.count(np.array([5])).tolist() == [2]
    assert table.buckets_of([(1 << 12) + 7]).tolist() == [7]


def test_deltas_pile_up_then_pages_replace_them_and_restores_match() -> None:
    rng = np.random.default_rng(3)
    table = DocumentFrequencies(1 << 12, page_bits=8, delta_max=50, snapshot_after=3)
    log: list[tuple[str, bytes | None]] = []
    for _ in range(40):
        for _ in range(5):
            table.count(np.unique(rng.integers(0, 1 << 12, 30)))
        log.extend(table.drain())
        restored = _replay(log)
        assert np.array_equal(restored.counts, table.counts)
    keys = {key for key, _ in log}
    assert any(k.startswith("dp:") for k in keys)
    live = {k for k, v in dict(log).items() if v is not None and k.startswith("df:")}
    # deltas are deleted once a snapshot holds their pages: never more than the limit stay
    assert len(live) < 3 + 4
    assert table.drain() == []


def test_a_snapshot_cut_short_restores_the_right_counts() -> None:
    table = DocumentFrequencies(1 << 12, page_bits=8, delta_max=50, snapshot_after=2)
    log: list[tuple[str, bytes | None]] = []
    table.count(np.array([1, 300, 700]))
    log.extend(table.drain())
    table.count(np.array([1, 301]))
    snapshot = table.drain()
    # the crash came after the pages were written but before the deltas were deleted
    log.extend((k, v) for k, v in snapshot if v is not None)
    table.count(np.array([1]))
    log.extend(table.drain())
    restored = _replay(log)
    assert restored.counts[[1, 300, 301, 700]].tolist() == [3, 1, 1, 1]
    # the restored table goes on saving from where the original was
    restored.count(np.array([2]))
    more = restored.drain()
    assert [k for k, v in more if k.startswith("df:") and v is not None] == ["df:4"]
