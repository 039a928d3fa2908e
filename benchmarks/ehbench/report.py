"""Markdown tables and PNG plots from benchmark results (the JSON files in results/).

python -m ehbench.report [results folder]   # writes every table and plot again from the JSON
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

Result = dict[str, Any]
PAPER = "paper_painless"  # (b): the paper's two-stage query, Painless scoring (OpenSearch only)
FLOORS = ("floor_match_all", "floor_ids")  # the same response with no search work (systems.floor_systems)
BASELINES = {"long_native": "long_native", "dense_vector_hnsw_100": "HNSW num_candidates=100", PAPER: "(b)"}
# The systems of the latency-vs-N plot.
MAIN_SYSTEMS = (
    "eh_exact",
    "eh_paper",
    "two_stage_native",
    "long_native",
    "dense_vector_hnsw_100",
    "dense_vector_flat",
    "faiss_flat",
)
MiB = 2**20


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def _times(ratio: float) -> str:
    """A speed ratio: one decimal, two below 1 (a 0.0 would hide 20× slower against 200×)."""
    return f"{ratio:.1f}" if ratio >= 0.95 else f"{ratio:.2f}"


def _row(result: Result, system: str, k: int | None) -> Result | None:
    return next((r for r in result["results"] if r["system"] == system and r["k"] == k), None)


def _header(result: Result) -> list[str]:
    if result["data"] == "uniform":
        what = f"N = {result['n']:,} uniformly random codes"
    elif result["data"] == "realistic":
        what = (
            f"N = {result['n']:,} codes of synthetic images like real ones (a generator fitted on real "
            "images' features, the default model's head: `make bench-realistic`)"
        )
    else:
        what = f"N = {result['n']:,} codes ({result['centres']:,} clusters, per-bit noise {result['flip']})"
    layout = f"{result['nodes']} node(s), {result['shards']} shard(s) per index"
    lines = [
        f"{what}, {result['queries']} queries, {layout}, {result.get('engine', 'Elasticsearch')} "
        f"{result['es_version']}, "
        f"{result['machine']}, {result['date']}",
        "",
    ]
    if result.get("faiss_threads"):
        lines += [f"Faiss ran in-process on {result['faiss_threads']} thread(s) (a shard searches on one).", ""]
    elif any(r["system"].startswith("faiss") for r in result["results"]):
        lines += ["Faiss ran in-process on all its OpenMP threads, competing with the node for the cores.", ""]
    if result.get("brute_queries"):
        warm = f" after {result['brute_warmup']} warm-up queries" if result.get("brute_warmup") else ""
        lines += [f"Brute-force systems ran the first {result['brute_queries']} queries only{warm}.", ""]
    if result.get("pivot_groups_s") is not None:
        lines += [
            "The exact queries were timed once the node had grouped the ElasticHash index's codes around "
            "pivots (it does so in the background after a segment's first search; ready "
            f"{result['pivot_groups_s']:.1f} s after this run's first search).",
            "",
        ]
    if result.get("load"):
        lines += [f"1-minute load average of the machine: {result['load']}.", ""]
    return lines


# What the kinds of runs before the hamming_code field kept their codes in (no `layout` recorded).
EARLIER_LAYOUTS = {
    "elastichash": "layout v2: keyword `hash_mih`, long `hash_r0..3` (run before the hamming_code field)",
    "hnsw": "dense_vector bit, HNSW",
    "flat": "dense_vector bit, flat",
}


def _layout(kind: str, entry: Result) -> str:
    return entry.get("layout") or EARLIER_LAYOUTS.get(kind, "–")


def _is_code_field(name: str) -> bool:
    """Lucene fields that hold a code: the hamming_code field `hash` and its word columns
    `hash#0..3` (v3), `hash_mih` and `hash_r0..3` (v2), `hash_f0..3` (v1), a bit vector `vec`."""
    return name in ("hash", "vec") or name.startswith(("hash#", "hash_"))


def _code_bytes(entry: Result) -> int | None:
    sizes = [f.get("total_in_bytes", 0) for name, f in entry.get("fields", {}).items() if _is_code_field(name)]
    return sum(sizes) if sizes else None


def _size(n_bytes: float) -> str:
    return f"{n_bytes / MiB:,.1f} MiB" if n_bytes >= MiB / 10 else f"{n_bytes / 1024:,.1f} KiB"


def _ingest(result: Result) -> list[str]:
    ingest = result["ingest"]
    if not ingest:
        return []
    lines = [
        "### Ingest",
        "",
        "| index | codes in | docs/s | ingest s | force-merge s | on disk MiB | on disk MiB per 1M codes "
        "| code fields MiB | vectors (knn_vectors) MiB | HNSW graph MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    knn = {
        kind: entry["fields"].get("vec", {}).get("knn_vectors_in_bytes")
        for kind, entry in ingest.items()
        if "fields" in entry
    }
    millions = result["n"] / 1e6
    for kind, entry in ingest.items():
        graph = None
        if kind == "hnsw" and knn.get("hnsw") and knn.get("flat"):
            graph = (knn["hnsw"] - knn["flat"]) / MiB
        vectors = knn.get(kind)
        code = _code_bytes(entry)
        speed = _fmt(entry.get("docs_per_s"), 0)
        if entry.get("reused"):  # reused: the figures of the run that loaded it, if it recorded them
            speed = f"{speed} (earlier run)" if entry.get("docs_per_s") else "reused"
        lines.append(
            f"| {kind} | {_layout(kind, entry)} | {speed} | {_fmt(entry.get('ingest_s'), 1)} | "
            f"{_fmt(entry.get('merge_s'), 1)} | {_fmt(entry['bytes'] / MiB, 1)} | "
            f"{_fmt(entry['bytes'] / MiB / millions, 1)} | {_fmt(code / MiB if code else None, 1)} | "
            f"{_fmt(vectors / MiB if vectors else None, 1)} | {_fmt(graph, 1)} |"
        )
    lines += ["", *_ingest_notes(result), ""]
    return lines


def _ingest_notes(result: Result) -> list[str]:
    ingest = result["ingest"]
    sized = any(entry.get("fields") for entry in ingest.values())
    notes = [
        "docs/s: the client's bulk requests (1,000 documents each) until the last refresh; then a "
        "force-merge to one segment per shard. on disk: the primaries' store (every field, `_source` and "
        "`_id` included)."
        + (
            " Sizes from `_disk_usage?run_expensive_tasks=true`; code fields: the Lucene fields that hold "
            "the codes (v3: `hash`, its sub-code terms, and `hash#0..3`, its word columns; v2: `hash_mih` "
            "and `hash_r0..3`; dense_vector: `vec`)."
            if sized
            else ""
        ),
    ]
    hnsw = ingest.get("hnsw", {})
    if hnsw.get("fields") and ingest.get("flat", {}).get("fields"):
        raw = result["n"] * 32 / MiB
        vex = hnsw.get("files", {}).get("vex")
        notes.append(
            f"HNSW graph = the HNSW field's `knn_vectors` bytes minus the flat field's (both hold the "
            f"same {raw:,.1f} MiB of raw vectors): the off-heap memory (page cache) the graph needs on top "
            "of the vectors to search without reading the disk"
            + (f"; Lucene's graph file (.vex) is {vex / MiB:,.1f} MiB." if vex else ".")
        )
    for kind, entry in ingest.items():
        fields = entry.get("fields")
        if not fields or not kind.startswith("elastichash"):
            continue
        parts = []
        for name, sizes in fields.items():  # every field the API listed, in its order
            if sizes.get("total_in_bytes"):
                terms = sizes.get("inverted_index_in_bytes")
                parts.append(
                    f"`{name}` {_size(sizes['total_in_bytes'])}" + (f" (terms {_size(terms)})" if terms else "")
                )
        code = _code_bytes(entry)
        per_code = f"; code fields {_size(code)}, {code / result['n']:,.1f} bytes per code" if code else ""
        notes.append(
            f"{kind}, {_layout(kind, entry)}; the fields `_disk_usage` listed: " + ", ".join(parts) + per_code + "."
        )
    return [f"- {note}" for note in notes]


def _k_table(result: Result, k: int) -> list[str]:
    rows = [r for r in result["results"] if r["k"] == k]
    baselines = {b: _row(result, b, k) for b in BASELINES}
    columns = [b for b, r in baselines.items() if r and r["p50_ms"]]
    header = "| system | p50 ms | p95 ms | p99 ms | ES took p50 | recall@k | hits | candidates |"
    header += "".join(f" × vs {BASELINES[b]} |" for b in columns)
    lines = [f"### k = {k}", "", header, "|" + "---|" * (8 + len(columns))]
    for r in rows:
        ratios = "".join(f" {_times(baselines[b]['p50_ms'] / r['p50_ms'])} |" for b in columns)  # type: ignore[index]
        lines.append(
            f"| {r['label']} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {_fmt(r['p99_ms'])} | "
            f"{_fmt(r['took_p50_ms'], 0)} | {_fmt(r['recall'], 4)} | {_fmt(r['hits_mean'], 0)} | "
            f"{_fmt(r['candidates_mean'], 0)} |{ratios}"
        )
    return [*lines, ""]


def _within_table(result: Result) -> list[str]:
    rows = [r for r in result["results"] if r["k"] is None]
    if not rows:
        return []
    lines = [
        "### Every document within a distance (`max_distance`)",
        "",
        "| system | p50 ms | p95 ms | ES took p50 | hits returned (mean) | true set (mean) | recall | outside |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {_fmt(r['took_p50_ms'], 0)} | "
            f"{_fmt(r['hits_mean'], 1)} | {_fmt(r['true_hits_mean'], 1)} | {_fmt(r['recall'], 4)} | {r['outside']} |"
        )
    lines += [
        "",
        "recall: the share of all documents truly within the distance (Faiss range search) that came back; "
        "outside: hits returned beyond the distance (must be 0).",
        "",
    ]
    return lines


def _batch(result: Result) -> list[str]:
    batch = result.get("batch_exact")
    if not batch:
        return []
    lines = ["### The client's batch search (`ElasticHash.search_codes`: `_msearch`, 100 searches per request)", ""]
    for k, entry in batch.items():
        checks = f"distances equal to Faiss IndexBinaryFlat's: {'yes' if entry['equal_to_faiss'] else 'NO'}"
        if "equal_to_one_shard" in entry:
            checks += (
                f"; equal to the same search on a one-shard index: {'yes' if entry['equal_to_one_shard'] else 'NO'}"
            )
        lines.append(
            f"- k = {k}: {entry['queries_per_s']:,.0f} queries/s over all {result['queries']} queries; {checks}"
        )
    return [*lines, ""]


def _profile(result: Result) -> list[str]:
    profile = result.get("profile")
    if not profile:
        return []
    lines = ["### What the exact query did for the first query (`profile` description, per shard)", ""]
    for k, descriptions in profile.items():
        for d in descriptions:
            lines.append(f"- k = {k}: `{d}`")
    return [*lines, ""]


def paper_ratios(result: Result) -> list[str]:
    """Every system's p50 as a multiple of (b)'s, per k: the paper's own setup as the yardstick."""
    ks = sorted({r["k"] for r in result["results"] if r["system"] == PAPER and r["k"] is not None})
    if not ks:
        return []
    lines = [
        "### Against the paper's setup (b): terms lookup + 4 Painless bitCount functions",
        "",
        "| system | " + " | ".join(f"× vs (b) k={k}" for k in ks) + " | recall " + " / ".join(map(str, ks)) + " |",
        "|---|" + "---|" * (len(ks) + 1),
    ]
    for system in dict.fromkeys(r["system"] for r in result["results"] if r["k"] is not None):
        rows = [_row(result, system, k) for k in ks]
        papers = [_row(result, PAPER, k) for k in ks]
        ratios = [
            f"{_times(p['p50_ms'] / r['p50_ms'])} ({r['p50_ms']:.2f} ms; took {_fmt(r['took_p50_ms'], 0)})"
            if r and p
            else "–"
            for r, p in zip(rows, papers, strict=True)
        ]
        recalls = " / ".join(_fmt(r["recall"] if r else None, 3) for r in rows)
        label = next(r["label"] for r in rows if r)
        lines.append(f"| {label} | " + " | ".join(ratios) + f" | {recalls} |")
    lines += [
        "",
        "× vs (b): (b)'s p50 divided by the system's; above 1 is faster than the paper. In brackets: "
        "the client's p50 (the request through HTTP and the Python client) and the node's own `took` p50 "
        "(ms, whole milliseconds as the node reports them).",
        "",
    ]
    return lines


