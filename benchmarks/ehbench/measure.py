"""Measuring one system: latency per query, and how right its answers are.

Recall is tie-aware against Faiss's exact ranking: the share of the k answers whose distance is
at most the true k-th distance (any document tied at the k-th distance is a right answer). For
the `max_distance` form it is the share of the true within-distance set that came back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import faiss
import numpy as np
from elastichash import ElasticHash, codes
from elastichash.engines import Client
from tqdm import tqdm

from .data import Dataset
from .systems import FirstStage, Query, System


@dataclass(frozen=True)
class Truth:
    kth: np.ndarray  # (q, max k) int32: the exact distances of the k nearest, nearest first
    rows: np.ndarray  # (q, max k) int64: Faiss's k nearest database rows, nearest first
    within: list[np.ndarray]  # per query, the rows within `radius`
    radius: int

    @classmethod
    def compute(cls, dataset: Dataset, max_k: int, radius: int) -> Truth:
        index = faiss.IndexBinaryFlat(codes.CODE_BITS)
        index.add(dataset.database)
        kth, nearest = index.search(dataset.queries, max_k)
        lims, _, rows = index.range_search(dataset.queries, radius + 1)  # Faiss keeps d < radius + 1
        within = [np.sort(rows[lims[i] : lims[i + 1]]) for i in range(len(dataset.queries))]
        return cls(kth.astype(np.int32), nearest.astype(np.int64), within, radius)


def distances(dataset: Dataset, query: int, rows: np.ndarray) -> np.ndarray:
    """256-bit Hamming distances of database rows to query number `query`."""
    return codes.popcount(np.bitwise_xor(dataset.database[rows], dataset.queries[query])).sum(axis=-1)


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


@dataclass
class Measure:
    system: str
    label: str
    k: int | None  # None: the max_distance form (every document within a distance)
    client_ms: list[float] = field(default_factory=list)
    took_ms: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    hits: list[int] = field(default_factory=list)
    true_hits: list[int] = field(default_factory=list)  # max_distance form: the true set's size
    found: list[int] = field(default_factory=list)  # max_distance form: true documents returned
    candidates: list[int] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        within_recall = sum(self.found) / sum(self.true_hits) if sum(self.true_hits) else None
        return {
            "system": self.system,
            "label": self.label,
            "k": self.k,
            "queries": len(self.client_ms),
            "p50_ms": _pct(self.client_ms, 50),
            "p95_ms": _pct(self.client_ms, 95),
            "p99_ms": _pct(self.client_ms, 99),
            "mean_ms": float(np.mean(self.client_ms)) if self.client_ms else None,
            "took_p50_ms": _pct(self.took_ms, 50),
            "recall": within_recall if self.k is None else (float(np.mean(self.recall)) if self.recall else None),
            "min_recall": float(min(self.recall)) if self.recall else None,
            "hits_mean": float(np.mean(self.hits)) if self.hits else None,
            "true_hits_mean": float(np.mean(self.true_hits)) if self.true_hits else None,
            "outside": int(sum(self.hits) - sum(self.found)) if self.k is None else None,
            "candidates_mean": float(np.mean(self.candidates)) if self.candidates else None,
        }


def _score(measure: Measure, dataset: Dataset, truth: Truth, i: int, rows: np.ndarray, k: int | None) -> None:
    measure.hits.append(len(rows))
    if k is None:
        true_rows = truth.within[i]
        measure.true_hits.append(len(true_rows))
        measure.found.append(int(np.isin(rows, true_rows).sum()))
        measure.recall.append(measure.found[-1] / len(true_rows) if len(true_rows) else 1.0)
        return
    found = distances(dataset, i, rows) if len(rows) else np.zeros(0, np.int64)
    measure.recall.append(float(np.count_nonzero(found <= truth.kth[i, k - 1])) / k)


def run(system: System, dataset: Dataset, truth: Truth, ks: list[int], warmup: int, n_queries: int) -> list[Measure]:
    """Warms up, then sends the first `n_queries` queries one at a time at each k."""
    hexes = codes.to_hex(codes.unpack_bits(dataset.queries))
    query_list = [Query(h, p) for h, p in zip(hexes, dataset.queries, strict=True)]
    measures = []
    for k in [None] if system.within is not None else ks:
        measure = Measure(system.name, system.label, k)
        ask = k or 1
        for query in query_list[:warmup]:
            system.search(query, ask)
        for i, query in enumerate(tqdm(query_list[:n_queries], desc=f"{system.name} k={k}", leave=False)):
            answer = system.search(query, ask)
            measure.client_ms.append(answer.client_ms)
            if answer.took_ms is not None:
                measure.took_ms.append(answer.took_ms)
            _score(measure, dataset, truth, i, answer.rows, k)
        measures.append(measure)
        s = measure.summary()
        recall = "–" if s["recall"] is None else f"{s['recall']:.4f}"
        print(
            f"  {system.name:<26} k={k or 'all':<5} p50 {s['p50_ms']:8.2f} ms  recall {recall}  "
            f"hits {s['hits_mean']:.1f}",
            flush=True,
        )
    return measures


def candidates(es: Client, index: str, dataset: Dataset, first_stage: FirstStage, n: int = 100) -> list[int]:
    """How many documents pass a system's first stage (the paper's: radius 2 on sub-codes 0..3),
    for the first `n` queries."""
    hexes = codes.to_hex(codes.unpack_bits(dataset.queries[:n]))
    return [int(es.count(index=index, body={"query": first_stage(code)})["count"]) for code in hexes]


def batch_exact(
    es: Client, index: str, dataset: Dataset, truth: Truth, ks: list[int], reference: str | None
) -> dict[str, Any]:
    """Every query at once through the client's `search_codes` (`_msearch`, batches of 100):
    queries per second, and whether the distances equal Faiss's exact ones (and, with
    `reference`, those of the same search on a one-shard index)."""
    out: dict[str, Any] = {}
    for k in ks:
        started = time.perf_counter()
        found, _ = ElasticHash(es, index).search_codes(dataset.queries, k=k)
        seconds = time.perf_counter() - started
        entry: dict[str, Any] = {
            "queries_per_s": len(dataset.queries) / seconds,
            "equal_to_faiss": bool(np.array_equal(found, truth.kth[:, :k])),
        }
        if reference is not None:
            one_shard, _ = ElasticHash(es, reference).search_codes(dataset.queries, k=k)
            entry["equal_to_one_shard"] = bool(np.array_equal(found, one_shard))
        out[str(k)] = entry
        print(f"  search_codes k={k}: {entry}", flush=True)
    return out


def profile_descriptions(system: System, dataset: Dataset, ks: list[int]) -> dict[str, list[str]]:
    """The `profile` API's description of the hamming query, per shard, for the first query:
    it says the radius reached, the terms looked up, the candidates compared, the segments
    scanned."""
    assert system.es is not None and system.body is not None
    query_hex = codes.to_hex(codes.unpack_bits(dataset.queries[0]))
    out = {}
    for k in ks:
        response = system.es.search(index=system.index, body={**system.body(query_hex, k), "profile": True})
        out[str(k)] = [
            search["query"][0]["description"] for shard in response["profile"]["shards"] for search in shard["searches"]
        ]
    return out
