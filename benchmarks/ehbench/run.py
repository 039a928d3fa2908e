"""Runs the benchmark: index N codes, query every system, write the table, the JSON and the plots.

python -m ehbench --es-url http://127.0.0.1:9200 --n 1000000      # 1M clustered codes
python -m ehbench --n 1000000 --uniform      # uniformly random codes: hashing cannot prune
python -m ehbench --es-url http://127.0.0.1:9201 --n 300000 --shards 3   # the 3-node cluster
python -m ehbench --smoke         # 20k codes, 40 queries: checks the machinery, not speed
python -m ehbench --skip elastichash_v2    # no layout-v2 index: no eh_exact_v2, no Painless systems
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import elastichash
import faiss
from elastichash import codes, engines, testing
from elastichash.engines import Client

from . import data, indices, measure, report, systems

RESULTS = Path(__file__).resolve().parent.parent / "results"
WINDOW = 10_000  # index.max_result_window: the most documents the max_distance form returns


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="ehbench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--es-url", default=os.environ.get("ES_URL", "http://127.0.0.1:9200"))
    parser.add_argument("--n", type=int, default=1_000_000, help="codes in the index (default 1M; try 3M, 10M)")
    parser.add_argument("--centres", type=int, default=None, help="clusters (default n/200: 5,000 at 1M)")
    parser.add_argument("--flip", type=float, default=0.04, help="per-bit noise around a centre (default 0.04)")
    parser.add_argument("--uniform", action="store_true", help="uniformly random codes: the worst case for hashing")
    parser.add_argument(
        "--realistic",
        action="store_true",
        help="codes of synthetic images like real ones (python -m ehbench.realistic --report: how like)",
    )
    parser.add_argument("--shards", type=int, default=1, help="primary shards of every index (default 1)")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument(
        "--brute-queries", type=int, default=None, help="queries for the brute-force systems (default all)"
    )
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--k", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--num-candidates", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--faiss-threads", type=int, default=1, help="OpenMP threads of Faiss (default 1, as a shard)")
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        help="systems to leave out (names or patterns: 'dense_*'); an index kind (elastichash_v2, hnsw, flat)\n"
        "leaves out every system on it, and the index is not created",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep benchmark indices that hold the same codes in the same layout"
    )
    parser.add_argument(
        "--ingest-only", action="store_true", help="create and load the indices, measure nothing (then --reuse)"
    )
    parser.add_argument(
        "--code-cache-limit",
        default=None,
        help="the elastichash_codes breaker's limit for the run, e.g. 30%% (10M codes with their pivot\n"
        "groups need 700 MB; the default limit is 10%% of the heap)",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny run that only checks the machinery")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.smoke:
        args.n, args.queries, args.warmup, args.k, args.num_candidates = 20_000, 40, 5, [10, 100], [100]
    return args


def result_name(args: argparse.Namespace, nodes: int, product: str) -> str:
    if args.smoke:
        return "smoke"
    # Elasticsearch's runs keep their names; another engine's carry it (bench-opensearch-1000000).
    parts = ["bench", *([product] if product != "elasticsearch" else [])]
    parts += [*(["uniform"] if args.uniform else []), *(["realistic"] if args.realistic else [])]
    parts += [f"{nodes}nodes"] if nodes > 1 else []
    return "-".join([*parts, str(args.n), *([f"{args.shards}shards"] if args.shards > 1 else [])])


def line_up(
    args: argparse.Namespace,
    dataset: data.Dataset,
    truth: measure.Truth,
    painless: bool,
    neighbours: str,
    vectors: bool,
) -> list[systems.System]:
    def wanted(name: str, kind: str | None = None) -> bool:
        return not any(fnmatch.fnmatchcase(name, pattern) or kind == pattern for pattern in args.skip)

    row_of = {code: i for i, code in enumerate(codes.to_hex(codes.unpack_bits(dataset.queries)))}

    def nearest(code: str, k: int) -> list[str]:
        return [str(row) for row in truth.rows[row_of[code], :k]]

    chosen = [
        s
        for s in [
            # The floors after the others: run first, they paid the JVM's warm-up (9.9 ms at k=10).
            *systems.elasticsearch_systems(args.num_candidates, painless, neighbours, WINDOW, vectors),
            *systems.floor_systems(nearest),
        ]
        if wanted(s.name, s.index_kind)
    ]
    faiss.omp_set_num_threads(args.faiss_threads)
    if wanted("faiss_flat"):
        chosen.append(systems.faiss_flat(dataset.database))
    if wanted("faiss_multihash"):
        chosen.append(systems.faiss_multihash(dataset.database))
    return chosen


def prepare_indices(
    es: Client, args: argparse.Namespace, dataset: data.Dataset, kinds: set[str], tag: str
) -> dict[str, Any]:
    """Creates and loads each index the systems need (an index of layout v2 only where a system
    on it is chosen); returns what ingest cost. With --reuse, an index is kept when it holds the
    same codes in its kind's field types (`indices.holds`)."""
    ingest: dict[str, Any] = {}
    for kind in indices.KINDS:
        if kind not in kinds:
            continue
        index = indices.IndexNames(f"{tag}-{args.shards}s").of(kind)
        if args.reuse and indices.holds(es, index, kind, dataset.database):
            print(f"  reusing {index}", flush=True)
            ingest[kind] = {
                "layout": indices.LAYOUTS[kind],
                "reused": True,
                **indices.earlier_ingest(es, index),
                **indices.storage(es, index),
            }
            continue
        indices.create(es, index, kind, args.shards)
        ingest[kind] = {"layout": indices.LAYOUTS[kind], **indices.load(es, index, kind, dataset.database)}
        entry = ingest[kind]
        print(
            f"  {kind}: {entry['docs_per_s']:,.0f} docs/s, force-merge {entry['merge_s']:.1f} s, "
            f"{entry['bytes'] / 2**20:,.1f} MiB on disk",
            flush=True,
        )
    return ingest


