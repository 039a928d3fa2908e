"""What `train` trains on: a user's image folder (labelled or not) or Fashion-MNIST, checked and split.

Every problem with the input is a `UserInputError` whose message is one sentence naming the
folder or file and what to do; the command prints it and exits 2.

Unreadable files are skipped with a warning that names them, not refused: in a folder of
thousands of photos one truncated download should not block training, and the warning says
which files to look at. A class that loses all its images that way is refused like an empty one.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .data import IMAGE_SUFFIXES, LabelledImages, load_fashion_mnist

FASHION_MNIST = "fashion-mnist"
EXIT_BAD_INPUT = 2  # exit status of a command refusing its input with a UserInputError
MIN_UNLABELLED = 8  # below this, neither a held-out split nor decorrelation means anything
MAX_NAMED = 5  # unreadable files named in a warning; the rest are counted


class UserInputError(ValueError):
    """Input `train` cannot use; the message is one sentence for the user."""


@dataclass
class Collection:
    """Training images and held-out images (queries of the closing mAP table)."""

    train: LabelledImages
    held_out: LabelledImages
    labelled: bool
    description: str  # for the model's `trained_on`


def content_keys(data: LabelledImages) -> list[str]:
    """Keys of `data`'s images by content (file bytes, or the pixel array), for the feature cache."""
    if data.arrays is not None:
        return [hashlib.sha1(a.tobytes() + str(a.shape).encode()).hexdigest() for a in data.arrays]
    assert data.paths is not None
    return [hashlib.sha1(p.read_bytes()).hexdigest() for p in data.paths]


