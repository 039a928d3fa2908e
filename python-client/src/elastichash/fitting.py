"""A model fitted to one collection: the default model's backbone with a new 256-bit head
learnt from the collection's own images, in numpy, written as a new ONNX model. No PyTorch.

On a collection unlike the default model's general corpus, this is what closes most of the gap
between the codes and the backbone's float features (model-export/results/evaluation.md). The
recipe is the default model's own (model-export makes it the same way, from this module):

1. the backbone's features, L2-normalised and centred on the collection's mean (sign bits of
   uncentred features waste bits: pooled features all lie in one narrow cone);
2. PCA to 256 directions + ITQ rotation (Gong & Lazebnik, CVPR 2011): the projection that keeps
   the most variance, rotated so that taking signs loses the least; each bit's threshold is its
   median over the collection, so every bit is balanced;
3. bit decorrelation chooses the bit order (`decorrelation`), folded into the head's rows;
4. the head appended to the base model's backbone graph: one ONNX file, the code first, the
   backbone's features second (so a fitted model can be fitted again).

`elastichash fit FOLDER --out model.onnx` runs `fit_folder`; it needs the `fit` extra
(the `onnx` and `networkx` packages).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import codes, ranking
from .errors import ElasticHashError, ImageError
from .images import ImageSource, load_image, read_file
from .model import HashModel, ModelSpec

if TYPE_CHECKING:
    from .decorrelation import Decorrelation

#: PCA to 256 directions needs more images than bits; with fewer, use the default model.
MIN_IMAGES = 300
HOLDOUT = 0.1
NEIGHBOURS = 10
PARITY_IMAGES = 256
#: Share of bits the written model and the fitted head must agree on, or the model is not kept.
PARITY_TARGET = 0.999
CODE_OUTPUT = "logits"
FEATURES_OUTPUT = "features"
BATCH = 32
_EPS = 1e-12  # the normalisation's floor, as torch.nn.functional.normalize has it
NEEDS_EXTRA = (
    "elastichash fit needs the packages onnx and networkx: pip install 'elastichash-client[fit]'"
)


class FitError(ElasticHashError):
    """A collection a model cannot be fitted to (too few images, an unusable folder or output)."""


@dataclass(frozen=True)
class LinearHead:
    """features (n, d) → outputs (n, bits) = weight · (features / |features| − feature_mean) + bias.

    The signs of the outputs are the code's bits.
    """

    feature_mean: np.ndarray  # (d,) float32
    weight: np.ndarray  # (bits, d) float32
    bias: np.ndarray  # (bits,) float32

    def outputs(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float32)
        unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)
        return (unit - self.feature_mean) @ self.weight.T + self.bias

    def bits(self, features: np.ndarray) -> np.ndarray:
        """(n, bits) uint8 codes, as the client turns outputs into bits."""
        return codes.bits_from_outputs(self.outputs(features))

    def permuted(self, permutation: np.ndarray) -> LinearHead:
        """The head whose output i is this head's output permutation[i]."""
        permutation = np.asarray(permutation)
        if sorted(permutation.tolist()) != list(range(len(self.bias))):
            raise ValueError(f"not a permutation of 0..{len(self.bias) - 1}")
        return LinearHead(self.feature_mean, self.weight[permutation], self.bias[permutation])


def itq_rotation(v: np.ndarray, iterations: int = 50, seed: int = 0) -> np.ndarray:
    """The orthogonal R minimising ||sign(vR) − vR|| (ITQ), from a seeded random rotation."""
    rng = np.random.default_rng(seed)
    r, _ = np.linalg.qr(rng.standard_normal((v.shape[1], v.shape[1])))
    for _ in range(iterations):
        b = np.where(v @ r >= 0, 1.0, -1.0)
        u, _, wt = np.linalg.svd(v.T @ b)  # orthogonal Procrustes: R = U Wᵀ
        r = u @ wt
    return r


