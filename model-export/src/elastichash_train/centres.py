"""Label-aware and label-free hashing losses for `train`.

Labelled (after CSQ, Yuan et al., "Central Similarity Quantization", CVPR 2020): each class
gets a hash centre, a ±1 code far from every other class's (rows of a Hadamard matrix: any two
differ in exactly half the bits); the relaxed code of an image is pulled towards its class's
centre bit by bit (binary cross-entropy) and towards ±1 (quantisation). Codes of a class
then gather around one point, so its images share their 16-bit sub-codes: the multi-index
stage finds them, and the two-stage search loses little against the full 256-bit ranking.
A classification log-loss on the relaxed code keeps the ranking within a class informative.

Unlabelled: two views of an image (plain and mirrored, from the cache) should get the same
code and other images different ones (NT-Xent, as in SimCLR), while code similarity between
images follows the frozen backbone's (`losses.lsh_similarity`), so the codes
keep the pretrained notion of likeness instead of inventing one from mirror images alone.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def hadamard(n: int) -> np.ndarray:
    """Sylvester's Hadamard matrix of order n (a power of two), entries ±1."""
    if n < 1 or n & (n - 1):
        raise ValueError(f"Hadamard order must be a power of two, got {n}")
    h = np.ones((1, 1), dtype=np.int8)
    while len(h) < n:
        h = np.block([[h, h], [h, -h]])
    return h


def hash_centres(n_classes: int, bits: int, seed: int = 0) -> torch.Tensor:
    """(n_classes, bits) ±1 centres: Hadamard rows and their negations (pairwise distance ≥ bits/2)
    while they last, random ±1 codes beyond (close to bits/2 apart for 256 bits)."""
    rng = np.random.default_rng(seed)
    h = hadamard(bits)
    pool = np.concatenate([h, -h])
    # Shuffle the columns: the first Hadamard row is all ones and rows are otherwise very
    # regular; a random column order keeps the pairwise distances and balances the bits.
    pool = pool[:, rng.permutation(bits)]
    pool = pool[rng.permutation(len(pool))]
    if n_classes > len(pool):
        extra = rng.choice(np.array([-1, 1], dtype=np.int8), size=(n_classes - len(pool), bits))
        pool = np.concatenate([pool, extra])
    return torch.as_tensor(pool[:n_classes], dtype=torch.float32)


def centre_loss(codes: torch.Tensor, labels: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """Bitwise binary cross-entropy between relaxed codes (-1…1) and their class centres."""
    target = (centres[labels] + 1.0) / 2.0
    probability = ((codes + 1.0) / 2.0).clamp(1e-6, 1 - 1e-6)
    return F.binary_cross_entropy(probability, target)


def nt_xent(a: torch.Tensor, b: torch.Tensor, temperature: float = 0.3) -> torch.Tensor:
    """Contrastive loss: row i of `a` should be closest to row i of `b` among all 2n - 1 others."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = len(a)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(a.device)
    return F.cross_entropy(similarity, target)
