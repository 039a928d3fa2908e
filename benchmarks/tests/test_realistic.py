"""The realistic dataset's generator and fit report, at small N (no node, no real images needed
except where said)."""

from __future__ import annotations

import numpy as np
import pytest
from ehbench import realistic
from elastichash.model import HashModel, default_model_path


def clustered_features(n: int = 3000, dim: int = 300, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """Non-negative features in clusters, like pooled backbone activations."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(2.0, 1.0, (clusters, dim))
    return np.abs(centres[rng.integers(0, clusters, n)] + rng.normal(0, 0.6, (n, dim))).astype(np.float32)


@pytest.fixture(scope="module")
def generator() -> realistic.Generator:
    return realistic.Generator.fit(clustered_features(), dims=32, components=20)


def test_samples_are_unit_vectors_and_a_seed_repeats_them(generator: realistic.Generator) -> None:
    first = generator.sample(500, seed=1)
    assert first.shape == (500, 300) and np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-5)
    assert np.array_equal(first, generator.sample(500, seed=1))
    assert not np.array_equal(first, generator.sample(500, seed=2))


def test_samples_reproduce_the_fitted_features_neighbour_profile(generator: realistic.Generator) -> None:
    real = clustered_features(seed=0)
    fake = generator.sample(len(real), seed=3)
    projection = np.random.default_rng(0).normal(size=(300, 256))  # any fixed head will do
    centre = realistic.unit(real).mean(axis=0)

    def bits(x: np.ndarray) -> np.ndarray:
        return ((realistic.unit(x) - centre) @ projection > 0).astype(np.uint8)

    ours = realistic.neighbour_profile(bits(real), real, sample=500)
    theirs = realistic.neighbour_profile(bits(fake), fake, sample=500)
    assert set(ours) == set(theirs) and "hamming@10" in ours and "cosine@100" in ours
    assert all(realistic.within_tolerance(ours, theirs).values()), realistic.report_table([("clusters", ours, theirs)])
    # A generator that ignores the clusters (one component) does not: the test can fail.
    flat = realistic.Generator.fit(real, dims=32, components=1).sample(len(real), seed=3)
    assert not all(realistic.within_tolerance(ours, realistic.neighbour_profile(bits(flat), flat, 500)).values())


def test_the_head_read_from_the_default_model_gives_its_codes() -> None:
    if not default_model_path().is_file():
        pytest.skip("no default model bundled")
    model = HashModel()
    arrays = [np.random.default_rng(i).normal(size=(3, 224, 224)).astype(np.float32) for i in range(4)]
    outputs, features = model.outputs_and_features(arrays)
    head = realistic.read_head(model)
    assert np.array_equal(head.bits(features), (outputs > 0).astype(np.uint8))


def test_fashion_mnist_images_are_read_from_the_debian_package() -> None:
    if not realistic.FASHION_TEST.is_file():
        pytest.skip("dataset-fashion-mnist is not installed")
    images = realistic.fashion_images()
    first = next(images)
    assert first.shape == (28, 28) and first.dtype == np.uint8 and first.max() > 0


def test_collections_are_drawn_in_proportion_to_their_sizes() -> None:
    # Two collections on different features (as clip art and photos light up different channels).
    first, second = clustered_features(2400, seed=1), clustered_features(600, seed=2)
    first[:, 150:] *= 0.1
    second[:, :150] *= 0.1
    big = realistic.RealSet("big", first, np.zeros((2400, 256), np.uint8))
    small = realistic.RealSet("small", second, np.zeros((600, 256), np.uint8))
    generator = realistic.DomainGenerator.fit([big, small], dims=16, components=4)
    fake = generator.sample(1000, seed=0)
    assert fake.shape == (1000, 300) and np.array_equal(fake, generator.sample(1000, seed=0))
    # Each sample lies nearer the collection it was drawn from: about a fifth are the small one's.
    centres = np.stack([realistic.unit(s.features).mean(axis=0) for s in (big, small)])
    nearer_small = ((fake @ centres.T).argmax(axis=1) == 1).mean()
    assert 0.15 < nearer_small < 0.25


def test_a_missing_collection_is_named_instead_of_fitting_on_the_rest(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(realistic, "FOLDERS", {**realistic.FOLDERS, "tuxpaint-stamps": tmp_path / "no-stamps"})
    with pytest.raises(SystemExit, match=r"not installed \(.*no-stamps\): make bench-images installs them"):
        realistic.real_sets(HashModel(), cache=tmp_path)
