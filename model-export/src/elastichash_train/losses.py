"""Training losses for the hashing head.

- classification log-loss on the relaxed codes (as in the paper),
- a batch-hard triplet loss on the relaxed codes (as in the paper),
- similarity preservation: on a batch of diverse (non-clothes) images, the codes' cosine
  similarity should equal what random-hyperplane hashing of the backbone features would give,
  1 - 2 * angle / pi. This keeps the backbone's general semantic similarity in the codes, so
  they do not collapse onto the training classes,
- quantisation (|tanh| near 1) and bit balance (each bit half on, half off), both small.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class LossWeights:
    classification: float = 1.0
    triplet: float = 1.0
    similarity: float = 5.0
    quantization: float = 0.05
    balance: float = 0.05
    triplet_margin: float = 0.25
    quiet: float = 1.0  # keeps the MLP's contribution small on diverse images
    similarity_anchors: int = 64  # labelled images per batch that also join the similarity term


def relaxed_codes(outputs: torch.Tensor) -> torch.Tensor:
    """The differentiable stand-in for the ±1 code."""
    return torch.tanh(outputs)


def code_distance(codes: torch.Tensor) -> torch.Tensor:
    """Pairwise normalised Hamming distance of relaxed codes (exact for ±1 codes): 0 … 1."""
    similarity = codes @ codes.T / codes.shape[1]
    return (1.0 - similarity) / 2.0


def triplet_loss(codes: torch.Tensor, labels: torch.Tensor, margin: float) -> torch.Tensor:
    """Batch-hard triplet loss: the farthest positive against the nearest negative, per anchor."""
    distance = code_distance(codes)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    positive = torch.where(same & ~eye, distance, torch.full_like(distance, -1.0)).max(dim=1).values
    negative = torch.where(~same, distance, torch.full_like(distance, 2.0)).min(dim=1).values
    valid = (positive >= 0) & (negative <= 1.0)
    if not bool(valid.any()):
        return codes.sum() * 0.0
    return F.relu(positive - negative + margin)[valid].mean()


def lsh_similarity(features: torch.Tensor) -> torch.Tensor:
    """Expected code similarity (1 - 2 * Hamming / bits) under random-hyperplane hashing."""
    unit = F.normalize(features, dim=1)
    cosine = (unit @ unit.T).clamp(-1.0, 1.0)
    return 1.0 - 2.0 * torch.arccos(cosine) / math.pi


def similarity_loss(codes: torch.Tensor, features: torch.Tensor, n_free: int = 0) -> torch.Tensor:
    """Mean squared gap between the codes' similarity and the features' hashing similarity.

    The last `n_free` rows (labelled training images) take part only in pairs with the other
    rows (diverse images): that places the class clusters consistently among general images
    without fighting the class losses, which decide the pairs of labelled images.
    """
    target = lsh_similarity(features)
    unit = F.normalize(codes, dim=1)  # scale-free: the sign pattern matters, not the magnitude
    similarity = unit @ unit.T
    n = len(codes)
    mask = ~torch.eye(n, dtype=torch.bool, device=codes.device)
    if n_free:
        mask[n - n_free :, n - n_free :] = False
    return (similarity - target)[mask].pow(2).mean()


def quantization_loss(codes: torch.Tensor) -> torch.Tensor:
    return (codes.abs() - 1.0).pow(2).mean()


def balance_loss(codes: torch.Tensor) -> torch.Tensor:
    return codes.mean(dim=0).pow(2).mean()
