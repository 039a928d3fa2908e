"""`elastichash-train fit FOLDER --out model.onnx`: the default model's recipe, fitted to your images.

No labels, no fine-tuning: the frozen EfficientNet-Lite0 at 224 px as in the default model,
and its linear 256-bit head (PCA + ITQ, bit decorrelation) learnt from the images below FOLDER
instead of the default model's general corpus. On a collection unlike that corpus this is what
closes most of the gap between the codes and the backbone's float features: measured on
labelled collections, a head fitted on half of a collection ranks the other half within about
1 point of the float features (mAP@10), where the default model is 2-4 points below
(model-export/results/evaluation.md). Minutes on a CPU: the time is the backbone's features
(cached by image content, so a rerun is seconds).

Steps: check the folder (one-sentence errors, exit 2) → hold out a share of the images →
features (cached) → PCA + ITQ → decorrelate → the head appended to the backbone's ONNX graph →
parity check → OUT, and OUT.md: how many of each held-out image's 10 nearest training images (by
the float features) its code finds among its 10 nearest codes, against 256-bit LSH.

The head, the bit order, the ONNX file, the parity check and the report are the client's
(`elastichash.fitting`, what `elastichash fit` runs without PyTorch); this command adds the
input size (--size) and PyTorch's backbone export.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from elastichash import fitting

from .backbone import DEFAULT_INPUT_SIZE
from .data import DataError, LabelledImages
from .export import model_spec
from .features import FeatureExtractor, cached_features
from .sources import EXIT_BAD_INPUT, UserInputError, content_keys, load_collection

MIN_FIT_IMAGES = fitting.MIN_IMAGES


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "fit",
        help="fit the default model's 256-bit head to your own unlabelled images (minutes, CPU)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", help="a folder of images (any layout: every image file below it is used)")
    p.add_argument("--out", type=Path, required=True, help="where to write the model (.onnx)")
    p.add_argument("--holdout", type=float, default=0.1, help="share of images held out to measure it (%(default)s)")
    p.add_argument("--size", type=int, default=DEFAULT_INPUT_SIZE, help="input side S in pixels (%(default)s)")
    p.add_argument("--cache-dir", type=Path, help="cached backbone features (default: OUT without .onnx + '.fit/')")
    p.add_argument("--model-version", help="shown to users (default: OUT's file name)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (UserInputError, DataError, fitting.FitError) as error:
        print(f"elastichash-train fit: {error}", flush=True)
        return EXIT_BAD_INPUT


def _log(message: str) -> None:
    print(message, flush=True)


def _by_content(data: LabelledImages, keys: list[str]) -> LabelledImages:
    """`data` named by its images' content, so the feature cache follows the files, not the folder name."""
    digest = hashlib.sha1("".join(keys).encode()).hexdigest()[:16]
    return data.subset(np.arange(len(data)), name=f"{data.name}-{digest}")


def _run(args: argparse.Namespace, log: Callable[[str], None] = _log) -> int:
    out: Path = args.out
    if out.suffix != ".onnx":
        raise UserInputError(f"--out {out}: the model file must end in .onnx")
    if args.size < 32:
        raise UserInputError(f"--size must be ≥ 32, got {args.size}")
    collection = load_collection(args.folder, True, args.holdout, args.seed, warn=log)
    train, held = collection.train, collection.held_out
    if len(train) < MIN_FIT_IMAGES:
        raise UserInputError(
            f"{args.folder}: {len(train)} images to fit on after holding out {len(held)}; 256-bit codes "
            f"need at least {MIN_FIT_IMAGES}: add images, or use the default model"
        )
    log(f"{args.folder}: fitting on {len(train)} images, {len(held)} held out")
    cache_dir = args.cache_dir or out.with_suffix(".fit")
    spec = model_spec(
        args.size,
        args.model_version or out.stem,
        f"{collection.description}; head only (PCA + ITQ, unlabelled) on a frozen ImageNet "
        f"EfficientNet-Lite0 at {args.size} px",
    )
    timings: dict[str, float] = {}
    started = time.perf_counter()
    extractor = FeatureExtractor(cache_dir, spec)
    train_features = cached_features(extractor, _by_content(train, content_keys(train)), cache_dir, log=log)
    held_features = cached_features(extractor, _by_content(held, content_keys(held)), cache_dir, log=log)
    timings["features"] = time.perf_counter() - started

    started = time.perf_counter()
    head, _ = fitting.fit_head(train_features, seed=args.seed)
    timings["head"] = time.perf_counter() - started
    started = time.perf_counter()
    staging = cache_dir / "model.onnx"
    fitting.write_model(extractor.path, "features", head, spec, staging)
    sample = np.random.default_rng(args.seed).permutation(len(held))[: fitting.PARITY_IMAGES]
    agreement = fitting.parity(staging, head, list(held.images(sample)), held_features[sample])
    timings["export"] = time.perf_counter() - started
    log(f"parity: onnxruntime and the fitted head agree on {100 * agreement:.3f}% of bits over {len(sample)} images")
    if agreement < fitting.PARITY_TARGET:
        log(f"parity below {100 * fitting.PARITY_TARGET}%: the model stays in {staging}, not copied to {out}")
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(staging, out)

    fitted = {"fitted model, long code (256 bit)": (head.bits(train_features), head.bits(held_features))}
    text = fitting.neighbour_table(fitted, train_features, held_features)
    text += "\n### Timings\n\n" + "\n".join(f"- {k}: {v:.0f} s" for k, v in timings.items()) + "\n"
    report = out.with_name(out.name + ".md")
    report.write_text(f"## `{out.name}` ({spec.model_version}), fitted on {spec.trained_on}\n\n{text}")
    log("\n" + text)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {report}")
    return 0
