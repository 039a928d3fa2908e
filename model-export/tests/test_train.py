from __future__ import annotations

import numpy as np
import torch
from conftest import TINY_SIZE

from elastichash_train.backbone import Backbone, extract_features, freeze
from elastichash_train.export import model_spec
from elastichash_train.losses import LossWeights, lsh_similarity, triplet_loss
from elastichash_train.train import TrainConfig, batch_losses, train_head


def test_a_few_steps_on_a_tiny_subset_lower_the_loss(tiny_fmnist) -> None:
    spec = model_spec(TINY_SIZE, "tiny-test", "nothing")
    features = extract_features(freeze(Backbone(TINY_SIZE)), tiny_fmnist.images(), spec)
    assert features.shape == (len(tiny_fmnist), 1280)
    diverse = features[::-1] + np.random.default_rng(1).normal(0, 0.1, features.shape).astype(np.float32)
    config = TrainConfig(epochs=40, batch_size=32, diverse_batch_size=32, hidden=64, learning_rate=3e-3)
    result = train_head(features, tiny_fmnist.labels, config, diverse, log=None)
    first, last = result.history[0], result.history[-1]
    assert last["total"] < 0.7 * first["total"]
    assert last["classification"] < first["classification"]


def test_loss_terms_are_finite_and_weighted() -> None:
    from elastichash_train.head import HashHead

    head = HashHead(in_features=16, bits=32, n_classes=3, hidden=8)
    x = torch.randn(12, 16)
    y = torch.arange(12) % 3
    parts = batch_losses(head, x, y, LossWeights(), torch.randn(20, 16), 8, np.random.default_rng(0))
    assert set(parts) == {"classification", "triplet", "similarity", "quiet", "quantization", "balance"}
    assert all(torch.isfinite(value) for _, value in parts.values())


def test_triplet_loss_is_zero_for_separated_classes() -> None:
    codes = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0], [-1.0] * 4])
    assert float(triplet_loss(codes, torch.tensor([0, 0, 1, 1]), margin=0.25)) == 0.0
    assert float(triplet_loss(codes, torch.tensor([0, 1, 0, 1]), margin=0.25)) > 0.0


def test_lsh_similarity_matches_angles() -> None:
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    similarity = lsh_similarity(features)
    assert torch.allclose(similarity, torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]), atol=1e-3)
