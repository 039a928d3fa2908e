"""The exact query reading the node's code cache, with and without its pivot partition, against
the same query reading the doc-value columns, in the same run, beside HNSW, on the indices
`make bench` left on the node.

    python -m ehbench.cache --es-url URL [--n 1000000] [--realistic | --flip F] [--rounds 3]

Each round, per k: the ElasticHash index is closed and opened (its segments' arrays are dropped)
and the `elastichash_codes` breaker limited to 1 byte, so the query reads the columns; then the
limit is put back with partitions turned off (`elastichash.code_cache.partition_min_codes` at its
maximum), so the same queries scan the arrays in document order (the first search loads them;
its time is printed apart); then the arrays are dropped again with partitions on, and once the
node has built the partition in the background (the query's explanation says it scans through
pivot groups; the time is printed) the queries run through it; then `bit` HNSW with
num_candidates=100. Queries are warmed before each timing. Prints client p50 and node `took`
p50 per system and round, the ratios, and their minimum and median over the rounds.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

import elastichash
from elastichash import codes

from . import indices, systems

BREAKER = "elastichash_codes"
NEVER = 2**31 - 1


def timed(es: Any, index: str, bodies: list[dict[str, Any]]) -> tuple[float, float]:
    """Client p50 (ms) and node `took` p50 (ms) of these searches."""
    latencies, took = [], []
    for body in bodies:
        started = time.perf_counter()
        answer = es.search(index=index, body=body)
        latencies.append((time.perf_counter() - started) * 1000)
        took.append(answer["took"])
    return statistics.median(latencies), statistics.median(took)


def breaker_limit(es: Any) -> dict[str, Any]:
    node = next(iter(es.nodes.stats(metric="breaker")["nodes"].values()))["breakers"][BREAKER]
    limit = f"{node['limit_size_in_bytes']}b"
    return {f"breaker.{BREAKER}.limit": limit, f"breaker.{BREAKER}.overhead": node["overhead"]}


def drop_arrays(es: Any, index: str) -> None:
    es.indices.close(index=index)
    es.indices.open(index=index, wait_for_active_shards="all")
    es.cluster.health(index=index, wait_for_status="green")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    indices.add_left_by_bench_arguments(parser)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--k", type=int, nargs="+", default=[10, 100])
    parser.add_argument(
        "--partition-min-codes",
        type=int,
        default=None,
        help="the node's elastichash.code_cache.partition_min_codes for the grouped rounds (default: its own,\n"
        "131,072; a smaller index is not grouped and that column is left out)",
    )
    args = parser.parse_args(argv)
    es = elastichash.connect(args.es_url, request_timeout=600)
    dataset, found = indices.left_by_bench(es, args, (indices.ELASTICHASH, indices.HNSW))
    exact_index, hnsw_index = found[indices.ELASTICHASH], found[indices.HNSW]
    hexes = codes.to_hex(codes.unpack_bits(dataset.queries))
    restore = breaker_limit(es)
    print(f"{dataset.describe()}; {len(hexes)} queries, {args.warmup} warm-up; client p50 (node took)", flush=True)
    ratios: dict[str, list[float]] = {}
    try:
        for round_ in range(1, args.rounds + 1):
            drop_arrays(es, exact_index)
            es.cluster.put_settings(body={"transient": {f"breaker.{BREAKER}.limit": "1b"}})
            for k in args.k:
                exact = [systems.client_body("exact")(code, k) for code in hexes]
                hnsw = [systems.knn_body(100)(code, k) for code in hexes]
                drop_arrays(es, exact_index)
                es.cluster.put_settings(body={"transient": {f"breaker.{BREAKER}.limit": "1b"}})
                timed(es, exact_index, exact[: args.warmup])
                columns = timed(es, exact_index, exact)
                es.cluster.put_settings(body={"transient": {**restore, indices.PIVOT_GROUPS_SETTING: NEVER}})
                started = time.perf_counter()
                es.search(index=exact_index, body=exact[0])
                load_ms = (time.perf_counter() - started) * 1000
                timed(es, exact_index, exact[: args.warmup])
                cached = timed(es, exact_index, exact)
                grouped, built_text = None, f"{dataset.n:,} codes: too few to be grouped"
                if dataset.n >= (args.partition_min_codes or indices.pivot_groups_from(es)):
                    drop_arrays(es, exact_index)
                    es.cluster.put_settings(
                        body={"transient": {indices.PIVOT_GROUPS_SETTING: args.partition_min_codes}}
                    )
                    es.search(index=exact_index, body=exact[0])
                    built = indices.wait_for_pivot_groups(es, exact_index, seconds=300)
                    built_text = "not built in 300 s" if built is None else f"built in {built:.1f} s"
                    timed(es, exact_index, exact[: args.warmup])
                    grouped = timed(es, exact_index, exact)
                timed(es, hnsw_index, hnsw[: args.warmup])
                graph = timed(es, hnsw_index, hnsw)
                ratios.setdefault(f"k={k} columns / cache", []).append(columns[0] / cached[0])
                partition_text = "partition – ("
                if grouped is not None:
                    ratios.setdefault(f"k={k} cache / partition", []).append(cached[0] / grouped[0])
                    ratios.setdefault(f"k={k} HNSW nc=100 / partition", []).append(graph[0] / grouped[0])
                    partition_text = f"partition {grouped[0]:.2f} ms ({grouped[1]:.0f}"
                print(
                    f"round {round_} k={k}: columns {columns[0]:.2f} ms ({columns[1]:.0f}), cache {cached[0]:.2f} ms "
                    f"({cached[1]:.0f}; first search {load_ms:.0f} ms), {partition_text}; {built_text}), "
                    f"HNSW nc=100 {graph[0]:.2f} ms ({graph[1]:.0f})",
                    flush=True,
                )
    finally:
        es.cluster.put_settings(body={"transient": {**restore, indices.PIVOT_GROUPS_SETTING: None}})
    for name, values in ratios.items():
        print(f"{name}: min {min(values):.2f}x, median {statistics.median(values):.2f}x")


if __name__ == "__main__":
    main()
