"""Throughput under concurrent clients: the exact `hamming` query against `bit` HNSW
(num_candidates=100) on the indices `make bench` left on the node, in the same run.

    python -m ehbench.load --es-url URL [--n 1000000] [--realistic | --flip F] [--clients 16]
                           [--seconds 20] [--k 10] [--rounds 3]

Each of `--clients` processes holds its own connection and sends one search after another for
`--seconds`, cycling through its share of the queries. Two kinds of queries: **near**, other
draws of the data's own generator (a picture like the collection's), and **far**, uniformly
random codes (a picture unlike anything indexed: its nearest codes are far, the hardest case for
an exact search). Each round runs both systems on both kinds, the order of the systems swapped
every round; it prints queries per second, client p50 / p99 and errors, and the ratio exact /
HNSW of queries per second per kind, then their minimum and median over the rounds.

The clients run on the node's own machine and share its cores: the figures are what this
machine serves with 16 callers, not what a node would serve to remote clients.
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
from multiprocessing.pool import Pool
from typing import Any

import elastichash
import numpy as np
from elastichash import codes

from . import data, indices, systems


def _ready(_: int) -> int:
    return multiprocessing.current_process().pid or 0


def _client(args: tuple[str, str, list[dict[str, Any]], float]) -> tuple[int, list[float], str | None]:
    """One client: searches until the deadline; (errors, latencies in ms, first error)."""
    url, index, bodies, deadline = args
    es = elastichash.connect(url, request_timeout=60)
    latencies: list[float] = []
    errors, first_error = 0, None
    i = 0
    while time.time() < deadline:
        started = time.perf_counter()
        try:
            answer = es.search(index=index, body=bodies[i % len(bodies)], filter_path=systems.FILTER_PATH)
            if answer.get("timed_out") or answer.get("_shards", {}).get("failed"):
                raise RuntimeError(f"partial answer: {answer}")
            latencies.append((time.perf_counter() - started) * 1000)
        except Exception as error:  # noqa: BLE001 (counted and reported, the run goes on)
            errors += 1
            first_error = first_error or f"{type(error).__name__}: {error}"[:300]
        i += 1
    return errors, latencies, first_error


def throughput(
    pool: Pool, clients: int, url: str, index: str, bodies: list[dict[str, Any]], seconds: float
) -> dict[str, Any]:
    """Queries per second, p50 / p99 ms and errors of `clients` concurrent clients (the pool's
    processes, one each) for `seconds`."""
    shares = [bodies[c::clients] or bodies for c in range(clients)]
    pool.map(_ready, range(clients), chunksize=1)  # every process up before the clock runs
    deadline = time.time() + seconds
    results = pool.map(_client, [(url, index, share, deadline) for share in shares], chunksize=1)
    latencies = [ms for _, values, _ in results for ms in values]
    errors = sum(e for e, _, _ in results)
    first_error = next((message for _, _, message in results if message), None)
    return {
        "qps": len(latencies) / seconds,
        "p50": float(np.percentile(latencies, 50)) if latencies else float("nan"),
        "p99": float(np.percentile(latencies, 99)) if latencies else float("nan"),
        "errors": errors,
        "first_error": first_error,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    indices.add_left_by_bench_arguments(parser)
    parser.add_argument("--queries", type=int, default=500, help="queries of each kind (default 500)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients, one process each (default 16)")
    parser.add_argument("--seconds", type=float, default=20, help="seconds per system and kind (default 20)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    es = elastichash.connect(args.es_url, request_timeout=600)
    dataset, found = indices.left_by_bench(es, args, (indices.ELASTICHASH, indices.HNSW))
    targets = {"exact": found[indices.ELASTICHASH], "HNSW nc=100": found[indices.HNSW]}
    kinds = {
        "near": codes.to_hex(codes.unpack_bits(dataset.queries)),
        "far": codes.to_hex(codes.unpack_bits(data.uniform(1, args.queries).queries)),
    }
    body_of = {"exact": systems.client_body("exact"), "HNSW nc=100": systems.knn_body(100)}
    print(
        f"{dataset.describe()}; {args.clients} concurrent clients, {args.seconds:g} s per system and kind, "
        f"k={args.k}; near: {len(kinds['near'])} queries drawn like the data, far: {len(kinds['far'])} "
        "uniformly random codes",
        flush=True,
    )
    for system, index in targets.items():  # warm: the code cache loads, the groups build, the graph is read
        for hex_code in kinds["near"][:50]:
            es.search(index=index, body=body_of[system](hex_code, args.k))
    indices.wait_for_pivot_groups(es, targets["exact"], seconds=300)
    ratios: dict[str, list[float]] = {}
    with multiprocessing.get_context("spawn").Pool(args.clients) as pool:
        for round_ in range(1, args.rounds + 1):
            _round(pool, args, round_, targets, kinds, body_of, ratios)
    for name, values in ratios.items():
        print(f"{name}: min {min(values):.2f}x, median {statistics.median(values):.2f}x")


def _round(
    pool: Pool,
    args: argparse.Namespace,
    round_: int,
    targets: dict[str, str],
    kinds: dict[str, list[str]],
    body_of: dict[str, Any],
    ratios: dict[str, list[float]],
) -> None:
    """Both systems on both kinds of query, the systems' order swapped every other round."""
    order = list(targets) if round_ % 2 else list(reversed(targets))
    for kind, hexes in kinds.items():
        measured = {}
        for system in order:
            bodies = [body_of[system](hex_code, args.k) for hex_code in hexes]
            m = measured[system] = throughput(pool, args.clients, args.es_url, targets[system], bodies, args.seconds)
            print(
                f"round {round_} {kind:4s} {system:12s} {m['qps']:7.0f} q/s  p50 {m['p50']:6.2f} ms  "
                f"p99 {m['p99']:6.2f} ms  errors {m['errors']}" + (f" ({m['first_error']})" if m["errors"] else ""),
                flush=True,
            )
        ratios.setdefault(f"{kind}: exact / HNSW q/s", []).append(
            measured["exact"]["qps"] / max(measured["HNSW nc=100"]["qps"], 1e-9)
        )


if __name__ == "__main__":
    main()
