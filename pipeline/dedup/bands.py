"""Dedup over several partitions: home partitions and band owners (docs/dedup-scaleout.md).

A *home* (a partition of ``articles.normalized``, keyed by canonical url or id) decides resends
and revisions from its own state, and sends every other article's LSH band keys to the
partitions that own them. A *band owner* (a partition of ``dedup.bands``) answers a probe once
the watermark of every home has passed it, with the verified copies among the earlier articles
that share one of its bands. The home decides when every owner it probed has answered, with the
same rule as the single-partition :class:`~pipeline.dedup.index.Deduplicator`.

Both roles are plain state machines: the agents feed them messages and send what they return,
and write their ``drain_changes`` to changelogged tables.
"""

from __future__ import annotations

import base64
import heapq
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import orjson

from pipeline.common.memos import DeliveryMemos
from pipeline.common.text import stable_hash
from pipeline.dedup.index import (
    ChangeRecords,
    DedupConfig,
    IdentityIndex,
    decode_verdict,
    encode_verdict,
    is_copy,
    legacy_verdict,
    note_revision,
)
from schemas.bands import BandAnswer, BandDecision, BandMatch, BandProbe, BandWatermark
from schemas.records import Article, DedupVerdict

ORDER_STEP = 1e-6  # the smallest gap between two order keys of one home


def band_owner(keys: np.ndarray, partitions: int) -> np.ndarray:
    """The partition that owns each band key (high 32 bits modulo the partition count)."""
    return ((np.asarray(keys, dtype=np.uint64) >> np.uint64(32)) % np.uint64(partitions)).astype(
        np.int64
    )


def probe_routes(keys: np.ndarray, partitions: int) -> dict[int, list[int]]:
    """Band indices of one article grouped by owning partition: one probe message each."""
    routes: dict[int, list[int]] = {}
    for band, owner in enumerate(band_owner(keys, partitions).tolist()):
        routes.setdefault(owner, []).append(band)
    return routes


def encode_signature(values: np.ndarray) -> str:
    """A signature row as base64 of little-endian uint32 values (the wire form)."""
    return base64.b64encode(np.asarray(values, dtype="<u4").tobytes()).decode("ascii")


def decode_signature(text: str) -> np.ndarray:
    """The inverse of :func:`encode_signature`."""
    return np.frombuffer(base64.b64decode(text), dtype="<u4").astype(np.uint32)


def _jaccard(a: np.ndarray, b: np.ndarray) -> float:
    return round(float(np.count_nonzero(a == b)) / len(a), 4)


def _rank(order: float, article_id: str) -> tuple[float, str]:
    return (order, article_id)


def best_match(matches: Iterable[BandMatch]) -> BandMatch | None:
    """The match that decides: highest Jaccard, ties to the earliest candidate."""
    return min(matches, key=lambda m: (-m.jaccard, _rank(m.order, m.candidate_id)), default=None)


def verdict_from_matches(
    article_id: str, matches: Iterable[BandMatch], config: DedupConfig
) -> DedupVerdict:
    """The home's verdict once every band owner has answered: the best match (highest
    Jaccard, ties to the earliest candidate) decides, as in the single-partition stage."""
    best = best_match(matches)
    if best is None:
        return DedupVerdict(article_id, "original")
    kind = "syndicated" if best.jaccard >= config.syndicated_threshold else "light_edit"
    root = best.root or best.candidate_id
    return DedupVerdict(article_id, kind, duplicate_of=root, similarity=round(best.jaccard, 4))


# -- band owner -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Held:
    """A probe stored by a band owner."""

    probe: BandProbe
    signature: np.ndarray
    answered: bool
    root: str | None
    ready_since: float | None = None  # wall time its answer first waited for a root
    seen_at: float | None = None  # wall time of the first advance that found it unanswered


