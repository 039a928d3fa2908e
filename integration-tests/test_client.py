"""The Python library and CLI against a real node: exact k nearest, the MIH guarantee, batch
search, ingest, the index layout (v3: the hamming_code field), reindex from the earlier layouts,
CLI round trip."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import bulk
from elastichash import ClusterError, Code, ElasticHash, LayoutError, codes, queries
from elastichash.engines import Client
from PIL import Image

N_CODES = 4000


@pytest.fixture
def engine(es: Client, tiny_model: str) -> Iterator[ElasticHash]:
    engine = ElasticHash(es, index=f"it-client-{uuid.uuid4().hex[:8]}", model=tiny_model)
    yield engine
    es.indices.delete(index=engine.index, ignore_unavailable=True)


def clustered_bits(n: int, seed: int) -> np.ndarray:
    """Codes around a few centres with 0-20 flipped short-code bits: many lie near the MIH bound."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 2, size=(8, 256), dtype=np.uint8)
    bits = centres[rng.integers(0, 8, n)]
    for row in bits:
        row[rng.choice(64, size=rng.integers(0, 21), replace=False)] ^= 1
        row[64 + rng.choice(192, size=rng.integers(0, 60), replace=False)] ^= 1
    return bits


@pytest.fixture(scope="module")
def code_engine(es: Client) -> Iterator[tuple[ElasticHash, np.ndarray]]:
    bits = clustered_bits(N_CODES, 11)
    engine = ElasticHash(es, index=f"it-codes-{uuid.uuid4().hex[:8]}")
    engine.create_index(shards=2)
    ids = [f"{i:05d}" for i in range(N_CODES)]
    fields = [{"group": int(i % 3), "path": f"p/{i:05d}.png"} for i in range(N_CODES)]
    # Two rounds with a refresh between, so that shards hold more than one segment.
    half = N_CODES // 2
    first = engine.index_codes(ids[:half], bits[:half], fields[:half])
    second = engine.index_codes(ids[half:], bits[half:], fields[half:])
    assert first.indexed + second.indexed == N_CODES and first.ok and second.ok
    yield engine, bits
    es.indices.delete(index=engine.index)


def query_codes(bits: np.ndarray, n: int, seed: int) -> list[Code]:
    """Near copies of indexed codes (0-5 flipped short-code bits) and a few random codes."""
    rng = np.random.default_rng(seed)
    result = []
    for row in rng.choice(len(bits), size=n, replace=False):
        query = bits[row].copy()
        query[rng.choice(64, size=rng.integers(0, 6), replace=False)] ^= 1
        result.append(Code.from_bits(query))
    result += [Code.from_bits(rng.integers(0, 2, 256, dtype=np.uint8)) for _ in range(3)]
    return result


def assert_exact_top_k(hits: list, true_distances: np.ndarray, k: int, row_of: Callable[[str], int] = int) -> None:
    """The hits are a true k nearest: numpy's k smallest distances, each hit at its own true
    distance (so equal distances at the k-th place may be any of the tied documents).
    `row_of` maps a hit's id to its row in `true_distances`."""
    assert [hit.distance for hit in hits] == sorted(true_distances.tolist())[:k]
    assert len({hit.id for hit in hits}) == len(hits)
    for hit in hits:
        assert hit.distance == true_distances[row_of(hit.id)], hit


# --- the exact mode (default) ------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 10, 100])
def test_exact_mode_is_numpy_s_exact_top_k(code_engine: tuple[ElasticHash, np.ndarray], k: int) -> None:
    engine, bits = code_engine
    words = codes.to_words(bits)
    for code in query_codes(bits, 8, seed=k):
        hits = engine.search(code, k=k)  # mode="exact" is the default
        assert_exact_top_k(hits, codes.hamming_distance(code.words, words), k)
        assert all(hit.score == 256 - hit.distance for hit in hits)
        assert all(hit.source == {"path": f"p/{hit.id}.png"} for hit in hits)  # doc values


