"""compare-features' poolings and whitening (the command itself runs in `make compare-features`)."""

from __future__ import annotations

import numpy as np
import pytest

from elastichash_train.pooling import POOLINGS, Whitening, pool, transformed


def maps(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.0, 6.0, (5, 8, 3, 3)).astype(np.float32)


def test_pooling_gives_the_mean_the_max_and_a_generalised_mean_between_them():
    x = maps()
    flat = x.reshape(5, 8, 9)
    np.testing.assert_allclose(pool(x, "avg"), flat.mean(axis=2), rtol=1e-6)
    np.testing.assert_allclose(pool(x, "max"), flat.max(axis=2), rtol=1e-6)
    gem = pool(x, "gem3")
    np.testing.assert_allclose(gem, np.cbrt((flat.astype(np.float64) ** 3).mean(axis=2)), rtol=1e-5)
    assert (pool(x, "avg") < gem).all() and (gem < pool(x, "max")).all()
    np.testing.assert_allclose(pool(x, "gem1"), pool(x, "avg"), rtol=1e-5)
    assert set(POOLINGS) == {"avg", "gem3", "max"}
    with pytest.raises(ValueError, match="unknown pooling 'sum'"):
        pool(x, "sum")


def test_full_whitening_makes_the_fitted_features_uncorrelated_with_unit_variance():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 16)) @ rng.normal(size=(16, 16)) + 5.0
    whiten = Whitening.fit(x, dims=6, power=1.0)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    projected = (unit - whiten.mean) @ whiten.projection
    np.testing.assert_allclose(np.cov(projected, rowvar=False, bias=True), np.eye(6), atol=1e-6)
    out = whiten(x)
    assert out.shape == (2000, 6) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-5)


def test_transforms_fit_the_whitening_on_the_general_corpus_only():
    rng = np.random.default_rng(2)
    general, other = rng.uniform(0, 6, (500, 300)), rng.uniform(0, 6, (40, 300))
    same = transformed("none", general, other)
    assert same[0] is general and same[1] is other
    np.testing.assert_allclose(transformed("sqrt", general, other)[1], np.sqrt(other))
    whitened_general, whitened_other = transformed("sqrt+whiten", general, other)
    assert whitened_general.shape == (500, 256) and whitened_other.shape == (40, 256)
    # the other set's result does not depend on what else is transformed beside it
    np.testing.assert_allclose(transformed("sqrt+whiten", general, other[:5])[1], whitened_other[:5], rtol=1e-5)
    with pytest.raises(ValueError, match="unknown transform"):
        transformed("log", general)
