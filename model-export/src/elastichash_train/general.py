"""The general default model's head: backbone features → 256 outputs whose signs keep the
backbone's similarity, learnt from unlabelled images only (no class is taught, so no domain
is favoured; the corpus is `domains.general_corpus`).

1. Features are L2-normalised (the backbone's similarity is the cosine of its features, which
   ignores their length) and centred on the training corpus' mean: sign bits of uncentred
   features waste bits, as all pooled EfficientNet features lie in one narrow cone.
2. PCA to 256 directions + ITQ rotation (Gong & Lazebnik, CVPR 2011): the projection that
   keeps most of the variance, rotated so that taking signs loses the least; each bit's
   threshold is its median over the corpus, so every bit is balanced. This step, the bit
   order and the ONNX file are the client's (`elastichash.fitting`), shared with `fit`.
3. Fine-tuning with listwise neighbour distillation: in a batch of anchors, each joined by
   one of its nearest neighbours in the corpus, per row the softmax of the codes' similarity
   over the batch should match the (sharp) softmax of the features' cosine similarity, so
   each image's nearest neighbours weigh most (mAP@k is decided there); plus small
   quantisation and bit-balance terms.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from elastichash.decorrelation import decorrelate
from elastichash.fitting import FEATURES_OUTPUT, LinearHead, pca_itq_head, write_model
from elastichash.model import ModelSpec
from torch import nn

from .backbone import Backbone, freeze
from .data import LabelledImages
from .export import HashingNetwork, logged_parity, with_permutation
from .features import export_backbone


class ProjectionHead(nn.Module):
    """features (n, d) → outputs (n, bits) = W (features / |features| − mean) + b."""

    def __init__(self, in_features: int = 1280, bits: int = 256) -> None:
        super().__init__()
        self.in_features, self.bits = in_features, bits
        self.register_buffer("feature_mean", torch.zeros(in_features))
        self.projection = nn.Linear(in_features, bits)

    def normalised(self, features: torch.Tensor) -> torch.Tensor:
        return F.normalize(features, dim=1) - self.feature_mean

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.projection(self.normalised(features))

    @torch.no_grad()
    def permute_outputs(self, permutation: torch.Tensor) -> None:
        """New output i = old output permutation[i] (folds the decorrelation's bit order in)."""
        permutation = permutation.to(torch.long)
        self.projection.weight.copy_(self.projection.weight[permutation])
        self.projection.bias.copy_(self.projection.bias[permutation])


@dataclass(frozen=True)
class GeneralConfig:
    bits: int = 256
    itq_iterations: int = 50
    output_scale: float = 2.0  # std of each output after the PCA+ITQ start (tanh is then near ±1)
    epochs: int = 0  # 0: PCA+ITQ only (fine-tuning gained < 0.3 mAP@10 points: results/tradeoff.md)
    anchors: int = 512  # per batch; each brings one of its `neighbours` nearest as a partner
    neighbours: int = 10
    learning_rate: float = 3e-4
    target_temperature: float = 0.05  # softmax sharpness of the features' cosine similarity
    code_temperature: float = 0.05  # ... and of the codes' similarity (c·c / bits)
    quantization: float = 0.1
    balance: float = 0.1
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GeneralResult:
    head: ProjectionHead
    history: list[dict[str, float]]
    seconds: float


@torch.no_grad()
def init_pca_itq(head: ProjectionHead, features: torch.Tensor, config: GeneralConfig) -> None:
    """Mean, then PCA + ITQ projection, scaled to `output_scale` per output, thresholds at the median
    (the client's `fitting.pca_itq_head`, the one implementation)."""
    linear = pca_itq_head(features.numpy(), config.bits, config.itq_iterations, config.output_scale, config.seed)
    head.feature_mean.copy_(torch.from_numpy(linear.feature_mean))
    head.projection.weight.copy_(torch.from_numpy(linear.weight))
    head.projection.bias.copy_(torch.from_numpy(linear.bias))


def linear_head(head: ProjectionHead) -> LinearHead:
    """The head's weights as the client's `LinearHead`, which `fitting.write_model` appends to a backbone."""
    return LinearHead(
        head.feature_mean.detach().numpy().copy(),
        head.projection.weight.detach().numpy().copy(),
        head.projection.bias.detach().numpy().copy(),
    )


def nearest_neighbours(features: torch.Tensor, k: int, chunk: int = 2048) -> torch.Tensor:
    """(n, k): each row's k most cosine-similar other rows."""
    unit = F.normalize(features, dim=1)
    rows = []
    for start in range(0, len(unit), chunk):
        similarity = unit[start : start + chunk] @ unit.T
        own = torch.arange(len(similarity))
        similarity[own, own + start] = -2.0
        rows.append(similarity.topk(k, dim=1).indices)
    return torch.cat(rows)


def neighbour_loss(codes: torch.Tensor, features: torch.Tensor, config: GeneralConfig) -> torch.Tensor:
    """Listwise KL per row: softmax over the batch of the features' cosine (target) against the
    softmax of the codes' similarity, the row's own pair left out."""
    unit = F.normalize(features, dim=1)
    eye = torch.eye(len(codes), dtype=torch.bool)
    target = (unit @ unit.T).masked_fill(eye, float("-inf")) / config.target_temperature
    similarity = (codes @ codes.T / codes.shape[1]).masked_fill(eye, float("-inf")) / config.code_temperature
    p = torch.softmax(target, dim=1)
    log_q = torch.log_softmax(similarity, dim=1).masked_fill(eye, 0.0)
    log_p = torch.log_softmax(target, dim=1).masked_fill(eye, 0.0)
    return (p * (log_p - log_q)).sum(dim=1).mean()


def train_general_head(
    features: np.ndarray, config: GeneralConfig, log: Callable[[str], None] | None = print
) -> GeneralResult:
    """PCA+ITQ start, then `config.epochs` of neighbour distillation over the unlabelled `features`."""
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x = torch.as_tensor(features, dtype=torch.float32)
    head = ProjectionHead(x.shape[1], config.bits)
    started = time.perf_counter()
    init_pca_itq(head, x, config)
    history: list[dict[str, float]] = []
    if log:
        log(f"PCA + ITQ over {len(x)} features: {time.perf_counter() - started:.1f} s")
    if config.epochs > 0:
        with torch.no_grad():
            centred = head.normalised(x)
            near = nearest_neighbours(centred, config.neighbours)
        optimizer = torch.optim.Adam(head.projection.parameters(), lr=config.learning_rate)
        steps = max(1, len(x) // config.anchors)
        for epoch in range(config.epochs):
            order = rng.permutation(len(x))
            sums = {"neighbour": 0.0, "quantization": 0.0, "balance": 0.0}
            for step in range(steps):
                anchors = torch.as_tensor(order[step * config.anchors : (step + 1) * config.anchors])
                partners = near[anchors, torch.as_tensor(rng.integers(0, config.neighbours, len(anchors)))]
                rows = torch.unique(torch.cat([anchors, partners]))
                codes = torch.tanh(head(x[rows]))
                parts = {
                    "neighbour": neighbour_loss(codes, centred[rows], config),
                    "quantization": (codes.abs() - 1.0).pow(2).mean(),
                    "balance": codes.mean(dim=0).pow(2).mean(),
                }
                loss = parts["neighbour"] + config.quantization * parts["quantization"]
                loss = loss + config.balance * parts["balance"]
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for name, value in parts.items():
                    sums[name] += float(value.detach()) / steps
            history.append(sums | {"epoch": epoch + 1})
            if log:
                log(f"epoch {epoch + 1:3d}  " + "  ".join(f"{k}={v:.4f}" for k, v in sums.items()))
    head.eval()
    return GeneralResult(head, history, time.perf_counter() - started)


@torch.no_grad()
def general_outputs(head: ProjectionHead, features: np.ndarray) -> np.ndarray:
    head.eval()
    return head(torch.as_tensor(features, dtype=torch.float32)).numpy()


@dataclass
class GeneralModel:
    """A frozen backbone + linear head exported as ONNX (`path`), and how it was made."""

    path: Path
    head: ProjectionHead  # bits in the exported (decorrelated) order
    agreement: float  # parity: share of bits onnxruntime and PyTorch agree on
    history: list[dict[str, float]]
    decorrelation: dict
    timings: dict[str, float] = field(default_factory=dict)


def make_general_model(
    features: np.ndarray,
    parity_images: LabelledImages,
    spec: ModelSpec,
    path: Path,
    config: GeneralConfig,
    log: Callable[[str], None] | None = print,
) -> GeneralModel:
    """Head on `features` → decorrelated bit order → ONNX at `path` → parity over `parity_images`.

    The recipe of the default model (`elastichash-train model`) and of `fit` on a user's images.
    """
    result = train_general_head(features, config, log=log)
    timings = {"head": result.seconds}
    started = time.perf_counter()
    order = decorrelate((general_outputs(result.head, features) > 0).astype(np.uint8), seed=config.seed)
    timings["decorrelate"] = time.perf_counter() - started
    if log:
        log(f"decorrelation over {len(features)} codes: {order.report()}")
    started = time.perf_counter()
    head = with_permutation(result.head, order.permutation)  # type: ignore[arg-type]
    network = HashingNetwork(freeze(Backbone(spec.input_size)), head)  # the PyTorch side of the parity check
    backbone = export_backbone(path.with_name(f"backbone-{spec.input_size}.onnx"), spec.input_size)
    write_model(backbone, FEATURES_OUTPUT, linear_head(head), spec, path)
    timings["export"] = time.perf_counter() - started
    started = time.perf_counter()
    agreement = logged_parity(path, network, parity_images, config.seed, log or (lambda _: None))
    timings["parity"] = time.perf_counter() - started
    return GeneralModel(path, head, agreement, result.history, order.report(), timings)  # type: ignore[arg-type]
