"""The general default model's head (general.py) and its unlabelled corpus (domains.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from elastichash_train import domains
from elastichash_train.export import with_permutation
from elastichash_train.general import (
    GeneralConfig,
    nearest_neighbours,
    train_general_head,
)


def clustered_features(
    n_clusters: int = 12, per_cluster: int = 40, dim: int = 64, noise: float = 1.2, seed: int = 0
) -> np.ndarray:
    """Non-negative features in overlapping clusters, like pooled ReLU activations: one narrow cone."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(2.0, 1.0, (n_clusters, dim))
    points = np.repeat(centres, per_cluster, axis=0) + rng.normal(0, noise, (n_clusters * per_cluster, dim))
    return np.abs(points).astype(np.float32)


def test_fine_tuning_lowers_the_neighbour_loss_and_keeps_the_permutation_foldable() -> None:
    features = clustered_features(seed=2)
    config = GeneralConfig(bits=32, epochs=6, anchors=64, neighbours=5, learning_rate=3e-3)
    result = train_general_head(features, config, log=None)
    assert result.history[-1]["neighbour"] < result.history[0]["neighbour"]
    permutation = np.random.default_rng(0).permutation(32)
    moved = with_permutation(result.head, permutation)
    x = torch.as_tensor(features[:5])
    with torch.no_grad():
        assert torch.allclose(moved(x), result.head(x)[:, permutation], atol=1e-5)


def test_nearest_neighbours_leave_out_the_row_itself() -> None:
    x = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]])
    near = nearest_neighbours(x, 1, chunk=3)
    assert near[:, 0].tolist() == [1, 0, 3, 2]


def test_general_corpus_is_never_an_evaluation_domain(tmp_path) -> None:
    roots = [domains.CROSS_DOMAIN_ROOT, domains.STAMPS_ROOT]
    for source in domains.GENERAL_SOURCES:
        assert not any(source.root.is_relative_to(root) or root.is_relative_to(source.root) for root in roots)
    if not all(source.root.is_dir() for source in domains.GENERAL_SOURCES):
        pytest.skip("the general corpus' Debian packages are not installed (make setup)")
    icons = domains.GENERAL_SOURCES[-1]
    assert icons.name == "icons" and icons.skip == "/mimetypes/"
    one = dataclasses.replace(icons, limit=5)
    files = domains.source_files(one, np.random.default_rng(0))
    assert len(files) == 5 and all("/mimetypes/" not in str(p) for p in files)
    assert files == domains.source_files(one, np.random.default_rng(0))  # seeded: the same sample every time
