"""The dedup stage: resends, revisions, syndicated copies and light edits via MinHash-LSH."""

from __future__ import annotations

import heapq
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from pipeline.common.jsonbytes import json_bytes
from pipeline.common.memos import DeliveryMemos
from pipeline.common.text import stable_hash
from pipeline.dedup.minhash import band_keys, signatures
from schemas.records import Article, DedupVerdict

# Choice of parameters, measured with benchmarks/dup_bench.py on the shared corpora (1,572
# articles, 8,934 same-event pairs that are not copies, 20,000 random other-event pairs, and
# generated light edits: 8% of words edited, last paragraph dropped). Exact Jaccard:
#
#   shingles   light edit p1 / p5 / p50   same event, no copy: p99.9 / max   other events: mean
#   words      0.41 / 0.67 / 0.85         0.59 / 0.73                         0.086
#   2-grams    0.32 / 0.54 / 0.72         0.36 / 0.43                         0.0099
#   3-grams    0.28 / 0.45 / 0.62         0.28 / 0.31                         0.0006
#   4-grams    0.25 / 0.38 / 0.55         0.22 / 0.27                         0.0001
#
# * Word 3-grams separate copies from same-event articles best: a threshold of 0.4 lies above
#   every same-event non-copy pair (max 0.31) and below 95% of light edits, and unrelated
#   articles share almost nothing (few LSH candidates). Single words and 2-grams overlap
#   between light edits and same-event articles; 4-grams lose light edits.
# * 128 permutations: standard error of the Jaccard estimate <= 0.045, about two between 0.31
#   and 0.4; signatures of 512 bytes. 256 would halve the signing speed for little gain.
# * Containment rule: a copy with paragraphs dropped keeps most of its text inside the original
#   while its Jaccard falls; estimated containment >= 0.8 with Jaccard >= 0.3 also counts.
# * LSH: 42 bands of 3 rows. Candidate probability 0.68 at Jaccard 0.3, 0.94 at 0.4, 0.996 at
#   0.5; a pair of other-event articles (Jaccard ~0.0006) essentially never. The benchmark's
#   light-edit recall is the same with 64 bands of 2 rows (every miss is a verification reject,
#   not an LSH miss) and lower with 32 bands of 4 rows (0.94-0.96 against 0.96-0.98).
# * Every LSH candidate is verified (estimated Jaccard and containment) before a verdict.

SECONDS_PER_DAY = 86400.0
_KIND_CODE = {kind: i for i, kind in enumerate(DedupVerdict.KINDS)}
_ENTRY_HEADER = struct.Struct("<BQdHB")  # format, seq, published, num_perm, versions
_VERSION_SIZE = struct.Struct("<I")  # distinct shingles of one indexed version
_ENTRY_FORMAT = 2
ARTICLE_PREFIX = "a/"
DELIVERY_PREFIX = "d/"


@dataclass(frozen=True)
class DedupConfig:
    """Tuning of the dedup stage.

    Attributes:
        num_perm: MinHash permutations (signature length).
        threshold: Estimated Jaccard at or above which an article from another url is a light
            edit of a candidate.
        window_seconds: Event-time window; older articles leave the index on ``expire``.
        shingle: Words per shingle.
        bands: LSH bands.
        rows: Signature values per band (``bands * rows <= num_perm``).
        syndicated_threshold: Estimated Jaccard at or above which a copy is "syndicated"
            (near-identical text) rather than a light edit.
        containment_threshold: Estimated containment of the smaller text in the larger at or
            above which a copy is a light edit even when its Jaccard is lower (a copy with
            paragraphs dropped), provided the Jaccard reaches ``containment_min_jaccard``.
        containment_min_jaccard: Jaccard floor for the containment rule.
        min_shingles: Texts with fewer distinct shingles are matched by id, url and content
            hash only, never as near-duplicates.
        seed: MinHash permutation seed (datasketch-compatible).
        max_versions: Content hashes remembered per article (to recognise stale resends).
        indexed_versions: Signatures kept per article: the first text plus, after revisions,
            the latest (2), so copies of either version are found.
        purge_min_dead: Expired or replaced signatures are purged from the LSH table (a
            rebuild) once there are this many and at least a quarter of the live ones.
    """

    num_perm: int = 128
    threshold: float = 0.4
    window_seconds: float = 14 * SECONDS_PER_DAY
    shingle: int = 3
    bands: int = 42
    rows: int = 3
    syndicated_threshold: float = 0.9
    containment_threshold: float = 0.8
    containment_min_jaccard: float = 0.3
    min_shingles: int = 5
    seed: int = 1
    max_versions: int = 8
    indexed_versions: int = 2
    purge_min_dead: int = 1024

    def __post_init__(self) -> None:
        if self.bands * self.rows > self.num_perm:
            raise ValueError("bands * rows must not exceed num_perm")
        if self.indexed_versions < 1:
            raise ValueError("indexed_versions must be at least 1")


