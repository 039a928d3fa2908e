"""The image collections besides Fashion-MNIST, all from Debian packages (installed by `make setup`).

- *Diverse images* for the similarity-preservation loss: Tux Paint's stamp pictures
  (`tuxpaint-stamps-default`: ~800 PNG drawings of animals, food, vehicles, people, …), used
  WITHOUT their labels, each also mirrored and cropped.
- *Cross-domain evaluation*: Open Clip Art's PNGs (`openclipart-png`), one folder per
  category (animals, food, transportation, …). The model never sees them in training.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from .data import LabelledImages, load_image_folder

DIVERSE_PACKAGE = "tuxpaint-stamps-default"
DIVERSE_ROOT = Path("/usr/share/tuxpaint/stamps")
CROSS_DOMAIN_PACKAGE = "openclipart-png"
CROSS_DOMAIN_ROOT = Path("/usr/share/openclipart/png")
# Catch-all folders, not categories.
CROSS_DOMAIN_EXCLUDE = ("unsorted", "special")
CROSS_DOMAIN_MIN_PER_CLASS = 40
CROSS_DOMAIN_MAX_PER_CLASS = 100


def diverse_images(root: Path = DIVERSE_ROOT) -> LabelledImages:
    data = load_image_folder(root, name="tuxpaint-stamps")
    return data


def cross_domain_images(root: Path = CROSS_DOMAIN_ROOT) -> LabelledImages:
    return load_image_folder(
        root,
        name="openclipart",
        max_per_class=CROSS_DOMAIN_MAX_PER_CLASS,
        min_per_class=CROSS_DOMAIN_MIN_PER_CLASS,
        exclude=CROSS_DOMAIN_EXCLUDE,
    )


def augmented(data: LabelledImages, crops: int = 2, seed: int = 0) -> Iterator[Image.Image]:
    """Each image, its mirror image, and `crops` random crops (60-90 % of each side)."""
    rng = np.random.default_rng(seed)
    for image in data.images():
        yield image
        yield ImageOps.mirror(image)
        for _ in range(crops):
            scale = rng.uniform(0.6, 0.9)
            w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
            left, top = int(rng.integers(0, image.width - w + 1)), int(rng.integers(0, image.height - h + 1))
            yield image.crop((left, top, left + w, top + h))