def test_exact_mode_with_max_distance_and_filter(code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    words = codes.to_words(bits)
    for code in query_codes(bits, 5, seed=2):
        distances = codes.hamming_distance(code.words, words)
        limit = int(np.sort(distances)[20])
        within = engine.search(code, k=500, max_distance=limit)
        assert sorted(int(h.id) for h in within) == np.flatnonzero(distances <= limit).tolist()
        group = np.arange(N_CODES) % 3 == 1
        filtered = engine.search(code, k=30, filter={"term": {"group": 1}})
        assert_exact_top_k(filtered, np.where(group, distances, 10_000), 30)


# --- the paper's two stages: paper (in the plugin) and two_stage (terms + script) ---------------


@pytest.mark.parametrize("mode", ["paper", "two_stage"])
def test_two_stages_find_everything_within_64_bit_distance_11(
    code_engine: tuple[ElasticHash, np.ndarray], mode: str
) -> None:
    engine, bits = code_engine
    words, short = codes.to_words(bits), codes.to_words(bits)[:, :1]
    subcodes = codes.to_subcodes(bits)[:, : codes.N_SUBCODES].astype(np.int64)
    for code in query_codes(bits, 12, seed=5):
        # The candidates multi-index hashing must return: a sub-code 0..3 within distance 2.
        query_subcodes = code.subcodes[: codes.N_SUBCODES].astype(np.int64)
        candidates = np.flatnonzero((codes.popcount(subcodes ^ query_subcodes) <= 2).any(axis=1))
        hits = engine.search(code, k=len(candidates) + 10, mode=mode)
        got_ids = {int(hit.id) for hit in hits}
        assert got_ids == set(candidates.tolist())
        within_11 = np.flatnonzero(codes.hamming_distance(code.words[:1], short) <= 11)
        assert set(within_11.tolist()) <= got_ids
        distances = codes.hamming_distance(code.words, words)
        assert [hit.distance for hit in hits] == sorted(distances[candidates].tolist())
        for hit in hits:
            assert hit.distance == distances[int(hit.id)]


def test_paper_mode_radius(code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    subcodes = codes.to_subcodes(bits)[:, : codes.N_SUBCODES].astype(np.int64)
    code = query_codes(bits, 1, seed=9)[0]
    query_subcodes = code.subcodes[: codes.N_SUBCODES].astype(np.int64)
    for radius in (0, 1):
        expected = np.flatnonzero((codes.popcount(subcodes ^ query_subcodes) <= radius).any(axis=1))
        for mode in ("paper", "two_stage"):
            hits = engine.search(code, k=len(expected) + 5, mode=mode, radius=radius)
            assert {int(h.id) for h in hits} == set(expected.tolist()), (mode, radius)


def test_short_and_long_modes(code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    code = Code.from_bits(bits[7])
    long_hits = engine.search(code, k=50, mode="long")
    assert_exact_top_k(long_hits, codes.hamming_distance(code.words, codes.to_words(bits)), 50)
    short_hits = engine.search(code, k=50, mode="short")
    short_distances = codes.hamming_distance(code.words[:1], codes.to_words(bits)[:, :1])
    assert short_hits[0].distance == 0 and short_hits[0].score == 64
    for hit in short_hits:
        assert hit.distance == short_distances[int(hit.id)]


@pytest.mark.parametrize("mode", queries.MODES)
def test_filter_applies_in_every_mode(code_engine: tuple[ElasticHash, np.ndarray], mode: str) -> None:
    engine, bits = code_engine
    hits = engine.search(Code.from_bits(bits[0]), k=30, mode=mode, filter={"term": {"group": 1}}, source=True)
    assert hits and all(hit.source["group"] == 1 for hit in hits)
    assert all(int(hit.id) % 3 == 1 for hit in hits)
    # _source holds what was sent: the hex code, the id and the user's fields; nothing derived.
    for hit in hits:
        sent = {"hash": codes.to_hex(bits[int(hit.id)]), "image_id": hit.id, "group": 1, "path": f"p/{hit.id}.png"}
        assert hit.source == sent


# --- batch search ------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["exact", "paper", "two_stage"])
def test_search_codes_matches_search(code_engine: tuple[ElasticHash, np.ndarray], mode: str) -> None:
    engine, bits = code_engine
    queries_ = query_codes(bits, 20, seed=3)
    k = 40
    distances, ids = engine.search_codes([c.hex for c in queries_], k=k, mode=mode, batch_size=7)
    assert distances.shape == ids.shape == (len(queries_), k) and distances.dtype == np.int32
    for row, code in enumerate(queries_):
        hits = engine.search(code, k=k, mode=mode)
        found = len(hits)
        assert distances[row, :found].tolist() == [hit.distance for hit in hits]
        assert ids[row, :found].tolist() == [hit.id for hit in hits]
        assert (distances[row, found:] == -1).all() and all(i is None for i in ids[row, found:])
    if mode != "exact":  # random queries pass the sub-code filter rarely: missing ranks exist
        assert (distances == -1).any()
    packed = engine.search_codes(codes.pack_bits(np.stack([c.bits for c in queries_])), k=k, mode=mode)
    np.testing.assert_array_equal(packed[0], distances)


def test_docvalue_fields_of_unmapped_names_are_no_error(es: Client) -> None:
    """The default search asks for `path`; an index without that field still answers."""
    engine = ElasticHash(es, index=f"it-nopath-{uuid.uuid4().hex[:8]}")
    es.indices.create(index=engine.index, body={"mappings": queries.mapping()})
    try:
        bits = clustered_bits(50, 4)
        engine.index_codes([f"d{i}" for i in range(50)], bits)
        assert "path" not in es.indices.get_mapping(index=engine.index)[engine.index]["mappings"]["properties"]
        hits = engine.search(Code.from_bits(bits[3]), k=3)
        assert hits[0].distance == 0 and hits[0].source == {}
        assert hits[0].id in {f"d{i}" for i in np.flatnonzero((bits == bits[3]).all(axis=1))}
    finally:
        es.indices.delete(index=engine.index)


# --- the index layout: v3 written, earlier layouts refused, Painless on layout v2 only ------------


def test_get_reads_one_document_or_says_none(code_engine: tuple[ElasticHash, np.ndarray], es: Client) -> None:
    engine, bits = code_engine
    document = engine.get("00005")
    assert document is not None and document[queries.HEX_FIELD] == Code.from_bits(bits[5]).hex
    assert document["path"] == "p/00005.png" and document["group"] == 2
    assert engine.get("no-such-document") is None
    with pytest.raises(ClusterError, match="does not exist"):
        ElasticHash(es, index=f"it-missing-{uuid.uuid4().hex[:8]}").get("00005")


def test_a_created_index_has_exactly_the_v3_mapping(code_engine: tuple[ElasticHash, np.ndarray], es: Client) -> None:
    engine, _ = code_engine
    properties = es.indices.get_mapping(index=engine.index)[engine.index]["mappings"]["properties"]
    assert properties.pop("group") == {"type": "long"}  # dynamically mapped from the documents
    if properties["hash"].get("bits") == 256:  # the node may state the default
        del properties["hash"]["bits"]
    expected = queries.mapping({"path": {"type": "keyword"}, "other_paths": {"type": "keyword"}})
    assert {"properties": properties} == expected
    assert properties["hash"] == {"type": "hamming_code"}


def test_a_document_s_source_holds_only_the_code_the_id_and_the_user_s_fields(
    code_engine: tuple[ElasticHash, np.ndarray], es: Client
) -> None:
    engine, bits = code_engine
    document = es.get(index=engine.index, id="00007")["_source"]
    assert document == {"hash": codes.to_hex(bits[7]), "image_id": "00007", "group": 1, "path": "p/00007.png"}
    # The field reads back as the hex code, from doc values and through `fields`.
    answer = es.search(
        index=engine.index,
        body={
            "query": {"ids": {"values": ["00007"]}},
            "_source": False,
            "docvalue_fields": ["hash"],
            "fields": ["hash"],
        },
    )
    assert answer["hits"]["hits"][0]["fields"] == {"hash": [codes.to_hex(bits[7])]}


def create_v2_index(es: Client, name: str, bits: np.ndarray, ids: list[str]) -> None:
    """An index of layout v2 (hash_mih, hash_r0..3), as the library wrote it before the field type."""
    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": queries.v2_mapping({"path": {"type": "keyword"}, "group": {"type": "integer"}}),
        },
    )
    actions = (
        {
            "_index": name,
            "_id": doc_id,
            **fields,
            "image_id": doc_id,
            "path": f"photos/{i:04d}.jpg",
            "group": i % 5,
        }
        for i, (doc_id, fields) in enumerate(zip(ids, queries.v2_code_fields_batch(bits), strict=True))
    )
    bulk(es, actions, refresh=True)


@pytest.fixture(scope="module")
def v2_index(es: Client) -> Iterator[tuple[str, np.ndarray, list[str]]]:
    bits = clustered_bits(600, 31)
    ids = [f"v2-{i:04d}" for i in range(len(bits))]
    name = f"it-v2-{uuid.uuid4().hex[:8]}"
    create_v2_index(es, name, bits, ids)
    yield name, bits, ids
    es.indices.delete(index=name, ignore_unavailable=True)


def test_ingest_into_and_search_of_a_v2_index_are_refused_with_the_reindex_command(
    es: Client, es_url: str, tiny_model: str, tmp_path: Path, v2_index: tuple[str, np.ndarray, list[str]]
) -> None:
    name, bits, _ = v2_index
    sentence = "by reindexing it into a new index"
    engine = ElasticHash(es, index=name, model=tiny_model)
    for mode in ("exact", "paper", "two_stage"):
        with pytest.raises(LayoutError, match=f"has an earlier ElasticHash layout .*{sentence}$"):
            engine.search(Code.from_bits(bits[0]), mode=mode)
    with pytest.raises(LayoutError, match=sentence):
        engine.search_codes(bits[:3])
    with pytest.raises(LayoutError, match=sentence):
        engine.index_codes(["new-one"], bits[:1])
    sample_images(tmp_path / "pics", n=2)
    with pytest.raises(LayoutError, match=sentence):
        engine.index_directory(tmp_path / "pics", progress=False)
    assert engine.count() == len(bits)  # nothing was written
    for argv in (["search", "0" * 64], ["index", str(tmp_path / "pics"), "--no-progress"]):
        result = run_cli(es_url, "--index", name, "--model", tiny_model, *argv)
        assert result.returncode == 1, result.stdout
        # The command line adds the command that does it.
        hint = f"{sentence} (`elastichash reindex --from {name} --index NEW`)"
        assert result.stderr.strip().endswith(hint) and "Traceback" not in result.stderr
    assert engine.count() == len(bits)


def test_painless_on_a_v3_index_is_refused(code_engine: tuple[ElasticHash, np.ndarray], es_url: str) -> None:
    engine, bits = code_engine
    for mode in ("two_stage", "long", "short"):
        with pytest.raises(LayoutError, match="which Painless cannot read; only the plugin scorer searches it$"):
            engine.search(Code.from_bits(bits[0]), mode=mode, scorer="painless")
    result = run_cli(es_url, "--index", engine.index, "search", "0" * 64, "--mode", "long", "--scorer", "painless")
    assert result.returncode == 1
    hint = "Painless cannot read; only the plugin scorer searches it (--scorer plugin, the default)"
    assert result.stderr.strip().endswith(hint)


@pytest.mark.usefixtures("needs_painless")
@pytest.mark.parametrize("mode", ["two_stage", "long", "short"])
def test_painless_scorer_on_a_v2_index_is_numpy_s_ranking(
    es: Client, v2_index: tuple[str, np.ndarray, list[str]], mode: str
) -> None:
    name, bits, ids = v2_index
    engine = ElasticHash(es, index=name)
    words = codes.to_words(bits)
    for row in (0, 100, 400):
        code = Code.from_bits(bits[row])
        hits = engine.search(code, k=50, mode=mode, scorer="painless")
        distances = (
            codes.hamming_distance(code.words[:1], words[:, :1])
            if mode == "short"
            else codes.hamming_distance(code.words, words)
        )
        assert hits[0].distance == 0
        for hit in hits:
            assert hit.distance == distances[ids.index(hit.id)], hit
        assert [hit.distance for hit in hits] == sorted(hit.distance for hit in hits)
        if mode == "long":
            assert_exact_top_k(hits, distances, 50, row_of=ids.index)


def test_painless_scorer_without_painless_is_a_clear_error(
    painless: bool, engine_name: str, es: Client, v2_index: tuple[str, np.ndarray, list[str]]
) -> None:
    if painless:
        pytest.skip(f"this {engine_name} node has Painless: the error cannot happen here")
    name, bits, _ = v2_index
    with pytest.raises(ClusterError, match="no Painless scripting; use the plugin scorer"):
        ElasticHash(es, index=name).search(Code.from_bits(bits[0]), mode="two_stage", scorer="painless")


# --- ingest --------------------------------------------------------------------------------------


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


# --- reindex from the earlier layouts ------------------------------------------------------------


def create_v1_index(es: Client, name: str, bits: np.ndarray) -> list[str]:
    """An index as the first release wrote it: sub-codes 0-3 in hash_f0..hash_f3, no image_id."""
    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "hash": {"type": "keyword", "index": False, "doc_values": False},
                    **{f"hash_f{i}": {"type": "keyword", "doc_values": False} for i in range(4)},
                    **{f"hash_r{i}": {"type": "long", "index": False} for i in range(4)},
                    "path": {"type": "keyword"},
                    "group": {"type": "integer"},
                }
            },
        },
    )
    ids = [f"old-{i:04d}" for i in range(len(bits))]
    hexes, words, subcodes = codes.to_hex(bits), codes.to_words(bits), codes.to_subcodes(bits)
    actions = (
        {
            "_index": name,
            "_id": ids[i],
            "hash": hexes[i],
            **{f"hash_f{j}": f"{int(subcodes[i, j]):04x}" for j in range(4)},
            **{f"hash_r{j}": int(words[i, j]) for j in range(4)},
            "path": f"photos/{i:04d}.jpg",
            "group": i % 5,
        }
        for i in range(len(bits))
    )
    bulk(es, actions, refresh=True)
    return ids