@dataclass(slots=True)
class _Entry:
    """One indexed article (in memory)."""

    id: str
    url: str | None
    root: str | None
    seq: int
    published: float
    hashes: list[str]
    slots: list[int]  # indexed versions: the first text and, after revisions, the latest
    alias_ids: list[str] = field(default_factory=list)
    alias_urls: list[str] = field(default_factory=list)


class BandIndex:
    """An LSH band index (band key -> slots) in a numpy open-addressing hash table.

    Hand-written because datasketch's ``MinHashLSH`` keeps a Python set per bucket and a tuple
    of byte strings per key: measured here at ~12 KB of memory per article (100,000 articles,
    32 bands) and ~6,300 query+insert/s. A Python dict of band keys costs ~75 bytes per entry
    (1.6 GB for 500,000 articles x 42 bands), and a sorted array needs large rewrites to insert.
    This table stores 12 bytes per cell (key, slot) at a load of at most ``max_load``; band
    keys are already uniformly mixed 64-bit hashes, so their low bits address the table and
    linear probing reads a short window of cells in one vectorized step. Several entries may
    share a key (a multimap). Removed slots stay until ``purge`` rebuilds the table without
    them; the caller filters dead slots out of query results until then.
    """

    _WIDTH = 16  # cells read per probe step
    _TOP = np.uint64(1 << 63)  # set on every stored key, so 0 marks an empty cell

    def __init__(self, bands: int, capacity: int = 1 << 16, max_load: float = 0.75) -> None:
        self.bands = bands
        self.max_load = max_load
        self._alloc(capacity)
        self._count = 0

    def _alloc(self, capacity: int) -> None:
        cap = 1 << max(4, (capacity - 1).bit_length())
        self._mask = cap - 1
        self._tkeys = np.zeros(cap + self._WIDTH, dtype=np.uint64)  # tail mirrors wrap-around
        self._tslots = np.zeros(cap + self._WIDTH, dtype=np.int32)

    @property
    def capacity(self) -> int:
        return self._mask + 1

    def __len__(self) -> int:
        return self._count

    def insert_many(self, slots: np.ndarray, keys: np.ndarray) -> None:
        """Index rows of band keys ``keys[i]`` under ``slots[i]``, all at once."""
        flat = keys.reshape(-1) | self._TOP
        if self._count + len(flat) > self.max_load * self.capacity:
            self._rebuild(None, 2 * self.capacity)
        self._place(flat, np.repeat(np.asarray(slots, dtype=np.int32), keys.shape[1]))

    def _place(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Put entries (keys with the top bit set) into the first empty cells after home."""
        mask, width = self._mask, self._WIDTH
        tkeys, tslots = self._tkeys, self._tslots
        pos = (keys & np.uint64(mask)).astype(np.int64)
        todo = np.arange(len(keys))
        steps = np.arange(width)
        while len(todo):
            window = pos[todo, None] + steps
            free = tkeys[window] == 0
            has = free.any(axis=1)
            target = window[np.arange(len(todo)), free.argmax(axis=1)]
            # One winner per target cell; the others probe again from there.
            order = np.flatnonzero(has)
            cells, first = np.unique(target[order], return_index=True)
            win = todo[order[first]]
            cells &= mask
            tkeys[cells] = keys[win]
            tslots[cells] = slots[win]
            mirror = cells < width
            if mirror.any():
                tkeys[cells[mirror] + mask + 1] = keys[win[mirror]]
                tslots[cells[mirror] + mask + 1] = slots[win[mirror]]
            placed = np.zeros(len(keys), dtype=np.bool_)
            placed[win] = True
            rest = ~placed[todo]
            pos[todo[rest]] = np.where(has[rest], target[rest], pos[todo[rest]] + width) & mask
            todo = todo[rest]
        self._count += len(keys)

    def query_many(self, keys: np.ndarray) -> list[set[int]]:
        """For each row of band keys, the slots sharing at least one key with it.

        Results may include removed slots: the caller checks liveness. Entries of a key all
        lie in the run of occupied cells that starts at its home cell (cells are never emptied
        except by a rebuild), so a match anywhere in the window before or after an empty cell
        is genuine and probing stops at the first window holding an empty cell.
        """
        n, width = keys.shape[0], self._WIDTH
        flat = keys.reshape(-1) | self._TOP
        row = np.repeat(np.arange(n), keys.shape[1])
        pos = (flat & np.uint64(self._mask)).astype(np.int64)
        found: list[set[int]] = [set() for _ in range(n)]
        todo = np.arange(len(flat))
        steps = np.arange(width)
        while len(todo):
            window = pos[todo, None] + steps
            stored = self._tkeys[window]
            hit = stored == flat[todo, None]
            if hit.any():
                where = np.nonzero(hit)
                slots = self._tslots[window[where]]
                for r, slot in zip(row[todo[where[0]]].tolist(), slots.tolist(), strict=True):
                    found[r].add(slot)
            more = ~(stored == 0).any(axis=1)
            todo = todo[more]
            pos[todo] = (pos[todo] + width) & self._mask
        return found

    def purge(self, alive: np.ndarray) -> None:
        """Rebuild the table without the entries of slots that are not ``alive``."""
        self._rebuild(alive, self.capacity)

    def _rebuild(self, alive: np.ndarray | None, capacity: int) -> None:
        cap = self.capacity
        used = self._tkeys[:cap] != 0
        keys, slots = self._tkeys[:cap][used], self._tslots[:cap][used]
        if alive is not None:
            keep = alive[slots]
            keys, slots = keys[keep], slots[keep]
        while len(keys) > self.max_load * capacity:
            capacity *= 2
        self._alloc(capacity)
        self._count = 0
        chunk = 1 << 18  # bounds the (entries x window) scratch arrays
        for i in range(0, len(keys), chunk):
            self._place(keys[i : i + chunk], slots[i : i + chunk])

    @property
    def nbytes(self) -> int:
        return int(self._tkeys.nbytes + self._tslots.nbytes)


def sign_articles(
    articles: Sequence[Article], config: DedupConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Signatures, distinct-shingle counts and band keys of a batch, in one vectorized call."""
    sigs = signatures(
        [a.text or "" for a in articles], config.num_perm, config.seed, config.shingle
    )
    return sigs.values, sigs.sizes, band_keys(sigs.values, config.bands, config.rows)


class ChangeRecords:
    """Mixin for stages whose state changes are records for a changelogged table."""

    _changes: dict[str, bytes | None]

    def drain_changes(self) -> list[tuple[str, bytes | None]]:
        """State records written since the last call (value None: delete the key)."""
        changes = list(self._changes.items())
        self._changes = {}
        return changes


class IdentityIndex:
    """Which known article an id or a canonical url belongs to (aliases included).

    Entries are any objects with ``id``, ``url``, ``alias_ids`` and ``alias_urls``.
    """

    def __init__(self) -> None:
        self.entries: dict[str, Any] = {}
        self._by_id: dict[str, str] = {}
        self._by_url: dict[str, str] = {}

    def lookup(self, article: Article) -> Any:
        """The entry of ``article``'s id, else of its url (None when unknown)."""
        eid = self._by_id.get(article.id)
        if eid is None and article.url:
            eid = self._by_url.get(article.url)
        return self.entries.get(eid) if eid is not None else None

    def add(self, entry: Any) -> None:
        self.entries[entry.id] = entry
        for i in (entry.id, *entry.alias_ids):
            self._by_id[i] = entry.id
        for u in ([entry.url] if entry.url else []) + entry.alias_urls:
            self._by_url[u] = entry.id

    def remove(self, entry: Any) -> None:
        self.entries.pop(entry.id, None)
        for i in (entry.id, *entry.alias_ids):
            if self._by_id.get(i) == entry.id:
                del self._by_id[i]
        for u in ([entry.url] if entry.url else []) + entry.alias_urls:
            if self._by_url.get(u) == entry.id:
                del self._by_url[u]


def note_revision(entry: Any, article: Article, chash: str, max_versions: int) -> None:
    """Record a new version of a known article: its hash, event time, and any new id or url."""
    entry.hashes = (entry.hashes + [chash])[-max_versions:]
    entry.published = max(entry.published, float(article.published))
    if article.id != entry.id and article.id not in entry.alias_ids:
        entry.alias_ids.append(article.id)
    if article.url and article.url != entry.url and article.url not in entry.alias_urls:
        if entry.url is None:
            entry.url = article.url
        else:
            entry.alias_urls.append(article.url)


class Deduplicator(ChangeRecords):
    """Decides, article by article, whether it is new, a resend, a revision or a copy.

    State: the indexed articles (id, url, content hashes, MinHash signature, event time;
    ``a/<id>``) and the verdicts of recent deliveries (``d/<first delivery>``, one record per
    drained batch: :class:`~pipeline.common.memos.DeliveryMemos`). Every change is recorded as
    a (key, bytes) pair that ``drain_changes`` hands to a changelogged table; ``restore``
    rebuilds the same state.
    """

    def __init__(self, config: DedupConfig | None = None) -> None:
        self.config = config or DedupConfig()
        c = self.config
        self._ids = IdentityIndex()
        self._entries: dict[str, _Entry] = self._ids.entries
        self._memos = DeliveryMemos(DELIVERY_PREFIX)
        self._entry_heap: list[tuple[float, str]] = []
        self._changes: dict[str, bytes | None] = {}
        self._seq = 0
        self._sigs = np.empty((1024, c.num_perm), dtype=np.uint32)
        self._alive = np.zeros(1024, dtype=np.bool_)
        self._sizes = np.zeros(1024, dtype=np.int64)
        self._slot_entry: list[_Entry | None] = []
        self._free: list[int] = []
        self._pending_free: list[int] = []
        self._index = BandIndex(c.bands)
        # Placements not yet in the index table (flushed in one vectorized insert per batch).
        self._pending_slots: list[int] = []
        self._pending_keys: list[np.ndarray] = []
        self._last_placed = -1

    # -- public interface -------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def drain_changes(self) -> list[tuple[str, bytes | None]]:
        """State records written since the last call (value None: delete the key)."""
        return super().drain_changes() + self._memos.drain()

    def check(self, article: Article, delivery: str | None = None) -> DedupVerdict:
        """The verdict for one article; updates the index (unless the delivery was seen)."""
        return self.check_many([(article, delivery)])[0]

    def check_many(self, items: Sequence[tuple[Article, str | None]]) -> list[DedupVerdict]:
        """Verdicts for a batch, in order, exactly as ``check`` one by one would give them.

        Signatures are computed for the whole batch at once, and the LSH table is queried and
        updated once per batch; articles of the same batch find each other through the band
        keys they share (computed for the batch with one sort).
        """
        values, sizes, keys = sign_articles([a for a, _ in items], self.config)
        return self._check_signed(items, values, sizes, keys)

    def check_signed(
        self, items: Sequence[tuple[Article, str | None]], values: np.ndarray, sizes: np.ndarray,
        keys: np.ndarray,
    ) -> list[DedupVerdict]:
        """``check_many`` for articles signed earlier by :func:`sign_articles` (elsewhere)."""
        return self._check_signed(items, values, sizes, keys)

    def _check_signed(
        self, items: Sequence[tuple[Article, str | None]], values: np.ndarray, sizes: np.ndarray,
        keys: np.ndarray,
    ) -> list[DedupVerdict]:
        """``check_many`` with signatures and band keys already computed."""
        self._flush()
        found = self._index.query_many(keys)
        earlier = _shared_key_partners(keys)  # rows of this batch that share a band key
        placed = [-1] * len(items)  # slot indexed for each row of this batch
        out: list[DedupVerdict] = []
        for i, (article, delivery) in enumerate(items):
            if delivery is not None:
                seen = self._memos.get(delivery)
                if seen is not None:
                    out.append(decode_verdict(seen))
                    continue
            cands = found[i]
            for j in earlier.get(i, ()):
                if placed[j] >= 0:
                    cands.add(placed[j])
            self._last_placed = -1
            verdict = self._decide(article, values[i], int(sizes[i]), keys[i], cands)
            placed[i] = self._last_placed
            if delivery is not None:
                self._memos.add(delivery, encode_verdict(verdict), float(article.published))
            out.append(verdict)
        self._flush()
        return out

    def restore(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild in-memory state from records (the latest value per key)."""
        for key, value in items:
            if value is None:
                continue
            if key.startswith(ARTICLE_PREFIX):
                self._restore_entry(key[len(ARTICLE_PREFIX) :], value)
            else:
                self._memos.restore(key, value, legacy_verdict)
        self._flush()

    def expire(self, now: float) -> int:
        """Drop articles (and delivery memos) older than the event-time window before ``now``."""
        cutoff = now - self.config.window_seconds
        removed = 0
        heap = self._entry_heap  # (event time, article id); stale items are skipped
        while heap and heap[0][0] < cutoff:
            published, aid = heapq.heappop(heap)
            entry = self._entries.get(aid)
            if entry is None or entry.published != published:
                continue
            self._remove_entry(entry)
            self._changes[ARTICLE_PREFIX + aid] = None
            removed += 1
        self._memos.expire(cutoff)
        if removed:
            self._merge()
        return removed

    # -- diagnostics --------------------------------------------------------------------------

    def state_bytes(self) -> dict[str, float]:
        """Sizes of the state records: total and per indexed article."""
        article = sum(
            len(ARTICLE_PREFIX + e.id) + len(self._encode_entry(e)) for e in self._entries.values()
        )
        delivery = self._memos.record_bytes()
        n = max(len(self._entries), 1)
        return {
            "article_records": article,
            "delivery_records": delivery,
            "per_article": (article + delivery) / n,
            "index_bytes_per_article": self._index.nbytes / n,
        }

    # -- decisions ----------------------------------------------------------------------------

    def _lookup(self, article: Article) -> _Entry | None:
        return self._ids.lookup(article)

    def _decide(
        self, article: Article, sig: np.ndarray, size: int, keys: np.ndarray, found: set[int]
    ) -> DedupVerdict:
        c = self.config
        chash = article.content_hash or stable_hash(article.text or "")
        known = self._lookup(article)
        if known is not None:
            if chash in known.hashes:
                return DedupVerdict(article.id, "resend", duplicate_of=known.id, similarity=1.0)
            latest = known.slots[-1]
            sim = _jaccard(self._sigs[latest], sig) if self._sizes[latest] and size else 0.0
            self._revise(known, article, chash, sig, size, keys)
            return DedupVerdict(
                article.id, "revision", duplicate_of=known.id, similarity=sim, replaces=known.id
            )
        kind, best, sim = "original", None, 0.0
        if size >= c.min_shingles:
            best, sim, is_copy = self._best_match(sig, size, keys, found)
            if is_copy and best is not None:
                kind = "syndicated" if sim >= c.syndicated_threshold else "light_edit"
        root = None
        if kind != "original" and best is not None:
            root = best.root or best.id
        self._add(article, chash, sig, size, keys, root)
        return DedupVerdict(article.id, kind, duplicate_of=root, similarity=round(sim, 4))

    def _best_match(
        self, sig: np.ndarray, size: int, keys: np.ndarray, found: set[int]
    ) -> tuple[_Entry | None, float, bool]:
        """The best verified candidate among the slots ``found`` by the LSH lookup: highest
        estimated Jaccard, ties to the earliest seen."""
        c = self.config
        cands = [s for s in found if self._alive[s]]
        if not cands:
            return None, 0.0, False
        slots = np.array(cands, dtype=np.int64)
        jac = (self._sigs[slots] == sig).mean(axis=1)
        other_sizes = self._sizes[slots]
        best: tuple[float, int, _Entry] | None = None
        best_any = 0.0
        for s, j, other in zip(cands, jac.tolist(), other_sizes.tolist(), strict=True):
            entry = self._slot_entry[s]
            if entry is None:
                continue
            best_any = max(best_any, j)
            better = best is None or (j, -entry.seq) > (best[0], -best[2].seq)
            if better and is_copy(j, size, other, c):
                best = (j, s, entry)
        if best is None:
            return None, best_any, False
        return best[2], best[0], True

    # -- state changes ------------------------------------------------------------------------

    def _alloc(self) -> int:
        if self._free:
            return self._free.pop()
        slot = len(self._slot_entry)
        if slot >= len(self._sigs):
            grow = len(self._sigs)
            self._sigs = np.concatenate([self._sigs, np.empty_like(self._sigs[:grow])])
            self._alive = np.concatenate([self._alive, np.zeros(grow, dtype=np.bool_)])
            self._sizes = np.concatenate([self._sizes, np.zeros(grow, dtype=np.int64)])
        self._slot_entry.append(None)
        return slot

    def _place(self, entry: _Entry, sig: np.ndarray, size: int, keys: np.ndarray) -> None:
        """Store one version's signature in a slot and index it (if long enough)."""
        slot = self._alloc()
        entry.slots.append(slot)
        self._sigs[slot] = sig
        self._sizes[slot] = size
        self._alive[slot] = True
        self._slot_entry[slot] = entry
        if size >= self.config.min_shingles:
            self._pending_slots.append(slot)
            self._pending_keys.append(keys)
            self._last_placed = slot

    def _flush(self) -> None:
        """Move pending placements into the index table (one vectorized insert)."""
        if self._pending_slots:
            self._index.insert_many(
                np.array(self._pending_slots, dtype=np.int32), np.stack(self._pending_keys)
            )
            self._pending_slots = []
            self._pending_keys = []

    def _unplace(self, entry: _Entry, slot: int) -> None:
        entry.slots.remove(slot)
        self._alive[slot] = False
        self._slot_entry[slot] = None
        self._pending_free.append(slot)

    def _merge(self, force: bool = False) -> None:
        """Purge dead slots from the LSH table and make them reusable, once they are many.

        A purge rebuilds the table (linear in its size), so it waits until the dead slots
        reach a quarter of the live ones; until then queries skip dead slots.
        """
        live = len(self._slot_entry) - len(self._free) - len(self._pending_free)
        if not force and len(self._pending_free) < max(self.config.purge_min_dead, live // 4):
            return
        self._flush()
        self._index.purge(self._alive)
        self._free.extend(self._pending_free)
        self._pending_free = []

    def _register(self, entry: _Entry) -> None:
        self._ids.add(entry)
        heapq.heappush(self._entry_heap, (entry.published, entry.id))

    def _remove_entry(self, entry: _Entry) -> None:
        for slot in list(entry.slots):
            self._unplace(entry, slot)
        self._ids.remove(entry)

    def _add(
        self, article: Article, chash: str, sig: np.ndarray, size: int, keys: np.ndarray,
        root: str | None,
    ) -> None:
        entry = _Entry(
            id=article.id, url=article.url, root=root, seq=self._seq,
            published=float(article.published), hashes=[chash], slots=[],
        )
        self._seq += 1
        self._place(entry, sig, size, keys)
        self._register(entry)
        self._changes[ARTICLE_PREFIX + entry.id] = self._encode_entry(entry)

    def _revise(
        self, entry: _Entry, article: Article, chash: str, sig: np.ndarray, size: int,
        keys: np.ndarray,
    ) -> None:
        if len(entry.slots) >= self.config.indexed_versions:
            self._unplace(entry, entry.slots[-1])
        note_revision(entry, article, chash, self.config.max_versions)
        self._place(entry, sig, size, keys)
        self._register(entry)
        self._changes[ARTICLE_PREFIX + entry.id] = self._encode_entry(entry)

    # -- records ------------------------------------------------------------------------------

    def _encode_entry(self, entry: _Entry) -> bytes:
        meta: dict[str, object] = {"h": entry.hashes}
        if entry.url is not None:
            meta["u"] = entry.url
        if entry.root is not None:
            meta["r"] = entry.root
        if entry.alias_ids:
            meta["ai"] = entry.alias_ids
        if entry.alias_urls:
            meta["au"] = entry.alias_urls
        n = self.config.num_perm
        parts = [_ENTRY_HEADER.pack(_ENTRY_FORMAT, entry.seq, entry.published, n, len(entry.slots))]
        for slot in entry.slots:
            parts.append(_VERSION_SIZE.pack(int(self._sizes[slot])))
            parts.append(self._sigs[slot].astype("<u4").tobytes())
        parts.append(orjson.dumps(meta))
        return b"".join(parts)

    def _restore_entry(self, article_id: str, value: bytes) -> None:
        fmt, seq, published, num_perm, versions = _ENTRY_HEADER.unpack_from(value)
        if fmt != _ENTRY_FORMAT or num_perm != self.config.num_perm:
            raise ValueError(f"dedup record for {article_id!r} does not fit this configuration")
        pos = _ENTRY_HEADER.size
        stored = []
        for _ in range(versions):
            (size,) = _VERSION_SIZE.unpack_from(value, pos)
            pos += _VERSION_SIZE.size
            sig = np.frombuffer(value, dtype="<u4", count=num_perm, offset=pos).astype(np.uint32)
            pos += 4 * num_perm
            stored.append((sig, size))
        meta = orjson.loads(value[pos:])
        old = self._entries.get(article_id)
        if old is not None:
            self._remove_entry(old)
        entry = _Entry(
            id=article_id, url=meta.get("u"), root=meta.get("r"), seq=seq, published=published,
            hashes=list(meta["h"]), slots=[], alias_ids=list(meta.get("ai", [])),
            alias_urls=list(meta.get("au", [])),
        )
        for sig, size in stored:
            keys = band_keys(sig, self.config.bands, self.config.rows)[0]
            self._place(entry, sig, size, keys)
        self._register(entry)
        self._seq = max(self._seq, seq + 1)


def containment(jaccard: float, size_a: int, size_b: int) -> float:
    """Estimated share of the smaller set inside the larger, from Jaccard and set sizes."""
    if size_a <= 0 or size_b <= 0:
        return 0.0
    return jaccard * (size_a + size_b) / (1.0 + jaccard) / min(size_a, size_b)


def is_copy(jaccard: float, size_a: int, size_b: int, config: DedupConfig) -> bool:
    """The verification rule for an LSH candidate pair (estimated Jaccard and sizes)."""
    if jaccard >= config.threshold:
        return True
    return (
        jaccard >= config.containment_min_jaccard
        and containment(jaccard, size_a, size_b) >= config.containment_threshold
    )


def _shared_key_partners(keys: np.ndarray) -> dict[int, list[int]]:
    """For rows of band keys, the earlier rows sharing at least one key with each row."""
    n, bands = keys.shape
    if n < 2:
        return {}
    flat = keys.reshape(-1)
    order = np.argsort(flat, kind="stable")  # stable: rows ascend within a run of equal keys
    sorted_keys = flat[order]
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(flat)]))
    multi = np.flatnonzero(ends - starts > 1)
    partners: dict[int, set[int]] = {}
    rows = order // bands
    for m in multi.tolist():
        run = rows[starts[m] : ends[m]].tolist()
        for pos in range(1, len(run)):
            for r in run[:pos]:
                if r != run[pos]:
                    partners.setdefault(run[pos], set()).add(r)
    return {r: sorted(p) for r, p in partners.items()}


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.count_nonzero(a == b)) / len(a), 4)


def encode_verdict(v: DedupVerdict) -> bytes:
    """A verdict as a compact JSON list (for delivery memos)."""
    return json_bytes(
        [v.article_id, _KIND_CODE[v.kind], v.duplicate_of, v.similarity, v.replaces]
    )


def legacy_verdict(value: bytes) -> tuple[bytes, float]:
    """A verdict recorded on its own (``d/<delivery>``, before verdicts shared a record)."""
    record = orjson.loads(value)
    return json_bytes(record["v"]), float(record["p"])


def decode_verdict(blob: bytes) -> DedupVerdict:
    """The inverse of :func:`encode_verdict`."""
    article_id, code, dup, sim, replaces = orjson.loads(blob)
    return DedupVerdict(
        article_id, DedupVerdict.KINDS[code], duplicate_of=dup, similarity=sim, replaces=replaces
    )