def _is_image_file(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")


def _readable(path: Path) -> bool:
    """Whether Pillow can decode the file (a full decode: truncated files fail here, not mid-training)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.load()
        return True
    except Exception:  # noqa: BLE001 - Pillow raises many types for bad files; any means "unreadable"
        return False


def _drop_unreadable(files: list[Path], root: Path, warn: Callable[[str], None]) -> list[Path]:
    bad = [p for p in files if not _readable(p)]
    if bad:
        named = ", ".join(str(p.relative_to(root)) for p in bad[:MAX_NAMED])
        more = f" and {len(bad) - MAX_NAMED} more" if len(bad) > MAX_NAMED else ""
        warn(f"warning: skipping {len(bad)} unreadable image file(s) in {root}: {named}{more}")
    return [p for p in files if p not in set(bad)]


def scan_labelled(root: Path, warn: Callable[[str], None] = print) -> LabelledImages:
    """A folder with one subfolder per class (torchvision's ImageFolder layout), checked."""
    _check_folder(root)
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    loose = [p for p in root.iterdir() if _is_image_file(p)]
    if not class_dirs:
        if loose:
            raise UserInputError(
                f"{root} holds images but no class subfolders: put each class's images in its own "
                "subfolder (FOLDER/cat/1.jpg, FOLDER/dog/2.jpg), or pass --unlabelled"
            )
        raise UserInputError(f"{root} is empty: expected one subfolder of images per class")
    if loose:
        warn(f"warning: ignoring {len(loose)} image file(s) directly in {root}; only class subfolders are used")
    paths: list[Path] = []
    labels: list[int] = []
    for label, folder in enumerate(class_dirs):
        files = sorted(p for p in folder.rglob("*") if _is_image_file(p))
        if not files:
            raise UserInputError(
                f"class folder {folder} has no images (looked for {', '.join(sorted(IMAGE_SUFFIXES))}); "
                "add images or remove the folder"
            )
        files = _drop_unreadable(files, root, warn)
        if not files:
            raise UserInputError(f"class folder {folder} has no readable images; add images or remove the folder")
        paths += files
        labels += [label] * len(files)
    if len(class_dirs) < 2:
        raise UserInputError(
            f"{root} has only one class ({class_dirs[0].name}): a labelled model needs at least two "
            "classes to learn what tells them apart; add classes or pass --unlabelled"
        )
    names = tuple(p.name for p in class_dirs)
    return LabelledImages(root.name, np.asarray(labels, dtype=np.int64), names, paths=tuple(paths))


def scan_unlabelled(root: Path, warn: Callable[[str], None] = print) -> LabelledImages:
    """Every image file below `root`, each its own 'class' (the label is the image's index)."""
    _check_folder(root)
    files = sorted(p for p in root.rglob("*") if _is_image_file(p))
    if not files:
        raise UserInputError(f"{root} holds no image files (looked for {', '.join(sorted(IMAGE_SUFFIXES))})")
    files = _drop_unreadable(files, root, warn)
    if len(files) < MIN_UNLABELLED:
        raise UserInputError(
            f"{root} has {len(files)} readable image(s); training needs at least {MIN_UNLABELLED} "
            "(some held out to measure the model)"
        )
    return LabelledImages(root.name, np.arange(len(files), dtype=np.int64), (), paths=tuple(files))


def _check_folder(root: Path) -> None:
    if not root.exists():
        raise UserInputError(f"{root}: no such folder")
    if not root.is_dir():
        raise UserInputError(f"{root} is a file, not a folder of images")
    if not any(root.iterdir()):
        raise UserInputError(f"{root} is empty: expected images (one subfolder per class, or --unlabelled)")


def stratified_split(labels: np.ndarray, fraction: float, seed: int, class_names: Sequence[str] = ()) -> np.ndarray:
    """Indices held out: `fraction` of each class (at least one), the rest stays for training.

    Refuses a class with fewer than two images: it could not be both learnt and tested.
    """
    if not 0.0 < fraction < 1.0:
        raise UserInputError(f"--holdout must be between 0 and 1 (exclusive), got {fraction}")
    rng = np.random.default_rng(seed)
    held: list[np.ndarray] = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < 2:
            name = class_names[label] if label < len(class_names) else str(label)
            raise UserInputError(
                f"class {name} has {len(members)} image: too few for a held-out split; "
                "every class needs at least 2 (better 20 or more)"
            )
        n = min(len(members) - 1, max(1, round(fraction * len(members))))
        held.append(rng.choice(members, n, replace=False))
    return np.sort(np.concatenate(held))


def load_collection(
    folder: str,
    unlabelled: bool,
    holdout: float,
    seed: int,
    warn: Callable[[str], None] = print,
) -> Collection:
    """The training and held-out images named by FOLDER (or `fashion-mnist`: its train and test sets)."""
    if folder == FASHION_MNIST and not Path(folder).exists():
        # The official split: the 10k test images are held out, as in every published figure.
        return Collection(
            load_fashion_mnist("train"),
            load_fashion_mnist("test"),
            labelled=True,
            description="Fashion-MNIST train (60k)",
        )
    root = Path(folder)
    data = scan_unlabelled(root, warn) if unlabelled else scan_labelled(root, warn)
    if unlabelled:
        n_held = max(1, round(holdout * len(data)))
        if not 0.0 < holdout < 1.0:
            raise UserInputError(f"--holdout must be between 0 and 1 (exclusive), got {holdout}")
        if len(data) - n_held < MIN_UNLABELLED // 2:
            raise UserInputError(f"{root}: {len(data)} images leave too few for training after holding out {n_held}")
        held = np.sort(np.random.default_rng(seed).choice(len(data), n_held, replace=False))
    else:
        held = stratified_split(data.labels, holdout, seed, data.class_names)
    keep = np.setdiff1d(np.arange(len(data)), held)
    kind = "unlabelled" if unlabelled else f"{len(data.class_names)} classes"
    return Collection(
        data.subset(keep, name=f"{data.name}-train"),
        data.subset(held, name=f"{data.name}-held-out"),
        labelled=not unlabelled,
        description=f"{root.name}: {len(keep)} images ({kind}), {len(held)} held out",
    )
