"""Frozen-backbone features, computed once per data set and cached as .npy.

The backbone alone is exported to ONNX and run under onnxruntime: on a CPU it is several
times faster than eager PyTorch for EfficientNet's depthwise convolutions, and it is the
runtime the client uses, so the cached features are what the deployed model computes.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from elastichash.model import ModelSpec
from PIL import Image

from .backbone import DEFAULT_VARIANT, FEATURES, Backbone, freeze
from .data import LabelledImages

INPUT_NAME = "image"  # of every ONNX graph made here, as docs/model-format.md names it


def export_frozen(module: torch.nn.Module, path: Path, image_size: int, output: str) -> Path:
    """Writes a frozen image network as ONNX for onnxruntime (input `image`, output `output`,
    dynamic batch), atomically: an interrupted export never leaves a file a rerun would trust."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with warnings.catch_warnings():
        # The exporter's notes on the static "same" padding's Slice ops: harmless, and noise to a user.
        warnings.filterwarnings("ignore", message="Constant folding")
        torch.onnx.export(
            module,
            (torch.zeros(2, 3, image_size, image_size),),
            str(tmp),
            input_names=[INPUT_NAME],
            output_names=[output],
            dynamic_axes={INPUT_NAME: {0: "n"}, output: {0: "n"}},
            opset_version=17,
            dynamo=False,
        )
    os.replace(tmp, path)
    return path


def export_backbone(path: Path, image_size: int, variant: str = DEFAULT_VARIANT) -> Path:
    """Writes the frozen backbone alone as ONNX (output `features`)."""
    return export_frozen(freeze(Backbone(image_size, variant=variant)), path, image_size, "features")


def cpu_session(path: Path, threads: int | None = None):  # noqa: ANN201 (onnxruntime is imported lazily)
    """An onnxruntime session of `path` on the CPU, on `threads` threads (default: every core)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or os.cpu_count() or 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class FeatureExtractor:
    """Images → (n, 1280) backbone features via onnxruntime."""

    def __init__(
        self, build_dir: Path, spec: ModelSpec, threads: int | None = None, variant: str = DEFAULT_VARIANT
    ) -> None:
        self.spec = spec  # the client's preprocessing, so features match what the deployed model sees
        self.variant = variant
        self.tag = "" if variant == DEFAULT_VARIANT else f"-{variant}"  # in file names: Lite0's stay as they were
        path = build_dir / f"backbone{self.tag}-{spec.input_size}.onnx"
        if not path.is_file():
            export_backbone(path, spec.input_size, variant)
        self.path = path  # output `features`: the base graph a fitted head is appended to
        self.session = cpu_session(path, threads)

    def __call__(
        self,
        images: Iterable[Image.Image],
        batch_size: int = 64,
        progress: Callable[[int], None] | None = None,
    ) -> np.ndarray:
        chunks = []
        for batch in batches(images, batch_size):
            (features,) = self.session.run(None, {"image": self.spec.preprocess_batch(batch)})
            chunks.append(np.asarray(features, dtype=np.float32))
            if progress:
                progress(len(batch))
        return np.concatenate(chunks) if chunks else np.zeros((0, FEATURES), dtype=np.float32)


def batches(images: Iterable[Image.Image], size: int) -> Iterator[list[Image.Image]]:
    batch: list[Image.Image] = []
    for image in images:
        batch.append(image)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def cached_features(
    extractor: FeatureExtractor,
    data: LabelledImages,
    cache_dir: Path,
    images: Iterable[Image.Image] | None = None,
    tag: str = "",
    log: Callable[[str], None] | None = print,
) -> np.ndarray:
    """Features of `data` (or of `images`, named by `tag`), from cache_dir when already computed."""
    size = extractor.spec.input_size
    path = cache_dir / f"{data.name}{tag}{extractor.tag}-{size}px.npy"
    if path.is_file():
        return np.load(path)
    cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if log and (done // 5000) != ((done - n) // 5000):
            log(f"  {data.name}{tag}: {done} images, {time.perf_counter() - started:.0f} s")

    features = extractor(data.images() if images is None else images, progress=progress)
    np.save(path.with_suffix(".tmp.npy"), features)
    os.replace(path.with_suffix(".tmp.npy"), path)
    if log:
        log(f"features {data.name}{tag}: {features.shape} in {time.perf_counter() - started:.1f} s")
    return features