def _floor(result: Result, k: int) -> Result | None:
    """The faster floor row at k: no query answering with k hits can be faster than it."""
    rows = [r for name in FLOORS if (r := _row(result, name, k)) and r["p50_ms"]]
    return min(rows, key=lambda r: r["p50_ms"]) if rows else None


def floor_lines(result: Result) -> list[str]:
    """Per k: the floor, (b), and so the best ratio to (b) that any query could reach."""
    ks = sorted({r["k"] for r in result["results"] if r["system"] in FLOORS and r["k"] is not None})
    if not ks:
        return []
    lines = [
        "### The floor: the same k hits, the same response, no search work",
        "",
        "| k | floor `match_all` p50 / took | floor `ids` p50 / took | exact p50 / took | (b) p50 / took "
        "| best × vs (b) any query could reach (client; in-node) | exact × vs (b) (client; in-node) |",
        "|---|---|---|---|---|---|---|",
    ]

    def cell(row: Result | None) -> str:
        return "–" if row is None else f"{row['p50_ms']:.2f} / {_fmt(row['took_p50_ms'], 0)}"

    def ratio(paper: Result | None, row: Result | None) -> str:
        if paper is None or row is None:
            return "–"
        if not paper["took_p50_ms"]:
            took = "–"
        elif not row["took_p50_ms"]:
            took = "∞"  # the floor's took rounds to 0 ms
        else:
            took = f"{paper['took_p50_ms'] / row['took_p50_ms']:.1f}"
        return f"{_times(paper['p50_ms'] / row['p50_ms'])}; {took}"

    for k in ks:
        paper, exact = _row(result, PAPER, k), _row(result, "eh_exact", k)
        lines.append(
            f"| {k} | {cell(_row(result, 'floor_match_all', k))} | {cell(_row(result, 'floor_ids', k))} | "
            f"{cell(exact)} | {cell(paper)} | {ratio(paper, _floor(result, k))} | {ratio(paper, exact)} |"
        )
    lines += [
        "",
        "p50 in ms at the client, `took` p50 in whole ms in the node. The floor rows fetch exactly what every "
        "system fetches (`_source: false`, `stored_fields: _none_`, the `image_id` doc value, "
        "`track_total_hits: false`, the same `filter_path`); best × = (b)'s p50 over the faster floor's. "
        "`ids` still looks up k `_id` terms; `match_all` returns the first k documents (so its recall is "
        "not the point). in-node ∞: the floor's `took` p50 is 0 ms.",
        "",
    ]
    return lines


