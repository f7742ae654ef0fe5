"""Vectorized MinHash over word shingles, bit-identical to datasketch's affine32 scheme."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import LeanMinHash, MinHash

_U64 = np.uint64
_U32 = np.uint32
_MASK64 = (1 << 64) - 1

# Word hashing: a polynomial hash over code points modulo 2**64 (odd base, so it is invertible).
_BASE = 0x9E3779B97F4A7C15 | 1
_BASE_INV = pow(_BASE, -1, 1 << 64)
# Mixing constants for combining the hashes of the words of one shingle (odd, fixed).
_SHINGLE_MULT = (
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xA0761D6478BD642F,
    0xE7037ED1A0B428DB,
)
_UNIGRAM_SALT = 0x8EBC6AF09C88C6E3
_FMIX64 = (_U64(33), _U64(0xFF51AFD7ED558CCD), _U64(0xC4CEB9FE1A85EC53))
_FMIX32 = (_U32(16), _U32(0x85EBCA6B), _U32(13), _U32(0xC2B2AE35))
MAX_HASH = np.iinfo(np.uint32).max
_SMALL_BATCH = 300_000  # shingles x permutations below which the matrix form is faster
SCHEME = "affine32"


@lru_cache(maxsize=1)
def _word_char_table() -> np.ndarray:
    """True for code points that are word characters: letters and digits, as ``[^\\W_]``."""
    return np.array([chr(c).isalnum() for c in range(0x110000)], dtype=np.bool_)


class _Powers:
    """Growing caches of BASE**i and BASE_INV**i modulo 2**64."""

    def __init__(self) -> None:
        self.pos = np.ones(1, dtype=_U64)
        self.inv = np.ones(1, dtype=_U64)

    def ensure(self, n: int) -> None:
        if n <= len(self.pos):
            return
        size = max(n, 2 * len(self.pos), 1 << 16)
        with np.errstate(over="ignore"):
            self.pos = np.cumprod(np.full(size, _BASE, dtype=_U64))
            self.pos = np.concatenate([np.ones(1, dtype=_U64), self.pos[:-1]])
            inv = np.cumprod(np.full(size, _BASE_INV, dtype=_U64))
            self.inv = np.concatenate([np.ones(1, dtype=_U64), inv[:-1]])


_POWERS = _Powers()


def _fmix64(h: np.ndarray) -> np.ndarray:
    s, m1, m2 = _FMIX64
    h = h ^ (h >> s)
    h = h * m1
    h = h ^ (h >> s)
    h = h * m2
    return h ^ (h >> s)


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s1)


def key_ids(keys: Sequence[str]) -> np.ndarray:
    """Stable 32-bit ids of strings: CRC-32 of their UTF-8 bytes, scrambled by the 32-bit
    finalizer so that the low bits alone spread evenly (the same in every process)."""
    crc = np.fromiter(map(zlib.crc32, map(str.encode, keys)), _U32, len(keys))
    return _fmix32(crc)


def word_hash(word: str) -> int:
    """The 64-bit hash of one lower-cased word (reference implementation, one word at a time)."""
    h = 0
    for ch in word:
        h = (h * _BASE + ord(ch)) & _MASK64
    return h


def _fold32(x: np.ndarray) -> np.ndarray:
    return (_fmix64(x) >> _U64(32)).astype(_U32)


def shingle_hashes_reference(text: str, size: int = 3) -> list[int]:
    """32-bit shingle hashes of ``text``, computed one word at a time.

    This is the slow, obviously-correct definition that :func:`batch_shingles` vectorizes: words
    are maximal runs of letters/digits of the lower-cased text; shingles are runs of ``size``
    consecutive words; a text with fewer words than ``size`` yields one shingle per word.
    """
    import re

    words = re.findall(r"[^\W_]+", text.lower())
    hashes = [word_hash(w) for w in words]
    out: list[int] = []
    if len(hashes) >= size:
        for i in range(len(hashes) - size + 1):
            acc = 0
            for k in range(size):
                acc = (acc + hashes[i + k] * _SHINGLE_MULT[k]) & _MASK64
            out.append(acc)
    else:
        out = [(h * _UNIGRAM_SALT) & _MASK64 for h in hashes]
    with np.errstate(over="ignore"):
        return [int(v) for v in _fold32(np.array(out, dtype=_U64))]


def batch_shingles(texts: Sequence[str], size: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """All shingle hashes of many texts at once.

    Args:
        texts: The texts.
        size: Words per shingle (1 to 5).

    Returns:
        ``(hashes, owner)``: uint32 shingle hashes and, for each, the index of its text.
        Equal to :func:`shingle_hashes_reference` text by text.
    """
    if not 1 <= size <= len(_SHINGLE_MULT):
        raise ValueError(f"shingle size must be 1..{len(_SHINGLE_MULT)}")
    lowered = [t.lower() for t in texts]
    joined = "\n".join(lowered)
    lengths = np.fromiter((len(t) + 1 for t in lowered), dtype=np.int64, count=len(texts))
    text_start = np.zeros(len(texts), dtype=np.int64)
    if len(texts) > 1:
        np.cumsum(lengths[:-1], out=text_start[1:])
    cps = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=_U32)
    n = len(cps)
    is_word = _word_char_table()[np.minimum(cps, _U32(0x10FFFF))]
    edges = np.diff(is_word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)  # exclusive
    if len(starts) == 0:
        return np.empty(0, dtype=_U32), np.empty(0, dtype=np.int64)
    _POWERS.ensure(n + 1)
    with np.errstate(over="ignore"):
        # prefix[i] = sum_{j < i} c_j * BASE_INV**j, so that
        # word(s, e) = BASE**(e-1) * (prefix[e] - prefix[s]) = sum_j c_j * BASE**(e-1-j)
        prefix = np.zeros(n + 1, dtype=_U64)
        np.cumsum(cps.astype(_U64) * _POWERS.inv[:n], out=prefix[1:])
        words = _POWERS.pos[ends - 1] * (prefix[ends] - prefix[starts])
        owner = np.searchsorted(text_start, starts, side="right") - 1
        counts = np.bincount(owner, minlength=len(texts))
        m = len(words) - size + 1
        if m > 0:
            acc = words[:m] * _U64(_SHINGLE_MULT[0])
            for k in range(1, size):
                acc = acc + words[k : k + m] * _U64(_SHINGLE_MULT[k])
            keep = owner[:m] == owner[size - 1 :]
            sh, sh_owner = acc[keep], owner[:m][keep]
        else:
            sh, sh_owner = np.empty(0, dtype=_U64), np.empty(0, dtype=np.int64)
        short = (counts > 0) & (counts < size)
        if short.any():
            sel = short[owner]
            sh = np.concatenate([sh, words[sel] * _U64(_UNIGRAM_SALT)])
            sh_owner = np.concatenate([sh_owner, owner[sel]])
        return _fold32(sh), sh_owner


@lru_cache(maxsize=8)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) permutation parameters datasketch's ``MinHash`` uses for this seed."""
    a, b = MinHash(num_perm=num_perm, seed=seed, scheme=SCHEME).permutations
    return a.astype(_U32), b.astype(_U32)


