"""`elastichash.fitting` and `elastichash fit`: a head fitted in numpy, written as ONNX, end to end
on a folder, and its one-sentence errors. The base model is the tiny test model with features
(fast); `test_default_model_exposes_its_backbone_features` checks the real default model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from elastichash import cli, codes
from elastichash.fitting import (
    MIN_IMAGES,
    FitError,
    LinearHead,
    fit_folder,
    itq_rotation,
    neighbour_recall,
    pca_itq_head,
    write_model,
)
from elastichash.model import HashModel, default_model_path
from elastichash.testing import make_shapes_folder, make_tiny_model

pytest.importorskip("networkx")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> HashModel:
    """The tiny model exposing 768 'backbone features'."""
    path = tmp_path_factory.mktemp("base") / "tiny-features.onnx"
    return HashModel(make_tiny_model(path, with_features=True))


@pytest.fixture(scope="module")
def shapes(tmp_path_factory) -> Path:
    """Four classes of 90 shapes: 360 images, 36 held out by default, 324 to fit on."""
    return make_shapes_folder(
        tmp_path_factory.mktemp("shapes"), {"a": 90, "b": 90, "c": 90, "d": 90}
    )


def clustered_features(
    n_clusters: int = 12, per_cluster: int = 40, dim: int = 300, noise: float = 1.2, seed: int = 0
) -> np.ndarray:
    """Non-negative features in overlapping clusters, like pooled ReLU activations: one cone."""
    rng = np.random.default_rng(seed)
    centres = rng.gamma(2.0, 1.0, (n_clusters, dim))
    points = np.repeat(centres, per_cluster, axis=0)
    points = points + rng.normal(0, noise, (n_clusters * per_cluster, dim))
    return np.abs(points).astype(np.float32)


def test_itq_rotation_is_orthogonal_and_loses_less_than_a_random_rotation() -> None:
    rng = np.random.default_rng(1)
    v = rng.normal(size=(500, 16)) * np.linspace(3, 0.5, 16)
    r = itq_rotation(v, iterations=30)
    assert np.allclose(r.T @ r, np.eye(16), atol=1e-8)
    random, _ = np.linalg.qr(rng.normal(size=(16, 16)))

    def loss(rotation: np.ndarray) -> float:
        z = v @ rotation
        return float(np.square(np.sign(z) - z).sum())

    assert loss(r) < loss(random)


def test_pca_itq_codes_are_balanced_and_keep_neighbours_better_than_random_hyperplanes() -> None:
    features = clustered_features(noise=3.0)  # clusters that overlap: not every method finds them
    labels = np.repeat(np.arange(12), 40)
    bits = pca_itq_head(features).bits(features)
    assert bits.shape == (480, 256)
    assert abs(bits.mean(axis=0) - 0.5).max() <= 0.01  # thresholds at the median: balanced bits

    def precision_at_10(found: np.ndarray) -> float:
        distance = codes.hamming_table(found, found).astype(np.float64)
        np.fill_diagonal(distance, np.inf)
        nearest = np.argsort(distance, axis=1, kind="stable")[:, :10]
        return float((labels[nearest] == labels[:, None]).mean())

    # Uncentred random hyperplanes on one-signed features: most bits agree for every image.
    planes = np.random.default_rng(0).normal(size=(features.shape[1], 256))
    lsh = (features @ planes > 0).astype(np.uint8)
    assert precision_at_10(bits) > precision_at_10(lsh) + 0.1


def test_too_few_images_for_pca_is_a_sentence() -> None:
    with pytest.raises(FitError, match="needs more than 256 images"):
        pca_itq_head(clustered_features(per_cluster=10))


def test_a_permuted_head_moves_its_outputs() -> None:
    features = clustered_features()
    head = pca_itq_head(features)
    permutation = np.random.default_rng(0).permutation(256)
    assert np.allclose(
        head.permuted(permutation).outputs(features), head.outputs(features)[:, permutation]
    )
    with pytest.raises(ValueError, match="not a permutation"):
        head.permuted(np.zeros(256, dtype=int))


def test_written_model_computes_the_head_on_the_base_backbone(base: HashModel, tmp_path) -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.normal(size=(3, 32, 32)).astype(np.float32) for _ in range(300)]
    _, features = base.outputs_and_features(arrays)
    assert features.shape == (300, 768)
    head = pca_itq_head(features)
    path = write_model(base.path, "features", head, base.spec, tmp_path / "fitted.onnx")
    fitted = HashModel(path)
    assert fitted.has_features and fitted.spec.features_output == "features"
    outputs, again = fitted.outputs_and_features(arrays)
    assert np.allclose(again, features)  # the same backbone
    assert np.allclose(outputs, head.outputs(features), atol=1e-4)
    # The written model is a base too: a head fitted on it writes out again.
    second = LinearHead(head.feature_mean, head.weight[::-1].copy(), head.bias[::-1].copy())
    path = write_model(fitted.path, "features", second, fitted.spec, tmp_path / "again.onnx")
    assert np.allclose(HashModel(path).outputs_of_arrays(arrays), outputs[:, ::-1], atol=1e-4)


def test_fit_a_folder_end_to_end_and_rerun_from_the_cache(base, shapes, tmp_path) -> None:
    broken = shapes / "d" / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    try:
        messages: list[str] = []
        out = tmp_path / "shapes.onnx"
        result = fit_folder(shapes, out, model=base, progress=False, log=messages.append)
    finally:
        broken.unlink()
    assert (result.trained_on, result.held_out) == (324, 36)
    assert result.agreement >= 0.999
    assert set(result.skipped) == {str(broken)}  # named, not silently dropped
    assert "fitting on 324 images, 36 held out" in "\n".join(messages)
    model = HashModel(out)
    assert model.spec.model_version == "shapes" and "PCA + ITQ" in model.spec.trained_on
    bits = model.encode(sorted(shapes.rglob("*.png"))[:4])
    assert bits.shape == (4, 256) and 0 < bits.mean() < 1
    report = result.report_path.read_text()
    for row in ("fitted model, long code", "base model tiny-random-projection-1", "LSH 256 bit"):
        assert row in report
    # The cache holds the features: a rerun computes none, and writes the same model.
    cache = next((tmp_path / "shapes.fit").glob("features-*.npz"))
    stamp = cache.stat().st_mtime_ns
    again = fit_folder(shapes, tmp_path / "again.onnx", model=base, cache_dir=cache.parent)
    assert np.array_equal(HashModel(again.path).encode(sorted(shapes.rglob("*.png"))[:4]), bits)
    assert cache.stat().st_mtime_ns == stamp


def test_bad_input_is_one_sentence_each(base, shapes, tmp_path) -> None:
    few = make_shapes_folder(tmp_path / "few", {"a": 40})
    with pytest.raises(FitError, match=f"need at least {MIN_IMAGES}: add images"):
        fit_folder(few, tmp_path / "m.onnx", model=base)
    with pytest.raises(FitError, match="no such folder"):
        fit_folder(tmp_path / "nowhere", tmp_path / "m.onnx", model=base)
    with pytest.raises(FitError, match="must end in .onnx"):
        fit_folder(shapes, tmp_path / "m.pt", model=base)
    with pytest.raises(FitError, match="does not exist"):
        fit_folder(shapes, tmp_path / "no" / "m.onnx", model=base)
    with pytest.raises(FitError, match="holdout"):
        fit_folder(shapes, tmp_path / "m.onnx", model=base, holdout=0.9)
    plain = HashModel(make_tiny_model(tmp_path / "plain.onnx"))
    with pytest.raises(FitError, match="does not expose its backbone's features"):
        fit_folder(shapes, tmp_path / "m.onnx", model=plain)
    assert not list(tmp_path.glob("m.onnx*"))


def test_cli_fit_writes_the_model_and_says_how_to_use_it(base, shapes, tmp_path, capsys) -> None:
    out = tmp_path / "cli.onnx"
    status = cli.main(["--model", str(base.path), "fit", str(shapes), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"wrote {out}" in captured.out and f"--model {out} index" in captured.out
    assert "neighbours kept" in captured.out
    status = cli.main(["fit", str(tmp_path / "nowhere"), "--out", str(out)])
    captured = capsys.readouterr()
    assert status == 1 and "no such folder" in captured.err and "Traceback" not in captured.err


def test_default_model_exposes_its_backbone_features() -> None:
    if not default_model_path().is_file():
        pytest.skip("no default model bundled")
    model = HashModel()
    arrays = [np.zeros((3, 224, 224), np.float32), np.ones((3, 224, 224), np.float32)]
    outputs, features = model.outputs_and_features(arrays)
    assert features.shape == (2, 1280) and np.array_equal(outputs, model.outputs_of_arrays(arrays))


def test_neighbour_recall_counts_shared_neighbours() -> None:
    truth = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    found = np.array([[4, 3, 9, 9], [5, 6, 7, 8]])
    assert neighbour_recall(found, truth) == (0.5 + 1.0) / 2
