from __future__ import annotations

import torch

from elastichash_train.losses import balance_loss, lsh_similarity, quantization_loss


def test_lsh_similarity_matches_angles() -> None:
    features = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    similarity = lsh_similarity(features)
    assert torch.allclose(similarity, torch.tensor([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 1.0]]), atol=1e-3)


def test_quantization_and_balance_are_zero_only_for_balanced_binary_codes() -> None:
    balanced = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    assert float(quantization_loss(balanced)) == 0.0 and float(balance_loss(balanced)) == 0.0
    assert float(quantization_loss(balanced * 0.5)) > 0.0
    assert float(balance_loss(torch.ones(2, 2))) > 0.0
