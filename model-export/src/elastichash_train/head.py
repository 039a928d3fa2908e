"""The hashing head: backbone features → 256 real outputs (the coding layer), plus a classifier.

Trained on frozen backbone features, so the whole training runs in minutes on a CPU. The
head is a two-layer MLP with a linear shortcut: the shortcut keeps a plain linear projection
of the backbone's feature space (what random-hyperplane hashing would keep), the MLP adds
what the labels teach.
"""

from __future__ import annotations

import torch
from torch import nn


class HashHead(nn.Module):
    """features (n, in_features) → outputs (n, bits); `classify` maps tanh(outputs) to class logits."""

    def __init__(
        self,
        in_features: int = 1280,
        bits: int = 256,
        n_classes: int = 10,
        hidden: int = 512,
        dropout: float = 0.2,
        shortcut: bool = True,
    ) -> None:
        super().__init__()
        self.in_features, self.bits, self.n_classes = in_features, bits, n_classes
        # Feature standardisation, set from the training features (a buffer: exported with the model).
        self.register_buffer("feature_mean", torch.zeros(in_features))
        self.register_buffer("feature_scale", torch.ones(in_features))
        self.mlp = nn.Sequential(
            nn.Linear(in_features, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, bits),
        )
        self.shortcut = nn.Linear(in_features, bits, bias=False) if shortcut else None
        self.classify = nn.Linear(bits, n_classes)

    def set_feature_statistics(self, features: torch.Tensor) -> None:
        """Centre and scale inputs by the mean and the overall RMS of these features."""
        mean = features.mean(dim=0)
        rms = (features - mean).pow(2).mean().sqrt().clamp_min(1e-6)
        self.feature_mean.copy_(mean)
        self.feature_scale.fill_(float(rms))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = (features - self.feature_mean) / self.feature_scale
        out = self.mlp(x)
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return out

    @torch.no_grad()
    def init_shortcut_pca(self, features: torch.Tensor, seed: int = 0, scale: float = 1.5) -> None:
        """Starts the shortcut as PCA hashing: the top-`bits` principal directions of these
        (diverse) features, randomly rotated, scaled so each output has standard deviation
        `scale`. A general similarity-preserving projection; the MLP (its last layer zeroed)
        then starts silent and learns what the labels add.
        """
        if self.shortcut is None:
            return
        x = (features - self.feature_mean) / self.feature_scale
        _, _, v = torch.linalg.svd(x - x.mean(dim=0), full_matrices=False)
        generator = torch.Generator().manual_seed(seed)
        directions = v[: self.bits].T  # (in_features, <= bits)
        if directions.shape[1] < self.bits:  # fewer samples than bits: pad with random directions
            extra = torch.randn(self.in_features, self.bits - directions.shape[1], generator=generator)
            directions = torch.cat([directions, extra / extra.norm(dim=0)], dim=1)
        rotation, _ = torch.linalg.qr(torch.randn(self.bits, self.bits, generator=generator))
        projection = directions @ rotation  # (in_features, bits)
        std = (x @ projection).std(dim=0).clamp_min(1e-6)
        self.shortcut.weight.copy_((projection * (scale / std)).T)
        self.mlp[-1].weight.zero_()
        self.mlp[-1].bias.zero_()

    def mlp_outputs(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp((features - self.feature_mean) / self.feature_scale)

    @torch.no_grad()
    def permute_outputs(self, permutation: torch.Tensor) -> None:
        """Reorders the outputs in place: new output i = old output permutation[i].

        This is how the decorrelation's bit order is folded into the graph: the rows of the
        last linear layers are permuted, so the exported network emits the final order
        with no extra operation. The classifier's columns follow, so it keeps working.
        """
        permutation = permutation.to(torch.long)
        last = self.mlp[-1]
        last.weight.copy_(last.weight[permutation])
        last.bias.copy_(last.bias[permutation])
        if self.shortcut is not None:
            self.shortcut.weight.copy_(self.shortcut.weight[permutation])
        self.classify.weight.copy_(self.classify.weight[:, permutation])
