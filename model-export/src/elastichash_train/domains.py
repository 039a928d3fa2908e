"""The image collections besides Fashion-MNIST, all from Debian packages (installed by `make setup`).

- *The general corpus* (`general_corpus`) the default model is trained on, unlabelled:
  landscape and city photographs, planets, ship and equipment sprites (`endless-sky-data`),
  desktop wallpapers (`gnome-backgrounds`, `mate-backgrounds`, `ukui-wallpapers`,
  `lomiri-wallpapers`), fantasy portraits, unit sprites, scenery, items and terrain tiles
  (`wesnoth-1.16-data`), application and device icons (`oxygen-icon-theme`) and every
  single-code-point emoji of Noto Color Emoji (`fonts-noto-color-emoji`), rendered to PNG.
  None of these is an evaluation domain.
- *Unseen evaluation domains* (labelled; the default model never trains on them): Open Clip
  Art's PNGs (`openclipart-png`) and Tux Paint's stamps (`stamps_images`), one folder per
  category, and a class-balanced sample of the Fashion-MNIST test split.
"""

from __future__ import annotations

import subprocess
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFont, ImageOps

from .data import IMAGE_SUFFIXES, DataError, LabelledImages, _readable, load_fashion_mnist, load_image_folder

STAMPS_ROOT = Path("/usr/share/tuxpaint/stamps")
CROSS_DOMAIN_PACKAGE = "openclipart-png"
CROSS_DOMAIN_ROOT = Path("/usr/share/openclipart/png")
# Catch-all folders, not categories.
CROSS_DOMAIN_EXCLUDE = ("unsorted", "special")
CROSS_DOMAIN_MIN_PER_CLASS = 40
CROSS_DOMAIN_MAX_PER_CLASS = 100
STAMPS_MIN_PER_CLASS = 12  # Tux Paint categories with fewer stamps are left out
STAMPS_MAX_PER_CLASS = 100  # "symbols" has 247: capped so no category dominates the mean
FASHION_TEST_PER_CLASS = 200  # Fashion-MNIST test images per class in the unseen-domain table


def cross_domain_images(root: Path = CROSS_DOMAIN_ROOT) -> LabelledImages:
    return load_image_folder(
        root,
        name="openclipart",
        max_per_class=CROSS_DOMAIN_MAX_PER_CLASS,
        min_per_class=CROSS_DOMAIN_MIN_PER_CLASS,
        exclude=CROSS_DOMAIN_EXCLUDE,
    )


def stamps_images(root: Path = STAMPS_ROOT) -> LabelledImages:
    """Tux Paint's stamps by category folder, as an unseen evaluation domain."""
    return load_image_folder(
        root, name="tuxpaint-stamps-by-category", max_per_class=STAMPS_MAX_PER_CLASS, min_per_class=STAMPS_MIN_PER_CLASS
    )


def fashion_mnist_sample(per_class: int = FASHION_TEST_PER_CLASS, seed: int = 0) -> LabelledImages:
    """A class-balanced seeded sample of the Fashion-MNIST test split (224 px features are slow)."""
    test = load_fashion_mnist("test")
    rng = np.random.default_rng(seed)
    picks = [
        rng.choice(np.flatnonzero(test.labels == c), per_class, replace=False) for c in range(len(test.class_names))
    ]
    return test.subset(np.sort(np.concatenate(picks)), name=f"fashion-mnist-test-{per_class * len(test.class_names)}")


def unseen_domains() -> list[LabelledImages]:
    """The labelled domains the default model is judged on; it never trains on any of them."""
    return [cross_domain_images(), stamps_images(), fashion_mnist_sample()]


@dataclass(frozen=True)
class Source:
    """Image files of one Debian package for the general training corpus."""

    name: str
    packages: tuple[str, ...]
    root: Path
    limit: int = 0  # at most this many files (a seeded sample); 0: all
    photo: bool = False  # photographs hold many scenes each: cropped more (general_augmented)
    skip: str = ""  # leave out files whose path contains this


ENDLESS_SKY = Path("/usr/share/games/endless-sky/images")
WESNOTH = Path("/usr/share/games/wesnoth/1.16/data/core/images")
BACKGROUNDS = Path("/usr/share/backgrounds")  # shared by the wallpaper packages: dpkg -L tells whose
ENDLESS, WESNOTH_DATA = ("endless-sky-data",), ("wesnoth-1.16-data",)
WALLPAPERS = ("gnome-backgrounds", "lomiri-wallpapers", "mate-backgrounds", "ukui-wallpapers")
GENERAL_SOURCES = (
    Source("landscapes", ENDLESS, ENDLESS_SKY / "land", photo=True),
    Source("planets", ENDLESS, ENDLESS_SKY / "planet"),
    Source("ships", ENDLESS, ENDLESS_SKY / "ship"),
    Source("outfits", ENDLESS, ENDLESS_SKY / "outfit"),
    Source("wallpapers", WALLPAPERS, BACKGROUNDS, photo=True),
    Source("portraits", WESNOTH_DATA, WESNOTH / "portraits"),
    # Unit and terrain folders hold many animation frames and tile variants: sampled.
    Source("units", WESNOTH_DATA, WESNOTH / "units", limit=1200),
    Source("scenery", WESNOTH_DATA, WESNOTH / "scenery"),
    Source("items", WESNOTH_DATA, WESNOTH / "items"),
    Source("terrain", WESNOTH_DATA, WESNOTH / "terrain", limit=400),
    Source("icons", ("oxygen-icon-theme",), Path("/usr/share/icons/oxygen/base/256x256"), skip="/mimetypes/"),
)
EMOJI_PACKAGE = "fonts-noto-color-emoji"
EMOJI_FONT = Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf")
EMOJI_SIZE = 109  # the one pixel size of Noto Color Emoji's bitmap strikes
EMOJI_RANGES = ((0x2600, 0x27C0), (0x1F300, 0x1FB00))
GENERAL_PACKAGES = tuple(dict.fromkeys([p for s in GENERAL_SOURCES for p in s.packages] + [EMOJI_PACKAGE]))
MIN_SIDE = 24  # smaller files are cursors and UI bits, not pictures
MAX_PIXELS = 40_000_000
PHOTO_CROPS = 4