@dataclass(frozen=True, slots=True)
class Signatures:
    """MinHash signatures of a batch of texts."""

    values: np.ndarray  # (n, num_perm) uint32
    sizes: np.ndarray  # (n,) distinct shingles per text


def minhash_from_hashes(
    hashes: np.ndarray, owner: np.ndarray, n: int, num_perm: int = 128, seed: int = 1
) -> Signatures:
    """Signatures of ``n`` sets given as (32-bit hash, set index) pairs.

    Bit-identical to datasketch ``MinHash(num_perm, seed, scheme="affine32")`` fed the same
    32-bit values with an identity hash function: the values are pre-mixed with the 32-bit
    MurmurHash3 finalizer and permuted with ``a * h + b mod 2**32``, all shingles at once.
    """
    a, b = permutations(num_perm, seed)
    values = np.full((n, num_perm), MAX_HASH, dtype=_U32)
    sizes = np.zeros(n, dtype=np.int64)
    if len(hashes) == 0:
        return Signatures(values, sizes)
    # Sort by (set, hash): drops repeated shingles and makes each set's rows contiguous.
    keys = np.sort((owner.astype(_U64) << _U64(32)) | hashes.astype(_U64))
    keys = keys[np.concatenate(([True], keys[1:] != keys[:-1]))]  # np.unique is 5x slower here
    own = (keys >> _U64(32)).astype(np.int64)
    hv = _fmix32(keys.astype(_U32))
    sizes[:] = np.bincount(own, minlength=n)
    seg = np.flatnonzero(np.diff(own, prepend=-1))
    seg_owner = own[seg]
    if len(hv) * num_perm <= _SMALL_BATCH:
        # Small input (one article): a (num_perm x shingles) matrix in three numpy calls.
        mat = a[:, None] * hv[None, :]
        mat += b[:, None]
        mins = np.minimum.reduceat(mat, seg, axis=1)
    else:
        # One permutation at a time over all shingles of the batch: the working set (one
        # uint32 per shingle) stays in cache, several times faster per value than the matrix,
        # at the price of 3 * num_perm numpy calls.
        tmp = np.empty(len(hv), dtype=_U32)
        mins = np.empty((num_perm, len(seg)), dtype=_U32)
        for k in range(num_perm):
            np.multiply(hv, a[k], out=tmp)
            np.add(tmp, b[k], out=tmp)
            mins[k] = np.minimum.reduceat(tmp, seg)
    values[seg_owner] = mins.T
    return Signatures(values, sizes)


def signatures(
    texts: Sequence[str], num_perm: int = 128, seed: int = 1, shingle: int = 3
) -> Signatures:
    """MinHash signatures of many texts (word ``shingle``-grams), vectorized over the batch."""
    hashes, owner = batch_shingles(texts, shingle)
    return minhash_from_hashes(hashes, owner, len(texts), num_perm, seed)


def to_lean(values: np.ndarray, seed: int = 1) -> LeanMinHash:
    """A datasketch ``LeanMinHash`` holding one signature row."""
    return LeanMinHash(seed=seed, hashvalues=values, scheme=SCHEME)


_BAND_SALT = 0x2545F4914F6CDD1D


def band_keys(values: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """64-bit LSH band keys of signatures: ``(n, bands)`` uint64 for ``(n, num_perm)`` input.

    Band ``i`` covers signature columns ``i*rows .. (i+1)*rows - 1`` (datasketch's layout); its
    key mixes the band number in, so the keys of all bands can share one table and a key alone
    says which band it belongs to (what a partitioned index routes on).
    """
    values = np.atleast_2d(values)
    if bands * rows > values.shape[1]:
        raise ValueError("bands * rows exceeds the signature length")
    cols = values[:, : bands * rows].reshape(len(values), bands, rows).astype(_U64)
    with np.errstate(over="ignore"):
        acc = np.arange(bands, dtype=_U64) * _U64(_BAND_SALT) + _U64(rows)
        acc = np.broadcast_to(acc, (len(values), bands)).copy()
        for j in range(rows):
            acc = _fmix64(acc ^ cols[:, :, j]) + _U64(_SHINGLE_MULT[j % len(_SHINGLE_MULT)])
        return _fmix64(acc)
