"""An index records the model that wrote its codes, and refuses another (library, CLI, web page).

Two tiny models with different weights stand for "the default model" and "photos.onnx": codes of
one are meaningless to the other, so ingest and searches by image with the wrong one are refused
before anything is written or encoded; searches by a code need no model and go ahead.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from elastichash import ElasticHash, ModelMismatchError, queries
from elastichash.engines import Client
from elastichash.model import file_sha256
from elastichash.testing import make_tiny_model
from PIL import Image


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("models")
    return make_tiny_model(folder / "first.onnx", seed=0), make_tiny_model(folder / "photos.onnx", seed=1)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(5)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"p{i}.png")
    return folder


@pytest.fixture
def index_name(es: Client) -> Iterator[str]:
    name = f"it-model-{uuid.uuid4().hex[:8]}"
    yield name
    for index in (name, f"{name}-given", f"{name}-copy"):
        es.indices.delete(index=index, ignore_unavailable=True)


def recorded(es: Client, index: str) -> dict | None:
    meta = es.indices.get_mapping(index=index)[index]["mappings"].get("_meta", {})
    return meta.get("elastichash", {}).get("model")


def run_cli(es_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "elastichash.cli", "--es-url", es_url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_a_new_index_records_its_model(es: Client, models: tuple[str, str], index_name: str) -> None:
    first, _ = models
    assert ElasticHash(es, index=index_name, model=first).create_index()
    assert recorded(es, index_name) == {
        "sha256": file_sha256(first),
        "model_version": "tiny-random-projection-1",
        "bits": 256,
        "file": "first.onnx",
    }


def test_another_model_is_refused_for_ingest_and_image_search(
    es: Client, models: tuple[str, str], pictures: Path, index_name: str
) -> None:
    first, photos = models
    written = ElasticHash(es, index=index_name, model=first).index_directory(pictures, progress=False)
    assert written.indexed == 6
    other = ElasticHash(es, index=index_name, model=photos)
    with pytest.raises(ModelMismatchError) as refused:
        other.index_directory(pictures, progress=False)
    message = str(refused.value)
    assert f"index '{index_name}' holds codes of the model 'tiny-random-projection-1' (first.onnx, sha256 " in message
    assert "not of the model in hand 'tiny-random-projection-1' (photos.onnx, sha256 " in message
    assert file_sha256(first)[:12] in message and file_sha256(photos)[:12] in message
    assert refused.value.recorded.sha256 == file_sha256(first)
    with pytest.raises(ModelMismatchError):
        other.index_images([("x", (pictures / "p0.png").read_bytes())], progress=False)
    with pytest.raises(ModelMismatchError):
        other.search(pictures / "p1.png")
    assert ElasticHash(es, index=index_name).count() == 6  # nothing written by the wrong model
    # A code needs no model: the stored document's code, or a hex code, is searched with either.
    stored = es.get(index=index_name, id=written_id(es, index_name))["_source"]["hash"]
    assert other.search(stored, k=1)[0].distance == 0
    # The same model, from a copy of its file elsewhere, is the same model.
    copy = Path(first).with_name("copy-of-first.onnx")
    shutil.copy(first, copy)
    same = ElasticHash(es, index=index_name, model=str(copy))
    assert same.search(pictures / "p1.png", k=1)[0].distance == 0
    assert same.index_directory(pictures, progress=False).already_indexed == 6


def written_id(es: Client, index: str) -> str:
    es.indices.refresh(index=index)
    return es.search(index=index, body={"size": 1})["hits"]["hits"][0]["_id"]


def test_an_index_that_records_no_model_adopts_the_first_one_and_says_so_once(
    es: Client, models: tuple[str, str], pictures: Path, index_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    first, photos = models
    # As the library made indices before it recorded models, with a `_meta` of the user's own.
    body = queries.index_body()
    body["mappings"]["_meta"] = {"owner": "catalogue team"}
    es.indices.create(index=index_name, body=body)
    engine = ElasticHash(es, index=index_name, model=first)
    with caplog.at_level(logging.WARNING, logger="elastichash"):
        assert engine.index_directory(pictures, progress=False).indexed == 6
        assert ElasticHash(es, index=index_name, model=first).index_directory(pictures, progress=False).indexed == 0
    notes = [record.getMessage() for record in caplog.records]
    assert notes == [
        f"index '{index_name}' recorded no model; it records the model 'tiny-random-projection-1' "
        f"(first.onnx, sha256 {file_sha256(first)[:12]}) from now on, and refuses codes of any other"
    ]
    meta = es.indices.get_mapping(index=index_name)[index_name]["mappings"]["_meta"]
    assert meta["owner"] == "catalogue team"  # kept beside the record
    assert meta["elastichash"]["model"]["sha256"] == file_sha256(first)
    with pytest.raises(ModelMismatchError):
        ElasticHash(es, index=index_name, model=photos).index_directory(pictures, progress=False)


def test_precomputed_codes_record_a_model_only_when_one_is_given(
    es: Client, models: tuple[str, str], index_name: str
) -> None:
    bits = np.random.default_rng(2).integers(0, 2, (3, 256), dtype=np.uint8)
    ElasticHash(es, index=index_name).index_codes(["a", "b", "c"], bits)
    assert recorded(es, index_name) is None
    ElasticHash(es, index=f"{index_name}-given", model=models[0]).index_codes(["a"], bits[:1])
    assert recorded(es, f"{index_name}-given")["sha256"] == file_sha256(models[0])


def test_reindex_keeps_the_record(es: Client, models: tuple[str, str], pictures: Path, index_name: str) -> None:
    ElasticHash(es, index=index_name, model=models[0]).index_directory(pictures, progress=False)
    # Reindexing needs no model: the copy records the old index's.
    ElasticHash(es, index=f"{index_name}-copy", model=models[1]).reindex_from(index_name, progress=False)
    assert recorded(es, f"{index_name}-copy") == recorded(es, index_name)


def test_cli_refuses_the_wrong_model_for_index_search_and_serve(
    es: Client, es_url: str, models: tuple[str, str], pictures: Path, index_name: str
) -> None:
    first, photos = models
    indexed = run_cli(es_url, "index", str(pictures), "--index", index_name, "--model", first, "--no-progress")
    assert indexed.returncode == 0, indexed.stderr
    hint = "(--index NEW_INDEX, or --model PATH of the model that wrote the index)"
    for args in (
        ("index", str(pictures), "--no-progress"),
        ("search", str(pictures / "p2.png")),
        ("serve", str(pictures), "--port", "0"),
    ):
        result = run_cli(es_url, *args, "--index", index_name, "--model", photos)
        assert result.returncode == 1, (args, result.stdout, result.stderr)
        assert result.stderr.startswith(f"elastichash: error: index '{index_name}' holds codes of the model "), args
        assert hint in result.stderr and "Traceback" not in result.stderr
    assert ElasticHash(es, index=index_name).count() == 6
    # The model that wrote it searches without a word on stderr; a hex code with any model.
    same = run_cli(es_url, "search", str(pictures / "p2.png"), "-k", "1", "--index", index_name, "--model", first)
    assert same.returncode == 0 and same.stderr == ""
    by_code = run_cli(es_url, "search", "0" * 64, "-k", "1", "--index", index_name, "--model", photos)
    assert by_code.returncode == 0, by_code.stderr