def pca_itq_head(
    features: np.ndarray,
    bits: int = codes.CODE_BITS,
    iterations: int = 50,
    output_scale: float = 2.0,
    seed: int = 0,
) -> LinearHead:
    """PCA + ITQ on L2-normalised, centred features; each output scaled to `output_scale`
    standard deviations (so that tanh of it is near ±1 for a head trained further), its
    threshold at its median."""
    x = np.asarray(features, dtype=np.float32)
    if len(x) <= bits or x.shape[1] < bits:
        raise FitError(
            f"PCA to {bits} directions needs more than {bits} images of ≥ {bits} features"
        )
    unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), _EPS)
    mean = unit.mean(axis=0)
    centred = (unit - mean).astype(np.float64)
    _, _, vt = np.linalg.svd(centred - centred.mean(axis=0), full_matrices=False)
    pca = vt[:bits].T  # (d, bits)
    v = centred @ pca
    projection = pca @ itq_rotation(v / v.std(), iterations, seed)
    projection = projection * (output_scale / (centred @ projection).std(axis=0))
    median = np.median(centred @ projection, axis=0)
    return LinearHead(
        mean.astype(np.float32),
        projection.T.astype(np.float32),
        (-median).astype(np.float32),
    )


def fit_head(features: np.ndarray, seed: int = 0) -> tuple[LinearHead, Decorrelation]:
    """The default recipe's head for `features`: PCA + ITQ, then the decorrelated bit order."""
    from .decorrelation import decorrelate

    head = pca_itq_head(features, seed=seed)
    order = decorrelate(head.bits(features), seed=seed)
    return head.permuted(order.permutation), order


def write_model(
    base: str | os.PathLike,
    features: str,
    head: LinearHead,
    spec: ModelSpec,
    out: str | os.PathLike,
) -> Path:
    """A new ONNX model at `out`: the graph of `base` from its image input up to the tensor
    `features` (the backbone), then `head`; outputs `logits` (the code) and `features`, and
    `spec`'s metadata naming both. Written atomically."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper, shape_inference, utils

    model = onnx.load(str(base))
    image = spec.input_name or model.graph.input[0].name
    # The extractor needs the features tensor's shape, which the exporter may not have written.
    model = shape_inference.infer_shapes(model)
    model = utils.Extractor(model).extract_model([image], [features])
    del model.graph.value_info[:]
    graph = model.graph
    opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
    graph.initializer.extend(
        numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)
        for name, value in (
            ("head.feature_mean", head.feature_mean),
            ("head.weight", head.weight),
            ("head.bias", head.bias),
            ("head.eps", np.float32(_EPS)),
        )
    )
    if opset >= 18:  # ReduceL2 took its axes as an attribute before opset 18, as an input since
        graph.initializer.append(
            numpy_helper.from_array(np.array([1], dtype=np.int64), "head.axes")
        )
        norm = helper.make_node(
            "ReduceL2", [features, "head.axes"], ["head.norm"], name="head/ReduceL2", keepdims=1
        )
    else:
        norm = helper.make_node(
            "ReduceL2", [features], ["head.norm"], name="head/ReduceL2", axes=[1], keepdims=1
        )
    nodes = [
        norm,
        helper.make_node("Max", ["head.norm", "head.eps"], ["head.norm_floor"], name="head/Max"),
        helper.make_node("Div", [features, "head.norm_floor"], ["head.unit"], name="head/Div"),
        helper.make_node(
            "Sub", ["head.unit", "head.feature_mean"], ["head.centred"], name="head/Sub"
        ),
        helper.make_node(
            "Gemm",
            ["head.centred", "head.weight", "head.bias"],
            [CODE_OUTPUT],
            name="head/Gemm",
            transB=1,
        ),
    ]
    if features != FEATURES_OUTPUT:
        nodes.append(
            helper.make_node("Identity", [features], [FEATURES_OUTPUT], name="features/Identity")
        )
    graph.node.extend(nodes)
    bits, dims = head.weight.shape
    del graph.output[:]
    graph.output.extend(
        [
            helper.make_tensor_value_info(CODE_OUTPUT, TensorProto.FLOAT, ["n", bits]),
            helper.make_tensor_value_info(FEATURES_OUTPUT, TensorProto.FLOAT, ["n", dims]),
        ]
    )
    spec = dataclasses.replace(
        spec, input_name=image, output=CODE_OUTPUT, features_output=FEATURES_OUTPUT
    )
    ModelSpec.from_metadata(spec.metadata(), source="fit")  # the contract, checked before writing
    helper.set_model_props(model, spec.metadata())
    model.doc_string = (
        "ElasticHash hashing model: sign(logits) = 256-bit code, short code = first 64 bits; "
        "features = the backbone's pooled features."
    )
    onnx.checker.check_model(model)
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)
    return out


def neighbour_recall(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each row of `truth` (true neighbours) found in the same row of `found`."""
    return float(
        np.mean([len(set(f) & set(t)) / len(t) for f, t in zip(found, truth, strict=True)])
    )


