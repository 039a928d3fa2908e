"""Retrieval by Hamming distance (short, long, two-stage) or cosine similarity, and mAP@k.

Pure numpy, no Elasticsearch: this is the in-memory twin of what the library asks the
cluster to do. Exact Hamming and cosine rankings come from the client (`elastichash.ranking`);
rankings break ties by database index, so results are deterministic.

mAP@k follows the paper's evaluation (umr-ds/ElasticHash, experiments/get_aps.py): for each
query, the average precision over its top-k list, normalised by the number of relevant items
*in that list* (0 when there is none), averaged over queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from elastichash.codes import SHORT_BITS, SUBCODE_BITS, hamming_table
from elastichash.ranking import (  # noqa: F401 (the evaluation's names for them)
    cosine_search,
    exclude,
    hamming_search,
    random_hyperplane_bits,
    ranking_keys,
    top_k,
)

KS = (10, 25, 50, 100, 250, 500, 1000)
SUBCODE_RADIUS = 2
MISSING = -1


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
    keys = ranking_keys(hamming_table(query_bits, db_bits))
    big = np.iinfo(np.int64).max
    keys[~near] = big
    keys = exclude(keys, query_ids, big)
    found = top_k(keys, k)
    found[np.take_along_axis(keys, found, axis=1) == big] = MISSING
    return found


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
