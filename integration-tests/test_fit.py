"""`elastichash fit` with only the client installed: the default model's backbone, a head fitted
on a generated folder, and the fitted model at work on a real node (index, search by example)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from elastichash import ElasticHash, HashModel
from elastichash.engines import Client
from elastichash.model import default_model_path
from elastichash.testing import make_shapes_folder


@pytest.fixture(scope="module")
def shapes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shapes_folder(tmp_path_factory.mktemp("shapes"), {"square": 90, "disc": 90, "bar": 90, "cross": 90})


def test_a_fitted_default_model_indexes_and_finds_alike_images(
    es: Client, es_url: str, shapes: Path, scratch_index: str, tmp_path: Path
) -> None:
    if not default_model_path().is_file():
        pytest.skip("no default model bundled")
    out = tmp_path / "shapes.onnx"
    command = [sys.executable, "-m", "elastichash.cli", "fit", str(shapes), "--out", str(out), "--no-progress"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "fitting on 324 images, 36 held out" in done.stderr
    assert "fitted model, long code (256 bit)" in done.stdout

    model = HashModel(out)
    assert model.has_features and model.spec.input_size == 224
    engine = ElasticHash(es, index=scratch_index, model=model)
    engine.create_index()
    report = engine.index_directory(shapes, progress=False)
    assert report.indexed == 360 and not report.failed
    es.indices.refresh(index=scratch_index)
    recorded = es.indices.get_mapping(index=scratch_index)[scratch_index]["mappings"]["_meta"]
    assert recorded["elastichash"]["model"]["model_version"] == "shapes"
    query = shapes / "disc" / "07.png"
    hits = engine.search(query, k=10)
    assert hits[0].distance == 0 and Path(hits[0].source["path"]).name == "07.png"
    # Its nearest images are discs: the fitted codes keep what the backbone tells apart.
    assert sum(Path(hit.source["path"]).parent.name == "disc" for hit in hits) >= 8
