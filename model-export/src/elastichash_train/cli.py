"""Command line: `elastichash-train model` reproduces the default model, `evaluate` measures it.

Steps of `model` (each cached under --build, so a re-run skips what is done):
features (frozen backbone, onnxruntime) → train the head → decorrelate bits → export ONNX
with the permutation folded in → parity check (onnxruntime vs PyTorch) → copy to --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

from . import evaluate as ev
from . import train_cmd
from .backbone import DEFAULT_INPUT_SIZE, Backbone, freeze
from .data import load_fashion_mnist
from .decorrelate import decorrelate
from .domains import augmented, cross_domain_images, diverse_images
from .export import HashingNetwork, export_onnx, model_spec, parity, with_permutation
from .features import FeatureExtractor, cached_features
from .losses import LossWeights
from .train import TrainConfig, head_outputs, train_head

HERE = Path(__file__).resolve().parents[2]  # model-export/
DEFAULT_BUILD = HERE / "build"
DEFAULT_OUT = HERE.parent / "python-client" / "src" / "elastichash" / "models" / "default.onnx"
DEFAULT_RESULTS = HERE / "results"
MODEL_VERSION = "effnet-lite0-fmnist-1"
TRAINED_ON = (
    "Fashion-MNIST train (60k); head only, on a frozen ImageNet EfficientNet-Lite0; "
    "similarity term on Tux Paint stamps (unlabelled)"
)
PARITY_IMAGES = 256
PARITY_TARGET = 0.999


def log(message: str) -> None:
    print(message, flush=True)


def cmd_model(args: argparse.Namespace) -> int:
    timings: dict[str, float] = {}
    torch.set_num_threads(max(1, torch.get_num_threads()))
    build: Path = args.build
    spec = model_spec(args.size, MODEL_VERSION, TRAINED_ON)

    started = time.perf_counter()
    extractor = FeatureExtractor(build, spec)
    train = load_fashion_mnist("train")
    train_features = cached_features(extractor, train, build / "features", log=log)
    diverse = diverse_images()
    diverse_features = cached_features(extractor, diverse, build / "features", augmented(diverse), "-augmented", log)
    timings["features"] = time.perf_counter() - started

    config = TrainConfig(
        epochs=args.epochs,
        seed=args.seed,
        hidden=args.hidden,
        shortcut_scale=args.shortcut_scale,
        weights=LossWeights(
            classification=args.w_classification,
            triplet=args.w_triplet,
            similarity=args.w_similarity,
            quiet=args.w_quiet,
        ),
    )
    log(f"training the head: {json.dumps(config.as_dict())}")
    result = train_head(train_features, train.labels, config, diverse_features, log=log)
    timings["train"] = result.seconds
    torch.save(result.head.state_dict(), build / "head.pt")

    started = time.perf_counter()
    bits = (head_outputs(result.head, train_features) > 0).astype(np.uint8)
    order = decorrelate(bits, seed=args.seed)
    np.save(build / "permutation.npy", order.permutation)
    timings["decorrelate"] = time.perf_counter() - started
    log(f"decorrelation over {len(bits)} codes: {json.dumps(order.report())}")

    started = time.perf_counter()
    network = HashingNetwork(freeze(Backbone(args.size)), with_permutation(result.head, order.permutation))
    path = export_onnx(network, build / "model.onnx", spec)
    timings["export"] = time.perf_counter() - started

    started = time.perf_counter()
    test = load_fashion_mnist("test")
    sample = np.random.default_rng(args.seed).choice(len(test), PARITY_IMAGES, replace=False)
    agreement = parity(path, network, list(test.images(sample)))
    timings["parity"] = time.perf_counter() - started
    log(f"parity: onnxruntime and PyTorch agree on {100 * agreement:.3f}% of bits over {PARITY_IMAGES} test images")
    if agreement < PARITY_TARGET:
        log(f"parity below {100 * PARITY_TARGET}%: not copying the model")
        return 1

    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, args.out)
    size_mb = args.out.stat().st_size / 1e6
    summary = {
        "model": str(args.out),
        "size_mb": round(size_mb, 2),
        "parity": agreement,
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "history": result.history,
        "decorrelation": order.report(),
        "config": config.as_dict(),
    }
    (build / "model-summary.json").write_text(json.dumps(summary, indent=2))
    log(f"wrote {args.out} ({size_mb:.1f} MB); timings {summary['timings_s']}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    build: Path = args.build
    model = str(args.model)
    from elastichash.model import HashModel

    spec = HashModel(model).spec
    extractor = FeatureExtractor(build, spec)
    tables = []
    timings = {}

    started = time.perf_counter()
    train, test = load_fashion_mnist("train"), load_fashion_mnist("test")
    if args.limit:
        train = train.subset(np.arange(min(args.limit * 6, len(train))))
        test = test.subset(np.arange(min(args.limit, len(test))))
    log(f"encoding {len(train)} + {len(test)} Fashion-MNIST images with {model}")
    db_bits, query_bits = ev.encode(model, train), ev.encode(model, test)
    timings["encode Fashion-MNIST"] = time.perf_counter() - started
    started = time.perf_counter()
    fm = ev.Table(
        f"Fashion-MNIST: {len(test)} test queries, {len(train)} training images as database",
        ev.metrics.KS,
        ev.code_rows(query_bits, db_bits, test.labels, train.labels, ev.metrics.KS, log=log),
    )
    if not args.limit:
        fm.rows.update(
            ev.feature_rows(
                cached_features(extractor, test, build / "features", log=log),
                cached_features(extractor, train, build / "features", log=log),
                test.labels,
                train.labels,
                ev.metrics.KS,
            )
        )
    candidates = ev.two_stage_candidates(query_bits, db_bits)
    fm.notes.append(f"two-stage: on average {candidates:.0f} stage-1 candidates per query (500-query sample)")
    fm.notes.append(f"codes from {args.model.name} via elastichash.model.HashModel (onnxruntime)")
    tables.append(fm)
    timings["mAP Fashion-MNIST"] = time.perf_counter() - started

    started = time.perf_counter()
    cross = cross_domain_images()
    log(f"cross-domain: {len(cross)} images in {len(cross.class_names)} classes")
    cross_bits = ev.encode(model, cross)
    cross_features = cached_features(extractor, cross, build / "features", log=log)
    table = ev.Table(
        f"Cross-domain (never trained on): Open Clip Art, {len(cross)} images, {len(cross.class_names)} "
        "categories; each image queries all others",
        ev.CROSS_DOMAIN_KS,
        ev.code_rows(cross_bits, cross_bits, cross.labels, cross.labels, ev.CROSS_DOMAIN_KS, True, log=log),
    )
    table.rows.update(
        ev.feature_rows(cross_features, cross_features, cross.labels, cross.labels, ev.CROSS_DOMAIN_KS, True)
    )
    table.notes.append("categories: " + ", ".join(cross.class_names))
    table.notes.append("LSH rows use the same backbone features; 'centred' subtracts this collection's mean first")
    tables.append(table)
    timings["cross-domain"] = time.perf_counter() - started

    text = "\n".join(t.markdown() for t in tables)
    text += "\n### Timings (2 CPU cores)\n\n" + "\n".join(f"- {k}: {v:.0f} s" for k, v in timings.items()) + "\n"
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / ("evaluation.md" if not args.limit else "evaluation-limited.md")
    out.write_text(f"## Evaluation of `{args.model.name}` ({spec.model_version})\n\n" + text)
    log(text)
    log(f"wrote {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="elastichash-train", description=__doc__)
    parser.add_argument("--build", type=Path, default=DEFAULT_BUILD, help="cache folder (default: model-export/build)")
    commands = parser.add_subparsers(dest="command", required=True)

    model = commands.add_parser("model", help="reproduce the default model from scratch")
    model.add_argument("--out", type=Path, default=DEFAULT_OUT)
    model.add_argument("--size", type=int, default=DEFAULT_INPUT_SIZE, help="input side S in pixels")
    model.add_argument("--epochs", type=int, default=TrainConfig().epochs)
    model.add_argument("--seed", type=int, default=0)
    model.add_argument("--w-classification", type=float, default=LossWeights().classification)
    model.add_argument("--w-triplet", type=float, default=LossWeights().triplet)
    model.add_argument("--w-similarity", type=float, default=LossWeights().similarity)
    model.add_argument("--w-quiet", type=float, default=LossWeights().quiet)
    model.add_argument("--hidden", type=int, default=TrainConfig().hidden, help="MLP width of the head")
    model.add_argument(
        "--shortcut-scale",
        type=float,
        default=TrainConfig().shortcut_scale,
        help="weight of the fixed PCA-hashing shortcut against the learned MLP (higher: more general codes)",
    )
    model.set_defaults(run=cmd_model)

    evaluate = commands.add_parser("evaluate", help="mAP tables (Fashion-MNIST and cross-domain)")
    evaluate.add_argument("--model", type=Path, default=DEFAULT_OUT)
    evaluate.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    evaluate.add_argument("--limit", type=int, default=0, help="only this many queries (quick look)")
    evaluate.set_defaults(run=cmd_evaluate)

    train_cmd.add_parser(commands)  # `train`: a model for the user's own images

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
