"""Fine-tuning the backbone's tail and a hashing head, with a checkpoint per epoch.

On a CPU the inputs are the cached prefix maps (tail.py): each step runs only blocks[first:],
the head convolution and the hashing head. With CUDA the whole backbone trains on images,
preprocessed by the client's `ModelSpec` and mirrored at random. (No GPU on the machine this
was written on: that path is present but was not run here.)
"""

from __future__ import annotations

import copy
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from elastichash.model import ModelSpec
from torch import nn
from tqdm import tqdm

from .backbone import Backbone, freeze
from .centres import centre_loss, hash_centres, nt_xent
from .data import LabelledImages
from .head import HashHead
from .losses import balance_loss, lsh_similarity, quantization_loss, relaxed_codes
from .tail import Tail, view

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class FinetuneConfig:
    size: int = 96
    first_block: int = 8  # blocks[first_block:] of 16 fine-tuned on a CPU: 1.4 s per 128 images (docs/model.md)
    whole_network: bool = False  # True with CUDA: every layer trains, on images
    epochs: int = 6
    batch_size: int = 128
    learning_rate: float = 1e-3  # the head's; the backbone's layers get tail_lr_scale of it
    tail_lr_scale: float = 0.3
    weight_decay: float = 1e-4
    hidden: int = 512
    dropout: float = 0.2
    bits: int = 256
    labelled: bool = True
    mirror: bool = True  # train on mirrored views too (cached as a second view)
    w_centre: float = 1.0
    w_classification: float = 0.5
    w_quantization: float = 0.1
    w_balance: float = 0.01
    w_contrastive: float = 1.0  # unlabelled
    w_similarity: float = 1.0  # unlabelled
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


