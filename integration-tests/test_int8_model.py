"""The bundled int8 copy of the default model on a real node: it indexes and finds alike images,
and an index it wrote refuses the fp32 model's images (the two models' codes differ)."""

from __future__ import annotations

from pathlib import Path

import pytest
from elastichash import ElasticHash, HashModel, ModelMismatchError
from elastichash.engines import Client
from elastichash.model import bundled_model_path
from elastichash.testing import make_shapes_folder


def test_the_int8_model_indexes_and_searches_and_keeps_its_index(
    es: Client, scratch_index: str, tmp_path: Path
) -> None:
    if not bundled_model_path("int8").is_file():
        pytest.skip("no int8 model bundled")
    shapes = make_shapes_folder(tmp_path / "shapes", {"square": 30, "disc": 30, "bar": 30})
    engine = ElasticHash(es, index=scratch_index, model=HashModel("int8"))
    engine.create_index()
    report = engine.index_directory(shapes, progress=False)
    assert report.indexed == 90 and not report.failed
    es.indices.refresh(index=scratch_index)
    hits = engine.search(shapes / "bar" / "03.png", k=10)
    assert hits[0].distance == 0 and Path(hits[0].source["path"]).name == "03.png"
    assert sum(Path(hit.source["path"]).parent.name == "bar" for hit in hits) >= 8
    fp32 = ElasticHash(es, index=scratch_index, model=HashModel("default"))
    with pytest.raises(ModelMismatchError, match="-int8"):
        fp32.search(shapes / "bar" / "03.png", k=10)