def paper_ratio_lines(result: Result) -> list[str]:
    """The ratios to (b) for stdout, one line per system and k (nothing where (b) did not run)."""
    out = []
    for k in sorted({r["k"] for r in result["results"] if r["system"] == PAPER and r["k"] is not None}):
        paper = _row(result, PAPER, k)
        assert paper is not None
        out.append(f"ratios to (b) at k={k} ((b): {paper['p50_ms']:.2f} ms, recall {paper['recall']:.4f}):")
        for r in result["results"]:
            if r["k"] == k:
                out.append(
                    f"  {r['system']:<26} {_times(paper['p50_ms'] / r['p50_ms']):>7}×  "
                    f"p50 {r['p50_ms']:8.2f} ms  took p50 {_fmt(r['took_p50_ms'], 0):>4} ms  recall {r['recall']:.4f}"
                )
    return out


def markdown(result: Result) -> str:
    """The whole table of one run."""
    lines = _header(result)
    lines += _ingest(result)
    if not result["painless"]:
        lines += ["Painless is not available on this node, so (b) and (d) were not run (see docs/benchmarks.md).", ""]
    lines += paper_ratios(result)
    lines += floor_lines(result)
    for k in sorted({r["k"] for r in result["results"] if r["k"] is not None}):
        lines += _k_table(result, k)
    lines += _within_table(result)
    lines += _batch(result)
    lines += _profile(result)
    lines += [
        f"heap used after the run: {', '.join(f'{h:,.0f} MiB' for h in result['heap_used_mb'])}.",
        "",
        "× vs X: how many times faster (p50) than system X in this run; above 1 is faster. hits: mean "
        "hits returned. candidates: documents passing the paper's first stage (radius 2), first 100 "
        "queries. HNSW num_candidates is raised to k where k is larger.",
    ]
    return "\n".join(lines) + "\n"


