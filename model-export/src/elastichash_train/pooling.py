"""`elastichash-train compare-features`: would other features of the same backbone make a better
default model? Each candidate under `compare-backbones`' protocol → results/features.md.

The candidates change what the head sees, never the backbone's weights (EfficientNet-Lite0):
- the input side: 224 px (today's), and larger;
- the pooling of its last feature maps (1280 × h × w, after ReLU6, so never negative): average
  (today's), generalised mean with p = 3 (GeM, Radenović et al., TPAMI 2018) and max (MAC);
- what is done to the pooled vector: nothing (today's), a square root per feature (power
  normalisation), or the square root and then PCA whitening to 256 dimensions with exponent 0.5,
  fitted on the general corpus (Jégou & Chum, ECCV 2012).

Per candidate: the default recipe's head (`elastichash.fitting.fit_head`: PCA + ITQ, decorrelated
bits) fitted on the same seeded sample of the general corpus, then the three unseen domains, each
image querying all the others: mAP@10 of the candidate's float features (cosine) and of its
256-bit codes. Encode speed per input side: the backbone alone through onnxruntime on decoded
images, 1 and 2 threads (the pooling and the head cost next to nothing). The shipped default
model's head is also fine-tuned, so compare the rows with each other, and the first row with
`results/evaluation.md` to see what the fine-tuning adds.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

import numpy as np
from elastichash import fitting

from . import evaluate as ev
from .backbone import BackboneMaps, freeze
from .backbones import GENERAL_SAMPLE, SPEED_IMAGES, float_map10, images_per_second
from .data import LabelledImages
from .domains import general_corpus, unseen_domains
from .export import model_spec
from .features import batches, cpu_session, export_frozen

POOLINGS = ("avg", "gem3", "max")
TRANSFORMS = ("none", "sqrt", "sqrt+whiten")
GEM_POWER = 3.0
WHITEN_DIMS = 256
WHITEN_POWER = 0.5
SIZES = (224, 288, 320)


def pool(maps: np.ndarray, kind: str) -> np.ndarray:
    """(n, c, h, w) non-negative maps → (n, c) float32 pooled over h and w."""
    flat = maps.reshape(maps.shape[0], maps.shape[1], -1).astype(np.float64)
    if kind == "avg":
        pooled = flat.mean(axis=2)
    elif kind == "max":
        pooled = flat.max(axis=2)
    elif kind.startswith("gem"):
        power = float(kind.removeprefix("gem"))
        pooled = np.power(np.power(np.maximum(flat, 1e-6), power).mean(axis=2), 1.0 / power)
    else:
        raise ValueError(f"unknown pooling {kind!r}; one of {', '.join(POOLINGS)}")
    return pooled.astype(np.float32)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclasses.dataclass(frozen=True)
class Whitening:
    """x → unit(unit(x) − mean) @ projection: PCA to `dims` directions, each scaled by its
    variance^(−power/2) (power 1 is full whitening; 0.5 keeps some of the leading directions'
    weight, which retrieval prefers)."""

    mean: np.ndarray
    projection: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, dims: int = WHITEN_DIMS, power: float = WHITEN_POWER) -> Whitening:
        unit = _unit(x.astype(np.float64))
        mean = unit.mean(axis=0)
        _, singular, rows = np.linalg.svd(unit - mean, full_matrices=False)
        variance = singular[:dims] ** 2 / len(x)
        return cls(mean, rows[:dims].T / np.power(variance + 1e-12, power / 2))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return _unit((_unit(x.astype(np.float64)) - self.mean) @ self.projection).astype(np.float32)


def transformed(transform: str, general: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """`transform` applied to the general corpus' features and to others' (a whitening is
    fitted on the general corpus only)."""
    if transform not in TRANSFORMS:
        raise ValueError(f"unknown transform {transform!r}; one of {', '.join(TRANSFORMS)}")
    arrays = [general, *others]
    if transform == "none":
        return arrays
    arrays = [np.sqrt(np.maximum(a, 0.0)) for a in arrays]
    if transform == "sqrt":
        return arrays
    whiten = Whitening.fit(arrays[0])
    return [whiten(a) for a in arrays]


class MapsExtractor:
    """Images → every pooling of Lite0's last feature maps at one input side (onnxruntime)."""

    def __init__(self, build: Path, size: int, threads: int | None = None) -> None:
        self.spec = model_spec(size, f"effnet-lite0-maps-{size}-candidate", f"candidate: Lite0 maps at {size} px")
        path = build / f"backbone-maps-{size}.onnx"
        if not path.is_file():
            export_frozen(freeze(BackboneMaps(size)), path, size, "maps")
        self.session = cpu_session(path, threads)
        self.path = path

    def maps(self, arrays: np.ndarray) -> np.ndarray:
        (maps,) = self.session.run(None, {"image": arrays})
        return maps

    def pooled(self, data: LabelledImages, cache: Path) -> dict[str, np.ndarray]:
        path = cache / f"{data.name}-{self.spec.input_size}px.npz"
        if path.is_file():
            with np.load(path) as stored:
                return {kind: stored[kind] for kind in POOLINGS}
        rows: dict[str, list[np.ndarray]] = {kind: [] for kind in POOLINGS}
        for batch in batches(data.images(), 64):
            maps = self.maps(self.spec.preprocess_batch(batch))
            for kind in POOLINGS:
                rows[kind].append(pool(maps, kind))
        pooled = {kind: np.concatenate(chunks) for kind, chunks in rows.items()}
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path.with_suffix(".tmp.npz"), **pooled)
        os.replace(path.with_suffix(".tmp.npz"), path)
        return pooled


