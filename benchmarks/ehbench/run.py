"""Runs the benchmark: ingest N clustered codes, query every system, write tables and plots.

python -m ehbench --es-url http://127.0.0.1:9200 --n 1000000
python -m ehbench --smoke         # 20k codes, 40 queries: checks the machinery, not speed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from elasticsearch import Elasticsearch
from tqdm import tqdm

from . import data, report, systems

RESULTS = Path(__file__).resolve().parent.parent / "results"


@dataclass
class Measure:
    system: str
    label: str
    k: int
    client_ms: list[float] = field(default_factory=list)
    took_ms: list[float] = field(default_factory=list)
    recall: list[float] = field(default_factory=list)
    candidates: list[int] = field(default_factory=list)

    def summary(self) -> dict:
        def pct(values: list[float], q: float) -> float | None:
            return float(np.percentile(values, q)) if values else None

        return {
            "system": self.system,
            "label": self.label,
            "k": self.k,
            "queries": len(self.client_ms),
            "p50_ms": pct(self.client_ms, 50),
            "p95_ms": pct(self.client_ms, 95),
            "p99_ms": pct(self.client_ms, 99),
            "took_p50_ms": pct(self.took_ms, 50),
            "recall": float(np.mean(self.recall)) if self.recall else None,
            "candidates_mean": float(np.mean(self.candidates)) if self.candidates else None,
        }


def tie_aware_recall(found_distances: np.ndarray, exact_kth: float, k: int) -> float:
    """Share of the k answers that belong to an exact top k (any tie at the k-th distance counts)."""
    return float(np.count_nonzero(found_distances <= exact_kth)) / k


def run_system(
    system: systems.System,
    packed: np.ndarray,
    query_codes: np.ndarray,
    exact: np.ndarray,
    ks: list[int],
    warmup: int,
) -> list[Measure]:
    measures = []
    query_words = data.words(query_codes)
    for k in ks:
        measure = Measure(system.name, system.label, k)
        for q in query_codes[:warmup]:
            system.search(q, k)
        for i, q in enumerate(tqdm(query_codes, desc=f"{system.name} k={k}", leave=False)):
            answer = system.search(q, k)
            measure.client_ms.append(answer.client_ms)
            if answer.took_ms is not None:
                measure.took_ms.append(answer.took_ms)
            found = data.words(packed[answer.ids]) if len(answer.ids) else np.zeros((0, 4), np.int64)
            distances = np.bitwise_count(np.bitwise_xor(found, query_words[i]).view(np.uint64)).sum(axis=1)
            measure.recall.append(tie_aware_recall(distances, exact[i, k - 1], k))
        measures.append(measure)
        s = measure.summary()
        print(f"  {system.name:<26} k={k:<5} p50 {s['p50_ms']:8.2f} ms  recall {s['recall']:.4f}", flush=True)
    return measures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ehbench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--es-url", default=os.environ.get("ES_URL", "http://127.0.0.1:9200"))
    parser.add_argument("--n", type=int, default=1_000_000, help="codes in the database (default 1M; try 5M, 10M)")
    parser.add_argument("--centres", type=int, default=None, help="clusters (default n/200)")
    parser.add_argument("--flip", type=float, default=0.04, help="per-bit noise around a centre (default 0.04)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--num-candidates", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--skip", nargs="*", default=[], help="system names to leave out")
    parser.add_argument("--reuse", action="store_true", help="keep existing benchmark indices of the same n")
    parser.add_argument("--smoke", action="store_true", help="tiny run that only checks the machinery")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.queries, args.warmup, args.k, args.num_candidates = 20_000, 40, 5, [10, 100], [100]
    centres = args.centres or max(args.n // 200, 10)

    es = Elasticsearch(args.es_url, request_timeout=600)
    print(f"data: {args.n:,} codes around {centres:,} centres, flip {args.flip}; {args.queries} queries", flush=True)
    packed = data.clustered_codes(args.n, centres, args.flip, seed=7)
    query_codes = data.queries(args.queries, centres, args.flip, seed=7)
    exact = systems.exact_distances(packed, query_codes, max(args.k))

    suffix = f"{args.n}"
    eh_index, nb_index = f"bench-eh-{suffix}", "bench-neighbours"
    hnsw_index, flat_index = f"bench-hnsw-{suffix}", f"bench-flat-{suffix}"
    ingest: dict[str, dict] = {}
    plan = [
        (eh_index, lambda: systems.create_elastichash_index(es, eh_index), systems.elastichash_docs, "elastichash"),
        (
            hnsw_index,
            lambda: systems.create_vector_index(es, hnsw_index, "hnsw"),
            systems.vector_docs,
            "dense_vector_hnsw",
        ),
        (
            flat_index,
            lambda: systems.create_vector_index(es, flat_index, "flat"),
            systems.vector_docs,
            "dense_vector_flat",
        ),
    ]
    for index, create, make_docs, key in plan:
        if args.reuse and es.indices.exists(index=index) and es.count(index=index)["count"] == args.n:
            print(f"reusing {index}")
            continue
        create()
        ingest[key] = systems.bulk_load(es, index, packed, make_docs)
        print(
            f"  {key}: {ingest[key]['docs_per_s']:,.0f} docs/s, merge {ingest[key]['merge_s']:.0f} s, "
            f"{ingest[key]['bytes'] / 2**20:,.1f} MiB",
            flush=True,
        )
    if not (args.reuse and es.indices.exists(index=nb_index)):
        systems.create_neighbours_index(es, nb_index)

    painless = systems.painless_available(es)
    candidates: list[systems.System] = [
        systems.TwoStage(es, eh_index),
        systems.PaperTwoStage(es, eh_index, nb_index, "plugin"),
        systems.LongOnly(es, eh_index, "plugin"),
        *[systems.VectorKnn(es, hnsw_index, nc) for nc in args.num_candidates],
        systems.VectorKnn(es, flat_index, None, flat=True),
        systems.faiss_flat(packed),
        systems.faiss_multihash(packed),
    ]
    if painless:
        candidates[1:1] = [
            systems.PaperTwoStage(es, eh_index, nb_index, "painless"),
            systems.TwoStage(es, eh_index, "painless"),
        ]
        candidates.append(systems.LongOnly(es, eh_index, "painless"))
    else:
        print("Painless is not available on this node: systems (b) and (d) are not measured", flush=True)

    measures: list[Measure] = []
    for system in candidates:
        if system.name in args.skip:
            continue
        measures += run_system(system, packed, query_codes, exact, args.k, args.warmup)
        if isinstance(system, systems.TwoStage) and system.scorer == "plugin":
            counts = [system.candidates(q) for q in query_codes[: min(100, len(query_codes))]]
            for m in measures:
                if m.system == system.name:
                    m.candidates = counts

    heap = es.nodes.stats(metric="jvm")["nodes"]
    result = {
        "n": args.n,
        "centres": centres,
        "flip": args.flip,
        "queries": args.queries,
        "painless": painless,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "heap_used_mb": [v["jvm"]["mem"]["heap_used_in_bytes"] / 2**20 for v in heap.values()],
        "ingest": ingest,
        "results": [m.summary() for m in measures],
    }
    args.out.mkdir(parents=True, exist_ok=True)
    name = "smoke" if args.smoke else f"bench-{args.n}"
    (args.out / f"{name}.json").write_text(json.dumps(result, indent=2))
    table = report.markdown(result)
    (args.out / f"{name}.md").write_text(table)
    print("\n" + table)
    if not args.smoke:
        report.plots(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
