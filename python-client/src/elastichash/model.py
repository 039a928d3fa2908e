"""Running an ONNX hashing model: images in, 256-bit codes out.

What a model must declare in its ONNX metadata is written down in docs/model-format.md;
`ModelSpec.from_metadata` is the one place that reads it.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

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
OPTIONAL_KEYS = ("input_name", "features_output")
NO_DEFAULT_MODEL = (
    "no default model is bundled with this installation yet; "
    "pass the path of a model (an ONNX file made by model-export, see docs/model-format.md)"
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
    color_mode: str = "RGB"
    output: str = "logits"
    #: The graph output holding the backbone's pooled features, where the model exposes them
    #: (what `elastichash fit` learns a new head from).
    features_output: str | None = None

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str], source: str = "model") -> ModelSpec:
        """Reads and checks the metadata; a ModelError lists every missing or invalid key."""
        reader = _MetadataReader(metadata)
        missing = [key for key in REQUIRED_KEYS if key not in metadata]
        version = metadata.get("elastichash.format_version")
        if version is not None and version != FORMAT_VERSION:
            reader.problem(
                f"elastichash.format_version={version!r}: this client reads model format "
                f"version {FORMAT_VERSION!r}"
            )
        values: dict[str, Any] = {
            "input_size": reader.integer("input_size"),
            "resize": reader.choice("resize", RESIZE_POLICIES),
            "resize_size": reader.integer("resize_size"),
            "mean": reader.triple("mean"),
            "std": reader.triple("std", positive=True),
            "color_mode": reader.choice("color_mode", ("RGB",)),
            "bits": reader.integer("bits"),
            "short_bits": reader.integer("short_bits"),
            "subcode_bits": reader.integer("subcode_bits"),
            "output": reader.choice("output", ("logits",)),
            "model_version": reader.text("model_version"),
            "trained_on": reader.text("trained_on"),
            "input_name": reader.text("input_name"),
            "features_output": reader.text("features_output"),
        }
        layout = (values["bits"], values["short_bits"], values["subcode_bits"])
        expected = (codes.CODE_BITS, codes.SHORT_BITS, codes.SUBCODE_BITS)
        if None not in layout and layout != expected:
            reader.problem(
                f"code layout bits/short_bits/subcode_bits = {'/'.join(map(str, layout))}, "
                f"this client handles {'/'.join(map(str, expected))}"
            )
        crop = values["resize"] == "shorter_side_then_center_crop"
        sizes = (values["resize_size"], values["input_size"])
        if crop and None not in sizes and sizes[0] < sizes[1]:
            reader.problem(
                f"resize_size={sizes[0]} is smaller than input_size={sizes[1]}; "
                "the centre crop needs resize_size >= input_size"
            )
        if missing or reader.problems:
            parts = ([f"metadata lacks {', '.join(missing)}"] if missing else []) + reader.problems
            raise ModelError(f"{source}: {'; '.join(parts)} (see docs/model-format.md)")
        return cls(**values)

    def metadata(self) -> dict[str, str]:
        """The metadata_props that describe this spec (the inverse of `from_metadata`)."""
        props = {
            "elastichash.format_version": FORMAT_VERSION,
            "input_size": str(self.input_size),
            "resize": self.resize,
            "resize_size": str(self.resize_size),
            "mean": json.dumps(list(self.mean)),
            "std": json.dumps(list(self.std)),
            "color_mode": self.color_mode,
            "bits": str(self.bits),
            "short_bits": str(self.short_bits),
            "subcode_bits": str(self.subcode_bits),
            "output": self.output,
            "model_version": self.model_version,
            "trained_on": self.trained_on,
        }
        if self.input_name is not None:
            props["input_name"] = self.input_name
        if self.features_output is not None:
            props["features_output"] = self.features_output
        return props

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """An RGB image → (3, S, S) float32: resized, cropped and normalised per this spec.

        Steps 4-6 of docs/model-format.md. No ONNX session is needed, so model-export trains on
        exactly the arrays the client feeds the exported model.
        """
        if image.mode != "RGB":
            raise ValueError(
                f"preprocess takes an RGB image (see load_image), got mode {image.mode}"
            )
        size = self.input_size
        if self.resize == "stretch":
            image = image.resize((size, size), Image.Resampling.BILINEAR)
        else:
            scale = self.resize_size / min(image.size)
            resized = (
                max(size, round(image.width * scale)),
                max(size, round(image.height * scale)),
            )
            image = image.resize(resized, Image.Resampling.BILINEAR)
            left, top = (image.width - size) // 2, (image.height - size) // 2
            image = image.crop((left, top, left + size, top + size))
        array = np.asarray(image, dtype=np.float32) / 255.0
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        return ((array - mean) / std).transpose(2, 0, 1)

    def preprocess_batch(self, images: Iterable[Image.Image]) -> np.ndarray:
        """RGB images → (n, 3, S, S) float32 (`preprocess` of each, stacked)."""
        arrays = [self.preprocess(image) for image in images]
        if not arrays:
            return np.zeros((0, 3, self.input_size, self.input_size), dtype=np.float32)
        return np.stack(arrays)


class _MetadataReader:
    """Parses metadata values; each bad one adds a sentence to `problems` and gives None."""

    def __init__(self, metadata: Mapping[str, str]) -> None:
        self.metadata = metadata
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def integer(self, key: str) -> int | None:
        raw = self.metadata.get(key)
        if raw is None:
            return None
        try:
            value = int(raw)
        except (TypeError, ValueError):
            return self.problem(f"{key}={raw!r} is not an integer")
        if value <= 0:
            return self.problem(f"{key}={raw!r} must be a positive integer")
        return value

    def choice(self, key: str, allowed: tuple[str, ...]) -> str | None:
        raw = self.metadata.get(key)
        if raw is None:
            return None
        if raw not in allowed:
            return self.problem(f"{key}={raw!r}, expected one of {', '.join(map(repr, allowed))}")
        return raw

    def triple(self, key: str, positive: bool = False) -> tuple[float, float, float] | None:
        raw = self.metadata.get(key)
        if raw is None:
            return None
        try:
            values = json.loads(raw)
            if not isinstance(values, list) or len(values) != 3:
                raise ValueError
            numbers = tuple(float(v) for v in values if not isinstance(v, bool | str))
            if len(numbers) != 3 or not all(math.isfinite(v) for v in numbers):
                raise ValueError
        except (ValueError, TypeError):
            return self.problem(f"{key}={raw!r} must be a JSON list of 3 finite numbers")
        if positive and min(numbers) <= 0:
            return self.problem(f"{key}={raw!r} must hold positive numbers")
        return (numbers[0], numbers[1], numbers[2])

    def text(self, key: str) -> str | None:
        raw = self.metadata.get(key)
        if raw is None:
            return None
        if not raw.strip():
            return self.problem(f"{key} is empty")
        return raw


@dataclass(frozen=True)
class ModelIdentity:
    """Which model made a code: the SHA-256 of its ONNX file, with its `model_version`, code
    length and file name for people. Two files are the same model when their digests are equal;
    an index records the identity of the model that wrote its codes (`index_meta`)."""

    sha256: str
    model_version: str
    bits: int
    file: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "model_version": self.model_version,
            "bits": self.bits,
            "file": self.file,
        }

    @classmethod
    def from_dict(cls, value: object) -> ModelIdentity | None:
        """The identity `as_dict` wrote; None for anything else (not one, or damaged)."""
        if not isinstance(value, dict) or not isinstance(value.get("sha256"), str):
            return None
        bits = value.get("bits")
        return cls(
            sha256=value["sha256"],
            model_version=str(value.get("model_version", "?")),
            bits=bits if isinstance(bits, int) else 0,
            file=str(value.get("file", "")),
        )

    def describe(self) -> str:
        """The model in words: `'lite0-v3' (default.onnx, sha256 0123456789ab)`."""
        file = f"{self.file}, " if self.file else ""
        return f"{self.model_version!r} ({file}sha256 {self.sha256[:12]})"


def file_sha256(path: str | os.PathLike) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


#: The models bundled with the package, by the name that `HashModel(name)` and `--model NAME`
#: take: the default model, and its int8 copy (about 2x faster to encode on CPUs with int8
#: instructions, mAP within 0.3 points; docs/model.md). Their codes differ: an index takes one.
BUNDLED_MODELS = {"default": "default.onnx", "int8": "default-int8.onnx"}
#: Where a model runs: onnxruntime's CPU provider, or its CUDA provider (onnxruntime-gpu).
DEVICES = ("cpu", "cuda")


def bundled_model_path(name: str = "default") -> Path:
    """Where a bundled model (BUNDLED_MODELS) lives inside the package (it may be absent)."""
    return Path(str(resources.files("elastichash") / "models" / BUNDLED_MODELS[name]))


def default_model_path() -> Path:
    """Where the bundled default model lives inside the package (it may be absent)."""
    return bundled_model_path("default")


def int8_products_saturate() -> bool:
    """Whether onnxruntime's int8 kernels on this CPU add pairs of products in 16 bits, which
    saturate: x86 without AVX-512 VNNI (as numpy's CPU dispatch sees it; AVX-VNNI alone is not
    reported, so such CPUs count here too).

    There the bundled int8 model's codes of real images lay a mean 38 of 256 bits from a VNNI
    CPU's (measured under QEMU's Haswell CPU; docs/model.md), so HashModel asks onnxruntime to
    multiply such layers exactly instead (`session.x64quantprecision`; tests/test_int8_cpus.py).
    Not on every CPU: on an AVX-512 VNNI CPU, which never saturates, it halves int8 speed.
    """
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64", "i386", "i686", "x86"):
        return False  # Arm's int8 kernels widen before they add
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # numpy moved it: take the exact path
        return True
    return not __cpu_features__.get("AVX512VNNI", False)


def _providers(device: str) -> list[str]:
    import onnxruntime as ort

    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device != "cuda":
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise ModelError(
            "device cuda: this onnxruntime has no CUDA support; install onnxruntime-gpu (on a "
            "machine with an NVIDIA GPU and its CUDA runtime) or run on the cpu"
        )
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class HashModel:
    """An ONNX hashing model under onnxruntime (CPUExecutionProvider).

    >>> model = HashModel("model.onnx")
    >>> bits = model.encode(["a.jpg", "b.png"])     # (2, 256) uint8
    >>> model.encode_hex(["a.jpg"])                  # ['3fa0...'] (64 hex characters)
    """

    def __init__(
        self, path: str | os.PathLike | None = None, threads: int | None = None, device: str = "cpu"
    ) -> None:
        """Loads `path`: an ONNX file, or the name of a model bundled with the package
        (BUNDLED_MODELS: "default", "int8"); None is the default model.

        `threads` caps onnxruntime's intra-op threads (default: onnxruntime's choice). `device`
        "cuda" runs it on an NVIDIA GPU (onnxruntime-gpu); a ModelError says so where that
        cannot be.
        """
        import onnxruntime as ort  # deferred: importing it costs ~0.3 s

        name = "default" if path is None else os.fspath(path)
        if name in BUNDLED_MODELS and not Path(name).is_file():
            path = default_model_path() if name == "default" else bundled_model_path(name)
            if not path.is_file():
                raise ModelError(
                    NO_DEFAULT_MODEL
                    if name == "default"
                    else f"no {name} model is bundled with this installation",
                    kind="no_default_model",
                )
        self.path = Path(path)  # type: ignore[arg-type]
        if not self.path.is_file():
            raise ModelError(
                f"{self.path}: no such model file (bundled models: {', '.join(BUNDLED_MODELS)})"
            )
        options = ort.SessionOptions()
        if int8_products_saturate():
            options.add_session_config_entry("session.x64quantprecision", "1")
        if threads:
            options.intra_op_num_threads = threads
        providers = _providers(device)
        try:
            self.session = ort.InferenceSession(str(self.path), options, providers=providers)
        except Exception as error:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{self.path}: onnxruntime cannot load it ({error})") from error
        if providers[0] not in self.session.get_providers():
            raise ModelError(
                f"device {device}: onnxruntime could not start it here (no usable GPU or CUDA "
                "runtime found); run on the cpu"
            )
        self.device = device
        metadata = self.session.get_modelmeta().custom_metadata_map
        self.spec = ModelSpec.from_metadata(metadata, source=str(self.path))
        self.input_name = self._check_input()
        self.output_name = self._check_output()
        self._identity: ModelIdentity | None = None

    def _check_input(self) -> str:
        inputs = {node.name: node for node in self.session.get_inputs()}
        name = self.spec.input_name
        if name is None:
            if len(inputs) != 1:
                raise ModelError(
                    f"{self.path}: the model has {len(inputs)} inputs ({', '.join(inputs)}) and "
                    "its metadata has no input_name to say which one takes the image"
                )
            name = next(iter(inputs))
        elif name not in inputs:
            raise ModelError(
                f"{self.path}: metadata input_name={name!r}, but the model's inputs are "
                f"{', '.join(inputs)}"
            )
        node = inputs[name]
        self.fixed_batch = node.shape[0] if isinstance(node.shape[0], int) else None
        size = self.spec.input_size
        expected = ["n", 3, size, size]
        shape = list(node.shape)
        if (
            node.type != "tensor(float)"
            or len(shape) != 4
            or any(
                isinstance(d, int) and d != e for d, e in zip(shape[1:], expected[1:], strict=True)
            )
        ):
            raise ModelError(
                f"{self.path}: input {name!r} is {node.type} {shape}; "
                f"expected tensor(float) (n, 3, {size}, {size}) as the metadata's input_size says"
            )
        return name

    def _check_output(self) -> str:
        outputs = self.session.get_outputs()
        node = outputs[0]
        shape = list(node.shape)
        if len(shape) != 2 or (isinstance(shape[1], int) and shape[1] != self.spec.bits):
            raise ModelError(
                f"{self.path}: output {node.name!r} has shape {shape}; "
                f"expected (n, {self.spec.bits})"
            )
        name = self.spec.features_output
        if name is not None:
            features = {output.name: output for output in outputs}.get(name)
            if features is None or len(features.shape) != 2 or name == node.name:
                raise ModelError(
                    f"{self.path}: metadata features_output={name!r}, but the model has no "
                    f"second output of that name with shape (n, d); its outputs are "
                    f"{', '.join(output.name for output in outputs)}"
                )
        return node.name

    @property
    def has_features(self) -> bool:
        """Whether the model exposes its backbone's features (`features`)."""
        return self.spec.features_output is not None

    def __repr__(self) -> str:
        return f"HashModel({str(self.path)!r}, version={self.spec.model_version!r})"

    @property
    def identity(self) -> ModelIdentity:
        """Which model this is (its file's digest, computed once): what an index records."""
        if self._identity is None:
            self._identity = ModelIdentity(
                file_sha256(self.path), self.spec.model_version, self.spec.bits, self.path.name
            )
        return self._identity

    def preprocess(self, image: Image.Image) -> np.ndarray:
        """An RGB image → (3, S, S) float32, resized, cropped and normalised as the model wants.

        The steps are `ModelSpec.preprocess`'s, the one place they live (training uses it too).
        """
        return self.spec.preprocess(image)

    def outputs(self, images: Sequence[Image.Image]) -> np.ndarray:
        """The raw (n, 256) float outputs for a batch of RGB images."""
        return self.outputs_of_arrays([self.preprocess(image) for image in images])

    def outputs_of_arrays(self, arrays: Sequence[np.ndarray]) -> np.ndarray:
        """The raw (n, 256) float outputs for images already preprocessed (`preprocess`).

        Lets a caller keep only the small arrays of a batch, not its decoded images.
        """
        if not len(arrays):
            return np.zeros((0, self.spec.bits), dtype=np.float32)
        batch = np.stack(arrays)
        step = self.fixed_batch or len(batch)
        parts = []
        for start in range(0, len(batch), step):
            part = batch[start : start + step]
            if len(part) < step:  # a model exported with a fixed batch size: pad the last one
                part = np.concatenate(
                    [part, np.zeros((step - len(part), *part.shape[1:]), part.dtype)]
                )
            parts.append(self._run(part))
        result = np.concatenate(parts)[: len(batch)]
        if result.shape != (len(batch), self.spec.bits):
            raise ModelError(
                f"{self.path}: the model gave outputs of shape {result.shape} for {len(batch)} "
                f"images; the metadata says ({len(batch)}, {self.spec.bits})"
            )
        return result

    def outputs_and_features(self, arrays: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The raw (n, 256) outputs and the backbone's (n, d) float features of preprocessed
        images, from one run: what a new head is fitted on (`elastichash.fitting`).

        Only models that declare `features_output` have them (the default model does).
        """
        name = self.spec.features_output
        if name is None:
            raise ModelError(
                f"{self.path}: this model does not expose its backbone's features (no "
                "features_output in its metadata); fitting needs one that does, like the default "
                "model"
            )
        try:
            outputs, features = self.session.run(
                [self.output_name, name], {self.input_name: np.stack(arrays)}
            )
        except Exception as error:  # onnxruntime's errors are untyped
            raise ModelError(f"{self.path}: inference failed ({error})") from error
        return np.asarray(outputs, dtype=np.float32), np.asarray(features, dtype=np.float32)

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            (result,) = self.session.run([self.output_name], {self.input_name: batch})
        except Exception as error:  # onnxruntime's errors are untyped
            raise ModelError(f"{self.path}: inference failed ({error})") from error
        result = np.asarray(result)
        if result.ndim != 2 or result.shape[0] != len(batch):
            raise ModelError(
                f"{self.path}: the model gave outputs of shape {result.shape} for a batch of "
                f"{len(batch)}; expected ({len(batch)}, {self.spec.bits})"
            )
        return result

    def encode(self, images: Iterable[ImageSource], batch_size: int = 32) -> np.ndarray:
        """Codes of images (paths, bytes, binary files or Pillow images) as (n, 256) uint8 bits.

        Images are decoded lazily, `batch_size` at a time; an unusable image raises ImageError
        naming it.
        """
        if isinstance(images, str | bytes | os.PathLike | Image.Image | io.IOBase):
            raise TypeError("encode takes a sequence of images; for one image use encode_one")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        chunks = [
            codes.bits_from_outputs(self.outputs_of_arrays(batch))
            for batch in _batches(images, batch_size, self.preprocess)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, self.spec.bits), dtype=np.uint8)

    def encode_hex(self, images: Iterable[ImageSource], batch_size: int = 32) -> list[str]:
        """Codes of images as 64-character lowercase hex strings."""
        bits = self.encode(images, batch_size)
        return [row.tobytes().hex() for row in codes.pack_bits(bits)]

    def encode_one(self, image: ImageSource) -> codes.Code:
        """The code of one image."""
        return codes.Code.from_bits(self.encode([image])[0])


def _batches(
    images: Iterable[ImageSource], size: int, preprocess: Callable[[Image.Image], np.ndarray]
) -> Iterator[list[np.ndarray]]:
    """Preprocessed arrays, `size` at a time; each image is decoded, preprocessed and dropped
    before the next one is read, so a batch of large photos never sits in memory at once."""
    batch: list[np.ndarray] = []
    for image in images:
        batch.append(preprocess(load_image(image)))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