def encode_speed(extractor: MapsExtractor, arrays: np.ndarray, threads: int) -> float:
    maps = MapsExtractor(extractor.path.parent, extractor.spec.input_size, threads).maps
    return images_per_second(lambda batch: maps(np.asarray(batch)), arrays)


def add_parser(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "compare-features",
        help="input sides, poolings and whitening of Lite0's features: mAP@10 on the unseen domains",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="input sides in px (%(default)s)")
    p.add_argument("--general", type=int, default=GENERAL_SAMPLE, help="general-corpus images (%(default)s)")
    p.add_argument("--results", type=Path, help="where to write features.md (default: results/)")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    build: Path = args.build
    results: Path = args.results or Path(__file__).resolve().parents[2] / "results"
    corpus = general_corpus(build)
    picked = np.random.default_rng(args.seed).choice(len(corpus), min(args.general, len(corpus)), replace=False)
    sample = corpus.subset(np.sort(picked), name=f"general-sample-{args.general}")
    domains = unseen_domains()
    names = [d.name for d in domains]
    cache = build / "features" / "pooled"
    lines = []
    for size in args.sizes:
        started = time.perf_counter()
        extractor = MapsExtractor(build, size)
        general = extractor.pooled(sample, cache)
        pooled = {d.name: extractor.pooled(d, cache) for d in domains}
        arrays = extractor.spec.preprocess_batch(list(domains[0].images(range(SPEED_IMAGES))))
        speed = "{:.0f} / {:.0f}".format(*(encode_speed(extractor, arrays, t) for t in (1, 2)))
        print(f"{size} px: features in {time.perf_counter() - started:.0f} s, encode {speed} img/s", flush=True)
        for kind in POOLINGS:
            for transform in TRANSFORMS:
                fitted, *evaluated = transformed(transform, general[kind], *(pooled[n][kind] for n in names))
                head, _ = fitting.fit_head(fitted, seed=args.seed)
                cells = []
                for data, features in zip(domains, evaluated, strict=True):
                    codes = ev.leave_one_out_map10(head.bits(features), data.labels)
                    cells.append(f"{100 * float_map10(features, data.labels):.2f} / **{100 * codes:.2f}**")
                line = f"| {size} | {kind} | {transform} | {speed} | " + " | ".join(cells) + " |"
                lines.append(line)
                print(line, flush=True)
    table = [
        "## Features of the default backbone (`elastichash-train compare-features`)",
        "",
        f"EfficientNet-Lite0. Head: PCA + ITQ on {len(sample)} general-corpus images (seeded sample, no "
        "augmented views), fitted per candidate; mAP@10 (%), each image of a domain querying all the others, "
        f"float (the candidate's features, cosine) / 256-bit codes; encode: the backbone's img/s on "
        f"{SPEED_IMAGES} decoded images, 1 / 2 threads ({os.cpu_count()} cores). The first row is today's "
        "recipe without its fine-tuning.",
        "",
        "| input px | pooling | then | encode img/s | " + " | ".join(f"{n} float / codes" for n in names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
        *lines,
        "",
    ]
    results.mkdir(parents=True, exist_ok=True)
    out = results / "features.md"
    out.write_text("\n".join(table))
    print(f"wrote {out}")
    return 0