def settle(es: Client, quiet_percent: int = 10, quiet_s: int = 5, limit_s: int = 180) -> None:
    """Waits until every node's process has used under `quiet_percent` CPU for `quiet_s` seconds
    in a row (at most `limit_s`): after a large ingest the node keeps merging and collecting
    garbage for a while, and the first system measured would pay for it (seen: 6.1 ms instead
    of 2.8 ms at k=10)."""
    deadline, quiet = time.monotonic() + limit_s, 0
    while quiet < quiet_s and time.monotonic() < deadline:
        nodes = es.nodes.stats(metric="process")["nodes"].values()
        busy = max(node["process"]["cpu"]["percent"] for node in nodes)
        quiet = quiet + 1 if busy < quiet_percent else 0
        time.sleep(1)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    centres = args.centres or data.default_centres(args.n)
    es = elastichash.connect(args.es_url, request_timeout=600)
    engine = engines.product_name(es)
    node_info = es.nodes.info(metric="plugins")["nodes"]  # (GET / is not served by the test zip)
    nodes, es_version = len(node_info), sorted({node["version"] for node in node_info.values()})
    # dense_vector is Elasticsearch's; OpenSearch's vectors live in its k-NN plugin, which its
    # test distribution lacks.
    vectors = engines.product(es) == "elasticsearch"
    if not vectors:
        print(f"{engine} has no dense_vector field: systems (e) are not measured", flush=True)
    if args.uniform:
        dataset = data.uniform(args.n, args.queries)
    elif args.realistic:
        dataset = data.realistic(args.n, args.queries)
    else:
        dataset = data.clustered(args.n, args.queries, centres, args.flip)
    print(f"data: {dataset.describe()}; {nodes} node(s), {args.shards} shard(s)", flush=True)
    truth = measure.Truth.compute(dataset, max(args.k), systems.MAX_DISTANCE)

    painless = systems.painless_available(es)
    if not painless:
        print("Painless is not available on this node: systems (b) and (d) are not measured", flush=True)
    tag = f"{dataset.kind}-{dataset.n}"
    neighbours = indices.IndexNames(tag).neighbours + ("-smoke" if args.smoke else "")
    chosen = line_up(args, dataset, truth, painless, neighbours, vectors)
    kinds = {s.index_kind for s in chosen if s.index_kind}
    ingest = prepare_indices(es, args, dataset, kinds, tag)
    reference = None
    if args.shards > 1 and any(s.name == "eh_exact" for s in chosen):
        reference = indices.IndexNames(f"{tag}-1s").of(indices.ELASTICHASH)
        if not (args.reuse and indices.holds(es, reference, indices.ELASTICHASH, dataset.database)):
            indices.create(es, reference, indices.ELASTICHASH, 1)
            indices.load(es, reference, indices.ELASTICHASH, dataset.database)
    if any(s.name.startswith("paper_") for s in chosen):
        only = dataset.queries if args.smoke else None  # the smoke run's lists: its queries' only
        indices.create_neighbours(es, neighbours, only=only)
    if args.ingest_only:
        print(f"indices ready: {', '.join(sorted(kinds))}" + (f", {neighbours}" if painless else ""), flush=True)
        return 0
    # Nothing may move under the measurements: a cluster rebalances shards after new indices. The
    # benchmark's own indices must be green; another index of the node (a replica on a single node
    # keeps it yellow) is none of its business.
    testing.wait_for_health(
        es,
        600,
        index="bench-*",
        wait_for_status="green",
        wait_for_no_relocating_shards=True,
        wait_for_no_initializing_shards=True,
    )
    if ingest:
        settle(es)
    for system in chosen:
        if system.index_kind:
            system.es, system.index = es, indices.IndexNames(f"{tag}-{args.shards}s").of(system.index_kind)

    if painless:
        systems.store_paper_script(es)
    if args.code_cache_limit:
        es.cluster.put_settings(body={"transient": {"breaker.elastichash_codes.limit": args.code_cache_limit}})
    grouped_after = None
    if indices.ELASTICHASH in kinds and dataset.n // args.shards >= indices.pivot_groups_from(es):
        # The node groups a large segment's codes around pivots in the background after its first
        # search: the exact query is timed once that is done (the first shard's says).
        grouped_after = indices.wait_for_pivot_groups(
            es, indices.IndexNames(f"{tag}-{args.shards}s").of(indices.ELASTICHASH)
        )
        state = "not built" if grouped_after is None else f"built {grouped_after:.1f} s after the first search"
        print(f"pivot groups: {state}", flush=True)
    # The machine is shared: its load beside the figures says how much they may have been disturbed.
    load_before = os.getloadavg()[0]
    measures: list[measure.Measure] = []
    for system in chosen:
        brute = system.name in systems.BRUTE_FORCE and args.brute_queries
        n_queries = min(args.brute_queries, args.queries) if brute else args.queries
        # A scan of every document warms the JIT in a few queries; the full warm-up would cost
        # the slow systems more than their measured queries.
        warmup = min(args.warmup, max(5, n_queries // 10)) if brute else args.warmup
        found = measure.run(system, dataset, truth, args.k, warmup, n_queries)
        if system.first_stage is not None:
            counts = measure.candidates(es, system.index, dataset, system.first_stage)
            for m in found:
                m.candidates = counts
        measures += found

    load_after = os.getloadavg()[0]
    extra: dict[str, Any] = {"pivot_groups_s": grouped_after}
    exact = next((s for s in chosen if s.name == "eh_exact"), None)
    if exact is not None:
        extra["batch_exact"] = measure.batch_exact(es, exact.index, dataset, truth, args.k, reference)
        extra["profile"] = measure.profile_descriptions(exact, dataset, args.k)

    heap = es.nodes.stats(metric="jvm")["nodes"]
    result = {
        "name": result_name(args, nodes, engines.product(es)),
        "data": dataset.kind,
        "n": dataset.n,
        "centres": dataset.centres,
        "flip": dataset.flip,
        "queries": args.queries,
        "brute_queries": args.brute_queries,
        "brute_warmup": min(args.warmup, max(5, args.brute_queries // 10)) if args.brute_queries else None,
        "faiss_threads": args.faiss_threads,
        "shards": args.shards,
        "nodes": nodes,
        "engine": engine,
        "es_version": ", ".join(es_version),
        "vectors": vectors,
        "painless": painless,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
        "load": f"{load_before:.2f} before the measurements, {load_after:.2f} after",
        "heap_used_mb": [v["jvm"]["mem"]["heap_used_in_bytes"] / 2**20 for v in heap.values()],
        "ingest": ingest,
        "results": [m.summary() for m in measures],
        **extra,
    }
    if args.smoke and not args.reuse:
        for kind in kinds:
            es.indices.delete(index=indices.IndexNames(f"{tag}-{args.shards}s").of(kind), ignore_unavailable=True)
        es.indices.delete(index=neighbours, ignore_unavailable=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{result['name']}.json").write_text(json.dumps(result, indent=2) + "\n")
    table = report.markdown(result)
    (args.out / f"{result['name']}.md").write_text(table)
    print("\n" + table)
    print("\n".join(report.paper_ratio_lines(result)), flush=True)
    if not args.smoke:
        report.plots(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