def check_reindexed(es: Client, new: str, bits: np.ndarray, ids: list[str]) -> None:
    """The new index has layout v3 with the old index's own fields, each document its code, id and
    fields, and an exact search answers as numpy on the old codes."""
    engine = ElasticHash(es, index=new)
    properties = es.indices.get_mapping(index=new)[new]["mappings"]["properties"]
    assert properties["hash"]["type"] == "hamming_code"
    assert set(properties) == {"hash", "image_id", "path", "other_paths", "group"}  # no hash_f*, hash_mih, hash_r*
    assert properties["group"] == {"type": "integer"} and properties["path"] == {"type": "keyword"}
    settings = es.indices.get_settings(index=new)[new]["settings"]["index"]
    assert settings["number_of_shards"] == "2"
    assert engine.count() == len(bits)

    document = es.get(index=new, id=ids[7])["_source"]
    assert document == {"hash": codes.to_hex(bits[7]), "image_id": ids[7], "path": "photos/0007.jpg", "group": 2}
    words = codes.to_words(bits)
    for code in query_codes(bits, 5, seed=8):
        hits = engine.search(code, k=20)
        assert_exact_top_k(hits, codes.hamming_distance(code.words, words), 20, row_of=ids.index)
        assert all(h.source["path"] == f"photos/{ids.index(h.id):04d}.jpg" for h in hits)
    # Filters on the extra fields that came along.
    code = Code.from_bits(bits[3])
    filtered = engine.search(code, k=10, filter={"term": {"group": 3}}, source=True)
    assert filtered and all(h.source["group"] == 3 for h in filtered)
    group = np.array([ids.index(i) % 5 == 3 for i in ids])
    assert_exact_top_k(
        filtered, np.where(group, codes.hamming_distance(code.words, words), 10_000), 10, row_of=ids.index
    )


