"""mAP tables: Fashion-MNIST (test queries vs train database) and a domain the model never saw.

Codes come from the exported ONNX file through the client (`elastichash.model.HashModel`),
so what is measured is what the library will index. Baselines use the backbone's float
features (cosine similarity) and 256-bit random-hyperplane LSH of those features.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from elastichash import codes

from . import metrics
from .data import LabelledImages

CROSS_DOMAIN_KS = (10, 25, 50, 100)


@dataclass
class Table:
    title: str
    ks: Sequence[int]
    rows: dict[str, dict[int, float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        head = "| method | " + " | ".join(f"mAP@{k}" for k in self.ks) + " |"
        rule = "|---|" + "---|" * len(self.ks)
        lines = [f"### {self.title}", "", head, rule]
        for name, values in self.rows.items():
            lines.append(f"| {name} | " + " | ".join(f"{100 * values[k]:.2f}" for k in self.ks) + " |")
        return "\n".join(lines + [""] + [f"- {note}" for note in self.notes]) + "\n"


def code_rows(
    query_bits: np.ndarray,
    db_bits: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    ks: Sequence[int],
    leave_one_out: bool = False,
    short_bits: int = 64,
    log: Callable[[str], None] | None = print,
) -> dict[str, dict[int, float]]:
    """mAP@k of short (64-bit), long (256-bit) and two-stage retrieval with these codes."""
    k_max = max(ks)

    def ids(rows: slice) -> np.ndarray | None:
        return np.arange(rows.start, rows.stop) if leave_one_out else None

    searches = {
        f"short ({short_bits} bit)": lambda r: metrics.hamming_search(
            query_bits[r, :short_bits], db_bits[:, :short_bits], k_max, ids(r)
        ),
        f"long ({db_bits.shape[1]} bit)": lambda r: metrics.hamming_search(query_bits[r], db_bits, k_max, ids(r)),
        "two-stage": lambda r: metrics.two_stage_search(query_bits[r], db_bits, k_max, query_ids=ids(r)),
    }
    rows = {}
    for name, search in searches.items():
        started = time.perf_counter()
        rows[name] = metrics.mean_average_precision(search, query_labels, db_labels, ks)
        if log:
            log(f"  {name}: mAP@{ks[0]}={rows[name][ks[0]]:.4f} ... ({time.perf_counter() - started:.1f} s)")
    return rows


def feature_rows(
    query_features: np.ndarray,
    db_features: np.ndarray,
    query_labels: np.ndarray,
    db_labels: np.ndarray,
    ks: Sequence[int],
    leave_one_out: bool = False,
    bits: int = 256,
) -> dict[str, dict[int, float]]:
    """Baselines on backbone features: float cosine, and random-hyperplane LSH (raw and centred)."""
    k_max = max(ks)

    def ids(rows: slice) -> np.ndarray | None:
        return np.arange(rows.start, rows.stop) if leave_one_out else None

    rows = {
        "backbone float features, cosine": metrics.mean_average_precision(
            lambda r: metrics.cosine_search(query_features[r], db_features, k_max, ids(r)),
            query_labels,
            db_labels,
            ks,
        )
    }
    mean = db_features.mean(axis=0)
    for name, shift in ((f"LSH {bits} bit (random hyperplanes)", 0.0), (f"LSH {bits} bit, centred features", mean)):
        q = metrics.random_hyperplane_bits(query_features - shift, bits)
        d = metrics.random_hyperplane_bits(db_features - shift, bits)
        rows[name] = metrics.mean_average_precision(
            lambda r, q=q, d=d: metrics.hamming_search(q[r], d, k_max, ids(r)), query_labels, db_labels, ks
        )
    return rows


def two_stage_candidates(query_bits: np.ndarray, db_bits: np.ndarray, sample: int = 500) -> float:
    """Mean number of stage-1 candidates (some sub-code within distance 2) over a query sample."""
    q = query_bits[:sample]
    near = np.zeros((len(q), len(db_bits)), dtype=bool)
    for start in range(0, codes.SHORT_BITS, codes.SUBCODE_BITS):
        part = slice(start, start + codes.SUBCODE_BITS)
        near |= codes.hamming_table(q[:, part], db_bits[:, part]) <= metrics.SUBCODE_RADIUS
    return float(near.sum(axis=1).mean())


def encode(model_path: str, data: LabelledImages, batch_size: int = 64) -> np.ndarray:
    """Codes of a data set as the client computes them."""
    from elastichash.model import HashModel

    return HashModel(model_path).encode(data.images(), batch_size=batch_size)
