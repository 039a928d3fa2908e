"""The Python library and CLI against a real node: two-stage guarantee, ingest, CLI round trip."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import ES_URL
from elastichash import ClusterError, Code, ElasticHash, codes
from elastichash.testing import make_tiny_model
from elasticsearch import Elasticsearch
from PIL import Image

N_CODES = 4000


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture
def engine(es: Elasticsearch, tiny_model: str) -> Iterator[ElasticHash]:
    engine = ElasticHash(es, index=f"it-client-{uuid.uuid4().hex[:8]}", model=tiny_model)
    yield engine
    es.indices.delete(index=engine.index, ignore_unavailable=True)


@pytest.fixture(scope="module")
def code_engine(es: Elasticsearch) -> Iterator[tuple[ElasticHash, np.ndarray]]:
    """Codes around a few centres with 0-20 flipped short-code bits: many lie near the MIH bound."""
    rng = np.random.default_rng(11)
    centres = rng.integers(0, 2, size=(8, 256), dtype=np.uint8)
    bits = centres[rng.integers(0, 8, N_CODES)]
    for row in bits:
        row[rng.choice(64, size=rng.integers(0, 21), replace=False)] ^= 1
        row[64 + rng.choice(192, size=rng.integers(0, 60), replace=False)] ^= 1
    engine = ElasticHash(es, index=f"it-codes-{uuid.uuid4().hex[:8]}")
    engine.create_index(shards=2)
    ids = [f"{i:05d}" for i in range(N_CODES)]
    report = engine.index_codes(ids, bits, [{"group": int(i % 3)} for i in range(N_CODES)])
    assert report.indexed == N_CODES and report.ok
    yield engine, bits
    es.indices.delete(index=engine.index)


def test_two_stage_finds_everything_within_64_bit_distance_11(code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    words, short = codes.to_words(bits), codes.to_words(bits)[:, :1]
    subcodes = codes.to_subcodes(bits)
    rng = np.random.default_rng(5)
    for row in rng.choice(N_CODES, size=20, replace=False):
        query = bits[row].copy()
        query[rng.choice(64, size=rng.integers(0, 6), replace=False)] ^= 1
        code = Code.from_bits(query)
        # The candidates multi-index hashing must return: a sub-code within distance 2.
        sub_distance = codes.popcount(subcodes.astype(np.int64) ^ code.subcodes.astype(np.int64))
        candidates = np.flatnonzero((sub_distance <= 2).any(axis=1))
        hits = engine.search(code, k=len(candidates) + 10, mode="two_stage")
        got_ids = {int(hit.id) for hit in hits}
        assert got_ids == set(candidates.tolist())
        within_11 = np.flatnonzero(codes.hamming(code.words[:1], short) <= 11)
        assert set(within_11.tolist()) <= got_ids
        # Ranked exactly as numpy ranks the candidates on 256 bits (ties compared as sets).
        distances = codes.hamming(code.words, words)
        assert [hit.distance for hit in hits] == sorted(distances[candidates].tolist())
        for hit in hits:
            assert hit.distance == distances[int(hit.id)]


def test_short_and_long_modes(code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    code = Code.from_bits(bits[7])
    long_hits = engine.search(code, k=50, mode="long")
    distances = codes.hamming(code.words, codes.to_words(bits))
    assert [h.distance for h in long_hits] == sorted(distances.tolist())[:50]
    short_hits = engine.search(code, k=50, mode="short")
    short_distances = codes.hamming(code.words[:1], codes.to_words(bits)[:, :1])
    assert short_hits[0].distance == 0 and short_hits[0].score == 64
    for hit in short_hits:
        assert hit.distance == short_distances[int(hit.id)]


@pytest.mark.parametrize("mode", ["two_stage", "long", "short"])
def test_filter_applies_in_every_mode(code_engine: tuple[ElasticHash, np.ndarray], mode: str) -> None:
    engine, bits = code_engine
    hits = engine.search(Code.from_bits(bits[0]), k=30, mode=mode, filter={"term": {"group": 1}})
    assert hits and all(hit.source["group"] == 1 for hit in hits)
    assert all(int(hit.id) % 3 == 1 for hit in hits)


def test_painless_scorer_gives_the_same_ranking(es: Elasticsearch, code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    languages = {entry["language"] for entry in es.perform_request("GET", "/_script_language")["language_contexts"]}
    if "painless" not in languages:
        pytest.skip(
            "this node has no Painless: Elasticsearch's integ-test zip lacks the lang-painless module and no "
            "registry serves it for 9.x; the test runs against any full distribution"
        )
    engine, bits = code_engine
    for row in (0, 100, 2000):
        plugin = engine.search(Code.from_bits(bits[row]), k=100, scorer="plugin")
        painless = engine.search(Code.from_bits(bits[row]), k=100, scorer="painless")
        assert [(h.distance, h.id) for h in plugin] == [(h.distance, h.id) for h in painless]


def test_painless_scorer_without_painless_is_a_clear_error(
    es: Elasticsearch, code_engine: tuple[ElasticHash, np.ndarray]
) -> None:
    languages = {entry["language"] for entry in es.perform_request("GET", "/_script_language")["language_contexts"]}
    if "painless" in languages:
        pytest.skip("this node has Painless")
    engine, bits = code_engine
    with pytest.raises(ClusterError, match="no Painless scripting; use --scorer plugin"):
        engine.search(Code.from_bits(bits[0]), scorer="painless")


def sample_images(folder: Path, n: int = 12) -> list[Path]:
    """Distinct synthetic pictures: coloured blocks on gradients."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(3)
    paths = []
    for i in range(n):
        array = np.zeros((48, 64, 3), dtype=np.uint8)
        array[..., i % 3] = np.linspace(0, 255, 64, dtype=np.uint8)
        y, x = rng.integers(0, 32, 2)
        array[y : y + 16, x : x + 24] = rng.integers(0, 255, 3, dtype=np.uint8)
        path = folder / f"img{i:02d}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(array).save(path)
        paths.append(path)
    return paths


