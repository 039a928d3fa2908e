from __future__ import annotations

import numpy as np

from elastichash.decorrelation import bit_correlation, decorrelate


def clustered_codes(
    n: int = 10_000, bits: int = 256, cluster: int = 4, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Codes whose bits come in hidden clusters of `cluster` near-copies of one random bit."""
    rng = np.random.default_rng(seed)
    owner = rng.permutation(bits) // cluster  # bit -> its hidden cluster
    sources = rng.integers(0, 2, (n, bits // cluster), dtype=np.uint8)
    codes = sources[:, owner]
    flips = rng.random(codes.shape) < 0.05
    return (codes ^ flips).astype(np.uint8), owner


def test_permutation_of_all_bits_with_the_short_code_as_prefix() -> None:
    codes, owner = clustered_codes()
    order = decorrelate(codes)
    permutation = order.permutation
    assert sorted(permutation.tolist()) == list(range(256))
    short = permutation[:64]
    # The 64 short-code bits come from 64 different hidden clusters: nearly independent.
    assert len(set(owner[short].tolist())) == 64
    report = order.report()
    assert report["mean_abs_corr_short"] < 0.05 < report["mean_abs_corr_all"] / 2 + 0.05
    # Reordering the code by the permutation puts the short code first: the long code's prefix.
    reordered = codes[:, permutation]
    assert np.array_equal(reordered[:, :64], codes[:, short])


def test_bit_correlation_of_copies_and_constants() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 2, 1000)
    corr = bit_correlation(np.stack([a, a, 1 - a, np.zeros_like(a)], axis=1))
    assert np.allclose(corr[0, 1], 1.0) and np.allclose(corr[0, 2], -1.0)
    assert corr[0, 3] == 0.0 and corr[3, 3] == 1.0