def _runs(folder: Path, keep: Callable[[Result], bool]) -> list[Result]:
    runs = [json.loads(p.read_text()) for p in sorted(folder.glob("bench-*.json"))]
    return sorted((r for r in runs if "data" in r and keep(r)), key=lambda r: r["n"])


def plots(folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Elasticsearch's runs only: another engine's at the same N would be a second point there.
    single = _runs(
        folder,
        lambda r: (
            r["data"] == "clustered"
            and r["nodes"] == 1
            and r["shards"] == 1
            and r.get("engine", "Elasticsearch") == "Elasticsearch"
        ),
    )
    if not single:
        return
    reference = next((r for r in single if r["n"] == 1_000_000), single[-1])
    for k in sorted({r["k"] for r in reference["results"] if r["k"] is not None}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for r in reference["results"]:
            if r["k"] == k and r["recall"] is not None:
                ax.scatter(r["recall"], r["p50_ms"], s=40)
                ax.annotate(
                    r["system"], (r["recall"], r["p50_ms"]), fontsize=7, xytext=(4, 2), textcoords="offset points"
                )
        ax.set_yscale("log")
        ax.set_xlabel(f"recall@{k} (exact 256-bit ranking)")
        ax.set_ylabel("p50 latency, ms (log)")
        ax.set_title(f"Latency vs recall, k={k}, N={reference['n']:,}")
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / f"latency-vs-recall-k{k}.png", dpi=120)
        plt.close(fig)
    ks = sorted({r["k"] for run in single for r in run["results"] if r["k"] is not None})
    fig, axes = plt.subplots(1, len(ks), figsize=(5 * len(ks), 4.5), squeeze=False)
    for ax, k in zip(axes[0], ks, strict=True):
        for system in MAIN_SYSTEMS:
            points = [(run["n"], row["p50_ms"]) for run in single if (row := _row(run, system, k))]
            if points:
                ax.plot(*zip(*points, strict=True), marker="o", label=system)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("codes in the index (N)")
        ax.set_ylabel("p50 latency, ms")
        ax.set_title(f"Latency vs N, k={k} (clustered codes)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "latency-vs-n.png", dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    folder = Path(argv[0] if argv else Path(__file__).resolve().parent.parent / "results")
    for run in _runs(folder, lambda r: True):
        (folder / f"{run['name']}.md").write_text(markdown(run))
    plots(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
