"""Document frequencies per hashed term bucket, kept as a flat array and saved as few records."""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

_IDS = np.dtype("<u4")
_COUNTS = np.dtype("<i4")


class DocumentFrequencies:
    """How many articles contained a term, counted per bucket of the term's stable id.

    The counts are a flat array read and written with array indexing. Saving them as one
    record per term would write every term of every article again (thousands of records per
    batch), so they are saved as two kinds of records:

    - ``df:<seq>``: a *delta*, the buckets counted since the last save with their new counts;
    - ``dp:<page>``: a *page*, the counts of one range of buckets as of delta ``seq``.

    Once ``snapshot_after`` deltas have piled up, the pages they touched are written whole
    and the deltas are deleted, so the records stay bounded. Restoring applies each page and
    then every delta newer than its page; counts are absolute, so a delta applied twice or a
    snapshot cut short by a crash still restores the right counts.

    Args:
        buckets: number of buckets, a power of two.
        page_bits: a page holds ``2**page_bits`` buckets.
        delta_max: most buckets in one delta record (bounds the record size).
        snapshot_after: deltas after which the touched pages are written whole.
    """

    def __init__(
        self,
        buckets: int,
        page_bits: int = 16,
        delta_max: int = 1 << 15,
        snapshot_after: int = 64,
    ) -> None:
        if buckets <= 0 or buckets & (buckets - 1):
            raise ValueError(f"buckets must be a power of two, got {buckets}")
        self.mask = buckets - 1
        self.page_bits = min(page_bits, buckets.bit_length() - 1)
        self.delta_max = delta_max
        self.snapshot_after = snapshot_after
        self.counts = np.zeros(buckets, np.int32)
        self._changed = np.zeros(buckets, np.bool_)  # since the last drain
        pages = buckets >> self.page_bits
        self._page_changed = np.zeros(pages, np.bool_)  # since the last snapshot
        self._page_seq = np.zeros(pages, np.int64)  # the delta a restored page includes
        self._seq = 0
        self._deltas: list[str] = []
        self._restored: list[tuple[int, bytes]] = []

    def buckets_of(self, ids: Sequence[int] | np.ndarray) -> np.ndarray:
        """The buckets of stable term ids."""
        return np.asarray(ids, np.int64) & self.mask

    def count(self, buckets: np.ndarray) -> np.ndarray:
        """Count one more article in each of ``buckets``; return their new counts.

        A bucket listed twice (two terms of one article in one bucket) is counted once.
        """
        seen = self.counts[buckets] + 1
        self.counts[buckets] = seen
        self._changed[buckets] = True
        return seen

    def drain(self) -> list[tuple[str, bytes | None]]:
        """The records to write since the last call (``None``: delete the record)."""
        out: list[tuple[str, bytes | None]] = []
        changed = np.flatnonzero(self._changed)
        if changed.size == 0:
            return out
        self._changed[changed] = False
        self._page_changed[changed >> self.page_bits] = True
        for start in range(0, changed.size, self.delta_max):
            part = changed[start : start + self.delta_max]
            self._seq += 1
            key = f"df:{self._seq}"
            counts = self.counts[part].astype(_COUNTS)
            out.append((key, part.astype(_IDS).tobytes() + counts.tobytes()))
            self._deltas.append(key)
        if len(self._deltas) >= self.snapshot_after:
            size = 1 << self.page_bits
            header = np.array([self._seq], np.dtype("<i8")).tobytes()
            for page in np.flatnonzero(self._page_changed).tolist():
                data = self.counts[page * size : (page + 1) * size].astype(_COUNTS).tobytes()
                out.append((f"dp:{page}", header + zlib.compress(data, 1)))
            self._page_changed[:] = False
            out.extend((key, None) for key in self._deltas)
            self._deltas.clear()
        return out

    def restore(self, key: str, value: bytes) -> bool:
        """Take one saved record (the latest value of its key); False if it is not ours."""
        kind, _, name = key.partition(":")
        if kind == "dp":
            page = int(name)
            size = 1 << self.page_bits
            self._page_seq[page] = int(np.frombuffer(value[:8], np.dtype("<i8"))[0])
            data = np.frombuffer(zlib.decompress(value[8:]), _COUNTS)
            self.counts[page * size : (page + 1) * size] = data
            self._seq = max(self._seq, int(self._page_seq[page]))
            return True
        if kind == "df":
            self._restored.append((int(name), value))
            return True
        return False

    def finish_restore(self) -> None:
        """Apply the restored deltas, oldest first, over the pages they are newer than."""
        for seq, value in sorted(self._restored):
            half = len(value) // 2
            ids = np.frombuffer(value[:half], _IDS).astype(np.int64)
            counts = np.frombuffer(value[half:], _COUNTS)
            newer = self._page_seq[ids >> self.page_bits] < seq
            self.counts[ids[newer]] = counts[newer]
            # Still needed until the next snapshot writes their pages whole.
            self._page_changed[ids >> self.page_bits] = True
            self._deltas.append(f"df:{seq}")
            self._seq = max(self._seq, seq)
        self._restored.clear()
