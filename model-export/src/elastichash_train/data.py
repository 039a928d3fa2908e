"""Labelled images: Fashion-MNIST from the Debian package, and any folder with one subfolder per class.

Images come out as 8-bit RGB Pillow images, made exactly as the client makes them
(`elastichash.images.load_image`: EXIF orientation, alpha on white, grey replicated to RGB),
so a model trained here sees at training time what the client feeds it at search time.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import warnings
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

FASHION_MNIST_PACKAGE = "dataset-fashion-mnist"
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm"})


class DataError(RuntimeError):
    """A data set that cannot be found or read; the message says what to do."""


@dataclass
class LabelledImages:
    """A labelled image collection: either in-memory grey arrays or image files on disk."""

    name: str
    labels: np.ndarray  # (n,) int64
    class_names: tuple[str, ...]
    arrays: np.ndarray | None = None  # (n, h, w) uint8 grey images
    paths: tuple[Path, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def image(self, index: int) -> Image.Image:
        """The index-th image as 8-bit RGB, as the client would load it."""
        if self.arrays is not None:
            return Image.fromarray(self.arrays[index], mode="L").convert("RGB")
        assert self.paths is not None
        from elastichash.images import load_image

        return load_image(self.paths[index])

    def images(self, indices: Sequence[int] | None = None) -> Iterator[Image.Image]:
        for index in range(len(self)) if indices is None else indices:
            yield self.image(int(index))

    def subset(self, indices: Sequence[int] | np.ndarray, name: str | None = None) -> LabelledImages:
        indices = np.asarray(indices, dtype=np.int64)
        return LabelledImages(
            name=name or f"{self.name}[{len(indices)}]",
            labels=self.labels[indices],
            class_names=self.class_names,
            arrays=None if self.arrays is None else self.arrays[indices],
            paths=None if self.paths is None else tuple(self.paths[i] for i in indices),
        )


def find_fashion_mnist() -> Path:
    """The folder holding the Fashion-MNIST idx files of the Debian package."""
    override = os.environ.get("FASHION_MNIST_DIR")
    candidates = [Path(override)] if override else []
    candidates.append(FASHION_MNIST_DIR)
    if shutil.which("dpkg"):
        listing = subprocess.run(["dpkg", "-L", FASHION_MNIST_PACKAGE], capture_output=True, text=True, check=False)
        candidates += [Path(line).parent for line in listing.stdout.splitlines() if line.endswith("idx3-ubyte.gz")]
    for folder in candidates:
        if all((folder / name).is_file() for files in FASHION_MNIST_FILES.values() for name in files):
            return folder
    raise DataError(
        f"Fashion-MNIST not found (looked in {', '.join(map(str, dict.fromkeys(candidates)))}); "
        f"install it with: apt-get install {FASHION_MNIST_PACKAGE}  (or set FASHION_MNIST_DIR)"
    )


def read_idx(path: Path) -> np.ndarray:
    """An idx file (gzip or plain; the MNIST format) as a numpy array."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        data = stream.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an idx file")
    dtypes = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if data[2] not in dtypes:
        raise DataError(f"{path}: unknown idx element type 0x{data[2]:02x}")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, dtype=dtypes[data[2]], offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise DataError(f"{path}: {array.size} values, header says {shape}")
    return array.reshape(shape)


def load_fashion_mnist(split: str, folder: Path | None = None) -> LabelledImages:
    """Fashion-MNIST `train` (60k) or `test` (10k): 28x28 grey images and labels 0-9."""
    if split not in FASHION_MNIST_FILES:
        raise ValueError(f"split must be one of {tuple(FASHION_MNIST_FILES)}, got {split!r}")
    folder = folder or find_fashion_mnist()
    image_file, label_file = FASHION_MNIST_FILES[split]
    arrays = read_idx(folder / image_file)
    labels = read_idx(folder / label_file).astype(np.int64)
    if arrays.shape[0] != labels.shape[0]:
        raise DataError(f"{folder}: {arrays.shape[0]} images but {labels.shape[0]} labels in {split}")
    return LabelledImages(f"fashion-mnist-{split}", labels, FASHION_MNIST_CLASSES, arrays=arrays)


def load_image_folder(
    root: str | os.PathLike,
    name: str | None = None,
    max_per_class: int | None = None,
    min_per_class: int = 1,
    exclude: Collection[str] = (),
    max_pixels: int = 20_000_000,
    seed: int = 0,
) -> LabelledImages:
    """A folder with one subfolder per class (images anywhere below it) as labelled image files.

    Classes are the subfolder names in sorted order, less those named in `exclude`; classes
    with fewer than `min_per_class` images are left out; at most `max_per_class` images per
    class are kept (a seeded sample). Files Pillow cannot identify, or larger than
    `max_pixels` (Open Clip Art has a 169-megapixel PNG), are skipped.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder")
    rng = np.random.default_rng(seed)
    class_names: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in exclude):
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        files = [p for p in files if _readable(p, max_pixels)]
        if len(files) < min_per_class:
            continue
        if max_per_class is not None and len(files) > max_per_class:
            files = [files[i] for i in sorted(rng.choice(len(files), max_per_class, replace=False))]
        labels += [len(class_names)] * len(files)
        class_names.append(folder.name)
        paths += files
    if not paths:
        raise DataError(f"{root}: no class subfolder with at least {min_per_class} images")
    return LabelledImages(name or root.name, np.asarray(labels, dtype=np.int64), tuple(class_names), paths=tuple(paths))


def _readable(path: Path, max_pixels: int) -> bool:
    """Whether Pillow identifies the file as an image of at most `max_pixels` (reads the header only)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                return image.width * image.height <= max_pixels
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return False
