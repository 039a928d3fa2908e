"""Exact ranking in memory, by Hamming distance or by cosine similarity: the yardstick that a
fitted model's report (`fitting`) and model-export's evaluation measure codes against.

Pure numpy. Rankings break ties by database index, so results are deterministic.
"""

from __future__ import annotations

import numpy as np

from .codes import hamming_table


def top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Per row, the column indices of the k smallest integer keys in ascending order."""
    k = min(k, keys.shape[1])
    part = np.argpartition(keys, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ranking_keys(distance: np.ndarray) -> np.ndarray:
    """Integer sort keys: distance first, database index second."""
    n = distance.shape[1]
    return distance.astype(np.int64) * n + np.arange(n, dtype=np.int64)[None, :]


def exclude(keys: np.ndarray, query_ids: np.ndarray | None, big: np.int64) -> np.ndarray:
    """`keys` with each query's own database row (`query_ids`) pushed to the end."""
    if query_ids is not None:
        keys[np.arange(len(query_ids)), query_ids] = big
    return keys


def hamming_search(
    query_bits: np.ndarray, db_bits: np.ndarray, k: int, query_ids: np.ndarray | None = None
) -> np.ndarray:
    """Brute-force Hamming ranking of 0/1 codes: (q, k) database indices. `query_ids` are left
    out (self matches)."""
    keys = ranking_keys(hamming_table(query_bits, db_bits))
    return top_k(exclude(keys, query_ids, np.iinfo(np.int64).max), k)


def cosine_search(
    query_features: np.ndarray,
    db_features: np.ndarray,
    k: int,
    query_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Ranking by cosine similarity of float vectors: (q, k) database indices."""
    q = query_features / np.maximum(np.linalg.norm(query_features, axis=1, keepdims=True), 1e-12)
    d = db_features / np.maximum(np.linalg.norm(db_features, axis=1, keepdims=True), 1e-12)
    similarity = q @ d.T
    if query_ids is not None:
        similarity[np.arange(len(query_ids)), query_ids] = -np.inf
    k = min(k, similarity.shape[1])
    part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(similarity, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


def random_hyperplane_bits(features: np.ndarray, n_bits: int = 256, seed: int = 0) -> np.ndarray:
    """LSH (SimHash, random-hyperplane hashing): signs of seeded Gaussian projections, the
    baseline any learnt code has to beat."""
    planes = np.random.default_rng(seed).standard_normal((features.shape[1], n_bits))
    return (features.astype(np.float32) @ planes.astype(np.float32) > 0).astype(np.uint8)
