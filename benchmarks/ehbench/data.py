"""Synthetic codes with the structure of real ones: clusters of near codes."""

from __future__ import annotations

import numpy as np
from elastichash import codes


def centres(n_centres: int, seed: int) -> np.ndarray:
    """Random 256-bit cluster centres as packed bytes (n, 32)."""
    return np.random.default_rng(seed).integers(0, 256, size=(n_centres, 32), dtype=np.uint8)


def noisy_members(centre_bytes: np.ndarray, which: np.ndarray, flip: float, rng: np.random.Generator) -> np.ndarray:
    """Packed codes (len(which), 32): centre `which[i]` with each bit flipped with probability `flip`."""
    bits = np.unpackbits(centre_bytes[which], axis=1)
    bits ^= (rng.random(bits.shape) < flip).astype(np.uint8)
    return np.packbits(bits, axis=1)


def clustered_codes(n: int, n_centres: int, flip: float, seed: int, chunk: int = 200_000) -> np.ndarray:
    """n packed codes around `n_centres` centres, generated in chunks to bound memory."""
    rng = np.random.default_rng(seed + 1)
    c = centres(n_centres, seed)
    parts = []
    for start in range(0, n, chunk):
        which = rng.integers(0, n_centres, size=min(chunk, n - start))
        parts.append(noisy_members(c, which, flip, rng))
    return np.concatenate(parts)


def queries(n_queries: int, n_centres: int, flip: float, seed: int) -> np.ndarray:
    """New members of the same clusters: codes that are not in the index."""
    rng = np.random.default_rng(seed + 2)
    return noisy_members(centres(n_centres, seed), rng.integers(0, n_centres, n_queries), flip, rng)


def words(packed: np.ndarray) -> np.ndarray:
    return codes.to_words(codes.unpack(packed))