def package_files(package: str) -> list[Path]:
    """The files a Debian package installed (`dpkg -L`), so a folder several packages share
    yields the same images on every machine."""
    listing = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True, check=False)
    if listing.returncode != 0:
        raise DataError(f"package {package} is not installed; install it with: apt-get install {package}")
    return [Path(line) for line in listing.stdout.splitlines() if line.startswith("/")]


def source_files(source: Source, rng: np.random.Generator) -> list[Path]:
    """The package's readable images under `source.root` (sorted; a seeded sample if limited)."""
    files = sorted(
        p
        for p in {path for package in source.packages for path in package_files(package)}
        if p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_relative_to(source.root)
        and not (source.skip and source.skip in str(p))
        and p.is_file()
    )
    files = [p for p in files if _readable(p, MAX_PIXELS) and _min_side(p) >= MIN_SIDE]
    if not files:
        packages = " ".join(source.packages)
        raise DataError(f"{source.root}: no images of {packages}; reinstall: apt-get install --reinstall {packages}")
    if source.limit and len(files) > source.limit:
        files = [files[i] for i in sorted(rng.choice(len(files), source.limit, replace=False))]
    return files


def _min_side(path: Path) -> int:
    with Image.open(path) as image:
        return min(image.size)


def general_corpus(build: Path, seed: int = 0) -> LabelledImages:
    """The default model's unlabelled training images; `labels` name the source (reports only)."""
    rng = np.random.default_rng(seed)
    names: list[str] = []
    paths: list[Path] = []
    labels: list[int] = []
    for source in GENERAL_SOURCES:
        files = source_files(source, rng)
        labels += [len(names)] * len(files)
        names.append(source.name)
        paths += files
    emoji = render_emoji(build / "emoji")
    labels += [len(names)] * len(emoji)
    names.append("emoji")
    paths += emoji
    return LabelledImages("general-pool", np.asarray(labels, dtype=np.int64), tuple(names), paths=tuple(paths))


def render_emoji(folder: Path, font_path: Path = EMOJI_FONT) -> list[Path]:
    """Every single-code-point emoji the font draws, as a PNG in `folder` (made once, then reused)."""
    done = folder / ".complete"
    if done.is_file():
        return sorted(folder.glob("*.png"))
    if not font_path.is_file():
        raise DataError(f"{font_path}: missing; install it with: apt-get install {EMOJI_PACKAGE}")
    folder.mkdir(parents=True, exist_ok=True)
    font = ImageFont.truetype(str(font_path), EMOJI_SIZE)
    missing = _draw_glyph(font, "\ue000")  # what the font draws for a code point it lacks
    paths = []
    for start, stop in EMOJI_RANGES:
        for point in range(start, stop):
            char = chr(point)
            if not unicodedata.name(char, ""):
                continue
            image = _draw_glyph(font, char)
            if image is None or (missing is not None and ImageChops.difference(image, missing).getbbox() is None):
                continue
            path = folder / f"u{point:05x}.png"
            image.save(path)
            paths.append(path)
    done.touch()
    return sorted(paths)


def _draw_glyph(font: ImageFont.FreeTypeFont, char: str) -> Image.Image | None:
    canvas = Image.new("RGBA", (2 * EMOJI_SIZE, 2 * EMOJI_SIZE), (0, 0, 0, 0))
    try:
        ImageDraw.Draw(canvas).text((EMOJI_SIZE // 4, EMOJI_SIZE // 4), char, font=font, embedded_color=True)
    except OSError:
        return None
    box = canvas.getbbox()
    return canvas.crop(box) if box else None


def _photo_labels(corpus: LabelledImages) -> list[int]:
    photos = {s.name for s in GENERAL_SOURCES if s.photo}
    return [i for i, name in enumerate(corpus.class_names) if name in photos]


def general_augmented(corpus: LabelledImages, photo_crops: int = PHOTO_CROPS, seed: int = 0) -> Iterator[Image.Image]:
    """Augmented views of the corpus: each picture mirrored once and cropped once (60-90 % of
    each side); each photograph cropped `photo_crops` more times at 25-60 % of each side, as
    photographs hold many scenes and there are few of them."""
    rng = np.random.default_rng(seed)
    photos = set(_photo_labels(corpus))
    for index in range(len(corpus)):
        image = corpus.image(index)
        yield ImageOps.mirror(image)
        yield _random_crop(image, rng, 0.6, 0.9)
        if int(corpus.labels[index]) in photos:
            for _ in range(photo_crops):
                yield _random_crop(image, rng, 0.25, 0.6)


def general_augmented_count(corpus: LabelledImages, photo_crops: int = PHOTO_CROPS) -> int:
    return 2 * len(corpus) + photo_crops * int(np.isin(corpus.labels, _photo_labels(corpus)).sum())


def _random_crop(image: Image.Image, rng: np.random.Generator, low: float, high: float) -> Image.Image:
    scale = rng.uniform(low, high)
    w, h = max(1, round(image.width * scale)), max(1, round(image.height * scale))
    left, top = int(rng.integers(0, image.width - w + 1)), int(rng.integers(0, image.height - h + 1))
    return image.crop((left, top, left + w, top + h))