def neighbour_table(
    codes_by_name: dict[str, tuple[np.ndarray, np.ndarray]],
    train_features: np.ndarray,
    held_features: np.ndarray,
) -> str:
    """Held-out images query the training images: of their `NEIGHBOURS` nearest by the float
    features, how many each code (name: (training codes, held-out codes)) finds among its own
    nearest; 256-bit LSH centred on the same images is added as the baseline."""
    k = min(NEIGHBOURS, len(train_features))
    truth = ranking.cosine_search(held_features, train_features, k)
    unit = train_features / np.linalg.norm(train_features, axis=1, keepdims=True)
    mean = unit.mean(axis=0)  # LSH's best deployable setting: centred on the same images' mean

    def lsh(x: np.ndarray) -> np.ndarray:
        return ranking.random_hyperplane_bits(x / np.linalg.norm(x, axis=1, keepdims=True) - mean)

    rows = dict(codes_by_name)
    rows["LSH 256 bit, centred on these images"] = (lsh(train_features), lsh(held_features))
    lines = [
        f"### Held out: {len(held_features)} images query {len(train_features)}; share of their "
        f"{k} nearest by the float features found among their {k} nearest codes",
        "",
        "| codes | neighbours kept |",
        "|---|---|",
    ]
    for name, (db, queries) in rows.items():
        found = ranking.hamming_search(queries, db, k)
        lines.append(f"| {name} | {100 * neighbour_recall(found, truth):.1f} % |")
    return "\n".join(lines) + "\n"


@dataclass
class FitResult:
    """What `fit_folder` made: the model, its report, and the numbers in it."""

    path: Path
    report_path: Path
    trained_on: int  # images the head was fitted on
    held_out: int
    agreement: float  # parity: share of bits the written model and the head agree on
    report: str
    skipped: dict[str, str] = field(default_factory=dict)  # image: why it was not used
    timings: dict[str, float] = field(default_factory=dict)


class FeatureCache:
    """The base model's features (and codes) by image content: a rerun reads them back.

    One .npz per base model (named by its digest), keyed by the SHA-1 of each file's bytes.
    """

    def __init__(self, folder: Path, model: HashModel) -> None:
        self.path = folder / f"features-{model.identity.sha256[:16]}.npz"
        self.rows: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self.added = 0  # rows computed since the file was read: saved only when there are some
        if self.path.is_file():
            try:
                with np.load(self.path) as stored:
                    for key, f, o in zip(
                        stored["keys"], stored["features"], stored["outputs"], strict=True
                    ):
                        self.rows[str(key)] = (f, o)
            except (OSError, ValueError, KeyError):
                self.rows = {}  # an unreadable cache is only lost time: computed again

    def check_writable(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.path.parent, suffix=".tmp"):
                pass
        except OSError as error:
            raise FitError(
                f"{self.path.parent}: cannot write the feature cache there "
                f"({error.strerror or error}); give it another folder",
                kind="cache_not_writable",
            ) from error

    def save(self) -> None:
        if not self.added:
            return
        keys = sorted(self.rows)
        tmp = self.path.with_name(self.path.name + ".tmp.npz")
        np.savez(
            tmp,
            keys=np.array(keys),
            features=np.stack([self.rows[k][0] for k in keys]),
            outputs=np.stack([self.rows[k][1] for k in keys]),
        )
        os.replace(tmp, self.path)