class Trainee(nn.Module):
    """The part that trains: the backbone's tail (or all of it) and the hashing head."""

    def __init__(self, backbone: Backbone, head: HashHead, config: FinetuneConfig) -> None:
        super().__init__()
        self.backbone, self.head, self.config = backbone, head, config
        self.tail = Tail(backbone, config.first_block)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x) if self.config.whole_network else self.tail(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    def backbone_parameters(self) -> list[nn.Parameter]:
        modules = [self.backbone] if self.config.whole_network else self.tail.trainable_modules()
        return [p for m in modules for p in m.parameters()]

    def set_train_mode(self) -> None:
        """Train mode for what trains; the frozen prefix's BatchNorms keep their ImageNet statistics."""
        self.eval()
        self.head.train()
        for module in [self.backbone] if self.config.whole_network else self.tail.trainable_modules():
            module.train()


class Inputs:
    """Batches for the trainee: cached prefix maps (CPU) or preprocessed images (whole network)."""

    def __init__(
        self,
        config: FinetuneConfig,
        maps: dict[str, np.ndarray] | None = None,
        data: LabelledImages | None = None,
        spec: ModelSpec | None = None,
        device: str = "cpu",
    ) -> None:
        self.config, self.maps, self.data, self.spec, self.device = config, maps, data, spec, device

    def batch(self, indices: np.ndarray, views: np.ndarray) -> torch.Tensor:
        """Inputs of images `indices`; views[i] = 1 for the mirrored view."""
        if self.maps is not None:
            plain = self.maps["plain"][indices]
            if "mirror" in self.maps and views.any():
                plain = np.where(views[:, None, None, None].astype(bool), self.maps["mirror"][indices], plain)
            return torch.from_numpy(plain.astype(np.float32)).to(self.device)
        assert self.data is not None and self.spec is not None
        names = ["mirror" if v else "plain" for v in views]
        images = [view(self.data.image(int(i)), name) for i, name in zip(indices, names, strict=True)]
        return torch.from_numpy(self.spec.preprocess_batch(images)).to(self.device)


@dataclass
class FinetuneResult:
    trainee: Trainee
    history: list[dict[str, float]]
    seconds: float
    resumed_from: int  # epochs already done when this run started (0: fresh)


class CheckpointMismatch(ValueError):
    """A checkpoint made with other settings or other images; the message says what differs."""


def build_trainee(config: FinetuneConfig, n_classes: int, device: str) -> Trainee:
    torch.manual_seed(config.seed)
    backbone = freeze(Backbone(config.size))
    head = HashHead(1280, config.bits, max(n_classes, 1), config.hidden, config.dropout)
    trainee = Trainee(backbone, head, config)
    for p in trainee.backbone_parameters():
        p.requires_grad_(True)
    return trainee.to(device)


def finetune(
    config: FinetuneConfig,
    inputs: Inputs,
    labels: np.ndarray,
    checkpoint_dir: Path,
    fingerprint: str,
    resume: bool = False,
    device: str = "cpu",
    log: Callable[[str], None] | None = print,
    max_steps: int | None = None,
) -> FinetuneResult:
    """Trains for config.epochs epochs, writing checkpoint_dir/checkpoint.pt after each one.

    With `resume`, continues from that checkpoint when it was made with the same config and
    the same training images (`fingerprint`); refuses one that was not.
    """
    n = len(labels)
    n_classes = int(labels.max()) + 1 if config.labelled else 0
    trainee = build_trainee(config, n_classes, device)
    steps_per_epoch = max(1, n // config.batch_size) if n >= config.batch_size else 1
    total = steps_per_epoch * config.epochs
    if max_steps is not None:
        total = min(total, max_steps)

    # Standardise the head's input on the untrained backbone's features (a fixed affine map).
    rng = np.random.default_rng(config.seed)
    sample = np.sort(rng.choice(n, min(n, 2048), replace=False))
    with torch.no_grad():
        trainee.eval()
        first = torch.cat(
            [
                trainee.features(inputs.batch(sample[i : i + 256], np.zeros(len(sample[i : i + 256]), np.int8)))
                for i in range(0, len(sample), 256)
            ]
        )
        trainee.head.set_feature_statistics(first.cpu())
    centres = hash_centres(n_classes, config.bits, config.seed).to(device) if config.labelled else None

    optimizer = torch.optim.AdamW(
        [
            {"params": list(trainee.head.parameters()), "lr": config.learning_rate},
            {"params": trainee.backbone_parameters(), "lr": config.learning_rate * config.tail_lr_scale},
        ],
        weight_decay=config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer,
        max_lr=[config.learning_rate, config.learning_rate * config.tail_lr_scale],
        total_steps=max(total, 2),
        pct_start=0.15,
    )
    history: list[dict[str, float]] = []
    start_epoch = 0
    path = checkpoint_dir / CHECKPOINT
    if resume and path.is_file():
        state = torch.load(path, map_location=device, weights_only=False)
        if state["config"] != config.as_dict():
            changed = sorted(k for k, v in config.as_dict().items() if state["config"].get(k) != v)
            raise CheckpointMismatch(
                f"{path} was made with other settings ({', '.join(changed)}); "
                "run with the same options, or without --resume to start afresh"
            )
        if state["fingerprint"] != fingerprint:
            raise CheckpointMismatch(
                f"{path} was made from other images; run without --resume to start afresh, "
                "or use another --checkpoint-dir"
            )
        trainee.load_state_dict(state["trainee"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["numpy_rng"]
        torch.set_rng_state(state["torch_rng"])
        history = state["history"]
        start_epoch = state["epoch"]
        if log:
            log(f"resuming from {path}: {start_epoch} of {config.epochs} epochs done")
    elif resume and log:
        log(f"no checkpoint in {checkpoint_dir}: starting afresh")

    started = time.perf_counter()
    step = start_epoch * steps_per_epoch
    for epoch in range(start_epoch, config.epochs):
        if step >= total:
            break
        trainee.set_train_mode()
        order = rng.permutation(n)
        sums: dict[str, float] = {}
        count = 0
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{config.epochs}", unit="step", leave=log is None)
        for b in bar:
            if step >= total:
                break
            rows = order[b * config.batch_size : (b + 1) * config.batch_size]
            if len(rows) < 2:
                rows = order[: max(2, config.batch_size)]
            y = torch.as_tensor(labels[rows], dtype=torch.long, device=device)
            parts = _losses(trainee, inputs, rows, y, centres, config, rng)
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
            bar.set_postfix(loss=f"{sums['total'] / count:.4f}")
        bar.close()
        record = {name: value / max(count, 1) for name, value in sums.items()} | {"epoch": epoch + 1}
        history.append(record)
        _save(
            path,
            {
                "epoch": epoch + 1,
                "config": config.as_dict(),
                "fingerprint": fingerprint,
                "trainee": trainee.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "numpy_rng": rng.bit_generator.state,
                "torch_rng": torch.get_rng_state(),
                "history": history,
            },
        )
        if log:
            terms = "  ".join(f"{k}={v:.4f}" for k, v in record.items() if k != "epoch")
            log(f"epoch {epoch + 1}/{config.epochs}  {terms}  (checkpoint: {path})")
    trainee.eval()
    return FinetuneResult(trainee, history, time.perf_counter() - started, start_epoch)


def _losses(
    trainee: Trainee,
    inputs: Inputs,
    rows: np.ndarray,
    y: torch.Tensor,
    centres: torch.Tensor | None,
    config: FinetuneConfig,
    rng: np.random.Generator,
) -> dict[str, tuple[float, torch.Tensor]]:
    if config.labelled:
        views = rng.integers(0, 2, len(rows)).astype(np.int8) if config.mirror else np.zeros(len(rows), np.int8)
        codes = relaxed_codes(trainee(inputs.batch(rows, views)))
        assert centres is not None
        return {
            "centre": (config.w_centre, centre_loss(codes, y, centres)),
            "classification": (config.w_classification, F.cross_entropy(trainee.head.classify(codes), y)),
            "quantization": (config.w_quantization, quantization_loss(codes)),
            "balance": (config.w_balance, balance_loss(codes)),
        }
    plain = np.zeros(len(rows), np.int8)
    features_a = trainee.features(inputs.batch(rows, plain))
    features_b = trainee.features(inputs.batch(rows, plain + 1))
    a, b = relaxed_codes(trainee.head(features_a)), relaxed_codes(trainee.head(features_b))
    with torch.no_grad():  # the pretrained likeness the codes should keep: the features before this step
        target = lsh_similarity(features_a.detach() - trainee.head.feature_mean)
    unit = F.normalize(a, dim=1)
    mask = ~torch.eye(len(rows), dtype=torch.bool, device=a.device)
    return {
        "contrastive": (config.w_contrastive, nt_xent(a, b)),
        "similarity": (config.w_similarity, (unit @ unit.T - target)[mask].pow(2).mean()),
        "quantization": (config.w_quantization, quantization_loss(torch.cat([a, b]))),
        "balance": (config.w_balance, balance_loss(torch.cat([a, b]))),
    }


def _save(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


@torch.no_grad()
def codes_of(trainee: Trainee, inputs: Inputs, count: int, mirrored: bool = False, batch: int = 512) -> np.ndarray:
    """(count, bits) head outputs of the first `count` inputs, eval mode."""
    trainee.eval()
    views = np.full(batch, 1 if mirrored else 0, np.int8)
    out = []
    for start in range(0, count, batch):
        rows = np.arange(start, min(start + batch, count))
        out.append(trainee(inputs.batch(rows, views[: len(rows)])).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, trainee.config.bits), np.float32)


def deployable(trainee: Trainee) -> tuple[Backbone, HashHead]:
    """CPU copies of the fine-tuned backbone and head, frozen, for export."""
    backbone = freeze(copy.deepcopy(trainee.backbone).cpu())
    head = copy.deepcopy(trainee.head).cpu().eval()
    return backbone, head