class BandOwner(ChangeRecords):
    """One partition of ``dedup.bands``: the band keys it owns and the probes that have them.

    Probes are answered in order-key order once the minimum watermark over all ``homes`` has
    passed them: every earlier probe has then arrived here, whatever the arrival order across
    partitions was. A probe sees the earlier articles sharing one of its keys, verified with
    :func:`~pipeline.dedup.index.is_copy`. An answer waits until the root of its best match is known
    (homes send decisions here); a candidate is always earlier than the probe, so this never
    waits on the probe itself, and ``root_wait_seconds`` bounds the wait in any case.
    Stored texts are keyed by (article id, version): version 0 is the article as first probed,
    later versions are the index-only texts of its revisions.

    Args:
        partition: This band partition's number.
        homes: Number of home partitions (all must send watermarks).
        config: Dedup tuning shared with the single-partition stage.
        root_wait_seconds: Longest wall-clock wait for a candidate's root; after it the answer
            goes out with the root unknown (the home then uses the candidate itself).
    """

    def __init__(
        self, partition: int, homes: int, config: DedupConfig | None = None,
        root_wait_seconds: float = 10.0, mark_record_seconds: float = 1.0,
    ) -> None:
        self.partition = partition
        self.homes = homes
        self.config = config or DedupConfig()
        self.root_wait_seconds = root_wait_seconds
        # A home's watermark moves every tick; its record is rewritten only once it has moved
        # this far (order keys are seconds). A restored, older mark only means waiting for
        # the next watermark, which comes within a tick.
        self.mark_record_seconds = mark_record_seconds
        self._held: dict[_Key, _Held] = {}
        self._by_key: dict[int, list[_Key]] = {}
        self._marks: dict[int, float] = {}
        self._recorded_marks: dict[int, float] = {}
        self._unanswered: set[_Key] = set()
        self._expiry: list[tuple[float, _Key]] = []
        self._changes: dict[str, bytes | None] = {}
        self.late_probes = 0

    def __len__(self) -> int:
        return len(self._held)

    @property
    def watermark(self) -> float:
        """The order key up to which every home has sent its probes."""
        if len(self._marks) < self.homes:
            return float("-inf")
        return min(self._marks.values())

    def receive(self, message: BandProbe | BandWatermark | BandDecision) -> None:
        """Apply one message from ``dedup.bands``."""
        if isinstance(message, BandWatermark):
            self.mark(message.home, message.order)
        elif isinstance(message, BandDecision):
            self.set_root(message.article_id, message.root, message.version)
        else:
            self.offer(message)

    def offer(self, probe: BandProbe) -> None:
        """Store a probe. A redelivered probe of a stored article is answered again."""
        key = (probe.article_id, probe.version)
        held = self._held.get(key)
        if held is not None:
            if not held.probe.index_only:
                held.answered = False
                self._unanswered.add(key)
            return
        if probe.order <= self._marks.get(probe.home, float("-inf")):
            self.late_probes += 1  # its home's clock went back: see docs/dedup-scaleout.md
        # The signature is kept once, as numbers; the probe keeps the rest.
        held = _Held(
            replace(probe, signature=""), decode_signature(probe.signature), probe.index_only,
            probe.root if probe.index_only else None,
        )
        self._insert(held)
        if not probe.index_only:
            self._unanswered.add(key)
        self._record(held)

    def mark(self, home: int, order: float) -> None:
        """A home's watermark (watermarks only move forward)."""
        if order > self._marks.get(home, float("-inf")):
            self._marks[home] = order
            if order - self._recorded_marks.get(home, float("-inf")) >= self.mark_record_seconds:
                self._recorded_marks[home] = order
                self._changes[f"w/{home}"] = orjson.dumps(order)

    def set_root(self, article_id: str, root: str, version: int = 0) -> None:
        """A decided article's root original (itself for an original)."""
        held = self._held.get((article_id, version))
        if held is not None and held.root != root:
            held.root = root
            self._record(held)

    def advance(self, now: float) -> list[BandAnswer]:
        """Answers for the stored probes the watermark has passed, in order.

        Args:
            now: Wall-clock time, for the bound on waiting for roots.
        """
        mark = self.watermark
        for key in self._unanswered:
            held = self._held[key]
            if held.seen_at is None:
                held.seen_at = now
        ready = sorted(
            (self._held[k] for k in self._unanswered if self._held[k].probe.order <= mark),
            key=lambda h: _rank(h.probe.order, h.probe.article_id),
        )
        answers = []
        for held in ready:
            matches = self._matches(held)
            # Only the root of this owner's best match can matter: the home's pick is at least
            # as good, and wherever that candidate is reported it is that owner's best too.
            best = best_match(matches)
            if best is not None and best.root is None:
                if held.ready_since is None:
                    held.ready_since = now
                if now - held.ready_since < self.root_wait_seconds:
                    continue
            held.answered = True
            self._unanswered.discard((held.probe.article_id, held.probe.version))
            self._record(held)
            answers.append(
                BandAnswer(held.probe.article_id, self.partition, held.probe.home, matches)
            )
        return answers

    def waiting(self, now: float, longer_than: float) -> tuple[int, list[int]]:
        """Probes unanswered for more than ``longer_than`` seconds, and the homes whose
        watermark has not reached the oldest of them (for a stall warning)."""
        old = [
            h for k in self._unanswered
            if (h := self._held[k]).seen_at is not None and now - h.seen_at > longer_than
        ]
        if not old:
            return 0, []
        first = min(h.probe.order for h in old)
        behind = [
            home for home in range(self.homes)
            if self._marks.get(home, float("-inf")) < first
        ]
        return len(old), behind

    def _matches(self, held: _Held) -> list[BandMatch]:
        probe = held.probe
        rank = _rank(probe.order, probe.article_id)
        seen: set[_Key] = set()
        out = []
        for band_key in probe.keys:
            for key in self._by_key.get(band_key, ()):
                if key in seen or key[0] == probe.article_id:
                    continue
                seen.add(key)
                cand = self._held[key]
                if _rank(cand.probe.order, key[0]) >= rank:
                    continue
                j = _jaccard(cand.signature, held.signature)
                if is_copy(j, probe.size, cand.probe.size, self.config):
                    out.append(BandMatch(key[0], cand.root, j, cand.probe.order))
        return out

    def expire(self, now: float) -> int:
        """Drop answered probes whose event time is older than the window before ``now``."""
        cutoff = now - self.config.window_seconds
        removed = 0
        while self._expiry and self._expiry[0][0] < cutoff:
            published, key = heapq.heappop(self._expiry)
            held = self._held.get(key)
            if held is None or held.probe.published != published:
                continue
            if not held.answered:  # still owed an answer: keep it until it is given
                heapq.heappush(self._expiry, (published, key))
                break
            self._remove(key)
            self._changes[_record_key(key)] = None
            removed += 1
        return removed

    def restore(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild the state from records (the latest value per key)."""
        for key, value in items:
            if value is None:
                continue
            if key.startswith("w/"):
                home = int(key[2:])
                self._marks[home] = self._recorded_marks[home] = float(orjson.loads(value))
            elif key.startswith("p/"):
                held = _decode_held(value)
                held_key = (held.probe.article_id, held.probe.version)
                if held_key in self._held:
                    self._remove(held_key)
                self._insert(held)
                if not held.answered:
                    self._unanswered.add(held_key)

    def _insert(self, held: _Held) -> None:
        key = (held.probe.article_id, held.probe.version)
        self._held[key] = held
        for band_key in held.probe.keys:
            self._by_key.setdefault(band_key, []).append(key)
        heapq.heappush(self._expiry, (held.probe.published, key))

    def _remove(self, key: _Key) -> None:
        held = self._held.pop(key)
        self._unanswered.discard(key)
        for band_key in held.probe.keys:
            keys = self._by_key.get(band_key)
            if keys is not None and key in keys:
                keys.remove(key)
                if not keys:
                    del self._by_key[band_key]

    def _record(self, held: _Held) -> None:
        key = (held.probe.article_id, held.probe.version)
        self._changes[_record_key(key)] = _encode_held(held)


# A stored probe as a state record: this header, the band keys (u64), the signature (u32), then
# JSON [article id, root]. Binary because the keys and the signature are most of it: about
# 700 bytes per article and band partition against 1,400 as JSON.
_HELD_HEADER = struct.Struct("<BBBHiddIHH")  # format, answered, index_only, version, home,
#                                              order, published, size, keys, signature values
_HELD_FORMAT = 1


def _encode_held(held: _Held) -> bytes:
    p = held.probe
    return b"".join(
        (
            _HELD_HEADER.pack(
                _HELD_FORMAT, held.answered, p.index_only, p.version, p.home, p.order,
                p.published, p.size, len(p.keys), len(held.signature),
            ),
            np.asarray(p.keys, dtype="<u8").tobytes(),
            np.asarray(held.signature, dtype="<u4").tobytes(),
            orjson.dumps([p.article_id, held.root]),
        )
    )


def _decode_held(value: bytes) -> _Held:
    fmt, answered, index_only, version, home, order, published, size, nkeys, nsig = (
        _HELD_HEADER.unpack_from(value)
    )
    if fmt != _HELD_FORMAT:
        raise ValueError(f"band owner record of unknown format {fmt}")
    pos = _HELD_HEADER.size
    keys = np.frombuffer(value, dtype="<u8", count=nkeys, offset=pos).tolist()
    pos += 8 * nkeys
    signature = np.frombuffer(value, dtype="<u4", count=nsig, offset=pos).astype(np.uint32)
    article_id, root = orjson.loads(value[pos + 4 * nsig :])
    probe = BandProbe(
        article_id, home, order, published, size, "", keys, index_only=bool(index_only),
        root=root if index_only else None, version=version,
    )
    return _Held(probe, signature, bool(answered), root)


_Key = tuple[str, int]  # (article id, version)


def _record_key(key: _Key) -> str:
    """The state record key of a stored probe: ``p/<version>/<article id>``."""
    return f"p/{key[1]}/{key[0]}"


# -- home -------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Known:
    """An article this home has seen (for resends and revisions)."""

    id: str
    url: str | None
    root: str | None  # its root original once decided (itself for an original)
    published: float
    hashes: list[str]
    size: int
    signature: bytes  # the latest version's signature (little-endian u32), for revisions
    revisions: int = 0
    alias_ids: list[str] = field(default_factory=list)
    alias_urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Pending:
    """An article waiting for its band owners' answers."""

    article: Article
    delivery: str | None
    order: float
    owners: list[int]
    answers: dict[int, list[BandMatch]] = field(default_factory=dict)
    # Revised texts indexed while undecided: (version, owners) told the root on decision.
    versions: list[tuple[int, list[int]]] = field(default_factory=list)


@dataclass(slots=True)
class HomeStep:
    """What the agent must do after :meth:`DedupHome.receive`.

    ``verdict`` is set when the article was decided at once (its home alone can tell resends
    and revisions); ``probes`` lists (band partition, probe) pairs to send.
    """

    verdict: DedupVerdict | None
    probes: list[tuple[int, BandProbe]]


@dataclass(slots=True)
class Decided:
    """A verdict reached from band answers: emit it, then send ``decisions`` to the owners."""

    article: Article
    verdict: DedupVerdict
    delivery: str | None
    decisions: list[tuple[int, BandDecision]]


class DedupHome(ChangeRecords):
    """One home partition: exact checks, probes out, verdicts from the band owners' answers.

    Args:
        home: This partition's number.
        partitions: Number of band partitions (``dedup.bands``).
        config: Dedup tuning shared with the single-partition stage.
    """

    def __init__(self, home: int, partitions: int, config: DedupConfig | None = None) -> None:
        self.home = home
        self.partitions = partitions
        self.config = config or DedupConfig()
        self._ids = IdentityIndex()
        self._known: dict[str, _Known] = self._ids.entries
        self._pending: dict[str, _Pending] = {}
        self._memos = DeliveryMemos("d/")
        self._expiry: list[tuple[float, str]] = []
        self._unsent: list[float] = []  # order keys of probes not yet handed to the producer
        self._last_order = float("-inf")
        self._changes: dict[str, bytes | None] = {}

    def __len__(self) -> int:
        return len(self._known)

    def drain_changes(self) -> list[tuple[str, bytes | None]]:
        """State records written since the last call (value None: delete the key)."""
        return super().drain_changes() + self._memos.drain()

    @property
    def pending(self) -> int:
        """Articles waiting for band answers."""
        return len(self._pending)

    def next_order(self, now: float) -> float:
        """A fresh order key: ``now``, but always after every key and watermark given before."""
        order = max(now, self._last_order + ORDER_STEP)
        self._last_order = order
        self._changes["o"] = orjson.dumps(order)
        return order

    def watermark(self, now: float) -> BandWatermark:
        """This home's watermark: every probe with a smaller order key has been sent.

        Orders handed out but whose probes are not all sent yet (see :meth:`sent`) hold it back.
        """
        if self._unsent:
            return BandWatermark(self.home, min(self._unsent) - ORDER_STEP)
        order = max(now, self._last_order)
        self._last_order = order
        return BandWatermark(self.home, order)

    def sent_all(self) -> None:
        """The agent has handed every probe returned so far to the producer."""
        self._unsent.clear()

    def receive(
        self, article: Article, delivery: str | None, signature: np.ndarray, size: int,
        keys: np.ndarray, now: float,
    ) -> HomeStep:
        """Decide ``article`` from local state, or return the probes that let owners decide.

        Args:
            article: The normalized article.
            delivery: topic/partition/offset of this delivery (redeliveries repeat a verdict).
            signature: Its MinHash signature; ``size`` its distinct shingles; ``keys`` its
                band keys.
            now: Wall-clock time (the order key source).
        """
        blob = None if delivery is None else self._memos.get(delivery)
        if blob is not None:
            return HomeStep(decode_verdict(blob), [])
        chash = article.content_hash or stable_hash(article.text or "")
        pending = self._pending.get(article.id)
        if pending is not None and pending.delivery == delivery:
            # Redelivered while its answers are due: the same probes again (owners re-answer).
            return HomeStep(None, self._probes(pending, signature, size, keys))
        known = self._lookup(article)
        if known is not None:
            return self._exact(article, delivery, chash, known, signature, size, keys, now)
        entry = _Known(
            article.id, article.url, None, float(article.published), [chash], size,
            np.asarray(signature, dtype="<u4").tobytes(),
        )
        self._register(entry)
        if size < self.config.min_shingles:  # too short to compare: matched by id and url only
            entry.root = article.id
            self._save(entry)
            return self._memo(delivery, article, DedupVerdict(article.id, "original"))
        self._save(entry)
        order = self.next_order(now)
        owners = sorted(probe_routes(keys, self.partitions))
        pending = _Pending(article, delivery, order, owners)
        self._pending[article.id] = pending
        self._save_pending(pending)
        return HomeStep(None, self._probes(pending, signature, size, keys))

    def answer(self, answer: BandAnswer) -> Decided | None:
        """Take one owner's answer; the verdict once every probed owner has answered."""
        pending = self._pending.get(answer.article_id)
        if pending is None or answer.owner not in pending.owners:
            return None  # decided already (a redelivered answer) or not ours
        pending.answers[answer.owner] = list(answer.matches)
        if len(pending.answers) < len(pending.owners):
            self._save_pending(pending)
            return None
        matches = [m for found in pending.answers.values() for m in found]
        verdict = verdict_from_matches(pending.article.id, matches, self.config)
        del self._pending[pending.article.id]
        self._changes[f"q/{pending.article.id}"] = None
        known = self._known.get(pending.article.id)
        root = verdict.duplicate_of or pending.article.id
        if known is not None:
            known.root = root
            self._save(known)
        self._memo(pending.delivery, pending.article, verdict)
        decisions = [(o, BandDecision(pending.article.id, root)) for o in pending.owners]
        for version, owners in pending.versions:
            decisions.extend(
                (o, BandDecision(pending.article.id, root, version=version)) for o in owners
            )
        return Decided(pending.article, verdict, pending.delivery, decisions)

    def expire(self, now: float) -> int:
        """Forget articles and delivery memos older than the event-time window before ``now``."""
        cutoff = now - self.config.window_seconds
        removed = 0
        while self._expiry and self._expiry[0][0] < cutoff:
            published, aid = heapq.heappop(self._expiry)
            entry = self._known.get(aid)
            if entry is None or entry.published != published:
                continue
            if aid in self._pending:  # still being decided: keep it until its verdict
                heapq.heappush(self._expiry, (published, aid))
                break
            self._unregister(entry)
            self._changes[f"a/{aid}"] = None
            removed += 1
        self._memos.expire(cutoff)
        return removed

    def restore(self, items: Iterable[tuple[str, bytes]]) -> None:
        """Rebuild the state from records (the latest value per key)."""
        for key, value in items:
            if value is None:
                continue
            if key == "o":
                self._last_order = max(self._last_order, float(orjson.loads(value)))
            elif key.startswith("a/"):
                entry = _decode_known(value)
                old = self._known.get(entry.id)
                if old is not None:
                    self._unregister(old)
                self._register(entry)
            elif self._memos.restore(key, value, legacy_verdict):
                pass
            elif key.startswith("q/"):
                rec = orjson.loads(value)
                pending = _Pending(
                    Article.from_dict(rec["article"]), rec["delivery"], float(rec["order"]),
                    list(rec["owners"]),
                    {
                        int(o): [BandMatch.from_dict(m) for m in ms]
                        for o, ms in rec["answers"].items()
                    },
                    [(int(v), list(owners)) for v, owners in rec.get("versions", [])],
                )
                self._pending[pending.article.id] = pending
                self._last_order = max(self._last_order, pending.order)

    # -- internals ------------------------------------------------------------------------------

    def _probes(
        self, pending: _Pending, signature: np.ndarray, size: int, keys: np.ndarray
    ) -> list[tuple[int, BandProbe]]:
        article = pending.article
        return self._route(
            article.id, pending.order, float(article.published), signature, size, keys
        )

    def _route(
        self, article_id: str, order: float, published: float, signature: np.ndarray,
        size: int, keys: np.ndarray, **extra: Any,
    ) -> list[tuple[int, BandProbe]]:
        """One probe per band partition owning some of ``keys``; the order key holds the
        watermark back until :meth:`sent_all`."""
        sig_text = encode_signature(signature)
        self._unsent.append(order)
        return [
            (
                owner,
                BandProbe(
                    article_id, self.home, order, published, size, sig_text,
                    [int(keys[b]) for b in bands], **extra,
                ),
            )
            for owner, bands in sorted(probe_routes(keys, self.partitions).items())
        ]

    def _exact(
        self, article: Article, delivery: str | None, chash: str, known: _Known,
        signature: np.ndarray, size: int, keys: np.ndarray, now: float,
    ) -> HomeStep:
        if chash in known.hashes:
            verdict = DedupVerdict(article.id, "resend", duplicate_of=known.id, similarity=1.0)
            return self._memo(delivery, article, verdict)
        old = np.frombuffer(known.signature, dtype="<u4")
        sim = _jaccard(old, signature) if known.size and size else 0.0
        note_revision(known, article, chash, self.config.max_versions)
        known.signature, known.size = np.asarray(signature, dtype="<u4").tobytes(), size
        known.revisions += 1
        self._register(known)
        self._save(known)
        verdict = DedupVerdict(
            article.id, "revision", duplicate_of=known.id, similarity=sim, replaces=known.id
        )
        step = self._memo(delivery, article, verdict)
        if size >= self.config.min_shingles:
            # The new text is indexed too, so copies of it are found; its root is the article's
            # (told to the owners later when the article itself is still undecided).
            undecided = self._pending.get(known.id)
            step.probes = self._route(
                known.id, self.next_order(now), known.published, signature, size, keys,
                index_only=True, version=known.revisions,
                root=None if undecided is not None else known.root or known.id,
            )
            if undecided is not None:
                undecided.versions.append((known.revisions, [owner for owner, _ in step.probes]))
                self._save_pending(undecided)
        return step

    def _memo(self, delivery: str | None, article: Article, verdict: DedupVerdict) -> HomeStep:
        if delivery is not None:
            self._memos.add(delivery, encode_verdict(verdict), float(article.published))
        return HomeStep(verdict, [])

    def _lookup(self, article: Article) -> _Known | None:
        return self._ids.lookup(article)

    def _register(self, entry: _Known) -> None:
        self._ids.add(entry)
        heapq.heappush(self._expiry, (entry.published, entry.id))

    def _unregister(self, entry: _Known) -> None:
        self._ids.remove(entry)

    def _save(self, entry: _Known) -> None:
        self._changes[f"a/{entry.id}"] = _encode_known(entry)

    def _save_pending(self, pending: _Pending) -> None:
        self._changes[f"q/{pending.article.id}"] = orjson.dumps(
            {
                "article": pending.article,
                "delivery": pending.delivery,
                "order": pending.order,
                "owners": pending.owners,
                "answers": {str(o): ms for o, ms in pending.answers.items()},
                "versions": pending.versions,
            }
        )


# A home's known article as a state record: format and signature length, the signature, then
# the other fields as a JSON list (in _KNOWN_FIELDS order).
_KNOWN_HEADER = struct.Struct("<BH")
_KNOWN_FIELDS = tuple(f for f in _Known.__dataclass_fields__ if f != "signature")


def _encode_known(entry: _Known) -> bytes:
    meta = orjson.dumps([getattr(entry, f) for f in _KNOWN_FIELDS])
    return _KNOWN_HEADER.pack(1, len(entry.signature)) + entry.signature + meta


def _decode_known(value: bytes) -> _Known:
    fmt, nbytes = _KNOWN_HEADER.unpack_from(value)
    if fmt != 1:
        raise ValueError(f"dedup home record of unknown format {fmt}")
    start = _KNOWN_HEADER.size
    meta = dict(zip(_KNOWN_FIELDS, orjson.loads(value[start + nbytes :]), strict=True))
    return _Known(signature=bytes(value[start : start + nbytes]), **meta)