def _check_output(out: Path) -> None:
    if out.suffix != ".onnx":
        raise FitError(f"{out}: the model file must end in .onnx")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise FitError(f"{out}: the folder {folder} does not exist")
    try:  # a trial write: permission bits do not tell (root, read-only mounts, /proc)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{out.name}.", suffix=".tmp"):
            pass
    except OSError as error:
        raise FitError(f"{out}: cannot write there ({error.strerror or error})") from error


def _held_out_count(n: int, holdout: float) -> int:
    return min(n, max(1, round(n * holdout)))


def _held_out(n: int, holdout: float, seed: int) -> np.ndarray:
    return np.sort(
        np.random.default_rng(seed).choice(n, _held_out_count(n, holdout), replace=False)
    )


def _check_count(source: Path, images: int, holdout: float, skipped: dict[str, str]) -> None:
    held = _held_out_count(images, holdout)
    if images - held < MIN_IMAGES:
        raise FitError(
            f"{source}: {images - held} images to fit on after holding out {held}"
            + (f" ({len(skipped)} more cannot be read)" if skipped else "")
            + f"; 256-bit codes need at least {MIN_IMAGES}: add images, or use the default model"
        )


def fit_folder(
    folder: str | os.PathLike,
    out: str | os.PathLike,
    *,
    model: HashModel | None = None,
    holdout: float = HOLDOUT,
    seed: int = 0,
    cache_dir: str | os.PathLike | None = None,
    model_version: str | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
) -> FitResult:
    """Fits a head to the images below `folder` on `model`'s backbone (the default model's by
    default) and writes the new model to `out`, with a report beside it (`out`.md).

    `holdout` of the images (seeded) are kept out of the fit and measure it: each queries the
    others, and the report says how many of its nearest images by the float features each
    code finds. Unreadable images are left out and named in `FitResult.skipped`.
    """
    from .ingest import find_images

    log = log or (lambda _: None)
    out = Path(out)
    _check_output(out)
    if not 0 < holdout <= 0.5:
        raise FitError(f"holdout must be above 0 and at most 0.5, got {holdout}")
    try:
        import networkx  # noqa: F401
        import onnx  # noqa: F401
    except ImportError as error:
        raise FitError(NEEDS_EXTRA) from error
    source = Path(folder)
    if not source.is_dir():
        raise FitError(f"{source}: no such folder")
    skipped: dict[str, str] = {}
    try:
        paths = find_images(source, skipped=skipped)
    except OSError as error:
        raise FitError(f"{source}: cannot read the folder ({error})") from error
    model = model or HashModel()
    if not model.has_features:
        raise FitError(
            f"{model.path}: this model does not expose its backbone's features; fit on the "
            "default model or on a model that `fit` wrote",
            kind="model_without_features",
        )
    _check_count(source, len(paths), holdout, skipped)  # before minutes of work, and after
    timings: dict[str, float] = {}
    started = time.perf_counter()
    cache = FeatureCache(Path(cache_dir) if cache_dir else out.with_suffix(".fit"), model)
    cache.check_writable()
    features, outputs = _features(model, paths, cache, skipped, progress, log)
    cache.save()
    timings["features"] = time.perf_counter() - started
    used = [path for path in paths if str(path) not in skipped]
    _check_count(source, len(used), holdout, skipped)
    held = _held_out(len(used), holdout, seed)
    train = np.setdiff1d(np.arange(len(used)), held)
    log(f"{source}: fitting on {len(train)} images, {len(held)} held out")
    started = time.perf_counter()
    head, order = fit_head(features[train], seed=seed)
    timings["head"] = time.perf_counter() - started
    report = order.report()
    log(
        f"bits decorrelated: mean |correlation| {report['mean_abs_corr_short']:.3f} within the "
        f"short code, {report['mean_abs_corr_within_subcodes']:.3f} within its sub-codes, "
        f"{report['mean_abs_corr_all']:.3f} over all 256 bits"
    )
    spec = dataclasses.replace(
        model.spec,
        model_version=model_version or out.stem,
        trained_on=f"{len(train)} images of {source.name or source} (unlabelled); head only "
        f"(PCA + ITQ, bits decorrelated) on the backbone of {model.spec.model_version}",
    )
    started = time.perf_counter()
    tmp = out.with_name(out.name + ".new")
    write_model(model.path, model.spec.features_output or FEATURES_OUTPUT, head, spec, tmp)
    agreement = parity(
        tmp, head, [used[i] for i in held[:PARITY_IMAGES]], features[held[:PARITY_IMAGES]]
    )
    timings["export"] = time.perf_counter() - started
    log(f"parity: the written model and the fitted head agree on {100 * agreement:.3f}% of bits")
    if agreement < PARITY_TARGET:
        tmp.unlink()
        raise FitError(
            f"the written model agrees with the fitted head on only {100 * agreement:.3f}% of bits "
            f"(at least {100 * PARITY_TARGET}% needed); {out} was not written"
        )
    os.replace(tmp, out)
    base_name = f"base model {model.spec.model_version}, long code (256 bit)"
    base_bits = codes.bits_from_outputs(outputs)
    text = neighbour_table(
        {
            "fitted model, long code (256 bit)": (
                head.bits(features[train]),
                head.bits(features[held]),
            ),
            base_name: (base_bits[train], base_bits[held]),
        },
        features[train],
        features[held],
    )
    text += "\n### Timings\n\n" + "\n".join(f"- {k}: {v:.1f} s" for k, v in timings.items()) + "\n"
    report_path = out.with_name(out.name + ".md")
    report_path.write_text(
        f"## `{out.name}` ({spec.model_version}), fitted on {spec.trained_on}\n\n{text}"
    )
    return FitResult(out, report_path, len(train), len(held), agreement, text, skipped, timings)


