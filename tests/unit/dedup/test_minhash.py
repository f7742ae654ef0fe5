"""Vectorized MinHash: same shingles and signatures as the one-at-a-time definitions."""

from __future__ import annotations

import random

import numpy as np
import pytest
from datasketch import LeanMinHash, MinHash

from pipeline.dedup.minhash import (
    band_keys,
    batch_shingles,
    minhash_from_hashes,
    shingle_hashes_reference,
    signatures,
    to_lean,
)

TEXTS = [
    "The council met on Monday.\nIt voted 7-2 to close the old pier; repairs cost $4.5m.",
    "Ünïcödé Straße: ΔΕΛΤΑ café — naïve “quotes” and don't split_words under_scores 42nd",
    "Two words",
    "",
    "   \n  ",
    "one",
    "A longer text with repeated words words words words and repeated repeated phrases "
    "phrases, repeated repeated phrases phrases again.",
    "İstanbul ﬁnal ǅemal — characters whose lower case is longer or special",
]


def _random_text(seed: int) -> str:
    rng = random.Random(seed)
    vocab = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
    return "\n".join(" ".join(rng.choice(vocab) for _ in range(rng.randint(0, 40)))
                     for _ in range(rng.randint(1, 5)))


ALL = TEXTS + [_random_text(i) for i in range(40)]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_batch_shingles_equal_reference(size: int) -> None:
    hashes, owner = batch_shingles(ALL, size)
    for i, text in enumerate(ALL):
        assert hashes[owner == i].tolist() == shingle_hashes_reference(text, size), text


def test_short_text_uses_words_as_shingles() -> None:
    assert len(shingle_hashes_reference("Two words", 3)) == 2
    assert shingle_hashes_reference("", 3) == []


@pytest.mark.parametrize(("num_perm", "seed"), [(128, 1), (64, 7), (256, 42)])
def test_signatures_equal_datasketch_minhash(num_perm: int, seed: int) -> None:
    sigs = signatures(ALL, num_perm=num_perm, seed=seed)
    for i, text in enumerate(ALL):
        m = MinHash(num_perm=num_perm, seed=seed, hashfunc=lambda x: x)
        m.update_batch(shingle_hashes_reference(text))
        assert np.array_equal(sigs.values[i], m.hashvalues), text
        assert sigs.sizes[i] == len(set(shingle_hashes_reference(text)))


def test_signature_of_empty_text_is_empty_minhash() -> None:
    sigs = signatures(["", "word"], num_perm=32)
    assert MinHash(num_perm=32, hashvalues=sigs.values[0], scheme="affine32").is_empty()
    assert sigs.sizes.tolist() == [0, 1]


def test_minhash_from_hashes_ignores_order_and_repeats() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(0, 2**32, 500, dtype=np.uint32)
    owner = np.repeat([0, 1], 250)
    a = minhash_from_hashes(values, owner, 2)
    perm = rng.permutation(500)
    b = minhash_from_hashes(
        np.concatenate([values[perm], values[:100]]), np.concatenate([owner[perm], owner[:100]]), 2
    )
    assert np.array_equal(a.values, b.values)
    assert a.sizes.tolist() == [250, 250]


def test_jaccard_estimate_tracks_true_jaccard() -> None:
    rng = np.random.default_rng(1)
    base = rng.integers(0, 2**32, 2000, dtype=np.uint32)
    other = np.concatenate([base[:1000], rng.integers(0, 2**32, 1000, dtype=np.uint32)])
    sig = minhash_from_hashes(np.concatenate([base, other]), np.repeat([0, 1], 2000), 2, 256)
    estimate = float((sig.values[0] == sig.values[1]).mean())
    assert abs(estimate - 1000 / 3000) < 0.08


def test_lean_minhash_round_trip() -> None:
    sig = signatures([TEXTS[0]]).values[0]
    lean = to_lean(sig)
    buf = bytearray(lean.bytesize())
    lean.serialize(buf)
    back = LeanMinHash.deserialize(buf)
    assert np.array_equal(back.hashvalues, sig)


def test_band_keys_depend_only_on_their_band() -> None:
    sig = signatures([TEXTS[0], TEXTS[6]]).values
    keys = band_keys(sig, 42, 3)
    assert keys.shape == (2, 42)
    changed = sig[0].copy()
    changed[5] ^= 1  # column 5 belongs to band 1 (rows 3..5)
    k2 = band_keys(changed, 42, 3)[0]
    assert (k2 != keys[0]).tolist() == [i == 1 for i in range(42)]
    # The same values in a different band give a different key.
    same = np.tile(sig[0][:3], 42)
    assert len(set(band_keys(same, 42, 3)[0].tolist())) == 42


def test_large_batch_path_equals_single_text_path() -> None:
    texts = [_random_text(1000 + i) + " " + TEXTS[i % len(TEXTS)] for i in range(400)]
    batch = signatures(texts)  # large enough for the permutation-at-a-time path
    for i in range(0, 400, 37):
        one = signatures([texts[i]])  # the small-input matrix path
        assert np.array_equal(batch.values[i], one.values[0])
        m = MinHash(num_perm=128, seed=1, hashfunc=lambda x: x)
        m.update_batch(shingle_hashes_reference(texts[i]))
        assert np.array_equal(batch.values[i], m.hashvalues)
