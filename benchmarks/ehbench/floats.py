"""The float vectors an Elasticsearch user would try first, beside the codes, on the same synthetic
images like real ones (`ehbench.realistic`: each image has both its 1,280 backbone features and
the default model's code): ingest, force-merge, disk and latency with recall, in the same run.

Systems: the exact `hamming` query on the codes (`hamming_code`), and the features in
`dense_vector` (cosine) as `bbq_hnsw` (Elasticsearch 9's default from 384 dimensions; default
oversampling, then 5x), `int8_hnsw` and `flat` (exact). Recall is against the exact answer of
each kind: Hamming for the codes, cosine for the floats (numpy).

    python -m ehbench.floats --es-url URL [--n 50000] [--queries 200] [--out results/floats-50000.md]

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

from .indices import force_merge
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
    rows = []
    for kind in KINDS:
        index = f"ehbench-floats-{kind.split(' ')[0].replace('_', '-')}-{args.n}"
        cost = build(es, kind, index, hexes, vectors32)
        truth = hamming_truth if kind.startswith("codes") else cosine_truth
        variants: list[tuple[str, int, float | None]] = [("", 100, None)]  # flat: exact, whatever the candidates
        if kind == "bbq_hnsw":
            variants = [(", num_candidates 100", 100, None), (", num_candidates 100, oversample 5", 100, 5.0)]
        elif kind == "int8_hnsw":
            variants = [(", num_candidates 100", 100, None)]
        for label, candidates, oversample in variants:
            searches = [
                body(kind, query_hexes[i], queries32[i], candidates, oversample) for i in range(len(query_hexes))
            ]
            result = measure(es, index, searches, truth, args.warmup)
            rows.append((kind + label, cost, result))
            print(f"{kind + label}: p50 {result['p50']:.2f} ms, recall {result['recall']:.3f}", flush=True)
    versions = sorted({node["version"] for node in es.nodes.info()["nodes"].values()})
    lines = [
        f"{args.n:,} synthetic images like real ones, {len(query_hexes)} queries, k={K}, Elasticsearch "
        f"{', '.join(versions)}, {time.strftime('%Y-%m-%d')}; `python -m ehbench.floats --n {args.n}`.",
        "",
        "| system | p50 ms | p99 ms | took p50 | recall@10 (own kind) | ingest docs/s | force-merge s | on disk MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, cost, result in rows:
        lines.append(
            f"| {name} | {result['p50']:.2f} | {result['p99']:.2f} | {result['took']:.0f} | {result['recall']:.3f} | "
            f"{cost['docs_per_s']:,.0f} | {cost['merge_s']:.1f} | {cost['bytes'] / 2**20:,.1f} |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
