"""Loss terms shared by `train`'s objectives (`finetune.py`): the relaxed code, the similarity
random-hyperplane hashing of the backbone's features would give (1 - 2 * angle / pi, the target
that keeps the backbone's notion of likeness), quantisation (|tanh| near 1) and bit balance
(each bit half on, half off).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def relaxed_codes(outputs: torch.Tensor) -> torch.Tensor:
    """The differentiable stand-in for the ±1 code."""
    return torch.tanh(outputs)


def lsh_similarity(features: torch.Tensor) -> torch.Tensor:
    """Expected code similarity (1 - 2 * Hamming / bits) under random-hyperplane hashing."""
    unit = F.normalize(features, dim=1)
    cosine = (unit @ unit.T).clamp(-1.0, 1.0)
    return 1.0 - 2.0 * torch.arccos(cosine) / math.pi


def quantization_loss(codes: torch.Tensor) -> torch.Tensor:
    return (codes.abs() - 1.0).pow(2).mean()


def balance_loss(codes: torch.Tensor) -> torch.Tensor:
    return codes.mean(dim=0).pow(2).mean()