def test_reindex_moves_a_v1_index(es: Client, es_url: str, tiny_model: str) -> None:
    old, new = f"it-v1-{uuid.uuid4().hex[:8]}", f"it-v3-{uuid.uuid4().hex[:8]}"
    bits = clustered_bits(1500, 21)
    try:
        ids = create_v1_index(es, old, bits)
        result = run_cli(es_url, "reindex", "--from", old, "--index", new, "--no-progress", "--model", tiny_model)
        assert result.returncode == 0, result.stderr
        assert f"reindexed '{old}' into '{new}': indexed 1500, already indexed 0, failed 0" in result.stdout
        again = ElasticHash(es, index=new).reindex_from(old, progress=False)  # runs again safely
        assert (again.indexed, again.already_indexed, again.failed) == (0, 1500, {})
        check_reindexed(es, new, bits, ids)
    finally:
        es.indices.delete(index=old, ignore_unavailable=True)
        es.indices.delete(index=new, ignore_unavailable=True)


def test_reindex_moves_a_v2_index(es: Client, v2_index: tuple[str, np.ndarray, list[str]]) -> None:
    old, bits, ids = v2_index
    new = f"it-v3-{uuid.uuid4().hex[:8]}"
    try:
        report = ElasticHash(es, index=new).reindex_from(old, progress=False)
        assert (report.indexed, report.already_indexed, report.failed) == (len(bits), 0, {})
        check_reindexed(es, new, bits, ids)
        # The paper's two stages on the reindexed field find what the old sub-code terms found.
        engine = ElasticHash(es, index=new)
        subcodes = codes.to_subcodes(bits)[:, : codes.N_SUBCODES].astype(np.int64)
        for code in query_codes(bits, 4, seed=12):
            query_subcodes = code.subcodes[: codes.N_SUBCODES].astype(np.int64)
            expected = np.flatnonzero((codes.popcount(subcodes ^ query_subcodes) <= 2).any(axis=1))
            for mode in ("paper", "two_stage"):
                hits = engine.search(code, k=len(expected) + 5, mode=mode)
                assert {ids.index(h.id) for h in hits} == set(expected.tolist()), mode
    finally:
        es.indices.delete(index=new, ignore_unavailable=True)


