"""Bit decorrelation (the paper's step 2): choose and order the 256 bits.

From a sample of codes (≥ 10k), the bit–bit correlation matrix is a weighted graph on the
bits. Recursive Kernighan–Lin bisection (networkx) does two jobs:

1. *Pick 64 nearly independent bits.* Bisect the graph with |correlation| as edge weight,
   recursively, into 64 groups of 4 bits. KL keeps strongly correlated bits on the same side
   (it minimises the weight cut), so each group is a cluster of bits that say much the same
   thing. One bit per group — the one least correlated with the rest of the code — gives 64
   bits from 64 different clusters.
2. *Group them into four 16-bit sub-codes.* Bisect those 64 bits recursively into 4 groups of
   16 with (1 - |correlation|) as weight: minimising that cut puts *correlated* bits on
   *different* sides, so the bits inside each sub-code are nearly independent and its values
   spread over the 2^16 buckets that multi-index hashing looks up.

The permutation lists the 64 short-code bits first (sub-code by sub-code), then the other 192
bits, so the short code is the prefix of the long code ("One code, one order").
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from networkx.algorithms.community import kernighan_lin_bisection

MIN_SAMPLE = 10_000


@dataclass(frozen=True)
class Decorrelation:
    permutation: np.ndarray  # (256,) int64: new bit i = old bit permutation[i]
    correlation: np.ndarray  # (256, 256) bit–bit correlation of the sample, old order

    def report(self, short_bits: int = 64, subcode_bits: int = 16) -> dict[str, float]:
        """Mean |correlation| within the short code, within its sub-codes, and over all bits."""
        c = np.abs(self.correlation[np.ix_(self.permutation, self.permutation)])
        np.fill_diagonal(c, np.nan)
        short = c[:short_bits, :short_bits]
        within = [
            np.nanmean(c[s : s + subcode_bits, s : s + subcode_bits])
            for s in range(0, short_bits, subcode_bits)
        ]
        return {
            "mean_abs_corr_all": float(np.nanmean(c)),
            "mean_abs_corr_short": float(np.nanmean(short)),
            "mean_abs_corr_within_subcodes": float(np.mean(within)),
            "max_abs_corr_short": float(np.nanmax(short)),
        }


def bit_correlation(bits: np.ndarray) -> np.ndarray:
    """Pearson correlation between the bits (columns) of 0/1 codes; constant bits get 0."""
    x = np.asarray(bits, dtype=np.float64)
    x = x - x.mean(axis=0)
    norm = np.sqrt((x * x).sum(axis=0))
    norm[norm == 0] = np.inf
    corr = (x.T @ x) / np.outer(norm, norm)
    np.fill_diagonal(corr, 1.0)
    return corr


def _graph(nodes: list[int], weights: np.ndarray) -> nx.Graph:
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_weighted_edges_from(
        (a, b, float(weights[a, b])) for i, a in enumerate(nodes) for b in nodes[i + 1 :]
    )
    return graph


def recursive_bisection(
    nodes: list[int], weights: np.ndarray, group_size: int, seed: int = 0
) -> list[list[int]]:
    """Splits `nodes` by Kernighan–Lin bisection, recursively, into groups of `group_size`."""
    if len(nodes) % group_size:
        raise ValueError(f"{len(nodes)} nodes do not split into groups of {group_size}")
    if len(nodes) <= group_size:
        return [sorted(nodes)]
    if (len(nodes) // group_size) % 2:
        raise ValueError(
            f"{len(nodes)} nodes into groups of {group_size}: "
            "the group count must be a power of two"
        )
    left, right = kernighan_lin_bisection(
        _graph(nodes, weights), weight="weight", max_iter=50, seed=seed
    )
    return recursive_bisection(sorted(left), weights, group_size, seed) + recursive_bisection(
        sorted(right), weights, group_size, seed
    )


def decorrelate(
    bits: np.ndarray, short_bits: int = 64, subcode_bits: int = 16, seed: int = 0
) -> Decorrelation:
    """The bit order for codes like `bits` ((n, 256) 0/1, n ≥ 10k recommended)."""
    bits = np.asarray(bits)
    n_bits = bits.shape[1]
    if n_bits % short_bits or short_bits % subcode_bits:
        raise ValueError(
            f"bits={n_bits}, short_bits={short_bits}, subcode_bits={subcode_bits} do not nest"
        )
    corr = bit_correlation(bits)
    strength = np.abs(corr)
    np.fill_diagonal(strength, 0.0)

    # 1. Clusters of correlated bits, one representative each.
    clusters = recursive_bisection(list(range(n_bits)), strength, n_bits // short_bits, seed)
    balance = np.abs(bits.mean(axis=0) - 0.5)
    total = strength.sum(axis=1)
    chosen = [
        min(cluster, key=lambda b: (total[b] + n_bits * balance[b], b)) for cluster in clusters
    ]

    # 2. Sub-codes of mutually weakly correlated bits.
    subcodes = recursive_bisection(chosen, 1.0 - strength, subcode_bits, seed)
    short = [b for subcode in subcodes for b in subcode]
    rest = [b for cluster in clusters for b in cluster if b not in set(short)]
    permutation = np.asarray(short + rest, dtype=np.int64)
    assert sorted(permutation.tolist()) == list(range(n_bits))
    return Decorrelation(permutation=permutation, correlation=corr)
