"""Training the hashing head on cached, frozen backbone features."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from .head import HashHead
from .losses import (
    LossWeights,
    balance_loss,
    quantization_loss,
    relaxed_codes,
    similarity_loss,
    triplet_loss,
)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3
    batch_size: int = 256
    diverse_batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 512
    dropout: float = 0.2
    shortcut: bool = True
    shortcut_scale: float = 1.5  # std of each shortcut output on the diverse features
    pca_init: bool = True  # shortcut starts as PCA hashing of the diverse features (see HashHead)
    train_shortcut: bool = False  # False: the shortcut stays PCA hashing, only the MLP learns
    bits: int = 256
    seed: int = 0
    weights: LossWeights = field(default_factory=LossWeights)
    max_steps: int | None = None  # stop early (tests)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    head: HashHead
    history: list[dict[str, float]]  # one entry per epoch (mean losses)
    seconds: float


def train_head(
    features: np.ndarray,
    labels: np.ndarray,
    config: TrainConfig,
    diverse_features: np.ndarray | None = None,
    log: Callable[[str], None] | None = print,
) -> TrainResult:
    """Trains a HashHead on (n, d) features with labels; `diverse_features` feed the similarity term."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.long)
    n_classes = int(labels.max()) + 1
    head = HashHead(x.shape[1], config.bits, n_classes, config.hidden, config.dropout, config.shortcut)
    statistics = x if diverse_features is None else torch.cat([x, torch.as_tensor(diverse_features).float()])
    head.set_feature_statistics(statistics)
    if config.pca_init and config.shortcut:
        reference = statistics if diverse_features is None else torch.as_tensor(diverse_features).float()
        head.init_shortcut_pca(reference, seed=config.seed, scale=config.shortcut_scale)
    diverse = None
    w = config.weights
    if diverse_features is not None and len(diverse_features) > 1 and w.similarity > 0:
        diverse = torch.as_tensor(diverse_features, dtype=torch.float32)

    if head.shortcut is not None and config.pca_init and not config.train_shortcut:
        head.shortcut.weight.requires_grad_(False)
    trainable = [p for p in head.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=config.learning_rate, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, len(x) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    if config.max_steps is not None:
        total_steps = min(total_steps, config.max_steps)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=config.learning_rate, total_steps=max(total_steps, 2), pct_start=0.1
    )
    history: list[dict[str, float]] = []
    started = time.perf_counter()
    step = 0
    head.train()
    for epoch in range(config.epochs):
        order = torch.as_tensor(rng.permutation(len(x)))
        sums: dict[str, float] = {}
        count = 0
        for b in range(steps_per_epoch):
            if step >= total_steps:
                break
            batch = order[b * config.batch_size : (b + 1) * config.batch_size]
            parts = batch_losses(head, x[batch], y[batch], w, diverse, config.diverse_batch_size, rng)
            loss = sum(weight * value for weight, value in parts.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            count += 1
            for name, (_, value) in parts.items():
                sums[name] = sums.get(name, 0.0) + float(value.detach())
            sums["total"] = sums.get("total", 0.0) + float(loss.detach())
        if count == 0:
            break
        record = {name: value / count for name, value in sums.items()} | {"epoch": epoch + 1}
        history.append(record)
        if log:
            terms = "  ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
            log(f"epoch {epoch + 1:3d}  {terms}")
    head.eval()
    return TrainResult(head, history, time.perf_counter() - started)


def batch_losses(
    head: HashHead,
    x: torch.Tensor,
    y: torch.Tensor,
    w: LossWeights,
    diverse: torch.Tensor | None,
    diverse_batch_size: int,
    rng: np.random.Generator,
) -> dict[str, tuple[float, torch.Tensor]]:
    """The weighted loss terms of one batch: name → (weight, value)."""
    codes = relaxed_codes(head(x))
    parts: dict[str, tuple[float, torch.Tensor]] = {
        "classification": (w.classification, F.cross_entropy(head.classify(codes), y)),
        "triplet": (w.triplet, triplet_loss(codes, y, w.triplet_margin)),
    }
    if diverse is not None:
        rows = torch.as_tensor(rng.choice(len(diverse), min(diverse_batch_size, len(diverse)), replace=False))
        diverse_codes = relaxed_codes(head(diverse[rows]))
        anchors = min(w.similarity_anchors, len(x))
        centred = (torch.cat([diverse[rows], x[:anchors]]) - head.feature_mean) / head.feature_scale
        joint = torch.cat([diverse_codes, codes[:anchors]])
        parts["similarity"] = (w.similarity, similarity_loss(joint, centred, n_free=anchors))
        if w.quiet > 0:
            parts["quiet"] = (w.quiet, head.mlp_outputs(diverse[rows]).pow(2).mean())
    # Quantisation on the labelled images only: on diverse images the codes may stay soft.
    parts["quantization"] = (w.quantization, quantization_loss(codes))
    parts["balance"] = (w.balance, balance_loss(codes))
    return parts


@torch.no_grad()
def head_outputs(head: HashHead, features: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """(n, bits) head outputs for cached features (eval mode)."""
    head.eval()
    x = torch.as_tensor(features, dtype=torch.float32)
    return torch.cat([head(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]).numpy()
