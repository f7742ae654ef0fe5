"""Band-partitioned dedup gives the same verdicts as one Deduplicator over the same stream."""

from __future__ import annotations

import random

import numpy as np
import pytest

from pipeline.dedup import (
    BandProbe,
    BandShard,
    DedupConfig,
    Deduplicator,
    band_owner,
    probe_routes,
    verdict_from_matches,
)
from pipeline.minhash import band_keys, signatures
from tests.unit.test_dedup import art, edit_words, make_text


def _stream(seed: int) -> list:
    """Originals, copies of originals, copies of copies and unrelated articles, shuffled."""
    rng = random.Random(seed)
    bases = [make_text(1000 + i) for i in range(12)]
    items = []
    for i, text in enumerate(bases):
        items.append(art(f"o{i}", text, f"https://home{i % 3}.example/{i}"))
        for k in range(rng.randint(0, 3)):
            variant = text if rng.random() < 0.5 else edit_words(text, 0.08, seed=i * 10 + k)
            items.append(art(f"c{i}-{k}", variant, f"https://copy.example/{i}/{k}"))
    rng.shuffle(items)
    return items


def test_band_owner_spreads_and_routes_every_band() -> None:
    keys = band_keys(signatures([make_text(1), make_text(2)]).values, 42, 3)
    owners = band_owner(keys, 4)
    assert owners.shape == (2, 42)
    assert set(owners.reshape(-1).tolist()) == {0, 1, 2, 3}
    routes = probe_routes(keys[0], 4)
    assert sorted(b for bands in routes.values() for b in bands) == list(range(42))
    assert all(owners[0, b] == p for p, bands in routes.items() for b in bands)


@pytest.mark.parametrize(("partitions", "seed"), [(1, 0), (3, 1), (5, 2)])
def test_sharded_verdicts_equal_single_worker(partitions: int, seed: int) -> None:
    cfg = DedupConfig()
    items = _stream(seed)
    single = Deduplicator(cfg)
    expected = [single.check(a) for a in items]
    assert {v.kind for v in expected} >= {"original", "syndicated", "light_edit"}

    sigs = signatures([a.text for a in items], cfg.num_perm, cfg.seed, cfg.shingle)
    keys = band_keys(sigs.values, cfg.bands, cfg.rows)
    shards = [BandShard(cfg) for _ in range(partitions)]
    rng = random.Random(seed)
    got = []
    roots: dict[str, str] = {}
    # Articles arrive in batches; within a batch the probes reach the owners in any order.
    for lo in range(0, len(items), 7):
        batch = range(lo, min(lo + 7, len(items)))
        probes = []
        for i in batch:
            for owner, bands in probe_routes(keys[i], partitions).items():
                probe = BandProbe(
                    items[i].id, float(i), items[i].published, int(sigs.sizes[i]),
                    sigs.values[i], tuple(int(keys[i, b]) for b in bands),
                )
                probes.append((owner, probe))
        rng.shuffle(probes)
        for owner, probe in probes:
            shards[owner].offer(probe)
            shards[owner].offer(probe)  # a redelivered probe changes nothing
        matches: dict[str, list] = {items[i].id: [] for i in batch}
        for shard in shards:  # the watermark has passed the whole batch
            for probe, found in shard.advance(float(batch[-1])):
                matches[probe.article_id].extend(found)
        for i in batch:  # homes decide in order
            verdict = verdict_from_matches(items[i].id, matches[items[i].id], cfg, roots)
            if verdict.duplicate_of is not None:
                roots[items[i].id] = verdict.duplicate_of
            got.append(verdict)
    for e, g in zip(expected, got, strict=True):
        assert (g.article_id, g.kind, g.duplicate_of) == (e.article_id, e.kind, e.duplicate_of)
        if e.kind != "original":
            assert g.similarity == e.similarity
    assert sum(len(s) for s in shards) >= len(items)


def test_shard_waits_for_the_watermark_and_expires() -> None:
    cfg = DedupConfig(window_seconds=100.0)
    text = make_text(5)
    s = signatures([text, text])
    keys = tuple(int(k) for k in band_keys(s.values[0], cfg.bands, cfg.rows)[0])
    shard = BandShard(cfg)
    later = BandProbe("b", 2.0, 50.0, int(s.sizes[1]), s.values[1], keys)
    earlier = BandProbe("a", 1.0, 10.0, int(s.sizes[0]), s.values[0], keys)
    shard.offer(later)  # arrives first, but is ordered after "a"
    assert shard.advance(1.5) == []
    shard.offer(earlier)
    answers = dict((p.article_id, m) for p, m in shard.advance(2.0))
    assert answers["a"] == []
    assert [(m.candidate_id, m.jaccard) for m in answers["b"]] == [("a", 1.0)]
    assert np.isclose(answers["b"][0].candidate_rank[0], 1.0)
    assert shard.expire(115.0) == 1
    assert len(shard) == 1
