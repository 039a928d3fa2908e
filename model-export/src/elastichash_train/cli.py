"""Command line: `elastichash-train model` reproduces the default model, `evaluate` measures it.

Steps of `model` (each cached under --build, so a re-run skips what is done):
features of the general training corpus (frozen backbone, onnxruntime) → the head (PCA + ITQ,
then similarity matching; `general.py`) → decorrelate bits → export ONNX with the permutation
folded in → parity check (onnxruntime vs PyTorch) → copy to --out.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from . import backbones, fit_cmd, pooling, quantize, train_cmd
from . import evaluate as ev
from .backbone import DEFAULT_INPUT_SIZE
from .data import LabelledImages
from .domains import general_augmented, general_augmented_count, general_corpus, unseen_domains
from .export import PARITY_TARGET, model_spec
from .features import FeatureExtractor, cached_features
from .general import GeneralConfig, general_outputs, make_general_model, train_general_head

HERE = Path(__file__).resolve().parents[2]  # model-export/
DEFAULT_BUILD = HERE / "build"
DEFAULT_OUT = HERE.parent / "python-client" / "src" / "elastichash" / "models" / "default.onnx"
DEFAULT_RESULTS = HERE / "results"
MODEL_VERSION = "effnet-lite0-general-224-1"
TRAINED_ON = (
    "unlabelled general images from Debian packages (Endless Sky landscape photos and sprites, "
    "GNOME/MATE/UKUI/Lomiri wallpapers, Wesnoth art, Oxygen icons, Noto emoji; mirrored and "
    "cropped); head only (PCA + ITQ) on a frozen ImageNet EfficientNet-Lite0 at 224 px"
)
SPEED_IMAGES = 256  # images encoded (already decoded, in memory) to measure the model's speed


def log(message: str) -> None:
    print(message, flush=True)


def general_features(extractor: FeatureExtractor, build: Path) -> tuple[LabelledImages, np.ndarray]:
    """The training corpus and the features of its images and their augmented views (cached)."""
    corpus = general_corpus(build)
    log(f"general corpus: {len(corpus)} images + {general_augmented_count(corpus)} mirrored and cropped views")
    originals = cached_features(extractor, corpus, build / "features", log=log)
    views = cached_features(extractor, corpus, build / "features", general_augmented(corpus), "-augmented", log)
    return corpus, np.concatenate([originals, views])


def cmd_model(args: argparse.Namespace) -> int:
    timings: dict[str, float] = {}
    torch.set_num_threads(max(1, torch.get_num_threads()))
    build: Path = args.build
    spec = model_spec(args.size, MODEL_VERSION, TRAINED_ON)

    started = time.perf_counter()
    extractor = FeatureExtractor(build, spec)
    corpus, features = general_features(extractor, build)
    timings["features"] = time.perf_counter() - started

    config = GeneralConfig(epochs=args.epochs, seed=args.seed)
    log(f"training the head: {json.dumps(config.as_dict())}")
    model = make_general_model(features, corpus, spec, build / "model.onnx", config, log)
    timings |= model.timings
    torch.save(model.head.state_dict(), build / "head.pt")
    if model.agreement < PARITY_TARGET:
        log(f"parity below {100 * PARITY_TARGET}%: not copying the model")
        return 1
    path = model.path

    args.out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, args.out)
    size_mb = args.out.stat().st_size / 1e6
    summary = {
        "model": str(args.out),
        "size_mb": round(size_mb, 2),
        "parity": model.agreement,
        "training_images": len(features),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "history": model.history,
        "decorrelation": model.decorrelation,
        "config": config.as_dict(),
    }
    (build / "model-summary.json").write_text(json.dumps(summary, indent=2))
    log(f"wrote {args.out} ({size_mb:.1f} MB); timings {summary['timings_s']}")
    return 0


def evaluation_domains(limit: int = 0) -> list[LabelledImages]:
    """The unseen domains; `limit`: that many images per domain (a quick look)."""
    domains = unseen_domains()
    if limit:
        domains = [
            d.subset(np.random.default_rng(0).choice(len(d), min(limit, len(d)), replace=False)) for d in domains
        ]
    return domains


DOMAIN_TITLES = {
    "openclipart": "Open Clip Art (`openclipart-png`), one folder per category",
    "tuxpaint-stamps-by-category": "Tux Paint stamps (`tuxpaint-stamps-default`), one folder per category",
}


def encode_speed(model: str, images: list, threads: int) -> float:
    """Images per second through the client (`HashModel.encode`, onnxruntime), decoding excluded."""
    from elastichash.model import HashModel

    hash_model = HashModel(model, threads=threads) if threads else HashModel(model)
    hash_model.encode(images[:32])  # warm-up: onnxruntime plans the graph on the first run
    started = time.perf_counter()
    hash_model.encode(images, batch_size=32)
    return len(images) / (time.perf_counter() - started)


def fit_head(features: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """What `fit` learns from a collection's features (PCA + ITQ), as a features → bits function.
    (The exported model adds only a bit order, which leaves Hamming distances as they are.)"""
    head = train_general_head(features, GeneralConfig(), log=None).head
    return lambda x: (general_outputs(head, x) > 0).astype(np.uint8)


def cmd_evaluate(args: argparse.Namespace) -> int:
    build: Path = args.build
    model = str(args.model)
    from elastichash.model import HashModel

    spec = HashModel(model).spec
    extractor = FeatureExtractor(build, spec)
    tables = []
    timings: dict[str, float] = {}
    summary: list[tuple[str, dict[str, float]]] = []
    fitted: list[tuple[str, int, dict[str, float]]] = []
    ks = ev.CROSS_DOMAIN_KS
    for data in evaluation_domains(args.limit):
        started = time.perf_counter()
        log(f"{data.name}: {len(data)} images in {len(data.class_names)} classes")
        bits = ev.encode(model, data)
        features = cached_features(extractor, data, build / "features", log=log)
        rows = ev.feature_rows(features, features, data.labels, data.labels, ks, True)
        rows.update(ev.code_rows(bits, bits, data.labels, data.labels, ks, True, log=log))
        title = DOMAIN_TITLES.get(data.name, data.name.replace("fashion-mnist-test", "Fashion-MNIST test split"))
        table = ev.Table(
            f"{title}: {len(data)} images, {len(data.class_names)} classes; each image queries all others",
            ks,
            {name: rows[name] for name in ev.ROW_ORDER if name in rows},
        )
        table.notes.append("classes: " + ", ".join(data.class_names))
        candidates = ev.two_stage_candidates(bits, bits)
        table.notes.append(
            f"paper two-stage: on average {candidates:.0f} stage-1 candidates per query; with fewer than k it "
            "returns fewer than k hits, and mAP@k (normalised by the relevant hits in the list) then rises "
            "above the long code's at large k: compare at k = 10"
        )
        table.notes.append(
            f"every row on the same {len(data)} images at {spec.input_size} px ({spec.resize}); the LSH rows hash "
            "the same backbone features; 'centred' subtracts this collection's own mean first"
        )
        tables.append(table)
        summary.append((data.name, {name: values[10] for name, values in rows.items()}))
        summary[-1][1][ev.SELF_FITTED] = ev.self_fitted_map(features, data.labels, fit_head)
        fitted.append((data.name, len(data) - len(data) // 2, ev.fitted_rows(features, bits, data.labels, fit_head)))
        timings[data.name] = time.perf_counter() - started

    sample = evaluation_domains()[0]
    images = list(sample.images(range(min(SPEED_IMAGES, len(sample)))))
    speed = {threads: encode_speed(model, images, threads) for threads in (1, 2)}
    text = ev.summary_table(summary) + "\n" + ev.fitted_table(fitted) + "\n" + "\n".join(t.markdown() for t in tables)
    text += (
        f"\n### Encode speed\n\n{spec.input_size} px, `HashModel.encode` (onnxruntime, batch 32, images "
        "already decoded): " + ", ".join(f"{v:.0f} img/s on {t} thread{'s' * (t > 1)}" for t, v in speed.items())
    )
    text += f" ({os.cpu_count()} cores shared with other jobs; model file {args.model.stat().st_size / 1e6:.1f} MB)\n"
    text += "\n### Timings\n\n" + "\n".join(f"- {k}: {v:.0f} s" for k, v in timings.items()) + "\n"
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
    model.add_argument("--epochs", type=int, default=GeneralConfig().epochs, help="similarity-matching epochs")
    model.add_argument("--seed", type=int, default=0)
    model.set_defaults(run=cmd_model)

    evaluate = commands.add_parser("evaluate", help="mAP tables on the unseen domains, baselines, encode speed")
    evaluate.add_argument("--model", type=Path, default=DEFAULT_OUT)
    evaluate.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    evaluate.add_argument("--limit", type=int, default=0, help="only this many images per domain (quick look)")
    evaluate.set_defaults(run=cmd_evaluate)

    train_cmd.add_parser(commands)  # `train`: a model for the user's own images
    fit_cmd.add_parser(commands)  # `fit`: the default recipe on the user's own unlabelled images
    quantize.add_parser(commands)  # `quantize`: an int8 copy of a model
    backbones.add_parser(commands)  # `compare-backbones`: Lite0/1/2 as the default model's backbone
    pooling.add_parser(commands)  # `compare-features`: input sides, poolings, whitening of Lite0's

    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
