from __future__ import annotations

import numpy as np
from elastichash.codes import hamming_table

from elastichash_train import metrics


def test_average_precision_counts_relevant_items_in_the_list() -> None:
    relevant = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 0, 0]])
    ap = metrics.average_precision_at(relevant, (4,))[4]
    assert np.allclose(ap, [(1 + 2 / 3) / 2, 0.0, 0.5])


def test_hamming_ranking_breaks_ties_by_index() -> None:
    db = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=np.uint8)
    query = np.array([[0, 0, 0, 0]], dtype=np.uint8)
    assert metrics.hamming_search(query, db, 4).tolist() == [[0, 2, 1, 3]]
    assert metrics.hamming_search(query, db, 2, query_ids=np.array([0])).tolist() == [[2, 1]]


def test_two_stage_equals_filtered_brute_force() -> None:
    rng = np.random.default_rng(0)
    db = rng.integers(0, 2, (400, 256), dtype=np.uint8)
    queries = db[:20] ^ (rng.random((20, 256)) < 0.08).astype(np.uint8)
    found = metrics.two_stage_search(queries, db, 50)
    distance = hamming_table(queries, db)
    for q in range(len(queries)):
        sub = [hamming_table(queries[q : q + 1, s : s + 16], db[:, s : s + 16])[0] for s in range(0, 64, 16)]
        candidates = np.flatnonzero(np.min(sub, axis=0) <= 2)
        expected = sorted(candidates, key=lambda i: (distance[q, i], i))[:50]
        got = found[q][found[q] != metrics.MISSING].tolist()
        assert got == list(expected)


def test_map_of_a_perfect_ranking_is_one() -> None:
    labels = np.repeat(np.arange(5), 20)
    bits = np.zeros((100, 256), dtype=np.uint8)
    bits[:, :5] = np.eye(5, dtype=np.uint8)[labels]
    result = metrics.mean_average_precision(
        lambda r: metrics.hamming_search(bits[r], bits, 10, np.arange(r.start, r.stop)), labels, labels, (10,)
    )
    assert result[10] == 1.0
