"""Retrieval by Hamming distance (short, long, two-stage) or cosine similarity, and mAP@k.

Pure numpy, no Elasticsearch: this is the in-memory twin of what the library asks the
cluster to do. Hamming distances come from the client (`elastichash.codes.hamming_table`).
Rankings break ties by database index, so results are deterministic.

mAP@k follows the paper's evaluation (umr-ds/ElasticHash, experiments/get_aps.py): for each
query, the average precision over its top-k list, normalised by the number of relevant items
*in that list* (0 when there is none), averaged over queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from elastichash.codes import SHORT_BITS, SUBCODE_BITS, hamming_table

KS = (10, 25, 50, 100, 250, 500, 1000)
SUBCODE_RADIUS = 2
MISSING = -1


def top_k(keys: np.ndarray, k: int) -> np.ndarray:
    """Per row, the column indices of the k smallest integer keys in ascending order."""
    k = min(k, keys.shape[1])
    part = np.argpartition(keys, k - 1, axis=1)[:, :k]
    order = np.argsort(np.take_along_axis(keys, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def _ranking_keys(distance: np.ndarray) -> np.ndarray:
    """Integer sort keys: distance first, database index second."""
    n = distance.shape[1]
    return distance.astype(np.int64) * n + np.arange(n, dtype=np.int64)[None, :]


def _exclude(keys: np.ndarray, query_ids: np.ndarray | None, big: np.int64) -> np.ndarray:
    if query_ids is not None:
        keys[np.arange(len(query_ids)), query_ids] = big
    return keys


def hamming_search(
    query_bits: np.ndarray, db_bits: np.ndarray, k: int, query_ids: np.ndarray | None = None
) -> np.ndarray:
    """Brute-force Hamming ranking: (q, k) database indices. `query_ids` are left out (self matches)."""
    keys = _ranking_keys(hamming_table(query_bits, db_bits))
    big = np.iinfo(np.int64).max
    return top_k(_exclude(keys, query_ids, big), k)


def two_stage_search(
    query_bits: np.ndarray,
    db_bits: np.ndarray,
    k: int,
    short_bits: int = SHORT_BITS,
    subcode_bits: int = SUBCODE_BITS,
    radius: int = SUBCODE_RADIUS,
    query_ids: np.ndarray | None = None,
) -> np.ndarray:
    """Stage 1: database items with some sub-code within `radius` of the query's (multi-index
    hashing on the short code); stage 2: those, re-ranked by full-code Hamming distance.

    Returns (q, k) database indices, MISSING where fewer than k candidates passed stage 1.
    """
    near = np.zeros((len(query_bits), len(db_bits)), dtype=bool)
    for start in range(0, short_bits, subcode_bits):
        part = slice(start, start + subcode_bits)
        near |= hamming_table(query_bits[:, part], db_bits[:, part]) <= radius
    keys = _ranking_keys(hamming_table(query_bits, db_bits))
    big = np.iinfo(np.int64).max
    keys[~near] = big
    keys = _exclude(keys, query_ids, big)
    found = top_k(keys, k)
    found[np.take_along_axis(keys, found, axis=1) == big] = MISSING
    return found


def cosine_search(
    query_features: np.ndarray, db_features: np.ndarray, k: int, query_ids: np.ndarray | None = None
) -> np.ndarray:
    """Float baseline: ranking by cosine similarity, (q, k) database indices."""
    q = query_features / np.maximum(np.linalg.norm(query_features, axis=1, keepdims=True), 1e-12)
    d = db_features / np.maximum(np.linalg.norm(db_features, axis=1, keepdims=True), 1e-12)
    similarity = q @ d.T
    if query_ids is not None:
        similarity[np.arange(len(query_ids)), query_ids] = -np.inf
    k = min(k, similarity.shape[1])
    part = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    order = np.lexsort((part, -np.take_along_axis(similarity, part, axis=1)), axis=1)
    return np.take_along_axis(part, order, axis=1)


def average_precision_at(relevant: np.ndarray, ks: Sequence[int]) -> dict[int, np.ndarray]:
    """Per query AP@k for each k from a (q, K) 0/1 relevance matrix of ranked lists."""
    result = {}
    for k in ks:
        rel = relevant[:, :k].astype(np.float64)
        hits = rel.sum(axis=1)
        precision = np.cumsum(rel, axis=1) / np.arange(1, rel.shape[1] + 1)
        result[k] = np.where(hits > 0, (precision * rel).sum(axis=1) / np.maximum(hits, 1), 0.0)
    return result


def mean_average_precision(
    search: Callable[[slice], np.ndarray],
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    ks: Sequence[int] = KS,
    chunk: int = 500,
) -> dict[int, float]:
    """mAP@k over all queries; `search(rows)` returns the ranked database indices of those query rows."""
    sums = dict.fromkeys(ks, 0.0)
    for start in range(0, len(query_labels), chunk):
        rows = slice(start, min(start + chunk, len(query_labels)))
        found = search(rows)
        relevant = (found != MISSING) & (db_labels[np.maximum(found, 0)] == query_labels[rows, None])
        for k, ap in average_precision_at(relevant, ks).items():
            sums[k] += float(ap.sum())
    return {k: total / len(query_labels) for k, total in sums.items()}


def random_hyperplane_bits(features: np.ndarray, n_bits: int = 256, seed: int = 0) -> np.ndarray:
    """LSH baseline (SimHash / random-hyperplane hashing): sign of random Gaussian projections."""
    planes = np.random.default_rng(seed).standard_normal((features.shape[1], n_bits)).astype(np.float32)
    return (features.astype(np.float32) @ planes > 0).astype(np.uint8)