def test_reingest_adds_nothing(engine: ElasticHash, tmp_path: Path) -> None:
    sample_images(tmp_path / "pics")
    first = engine.index_directory(tmp_path / "pics", progress=False)
    assert (first.indexed, first.already_indexed, first.failed) == (12, 0, {})
    second = engine.index_directory(tmp_path / "pics", progress=False)
    assert (second.indexed, second.already_indexed, second.failed) == (0, 12, {})
    assert engine.count() == 12


def test_bad_files_are_reported_by_name_and_the_rest_indexed(engine: ElasticHash, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    sample_images(folder, n=5)
    buffer = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 90, dtype=np.uint8)).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[:300])
    (folder / "text.png").write_text("this is not a picture")
    (folder / "empty.jpg").touch()
    report = engine.index_directory(folder, progress=False)
    assert report.indexed == 5
    assert sorted(Path(name).name for name in report.failed) == ["empty.jpg", "text.png", "truncated.jpg"]
    assert "truncated" in report.failed[str(folder / "truncated.jpg")].lower()
    assert "not an image" in report.failed[str(folder / "text.png")]
    assert "empty" in report.failed[str(folder / "empty.jpg")]
    assert engine.count() == 5


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "elastichash.cli", "--es-url", ES_URL, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_cli_round_trip(engine: ElasticHash, tiny_model: str, tmp_path: Path) -> None:
    paths = sample_images(tmp_path / "cli")
    indexed = run_cli("--index", engine.index, "--model", tiny_model, "index", str(tmp_path / "cli"), "--no-progress")
    assert indexed.returncode == 0, indexed.stderr
    assert "indexed 12, already indexed 0, failed 0" in indexed.stdout
    query = paths[4]
    found = run_cli("--index", engine.index, "--model", tiny_model, "search", str(query), "-k", "5", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    # The tiny model's codes are far apart, so fewer than k images pass stage 1.
    assert 1 <= len(hits) <= 5 and set(hits[0]) == {"id", "score", "distance", "source"}
    if len(hits) < 5:
        assert "--mode long ranks every image" in found.stderr
    assert hits[0]["source"]["path"] == str(query)
    assert hits[0]["distance"] == 0 and hits[0]["score"] == 256
    console = run_cli("--index", engine.index, "--model", tiny_model, "console", str(query))
    assert console.stdout.startswith(f"GET {engine.index}/_search\n")
    assert json.loads(console.stdout.split("\n", 1)[1])["query"]["script_score"]["script"]["lang"] == "elastichash"


def test_cli_missing_index_is_a_sentence(tiny_model: str) -> None:
    result = run_cli("--index", "no-such-index-here", "--model", tiny_model, "search", "0" * 64)
    assert result.returncode == 1
    assert "index 'no-such-index-here' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
