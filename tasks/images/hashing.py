"""Perceptual hashes and near-duplicate groups of images.

The perceptual hash is the usual DCT hash (as in the ``imagehash`` package's ``phash``):
the image as 32 x 32 grey levels, its 2-D DCT, and one bit per low-frequency coefficient
of the top-left 8 x 8 block: above or below their median. Re-encoded, resized, slightly
cropped or re-exposed copies of a picture land a few bits apart; different pictures
about half the bits (32 of 64) apart.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
from PIL import Image

HASH_BITS = 64
_SIDE = 32
_LOW = 8


@functools.cache
def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II matrix: ``D @ x`` is the DCT of a length-``n`` vector ``x``."""
    k, i = np.mgrid[0:n, 0:n]
    d = np.cos(np.pi * (2 * i + 1) * k / (2 * n)) * np.sqrt(2.0 / n)
    d[0] /= np.sqrt(2.0)
    return d


def phash(img: Image.Image) -> str:
    """64-bit DCT perceptual hash of ``img`` as 16 hex digits."""
    grey = np.asarray(img.convert("L").resize((_SIDE, _SIDE), Image.Resampling.BOX), dtype=np.float64)
    d = _dct_matrix(_SIDE)
    low = (d @ grey @ d.T)[:_LOW, :_LOW]
    bits = (low > np.median(low)).ravel()
    return np.packbits(bits).tobytes().hex()


def hashes_to_array(hashes: Sequence[str]) -> np.ndarray:
    """Hex hashes -> ``(n,)`` uint64."""
    return np.array([int(h, 16) for h in hashes], dtype=np.uint64)


def hamming(a: str, b: str) -> int:
    """Bits that differ between two hex hashes."""
    return int(bin(int(a, 16) ^ int(b, 16)).count("1"))


def close_pairs(hashes: np.ndarray, max_distance: int, block: int | None = None) -> np.ndarray:
    """``(m, 2)`` index pairs ``i < j`` whose hashes differ in at most ``max_distance`` bits.

    Exact, by blocks of rows against all later rows, so memory stays near ``block * n``
    words (about 16 M by default); 10,000 hashes take well under a second.
    """
    n = len(hashes)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    block = block or max(1, (1 << 24) // n)
    out = []
    for start in range(0, n, block):
        stop = min(n, start + block)
        rows = hashes[start:stop, None]
        cols = hashes[start + 1:]
        dist = np.bitwise_count(rows ^ cols[None, :])  # (b, n - start - 1)
        r, c = np.nonzero(dist <= max_distance)
        i, j = r + start, c + start + 1
        keep = j > i
        out.append(np.stack([i[keep], j[keep]], axis=1))
    return np.concatenate(out).astype(np.int64)


def group_pairs(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected components of ``n`` items linked by ``pairs``: each item's smallest member index."""
    parent = np.arange(n)

    def find(x: int) -> int:
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in pairs.tolist():
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return np.array([find(i) for i in range(n)], dtype=np.int64)


def near_duplicate_groups(hashes: Sequence[str], max_distance: int) -> np.ndarray:
    """Group images whose hashes chain within ``max_distance`` bits (each item -> its group's first index).

    Grouping is transitive: if A is near B and B near C, all three share a group, which is
    what a leak-free split needs (none of them may be on the other side of the line).
    """
    arr = hashes_to_array(hashes)
    return group_pairs(len(arr), close_pairs(arr, max_distance))
