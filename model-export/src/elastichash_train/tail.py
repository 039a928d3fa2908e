"""The backbone cut in two for fine-tuning on a CPU: a frozen prefix, cached, and a trainable tail.

EfficientNet-Lite0 = stem, 16 MBConv blocks, 1x1 head convolution, average pool. `Prefix`
runs the stem and blocks[:first]; `Tail` runs blocks[first:] and the head. Both hold the very
modules of one `Backbone`, so after training that backbone (its tail fine-tuned) goes straight
into `HashingNetwork` and the export: no weights are copied by name.

The prefix's output maps are computed once per image (onnxruntime: several times faster than
eager PyTorch on a CPU) and kept in a cache on disk keyed by the image's content, the input
size, the cut and the view (plain or mirrored), so a second run, a resume, or a run with more
epochs pays only for the tail. With a GPU the cut is not used: the whole network trains on
images (finetune.py).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from elastichash.model import ModelSpec
from PIL import Image, ImageOps
from torch import nn
from tqdm import tqdm

from .backbone import Backbone, freeze
from .data import LabelledImages
from .features import export_frozen
from .sources import content_keys

N_BLOCKS = 16  # EfficientNet-Lite0
CACHE_DTYPE = np.float16  # halves the cache; the tail computes in float32
CHUNK = 2048  # images per cache file: an interrupted extraction keeps its finished chunks


class Prefix(nn.Module):
    """Stem + blocks[:first] of a backbone (frozen): images → (n, C, h, w) maps."""

    def __init__(self, backbone: Backbone, first: int) -> None:
        super().__init__()
        self.net, self.first = backbone.net, first

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(images)))
        for block in net._blocks[: self.first]:
            x = block(x)  # frozen, eval mode: drop-connect is off anyway
        return x


class Tail(nn.Module):
    """blocks[first:] + head convolution + average pool of a backbone: maps → (n, 1280) features."""

    def __init__(self, backbone: Backbone, first: int) -> None:
        super().__init__()
        self.net, self.first = backbone.net, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        net = self.net
        rate = net._global_params.drop_connect_rate
        for index in range(self.first, len(net._blocks)):
            # as EfficientNet.extract_features: drop-connect grows with the block's depth
            x = net._blocks[index](x, drop_connect_rate=rate * index / len(net._blocks) if rate else None)
        x = net._swish(net._bn1(net._conv_head(x)))
        return x.mean(dim=(2, 3))

    def trainable_modules(self) -> list[nn.Module]:
        net = self.net
        return [*net._blocks[self.first :], net._conv_head, net._bn1]


def prefix_shape(size: int, first: int) -> tuple[int, int, int]:
    with torch.no_grad():
        backbone = freeze(Backbone(size, pretrained=False))
        return tuple(Prefix(backbone, first)(torch.zeros(1, 3, size, size)).shape[1:])  # type: ignore[return-value]


def export_prefix(path: Path, size: int, first: int) -> Path:
    """The frozen prefix alone as ONNX (output `maps`), for onnxruntime."""
    return export_frozen(freeze(Prefix(freeze(Backbone(size)), first)), path, size, "maps")


VIEWS = ("plain", "mirror")


def view(image: Image.Image, name: str) -> Image.Image:
    """A cached view of an image: as it is, or mirrored left-right (the one augmentation that survives caching)."""
    return ImageOps.mirror(image) if name == "mirror" else image


class PrefixCache:
    """Prefix maps of images, on disk, keyed by image content + input size + cut + view.

    Files: `<dir>/<S>px-b<first>-<view>/chunk-<hash>.npz`, each holding `keys` and `maps`
    (float16). Loading reads every chunk's keys and computes only the missing images.
    """

    def __init__(self, cache_dir: Path, spec: ModelSpec, first: int, threads: int | None = None) -> None:
        self.spec, self.first = spec, first
        self.root = Path(cache_dir)
        self.model_path = self.root / f"prefix-{spec.input_size}px-b{first}.onnx"
        self.threads = threads or os.cpu_count() or 1
        self._session = None

    def _run(self, batch: np.ndarray) -> np.ndarray:
        if self._session is None:
            import onnxruntime as ort

            if not self.model_path.is_file():
                export_prefix(self.model_path, self.spec.input_size, self.first)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            self._session = ort.InferenceSession(str(self.model_path), options, providers=["CPUExecutionProvider"])
        (maps,) = self._session.run(None, {"image": batch})
        return np.asarray(maps)

    def folder(self, view_name: str) -> Path:
        return self.root / f"{self.spec.input_size}px-b{self.first}-{view_name}"

    def maps(
        self,
        data: LabelledImages,
        view_name: str = "plain",
        keys: Sequence[str] | None = None,
        log: Callable[[str], None] | None = print,
    ) -> np.ndarray:
        """(n, C, h, w) float16 prefix maps of `data`'s images in order, computing what is missing."""
        keys = list(keys) if keys is not None else content_keys(data)
        folder = self.folder(view_name)
        known: dict[str, tuple[Path, int]] = {}
        for chunk in sorted(folder.glob("chunk-*.npz")) if folder.is_dir() else []:
            with np.load(chunk) as stored:
                for row, key in enumerate(stored["keys"].tolist()):
                    known[key] = (chunk, row)
        missing = [i for i, key in enumerate(keys) if key not in known]
        if missing:
            self._compute(data, keys, missing, view_name, folder, log)
            return self.maps(data, view_name, keys, log=None)
        by_chunk: dict[Path, list[tuple[int, int]]] = {}
        for i, key in enumerate(keys):
            chunk, row = known[key]
            by_chunk.setdefault(chunk, []).append((i, row))
        out: np.ndarray | None = None
        for chunk, pairs in by_chunk.items():
            with np.load(chunk) as stored:
                stored_maps = stored["maps"]
                if out is None:
                    out = np.empty((len(keys), *stored_maps.shape[1:]), dtype=CACHE_DTYPE)
                rows = np.asarray(pairs)
                out[rows[:, 0]] = stored_maps[rows[:, 1]]
        assert out is not None or not keys
        return out if out is not None else np.zeros((0, *prefix_shape(self.spec.input_size, self.first)), CACHE_DTYPE)

    def _compute(
        self,
        data: LabelledImages,
        keys: list[str],
        missing: list[int],
        view_name: str,
        folder: Path,
        log: Callable[[str], None] | None,
    ) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        unique = list(dict.fromkeys(keys[i] for i in missing))  # duplicate files: computed once
        first_index = {}
        for i in missing:
            first_index.setdefault(keys[i], i)
        todo = [first_index[key] for key in unique]
        bar = tqdm(total=len(todo), desc=f"frozen features ({view_name}, {self.spec.input_size}px)", unit="img")
        for start in range(0, len(todo), CHUNK):
            part = todo[start : start + CHUNK]
            maps = []
            for batch in _batches(part, 64):
                images = [view(data.image(i), view_name) for i in batch]
                maps.append(self._run(self.spec.preprocess_batch(images)).astype(CACHE_DTYPE))
                bar.update(len(batch))
            chunk_keys = np.asarray([keys[i] for i in part])
            name = hashlib.sha1("".join(chunk_keys.tolist()).encode()).hexdigest()[:16]
            tmp = folder / f"tmp-{name}.npz"
            np.savez(tmp, keys=chunk_keys, maps=np.concatenate(maps))
            os.replace(tmp, folder / f"chunk-{name}.npz")
        bar.close()
        if log:
            log(f"frozen features of {len(todo)} images ({view_name}) in {time.perf_counter() - started:.0f} s")


def _batches(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
