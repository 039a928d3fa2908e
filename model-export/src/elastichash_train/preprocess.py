"""Image → normalised (3, S, S) float32, step for step as the client does it (docs/model-format.md).

The client (`elastichash.model.HashModel.preprocess`) resizes with Pillow's bilinear filter,
scales to 0-1, subtracts the mean and divides by the standard deviation, NCHW. Training uses
this same function so the codes at search time match those at training time; a test checks
that both give the same array.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from PIL import Image

# EfficientNet-Lite was trained (TensorFlow) on pixels mapped as (p - 127) / 128; on 0-1 pixels:
LITE_MEAN = (0.498, 0.498, 0.498)
LITE_STD = (0.502, 0.502, 0.502)


@dataclass(frozen=True)
class Preprocessing:
    """The input side of a model's metadata: size, resize policy, normalisation."""

    input_size: int = 96
    resize: str = "stretch"
    resize_size: int = 96
    mean: tuple[float, float, float] = LITE_MEAN
    std: tuple[float, float, float] = LITE_STD

    def __post_init__(self) -> None:
        if self.resize not in ("stretch", "shorter_side_then_center_crop"):
            raise ValueError(f"resize must be 'stretch' or 'shorter_side_then_center_crop', got {self.resize!r}")

    def metadata(self) -> dict[str, str]:
        """The metadata_props keys that describe this preprocessing."""
        return {
            "input_size": str(self.input_size),
            "resize": self.resize,
            "resize_size": str(self.resize_size),
            "mean": json.dumps(list(self.mean)),
            "std": json.dumps(list(self.std)),
            "color_mode": "RGB",
        }

    def __call__(self, image: Image.Image) -> np.ndarray:
        """An 8-bit RGB image → (3, S, S) float32."""
        size = self.input_size
        if image.mode != "RGB":
            raise ValueError(f"expected an RGB image, got mode {image.mode}")
        if self.resize == "stretch":
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        else:
            scale = self.resize_size / min(image.size)
            resized = (max(size, round(image.width * scale)), max(size, round(image.height * scale)))
            image = image.resize(resized, Image.Resampling.BILINEAR)
            left, top = (image.width - size) // 2, (image.height - size) // 2
            image = image.crop((left, top, left + size, top + size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        array = (array - np.asarray(self.mean, dtype=np.float32)) / np.asarray(self.std, dtype=np.float32)
        return array.transpose(2, 0, 1)

    def batch(self, images: Iterable[Image.Image]) -> np.ndarray:
        """Images → (n, 3, S, S) float32."""
        arrays = [self(image) for image in images]
        if not arrays:
            return np.zeros((0, 3, self.input_size, self.input_size), dtype=np.float32)
        return np.stack(arrays)
