"""The float vectors an Elasticsearch user would try first, beside the codes, on the same synthetic
images like real ones (`ehbench.realistic`: each image has both its 1,280 backbone features and
the default model's code): ingest, force-merge, disk and latency with recall, in the same run.

Systems: the exact `hamming` query on the codes (`hamming_code`), and the features in
`dense_vector` (cosine) as `bbq_hnsw` (Elasticsearch 9's default from 384 dimensions; default
oversampling, then 5x, then 5x with 1,000 candidates), `int8_hnsw` (100, then 1,000 candidates)
and `flat` (exact). Recall is against the exact answer of each kind: Hamming for the codes,
cosine for the floats (numpy).

    python -m ehbench.floats --es-url URL [--n 50000] [--queries 200] [--kinds codes bbq_hnsw ...]
        [--out results/floats-50000.md]

The indices (`ehbench-floats-<kind>-<n>`) are kept and reused when they hold the same images.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import elastichash
import numpy as np
from elastichash import codes, engines, ranking, testing
from elastichash.engines import Client

from .indices import force_merge, pivot_groups_from, wait_for_pivot_groups
from .realistic import realistic
from .systems import float_vector

K = 10
CHUNK = 500
KINDS = {
    "codes (hamming_code)": {"type": "hamming_code"},
    "bbq_hnsw": {"type": "bbq_hnsw"},
    "int8_hnsw": {"type": "int8_hnsw"},
    "flat": {"type": "flat"},
}


def mapping(kind: str, dims: int, fingerprint: str) -> dict[str, Any]:
    if kind.startswith("codes"):
        field: dict[str, Any] = {"type": "hamming_code"}
    else:
        field = {"type": "dense_vector", "dims": dims, "similarity": "cosine", "index_options": KINDS[kind]}
    return {"_meta": {"fingerprint": fingerprint}, "properties": {"f": field}}


def documents(index: str, kind: str, hexes: list[str], vectors: np.ndarray) -> Iterator[dict[str, Any]]:
    for i in range(len(hexes)):
        value: Any = hexes[i] if kind.startswith("codes") else float_vector(vectors[i])
        yield {"_index": index, "_id": str(i), "f": value}


def build(es: Client, kind: str, index: str, hexes: list[str], vectors: np.ndarray) -> dict[str, float]:
    """Creates and loads the index (or keeps it when it holds the same images); what it cost."""
    fingerprint = f"{len(hexes)}-{hexes[0]}-{hexes[-1]}"
    if es.indices.exists(index=index):
        meta = es.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
        if meta.get("fingerprint") == fingerprint and "cost" in meta:
            return dict(meta["cost"])
        es.indices.delete(index=index)
    settings = {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"}
    es.indices.create(
        index=index, body={"settings": settings, "mappings": mapping(kind, vectors.shape[1], fingerprint)}
    )
    started = time.perf_counter()
    engines.helpers_of(es).bulk(testing.with_timeout(es, 600), documents(index, kind, hexes, vectors), chunk_size=CHUNK)
    es.indices.refresh(index=index)
    ingest = time.perf_counter() - started
    merge = force_merge(es, index)
    store = es.indices.stats(index=index, metric=["store"])["indices"][index]["primaries"]["store"]["size_in_bytes"]
    cost = {"docs_per_s": len(hexes) / ingest, "ingest_s": ingest, "merge_s": merge, "bytes": store}
    es.indices.put_mapping(index=index, body={"_meta": {"fingerprint": fingerprint, "cost": cost}})
    return cost


def body(
    kind: str, query_hex: str, query_vector: np.ndarray, num_candidates: int, oversample: float | None
) -> dict[str, Any]:
    common = {"size": K, "_source": False, "track_total_hits": False}
    if kind.startswith("codes"):
        return {**common, "query": {"hamming": {"field": "f", "code": query_hex, "k": K}}}
    knn: dict[str, Any] = {
        "field": "f",
        "query_vector": float_vector(query_vector),
        "k": K,
        "num_candidates": num_candidates,
    }
    if oversample is not None:
        knn["rescore_vector"] = {"oversample": oversample}
    return {**common, "knn": knn}


def measure(es: Client, index: str, bodies: list[dict[str, Any]], truth: np.ndarray, warmup: int) -> dict[str, float]:
    for warm in bodies[:warmup]:
        es.search(index=index, body=warm)
    latencies, took, recalls = [], [], []
    for row, search in enumerate(bodies):
        started = time.perf_counter()
        answer = es.search(index=index, body=search)
        latencies.append((time.perf_counter() - started) * 1000)
        took.append(answer["took"])
        found = {int(hit["_id"]) for hit in answer["hits"]["hits"]}
        recalls.append(len(found & set(truth[row].tolist())) / K)
    latencies.sort()
    return {
        "p50": statistics.median(latencies),
        "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "took": statistics.median(took),
        "recall": float(np.mean(recalls)),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--n", type=int, default=50_000, help="synthetic images (default 50,000)")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="every system once a round (default 3)")
    parser.add_argument(
        "--kinds",
        nargs="+",
        choices=[kind.split(" ")[0] for kind in KINDS],
        default=[kind.split(" ")[0] for kind in KINDS],
        help="the systems to build and measure (default all; at 1M each float index takes tens of minutes here)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    es = elastichash.connect(args.es_url, request_timeout=600)
    if engines.product(es) != "elasticsearch":
        raise SystemExit("dense_vector's bbq_hnsw and int8_hnsw are Elasticsearch's: run this on Elasticsearch")
    packed, vectors = realistic(args.n, seed=0)
    query_packed, query_vectors = realistic(args.queries, seed=1)
    assert vectors is not None and query_vectors is not None
    bits, query_bits = codes.unpack_bits(packed), codes.unpack_bits(query_packed)
    hexes, query_hexes = codes.to_hex(bits), codes.to_hex(query_bits)
    vectors32, queries32 = vectors.astype(np.float32), query_vectors.astype(np.float32)
    # Exact answers of each kind, ties by document number.
    hamming_truth = ranking.hamming_search(query_bits, bits, K)
    cosine_truth = ranking.cosine_search(queries32, vectors32, K)
    plans = []  # (system, index, cost, truth, searches)
    for kind in [kind for kind in KINDS if kind.split(" ")[0] in args.kinds]:
        index = f"ehbench-floats-{kind.split(' ')[0].replace('_', '-')}-{args.n}"
        cost = build(es, kind, index, hexes, vectors32)
        truth = hamming_truth if kind.startswith("codes") else cosine_truth
        # Codes are timed once the node has grouped the segment around pivots, as a node serving it
        # would have (built in the background after the first search).
        grouped = not kind.startswith("codes") or args.n < pivot_groups_from(es)
        if not grouped and wait_for_pivot_groups(es, index, seconds=300, field="f") is None:
            raise SystemExit(f"{index}: the node did not group its codes around pivots within 300 s")
        variants: list[tuple[str, int, float | None]] = [("", 100, None)]  # flat: exact, whatever the candidates
        if kind == "bbq_hnsw":
            variants = [
                (", num_candidates 100", 100, None),
                (", num_candidates 100, oversample 5", 100, 5.0),
                (", num_candidates 1000, oversample 5", 1000, 5.0),  # as far as a user would turn it up
            ]
        elif kind == "int8_hnsw":
            variants = [(", num_candidates 100", 100, None), (", num_candidates 1000", 1000, None)]
        for label, candidates, oversample in variants:
            searches = [
                body(kind, query_hexes[i], queries32[i], candidates, oversample) for i in range(len(query_hexes))
            ]
            plans.append((kind + label, index, cost, truth, searches))
    # Every system once per round, one after the other, so that a noisy stretch of the machine
    # touches all; each system's figures are the medians over the rounds.
    runs: dict[str, list[dict[str, float]]] = {name: [] for name, *_ in plans}
    for round_ in range(args.rounds):
        for name, index, _, truth, searches in plans:
            result = measure(es, index, searches, truth, args.warmup)
            runs[name].append(result)
            print(f"round {round_ + 1}, {name}: p50 {result['p50']:.2f} ms, recall {result['recall']:.3f}", flush=True)
    rows = [
        (name, cost, {key: statistics.median(run[key] for run in runs[name]) for key in runs[name][0]}, runs[name])
        for name, _, cost, _, _ in plans
    ]
    versions = sorted({node["version"] for node in es.nodes.info()["nodes"].values()})
    lines = [
        f"{args.n:,} synthetic images like real ones, {len(query_hexes)} queries, k={K}, Elasticsearch "
        f"{', '.join(versions)}, {time.strftime('%Y-%m-%d')}; `python -m ehbench.floats --n {args.n}`. "
        f"Latency: medians over {args.rounds} rounds (every system once a round, {args.warmup} warm-up searches "
        "before each).",
        "",
        "| system | p50 ms | p50 per round | p99 ms | took p50 | recall@10 (own kind) | ingest docs/s | "
        "force-merge s | on disk MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, cost, result, per_round in rows:
        rounds = " / ".join(f"{run['p50']:.2f}" for run in per_round)
        lines.append(
            f"| {name} | {result['p50']:.2f} | {rounds} | "
            f"{result['p99']:.2f} | {result['took']:.0f} | {result['recall']:.3f} | "
            f"{cost['docs_per_s']:,.0f} | {cost['merge_s']:.1f} | {cost['bytes'] / 2**20:,.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