def _features(
    model: HashModel,
    paths: Sequence[Path],
    cache: FeatureCache,
    skipped: dict[str, str],
    progress: bool,
    log: Callable[[str], None],
) -> tuple[np.ndarray, np.ndarray]:
    """Features and base outputs of every readable image in `paths`, from the cache or the model;
    unreadable images go into `skipped`."""
    from tqdm import tqdm

    def read(path: Path) -> tuple[str, np.ndarray | None]:
        try:
            data = read_file(path)
            key = hashlib.sha1(data).hexdigest()
            if key in cache.rows:
                return key, None
            return key, model.preprocess(load_image(data, name=str(path)))
        except ImageError as error:
            return "", np.array(error.reason)

    keys: list[str] = []
    with (
        ThreadPoolExecutor(max_workers=2) as pool,
        tqdm(total=len(paths), unit="img", desc="features", disable=not progress) as bar,
    ):
        for start in range(0, len(paths), BATCH):
            chunk = paths[start : start + BATCH]
            fresh: list[tuple[str, np.ndarray]] = []
            for path, (key, array) in zip(chunk, pool.map(read, chunk), strict=True):
                if not key:
                    skipped[str(path)] = str(array)
                    continue
                keys.append(key)
                if array is not None:
                    fresh.append((key, array))
            if fresh:
                outs, feats = model.outputs_and_features([array for _, array in fresh])
                for (key, _), f, o in zip(fresh, feats, outs, strict=True):
                    cache.rows[key] = (f, o)
                cache.added += len(fresh)
            bar.update(len(chunk))
    if not keys:
        return np.zeros((0, 0), np.float32), np.zeros((0, codes.CODE_BITS), np.float32)
    features = np.stack([cache.rows[k][0] for k in keys])
    outputs = np.stack([cache.rows[k][1] for k in keys])
    return features, outputs


def parity(
    path: str | os.PathLike, head: LinearHead, images: Sequence[ImageSource], features: np.ndarray
) -> float:
    """Share of bits on which the written model (onnxruntime, from the images) and `head` (from
    the base model's `features` of the same images) agree."""
    written = HashModel(path)
    bits = written.encode(list(images))
    return float((bits == head.bits(features)).mean())
