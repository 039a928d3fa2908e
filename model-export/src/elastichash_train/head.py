"""The hashing head of `train`: pooled backbone features → 256 real outputs (the coding layer,
a two-layer MLP), plus a classifier on the relaxed code that the classification loss uses.
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
        self.classify = nn.Linear(bits, n_classes)

    def set_feature_statistics(self, features: torch.Tensor) -> None:
        """Centre and scale inputs by the mean and the overall RMS of these features."""
        mean = features.mean(dim=0)
        rms = (features - mean).pow(2).mean().sqrt().clamp_min(1e-6)
        self.feature_mean.copy_(mean)
        self.feature_scale.fill_(float(rms))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = (features - self.feature_mean) / self.feature_scale
        return self.mlp(x)

    @torch.no_grad()
    def permute_outputs(self, permutation: torch.Tensor) -> None:
        """Reorders the outputs in place: new output i = old output permutation[i].

        This is how the decorrelation's bit order is folded into the graph: the rows of the
        last linear layer are permuted, so the exported network emits the final order
        with no extra operation. The classifier's columns follow, so it keeps working.
        """
        permutation = permutation.to(torch.long)
        last = self.mlp[-1]
        last.weight.copy_(last.weight[permutation])
        last.bias.copy_(last.bias[permutation])
        self.classify.weight.copy_(self.classify.weight[:, permutation])
