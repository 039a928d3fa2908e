"""Synthetic codes: clusters of near codes (the structure of real ones), or uniformly random.

Codes are packed bytes (n, 32), the form Faiss takes; `codes.bit_rows` and the client's batch
functions take it as it is. Row i of the database is the document with id str(i).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from elastichash import codes


@dataclass(frozen=True)
class Dataset:
    kind: str  # "clustered", "uniform" or "realistic"
    database: np.ndarray  # (n, 32) uint8
    queries: np.ndarray  # (q, 32) uint8, not in the database
    centres: int | None  # clusters (clustered only)
    flip: float | None  # per-bit noise around a centre (clustered only)

    @property
    def n(self) -> int:
        return len(self.database)

    def describe(self) -> str:
        if self.kind == "uniform":
            return f"{self.n:,} uniformly random codes, {len(self.queries)} random queries"
        if self.kind == "realistic":
            return (
                f"{self.n:,} codes of synthetic images like real ones (the default model's head on a "
                f"generator fitted on real images: ehbench.realistic), {len(self.queries)} queries drawn "
                "from it too"
            )
        return (
            f"{self.n:,} codes around {self.centres:,} centres (per-bit noise {self.flip}), "
            f"{len(self.queries)} queries from the same clusters"
        )


def _centres(n_centres: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, size=(n_centres, codes.PACKED_BYTES), dtype=np.uint8)


def _noisy_members(centres: np.ndarray, which: np.ndarray, flip: float, rng: np.random.Generator) -> np.ndarray:
    """Centre `which[i]` with each bit flipped with probability `flip`, packed."""
    bits = codes.unpack_bits(centres[which])
    bits ^= (rng.random(bits.shape) < flip).astype(np.uint8)
    return codes.pack_bits(bits)


def default_centres(n: int) -> int:
    """Clusters of `make bench`'s data when not given: one per 200 codes (5,000 at 1M), at least 10."""
    return max(n // 200, 10)


def clustered(n: int, n_queries: int, n_centres: int, flip: float, seed: int = 7, chunk: int = 200_000) -> Dataset:
    """n codes around `n_centres` random centres (generated in chunks to bound memory), and
    queries that are new members of the same clusters."""
    centres = _centres(n_centres, seed)
    rng = np.random.default_rng(seed + 1)
    parts = [
        _noisy_members(centres, rng.integers(0, n_centres, size=min(chunk, n - start)), flip, rng)
        for start in range(0, n, chunk)
    ]
    query_rng = np.random.default_rng(seed + 2)
    query_codes = _noisy_members(centres, query_rng.integers(0, n_centres, n_queries), flip, query_rng)
    return Dataset("clustered", np.concatenate(parts), query_codes, n_centres, flip)


def uniform(n: int, n_queries: int, seed: int = 7) -> Dataset:
    """Uniformly random codes and queries: no structure for hashing to prune with."""
    rng = np.random.default_rng(seed + 3)
    database = rng.integers(0, 256, size=(n, codes.PACKED_BYTES), dtype=np.uint8)
    query_codes = rng.integers(0, 256, size=(n_queries, codes.PACKED_BYTES), dtype=np.uint8)
    return Dataset("uniform", database, query_codes, None, None)


def realistic(n: int, n_queries: int, seed: int = 0) -> Dataset:
    """Codes of n synthetic images like real ones (`ehbench.realistic`, cached), and queries that
    are other draws of the same generator."""
    from .realistic import realistic as draw

    database, _ = draw(n, seed=seed, vectors=False)
    query_codes, _ = draw(n_queries, seed=seed + 1, vectors=False)
    return Dataset("realistic", database, query_codes, None, None)
