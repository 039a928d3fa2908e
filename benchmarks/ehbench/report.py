"""Markdown tables and PNG plots from benchmark results."""

from __future__ import annotations

import json
from pathlib import Path

BASELINES = ("paper_painless", "paper_lookup_native", "long_native")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def markdown(result: dict) -> str:
    rows = result["results"]
    lines = [
        f"N = {result['n']:,} codes ({result['centres']:,} clusters, flip {result['flip']}), "
        f"{result['queries']} queries, {result['machine']}, {result['date']}",
        "",
    ]
    for key, ingest in result["ingest"].items():
        lines.append(
            f"- ingest {key}: {ingest['docs_per_s']:,.0f} docs/s, force-merge {ingest['merge_s']:.0f} s, "
            f"{ingest['bytes'] / 2**20:,.1f} MiB on disk"
        )
    lines.append(f"- heap used after the run: {', '.join(f'{h:,.0f} MiB' for h in result['heap_used_mb'])}")
    if not result["painless"]:
        lines.append("- Painless is not available on this node, so (b) and (d) were not run (see README).")
    lines.append("")
    for k in sorted({r["k"] for r in rows}):
        at_k = [r for r in rows if r["k"] == k]
        baselines = {r["system"]: r["p50_ms"] for r in at_k}
        columns = [b for b in BASELINES if b in baselines]
        header = "| system | p50 ms | p95 ms | p99 ms | ES took p50 | recall@k | candidates |"
        header += "".join(f" × vs {b} |" for b in columns)
        lines += [f"### k = {k}", "", header, "|" + "---|" * (7 + len(columns))]
        for r in at_k:
            ratios = "".join(f" {baselines[b] / r['p50_ms']:.1f} |" for b in columns)
            lines.append(
                f"| {r['label']} | {_fmt(r['p50_ms'])} | {_fmt(r['p95_ms'])} | {_fmt(r['p99_ms'])} | "
                f"{_fmt(r['took_p50_ms'], 0)} | {_fmt(r['recall'], 4)} | {_fmt(r['candidates_mean'], 0)} |{ratios}"
            )
        lines.append("")
    lines.append("× vs X: how many times faster (p50) than system X; above 1 is faster.")
    return "\n".join(lines) + "\n"


def plots(folder: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = sorted((json.loads(p.read_text()) for p in folder.glob("bench-*.json")), key=lambda r: r["n"])
    if not runs:
        return
    latest = runs[-1]
    for k in sorted({r["k"] for r in latest["results"]}):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for r in latest["results"]:
            if r["k"] == k:
                ax.scatter(r["recall"], r["p50_ms"], s=40)
                ax.annotate(
                    r["system"], (r["recall"], r["p50_ms"]), fontsize=7, xytext=(4, 2), textcoords="offset points"
                )
        ax.set_yscale("log")
        ax.set_xlabel(f"recall@{k} (exact 256-bit ranking)")
        ax.set_ylabel("p50 latency, ms (log)")
        ax.set_title(f"Latency vs recall, k={k}, N={latest['n']:,}")
        ax.grid(True, which="both", alpha=0.3)
        fig.tight_layout()
        fig.savefig(folder / f"latency-vs-recall-k{k}.png", dpi=120)
        plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    systems = sorted({r["system"] for run in runs for r in run["results"] if r["k"] == 10})
    for system in systems:
        points = [
            (run["n"], r["p50_ms"]) for run in runs for r in run["results"] if r["system"] == system and r["k"] == 10
        ]
        if points:
            ax.plot(*zip(*points, strict=True), marker="o", label=system)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("codes in the index (N)")
    ax.set_ylabel("p50 latency at k=10, ms")
    ax.set_title("Latency vs N")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(folder / "latency-vs-n.png", dpi=120)
    plt.close(fig)
