"""Running an ONNX hashing model: images in, 256-bit codes out.

What a model must declare in its ONNX metadata is written down in docs/model-format.md;
`ModelSpec.from_metadata` is the one place that reads it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from . import codes
from .errors import ModelError
from .images import ImageSource, load_image

FORMAT_VERSION = "1"
RESIZE_POLICIES = ("shorter_side_then_center_crop", "stretch")
REQUIRED_KEYS = (
    "elastichash.format_version",
    "input_size",
    "resize",
    "resize_size",
    "mean",
    "std",
    "color_mode",
    "bits",
    "short_bits",
    "subcode_bits",
    "output",
    "model_version",
    "trained_on",
)


@dataclass(frozen=True)
class ModelSpec:
    """What a client needs to know about a model: preprocessing and code layout."""

    input_size: int
    resize: str
    resize_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    bits: int
    short_bits: int
    subcode_bits: int
    model_version: str
    trained_on: str
    input_name: str | None = None

    @classmethod
    def from_metadata(cls, metadata: dict[str, str], source: str = "model") -> ModelSpec:
        missing = [key for key in REQUIRED_KEYS if key not in metadata]
        if missing:
            raise ModelError(f"{source}: metadata lacks {', '.join(missing)} (see docs/model-format.md)")
        if metadata["elastichash.format_version"] != FORMAT_VERSION:
            raise ModelError(
                f"{source}: model format version {metadata['elastichash.format_version']!r}, "
                f"this client reads version {FORMAT_VERSION!r}"
            )

        def number(key: str) -> int:
            try:
                value = int(metadata[key])
            except ValueError:
                raise ModelError(f"{source}: metadata {key}={metadata[key]!r} is not an integer") from None
            if value <= 0:
                raise ModelError(f"{source}: metadata {key} must be positive, got {value}")
            return value

        def triple(key: str) -> tuple[float, float, float]:
            try:
                values = json.loads(metadata[key])
                if len(values) != 3:
                    raise ValueError
                return tuple(float(v) for v in values)  # type: ignore[return-value]
            except (ValueError, TypeError):
                raise ModelError(f"{source}: metadata {key} must be a JSON list of 3 numbers") from None

        if metadata["resize"] not in RESIZE_POLICIES:
            raise ModelError(f"{source}: metadata resize={metadata['resize']!r}, expected one of {RESIZE_POLICIES}")
        if metadata["color_mode"] != "RGB":
            raise ModelError(f"{source}: metadata color_mode={metadata['color_mode']!r}, only 'RGB' is supported")
        if metadata["output"] != "logits":
            raise ModelError(f"{source}: metadata output={metadata['output']!r}, expected 'logits'")
        spec = cls(
            input_size=number("input_size"),
            resize=metadata["resize"],
            resize_size=number("resize_size"),
            mean=triple("mean"),
            std=triple("std"),
            bits=number("bits"),
            short_bits=number("short_bits"),
            subcode_bits=number("subcode_bits"),
            model_version=metadata["model_version"],
            trained_on=metadata["trained_on"],
            input_name=metadata.get("input_name"),
        )
        layout = (spec.bits, spec.short_bits, spec.subcode_bits)
        if layout != (codes.CODE_BITS, codes.SHORT_BITS, codes.SUBCODE_BITS):
            raise ModelError(
                f"{source}: code layout bits/short_bits/subcode_bits = {layout}; "
                f"this client handles {(codes.CODE_BITS, codes.SHORT_BITS, codes.SUBCODE_BITS)}"
            )
        if any(s <= 0 for s in spec.std):
            raise ModelError(f"{source}: metadata std must be positive, got {spec.std}")
        return spec


def default_model_path() -> Path:
    """Where the bundled default model lives inside the package."""
    return Path(str(resources.files("elastichash") / "models" / "default.onnx"))


class HashModel:
    """An ONNX hashing model under onnxruntime (CPU)."""

    def __init__(self, path: str | os.PathLike | None = None, threads: int | None = None) -> None:
        import onnxruntime as ort  # deferred: importing it costs ~0.3 s

        if path is None:
            path = default_model_path()
            if not path.is_file():
                raise ModelError(
                    "no default model is bundled with this installation yet; "
                    "pass a model with --model PATH (an ONNX file made by model-export)"
                )
        self.path = Path(path)
        if not self.path.is_file():
            raise ModelError(f"{self.path}: no such model file")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{self.path}: onnxruntime cannot load it ({error})") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.spec = ModelSpec.from_metadata(metadata, source=str(self.path))
        inputs = self.session.get_inputs()
        if self.spec.input_name is None and len(inputs) != 1:
            raise ModelError(f"{self.path}: {len(inputs)} inputs and no input_name in the metadata")
        self.input_name = self.spec.input_name or inputs[0].name

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """An RGB image → (3, S, S) float32, resized, cropped and normalised as the model wants."""
        size = self.spec.input_size
        if self.spec.resize == "stretch":
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        else:
            scale = self.spec.resize_size / min(image.size)
            resized = (max(size, round(image.width * scale)), max(size, round(image.height * scale)))
            image = image.resize(resized, Image.Resampling.BILINEAR)
            left, top = (image.width - size) // 2, (image.height - size) // 2
            image = image.crop((left, top, left + size, top + size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        array = (array - np.asarray(self.spec.mean, dtype=np.float32)) / np.asarray(self.spec.std, dtype=np.float32)
        return array.transpose(2, 0, 1)

    def outputs(self, images: Sequence[Image.Image]) -> np.ndarray:
        """The raw (n, 256) outputs for a batch of RGB images."""
        batch = np.stack([self.preprocess(image) for image in images])
        (result,) = self.session.run(None, {self.input_name: batch})[:1]
        result = np.asarray(result).reshape(len(images), -1)
        if result.shape[1] != self.spec.bits:
            raise ModelError(
                f"{self.path}: model gave {result.shape[1]} outputs per image, metadata says {self.spec.bits}"
            )
        return result

    def encode(self, images: Iterable[ImageSource], batch_size: int = 32) -> np.ndarray:
        """Codes of images (paths, bytes, files or Pillow images) as (n, 256) bits."""
        chunks = [codes.bits_from_outputs(self.outputs(batch)) for batch in _batches(images, batch_size)]
        return np.concatenate(chunks) if chunks else np.zeros((0, codes.CODE_BITS), dtype=np.uint8)

    def encode_one(self, image: ImageSource) -> codes.Code:
        """The code of one image."""
        return codes.Code.from_bits(self.encode([image])[0])


def _batches(images: Iterable[ImageSource], size: int) -> Iterator[list[Image.Image]]:
    batch: list[Image.Image] = []
    for image in images:
        batch.append(load_image(image))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