def test_reindex_refuses_a_target_of_an_earlier_layout(
    es: Client, code_engine: tuple[ElasticHash, np.ndarray], v2_index: tuple[str, np.ndarray, list[str]]
) -> None:
    engine, _ = code_engine
    name, bits, _ = v2_index
    with pytest.raises(LayoutError, match=f"index '{name}' exists without the hamming_code field `hash`"):
        ElasticHash(es, index=name).reindex_from(engine.index, progress=False)
    assert es.count(index=name)["count"] == len(bits)


def test_reindex_from_a_missing_index_is_a_sentence(es_url: str, tiny_model: str) -> None:
    result = run_cli(es_url, "reindex", "--from", "no-such-old-index", "--index", "whatever", "--model", tiny_model)
    assert result.returncode == 1
    assert "index 'no-such-old-index' does not exist" in result.stderr
    assert "Traceback" not in result.stderr


# --- the command line ----------------------------------------------------------------------------


def run_cli(es_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "elastichash.cli", "--es-url", es_url, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def test_cli_round_trip(es_url: str, engine: ElasticHash, tiny_model: str, tmp_path: Path) -> None:
    paths = sample_images(tmp_path / "cli")
    # The cluster options after the command, as well as before it.
    indexed = run_cli(
        es_url, "index", str(tmp_path / "cli"), "--index", engine.index, "--model", tiny_model, "--no-progress"
    )
    assert indexed.returncode == 0, indexed.stderr
    assert "indexed 12, already indexed 0, failed 0" in indexed.stdout
    query = paths[4]
    found = run_cli(es_url, "--index", engine.index, "--model", tiny_model, "search", str(query), "-k", "5", "--json")
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    # The exact mode: always k hits, nearest first, whatever the codes' spread.
    assert len(hits) == 5 and set(hits[0]) == {"id", "score", "distance", "source"}
    assert found.stderr == ""
    assert hits[0]["source"] == {"path": str(query)}
    assert hits[0]["distance"] == 0 and hits[0]["score"] == 256
    assert [h["distance"] for h in hits] == sorted(h["distance"] for h in hits)
    two_stage = run_cli(
        es_url, "search", str(query), "-k", "5", "--mode", "two_stage", "--index", engine.index, "--model", tiny_model
    )
    assert two_stage.returncode == 0, two_stage.stderr
    if len(two_stage.stdout.splitlines()) < 6:  # the tiny model's codes are far apart
        assert "passed the multi-index-hashing filter; --mode exact finds all k" in two_stage.stderr
    console = run_cli(es_url, "--index", engine.index, "--model", tiny_model, "console", str(query))
    assert console.stdout.startswith(f"GET {engine.index}/_search\n")
    hamming = json.loads(console.stdout.split("\n", 1)[1])["query"]["hamming"]
    assert (hamming["field"], hamming["k"]) == ("hash", 10)


def test_cli_missing_index_is_a_sentence(es_url: str, tiny_model: str) -> None:
    result = run_cli(es_url, "--index", "no-such-index-here", "--model", tiny_model, "search", "0" * 64)
    assert result.returncode == 1
    assert "index 'no-such-index-here' does not exist" in result.stderr
    assert "Traceback" not in result.stderr
