"""`elastichash-train train FOLDER --out model.onnx`: a hashing model for a user's own images.

FOLDER holds one subfolder per class (torchvision's ImageFolder layout), or, with
--unlabelled, images anywhere below it. The literal name `fashion-mnist` trains on the Debian
package's Fashion-MNIST (its 10k test images held out), the worked example.

Steps: check the folder (one-sentence errors, exit 2) → hold out a stratified split →
frozen prefix maps, cached by image content → fine-tune the backbone's last blocks and a
hashing head, a checkpoint per epoch (--resume continues) → decorrelate the bits → export
ONNX with the bit order folded in and the client's ModelSpec as metadata → parity check
(onnxruntime vs PyTorch) → mAP table on the held-out images → OUT (+ OUT.md, the table).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from elastichash.decorrelation import decorrelate

from . import evaluate as ev
from . import metrics
from .data import DataError, LabelledImages
from .export import PARITY_TARGET, HashingNetwork, export_onnx, logged_parity, model_spec, with_permutation
from .finetune import CheckpointMismatch, FinetuneConfig, Inputs, codes_of, deployable, finetune
from .sources import EXIT_BAD_INPUT, FASHION_MNIST, UserInputError, content_keys, load_collection
from .tail import N_BLOCKS, PrefixCache


def add_parser(commands: argparse._SubParsersAction) -> None:
    defaults = FinetuneConfig()
    p = commands.add_parser(
        "train",
        help="train a model on your own images (a folder with one subfolder per class)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("folder", help="FOLDER/<class>/<image> (or any images with --unlabelled); 'fashion-mnist'")
    p.add_argument("--out", type=Path, required=True, help="where to write the model (.onnx)")
    p.add_argument("--unlabelled", action="store_true", help="no classes: learn codes that survive mirroring")
    p.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the training images (%(default)s)")
    p.add_argument("--size", type=int, default=defaults.size, help="input side S in pixels (%(default)s)")
    p.add_argument(
        "--resize",
        choices=("stretch", "crop"),
        default="crop",
        help="crop: the centre square of the image (keeps proportions); stretch: the whole image squashed",
    )
    p.add_argument(
        "--train-from-block",
        type=int,
        default=defaults.first_block,
        help=f"fine-tune EfficientNet-Lite0 blocks N..{N_BLOCKS - 1} and the head convolution (CPU); "
        "the blocks before N are frozen and their output cached",
    )
    p.add_argument("--holdout", type=float, default=0.1, help="held-out fraction per class (%(default)s)")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="%(default)s")
    p.add_argument("--learning-rate", type=float, default=defaults.learning_rate, help="the head's (%(default)s)")
    p.add_argument("--no-mirror", action="store_true", help="do not also train on left-right mirrored images")
    p.add_argument("--checkpoint-dir", type=Path, help="checkpoints (default: OUT without .onnx + '.train/')")
    p.add_argument("--cache-dir", type=Path, help="cached frozen features (default: CHECKPOINT_DIR/cache)")
    p.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir")
    p.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: cuda when PyTorch sees a GPU (then the whole network trains on images), else cpu",
    )
    p.add_argument("--model-version", help="shown to users (default: OUT's file name)")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--max-steps", type=int, help=argparse.SUPPRESS)  # tests: stop after this many steps
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except (UserInputError, CheckpointMismatch, DataError) as error:
        print(f"elastichash-train train: {error}", flush=True)
        return EXIT_BAD_INPUT


def _log(message: str) -> None:
    print(message, flush=True)


def _run(args: argparse.Namespace, log: Callable[[str], None] = _log) -> int:
    timings: dict[str, float] = {}
    device = "cuda" if args.device == "auto" and torch.cuda.is_available() else args.device
    if device == "auto":
        device = "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise UserInputError("--device cuda: PyTorch sees no GPU here; use --device cpu")
    if not 0 <= args.train_from_block < N_BLOCKS:
        raise UserInputError(f"--train-from-block must be 0..{N_BLOCKS - 1}, got {args.train_from_block}")
    if args.epochs < 1 or args.size < 32 or args.batch_size < 2:
        raise UserInputError(
            "--epochs must be ≥ 1, --size ≥ 32 and --batch-size ≥ 2 "
            f"(got {args.epochs}, {args.size}, {args.batch_size})"
        )
    out: Path = args.out
    if out.suffix != ".onnx":
        raise UserInputError(f"--out {out}: the model file must end in .onnx")
    checkpoint_dir = args.checkpoint_dir or out.with_suffix(".train")
    cache_dir = args.cache_dir or checkpoint_dir / "cache"

    started = time.perf_counter()
    collection = load_collection(args.folder, args.unlabelled, args.holdout, args.seed, warn=log)
    train, held = collection.train, collection.held_out
    kind = f"{len(train.class_names)} classes" if collection.labelled else "unlabelled"
    log(f"{args.folder}: {len(train)} training images, {len(held)} held out ({kind})")
    is_fmnist = args.folder == FASHION_MNIST and train.arrays is not None
    resize = "stretch" if args.resize == "stretch" else "shorter_side_then_center_crop"
    spec = model_spec(
        args.size,
        args.model_version or out.stem,
        f"{collection.description}; EfficientNet-Lite0 (ImageNet) fine-tuned from block "
        f"{'0' if device == 'cuda' else args.train_from_block}, hashing head",
        resize=resize,
        resize_size=args.size,
    )
    config = FinetuneConfig(
        size=args.size,
        first_block=0 if device == "cuda" else args.train_from_block,
        whole_network=device == "cuda",
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        labelled=collection.labelled,
        mirror=not args.no_mirror,
        seed=args.seed,
    )
    train_keys, held_keys = content_keys(train), content_keys(held)
    fingerprint = hashlib.sha1(
        json.dumps([train_keys, train.labels.tolist(), held_keys, spec.resize]).encode()
    ).hexdigest()

    # Frozen part: cached prefix maps (CPU), or none (the whole network trains on images).
    views = ("plain", "mirror") if (config.mirror or not collection.labelled) else ("plain",)
    if config.whole_network:
        train_inputs = Inputs(config, data=train, spec=spec, device=device)
        held_inputs = Inputs(config, data=held, spec=spec, device=device)
    else:
        cache = PrefixCache(cache_dir, spec, config.first_block)
        train_inputs = Inputs(config, maps={v: cache.maps(train, v, train_keys, log) for v in views})
        held_views = views if not collection.labelled else ("plain",)
        held_inputs = Inputs(config, maps={v: cache.maps(held, v, held_keys, log) for v in held_views})
    timings["frozen features"] = time.perf_counter() - started

    log(f"training on {device}: {json.dumps(config.as_dict())}")
    result = finetune(
        config,
        train_inputs,
        train.labels,
        checkpoint_dir,
        fingerprint,
        resume=args.resume,
        device=device,
        log=log,
        max_steps=args.max_steps,
    )
    timings["training"] = result.seconds

    started = time.perf_counter()
    db_outputs = codes_of(result.trainee, train_inputs, len(train))
    order = decorrelate((db_outputs > 0).astype(np.uint8), seed=args.seed)
    timings["decorrelation"] = time.perf_counter() - started
    log(f"decorrelation over {len(db_outputs)} codes: {json.dumps(order.report())}")

    started = time.perf_counter()
    backbone, head = deployable(result.trainee)
    network = HashingNetwork(backbone, with_permutation(head, order.permutation))
    staging = checkpoint_dir / "model.onnx"
    export_onnx(network, staging, spec)
    agreement = logged_parity(staging, network, held, args.seed, log)
    timings["export + parity"] = time.perf_counter() - started
    if agreement < PARITY_TARGET:
        log(f"parity below {100 * PARITY_TARGET}%: the model stays in {staging}, not copied to {out}")
        return 1

    started = time.perf_counter()
    db_bits = (db_outputs[:, order.permutation] > 0).astype(np.uint8)
    table = held_out_table(result.trainee, held_inputs, held, train, db_bits, order.permutation, collection.labelled)
    timings["mAP table"] = time.perf_counter() - started
    out.parent.mkdir(parents=True, exist_ok=True)
    staging.replace(out)
    text = table.markdown()
    text += "\n### Timings\n\n" + "\n".join(f"- {k}: {v:.0f} s" for k, v in timings.items()) + "\n"
    report = out.with_name(out.name + ".md")
    report.write_text(f"## `{out.name}` ({spec.model_version}), trained on {spec.trained_on}\n\n{text}")
    log("\n" + text)
    log(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB) and {report}")
    if is_fmnist:
        log("measure it through a node: python -m elastichash_train.evaluate_es --model " + str(out))
    return 0


def held_out_table(
    trainee,
    held_inputs: Inputs,
    held: LabelledImages,
    train: LabelledImages,
    db_bits: np.ndarray,
    permutation: np.ndarray,
    labelled: bool,
) -> ev.Table:
    """mAP@k of the held-out images as queries against the training images.

    Unlabelled: the queries are the held-out images mirrored, the database all images as
    they are, and the one relevant answer is the query's own original (so mAP@k = mean
    reciprocal rank of the original within the top k).
    """
    bits = (codes_of(trainee, held_inputs, len(held))[:, permutation] > 0).astype(np.uint8)
    if labelled:
        query_bits, db, query_labels, db_labels = bits, db_bits, held.labels, train.labels
        title = f"Held out: {len(held)} queries against {len(train)} training images"
    else:
        mirrored = (codes_of(trainee, held_inputs, len(held), mirrored=True)[:, permutation] > 0).astype(np.uint8)
        db = np.concatenate([db_bits, bits])
        db_labels = np.arange(len(db))
        query_bits, query_labels = mirrored, np.arange(len(train), len(db))
        title = f"Held out, unlabelled: {len(held)} mirrored images find their original among {len(db)}"
    ks = [k for k in metrics.KS if k <= len(db)] or [len(db)]
    table = ev.Table(title, ks, ev.code_rows(query_bits, db, query_labels, db_labels, ks, log=None))
    table.notes.append(
        f"two-stage: on average {ev.two_stage_candidates(query_bits, db):.0f} stage-1 candidates per query"
    )
    return table
