"""mAP tables on labelled domains the model never saw, each image querying all the others.

Codes come from the exported ONNX file through the client (`elastichash.model.HashModel`),
so what is measured is what the library will index. Baselines use the same backbone's float
features at the same resolution (cosine similarity) and 256-bit random-hyperplane LSH of
those features, raw and centred on the evaluated collection's own mean (LSH's best setting).
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
FLOAT = "backbone float features, cosine"
LSH = "LSH 256 bit (random hyperplanes)"
LSH_CENTRED = "LSH 256 bit, centred features"
SHORT = "short (64 bit)"
LONG = "long (256 bit) = exact, the default mode"
TWO_STAGE = "paper two-stage (sub-code radius 2)"
ROW_ORDER = (FLOAT, LSH, LSH_CENTRED, SHORT, LONG, TWO_STAGE)
FITTED = "fitted to the collection (`fit`), long"
SELF_FITTED = "PCA + ITQ fitted on the evaluated images themselves, long"
FIT_SPLITS = 2  # random halves; the table shows the mean over them


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

    # `exact`, the client's default mode, returns the true k nearest on the long code: the same
    # ranking as brute-force `long` (ties by index here, by document order in the index).
    searches = {
        SHORT.replace("64", str(short_bits)): lambda r: metrics.hamming_search(
            query_bits[r, :short_bits], db_bits[:, :short_bits], k_max, ids(r)
        ),
        LONG.replace("256", str(db_bits.shape[1])): lambda r: metrics.hamming_search(
            query_bits[r], db_bits, k_max, ids(r)
        ),
        TWO_STAGE: lambda r: metrics.two_stage_search(query_bits[r], db_bits, k_max, query_ids=ids(r)),
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
        FLOAT: metrics.mean_average_precision(
            lambda r: metrics.cosine_search(query_features[r], db_features, k_max, ids(r)),
            query_labels,
            db_labels,
            ks,
        )
    }
    mean = db_features.mean(axis=0)
    for name, shift in ((LSH.replace("256", str(bits)), 0.0), (LSH_CENTRED.replace("256", str(bits)), mean)):
        q = metrics.random_hyperplane_bits(query_features - shift, bits)
        d = metrics.random_hyperplane_bits(db_features - shift, bits)
        rows[name] = metrics.mean_average_precision(
            lambda r, q=q, d=d: metrics.hamming_search(q[r], d, k_max, ids(r)), query_labels, db_labels, ks
        )
    return rows


def summary_table(domains: Sequence[tuple[str, dict[str, float]]]) -> str:
    """mAP@10 per domain: the model's long code against both baselines, with the targets' margins,
    and (when measured) PCA + ITQ fitted on the very collection it ranks: what a linear 256-bit
    code of these features can reach there, an upper bound no model trained elsewhere has."""
    self_fitted = all(SELF_FITTED in rows for _, rows in domains)
    lines = [
        "### mAP@10 on the unseen domains",
        "",
        "| domain | float cosine | best LSH-256 | long = exact (default) | short | paper two-stage "
        "| long − best LSH | long − float |" + (" PCA + ITQ fitted on the collection itself |" if self_fitted else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|" if self_fitted else ""),
    ]
    for name, rows in domains:
        lsh = max(rows[LSH], rows[LSH_CENTRED])
        cells = [rows[FLOAT], lsh, rows[LONG], rows[SHORT], rows[TWO_STAGE]]
        margins = [rows[LONG] - lsh, rows[LONG] - rows[FLOAT]]
        lines.append(
            f"| {name} | "
            + " | ".join(f"{100 * v:.2f}" for v in cells)
            + " | "
            + " | ".join(f"{100 * v:+.2f}" for v in margins)
            + " |"
            + (f" {100 * rows[SELF_FITTED]:.2f} |" if self_fitted else "")
        )
    return "\n".join(lines) + "\n"


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


def fitted_rows(
    features: np.ndarray,
    default_bits: np.ndarray,
    labels: np.ndarray,
    fit: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]],
    splits: int = FIT_SPLITS,
) -> dict[str, float]:
    """mAP@10 on one half of a collection, the head fitted (labels unused) on the other half.

    `fit(features)` returns the fitted model's code function (features → bits). Every row is
    measured on the same evaluated half, each image querying the rest of it; mean over `splits`.
    """
    sums: dict[str, float] = {}
    for split in range(splits):
        order = np.random.default_rng(split).permutation(len(features))
        fit_on, evaluated = order[: len(order) // 2], np.sort(order[len(order) // 2 :])
        f, y = features[evaluated], labels[evaluated]
        rows = {name: values[10] for name, values in feature_rows(f, f, y, y, (10,), True).items()}
        for name, bits in ((LONG, default_bits[evaluated]), (FITTED, fit(features[fit_on])(f))):
            rows[name] = leave_one_out_map10(bits, y)
        for name, value in rows.items():
            sums[name] = sums.get(name, 0.0) + value / splits
    return sums


def fitted_table(domains: Sequence[tuple[str, int, dict[str, float]]]) -> str:
    lines = [
        f"### mAP@10 on half of each collection, `fit` on the other half (unlabelled; mean of {FIT_SPLITS} splits)",
        "",
        "| domain | images evaluated | float cosine | LSH-256 | LSH-256 centred | default model, long "
        "| **fitted, long** | fitted − best LSH | fitted − float |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, n, rows in domains:
        lsh = max(rows[LSH], rows[LSH_CENTRED])
        cells = [rows[FLOAT], rows[LSH], rows[LSH_CENTRED], rows[LONG], rows[FITTED]]
        lines.append(
            f"| {name} | {n} | "
            + " | ".join(f"{100 * v:.2f}" for v in cells)
            + f" | {100 * (rows[FITTED] - lsh):+.2f} | {100 * (rows[FITTED] - rows[FLOAT]):+.2f} |"
        )
    return "\n".join(lines) + "\n"


def self_fitted_map(
    features: np.ndarray, labels: np.ndarray, fit: Callable[[np.ndarray], Callable[[np.ndarray], np.ndarray]]
) -> float:
    """mAP@10 (leave-one-out) of codes fitted on the very images they rank (transductive)."""
    return leave_one_out_map10(fit(features)(features), labels)


def leave_one_out_map10(bits: np.ndarray, labels: np.ndarray) -> float:
    """mAP@10 by long-code Hamming ranking, each image querying all the others."""
    return metrics.mean_average_precision(
        lambda r: metrics.hamming_search(bits[r], bits, 10, np.arange(r.start, r.stop)), labels, labels, (10,)
    )[10]
