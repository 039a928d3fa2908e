"""The native `hamming` query against a real node: exact k nearest (checked against numpy) on
clustered and random codes, over several shards and segments, with deletions, documents without
codes, filters, max_distance, the paper's mode, explain/profile, and its answers to bad input.

Documents are built here from the documented layouts (docs/hamming-query.md), not by the client
library, so the test also checks the contract between the two: the `hamming_code` field (the
code sent once, as hex) and the earlier layout of long words and sub-code terms, which the query
still reads.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pytest
from conftest import bulk, refusal
from elastichash.engines import Client

WORDS = [f"hash_r{i}" for i in range(4)]
LABELS = 4


@dataclass
class QueryIndex:
    name: str
    layout: str
    words: np.ndarray  # (n, 4) int64, row i = document id i
    labels: np.ndarray
    alive: np.ndarray  # False: deleted, or indexed without code fields

    def distances(self, query: np.ndarray) -> np.ndarray:
        return np.bitwise_count(np.bitwise_xor(self.words, query).view(np.uint64)).sum(axis=1)


def clustered(rng: np.random.Generator, n: int, centres: int, flip: float) -> np.ndarray:
    bits = rng.integers(0, 2, size=(centres, 256), dtype=np.uint8)[rng.integers(0, centres, n)]
    return bits ^ (rng.random((n, 256)) < flip).astype(np.uint8)


def to_words(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64).view(np.int64)


def hex_of(words: np.ndarray) -> str:
    return "".join(f"{int(w) & 0xFFFF_FFFF_FFFF_FFFF:016x}" for w in words)


#: The layouts an index can keep its codes in: the field type, and the earlier hand-made one.
LAYOUTS = ("hamming_code", "long_words")


def documents(
    name: str, words: np.ndarray, labels: np.ndarray, start: int, bare: set[int], layout: str
) -> Iterator[dict]:
    packed = np.ascontiguousarray(words.astype(np.uint64).astype(">u8")).view(">u2")
    for i in range(len(words)):
        doc: dict = {"_index": name, "_id": str(start + i), "label": str(labels[i]), "image_id": str(start + i)}
        if start + i in bare:
            pass
        elif layout == "hamming_code":
            doc["hash"] = hex_of(words[i])
        else:
            doc["hash_mih"] = [f"{p:x}{int(packed[i, p]):04x}" for p in range(16)]
            doc.update({field: int(words[i, w]) for w, field in enumerate(WORDS)})
        yield doc


def create(es: Client, shards: int, layout: str) -> str:
    name = f"it-query-{uuid.uuid4().hex[:8]}"
    codes = (
        {"hash": {"type": "hamming_code"}}
        if layout == "hamming_code"
        else {
            "hash_mih": {"type": "keyword", "doc_values": False},
            **{field: {"type": "long", "index": False} for field in WORDS},
        }
    )
    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": shards, "number_of_replicas": 0, "refresh_interval": -1},
            "mappings": {
                "properties": {
                    **codes,
                    "label": {"type": "keyword"},
                    "image_id": {"type": "keyword", "index": False},
                    "title": {"type": "text"},
                }
            },
        },
    )
    return name


@pytest.fixture(scope="module", params=LAYOUTS)
def mixed(es: Client, request: pytest.FixtureRequest) -> Iterator[QueryIndex]:
    """2 shards, several segments each; clustered and random codes; deletions; bare documents."""
    layout = request.param
    rng = np.random.default_rng(808)
    bits = np.concatenate([clustered(rng, 9000, 40, 0.04), rng.integers(0, 2, (3000, 256), dtype=np.uint8)])
    words = to_words(bits)
    labels = rng.integers(0, LABELS, len(words))
    bare = set(range(0, len(words), 97))
    name = create(es, shards=2, layout=layout)
    for start in range(0, len(words), 3000):  # a refresh per round: several segments per shard
        bulk(es, documents(name, words[start : start + 3000], labels[start : start + 3000], start, bare, layout))
        es.indices.refresh(index=name)
    deleted = rng.choice(len(words), 400, replace=False)
    bulk(es, ({"_op_type": "delete", "_index": name, "_id": str(i)} for i in deleted))
    es.indices.refresh(index=name)
    alive = np.ones(len(words), dtype=bool)
    alive[list(bare)] = False
    alive[deleted] = False
    assert es.count(index=name)["count"] == len(words) - len(deleted)
    yield QueryIndex(name, layout, words, labels, alive)
    es.indices.delete(index=name)


@pytest.fixture(scope="module")
def merged(es: Client) -> Iterator[QueryIndex]:
    """One shard, one 60k-document segment of clustered codes: large enough for hashing to win."""
    rng = np.random.default_rng(909)
    words = to_words(clustered(rng, 60_000, 3000, 0.02))
    labels = rng.integers(0, LABELS, len(words))
    name = create(es, shards=1, layout="hamming_code")
    bulk(es, documents(name, words, labels, 0, set(), "hamming_code"), chunk_size=5000)
    es.indices.forcemerge(index=name, max_num_segments=1)
    es.indices.refresh(index=name)
    yield QueryIndex(name, "hamming_code", words, labels, np.ones(len(words), dtype=bool))
    es.indices.delete(index=name)


def search(es: Client, index: QueryIndex, query: dict, size: int, **options) -> dict:
    """The hamming query on the index; on a hamming_code index it names the field, as users do (the
    earlier layout's index is searched with the defaults, as earlier clients did)."""
    if index.layout == "hamming_code":
        query = {"field": "hash", **query}
    body = {"query": {"hamming": query}, "size": size, "_source": False, "docvalue_fields": ["image_id"], **options}
    return es.search(index=index.name, body=body)


def hit_ids(response: dict) -> list[int]:
    return [int(hit["fields"]["image_id"][0]) for hit in response["hits"]["hits"]]


def assert_exact(response: dict, distances: np.ndarray, accept: np.ndarray, k: int) -> None:
    """Hits are the k nearest accepted documents; at the k-th distance any of the tied ones will do."""
    ids = hit_ids(response)
    candidates = np.flatnonzero(accept)
    expected = np.sort(distances[candidates])[:k]
    got = np.array([256 - hit["_score"] for hit in response["hits"]["hits"]])
    assert len(set(ids)) == len(ids), "a document came back twice"
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(distances[ids], got, err_msg="a score is not 256 - the document's distance")
    assert accept[ids].all(), "a hit that is deleted, has no code, or fails the filter"
    if len(expected):
        nearer = set(candidates[distances[candidates] < expected[-1]].tolist())
        assert nearer <= set(ids), "a document nearer than the k-th was left out"


def queries_for(index: QueryIndex, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    rows = rng.choice(np.flatnonzero(index.alive), n, replace=False)
    flips = (rng.random((n, 256)) < 0.03).astype(np.uint8)
    noisy = to_words(np.unpackbits(index.words[rows].astype(">u8").view(np.uint8), axis=1) ^ flips)
    return [*noisy[: n // 2], *rng.integers(-(2**63), 2**63 - 1, size=(n - n // 2, 4), dtype=np.int64)]


@pytest.mark.parametrize("k", [1, 10, 100, 1000])
def test_exact_k_nearest_equal_numpy_over_shards_segments_and_deletions(es: Client, mixed: QueryIndex, k: int) -> None:
    for query in queries_for(mixed, np.random.default_rng(k), 12):
        response = search(es, mixed, {"code": hex_of(query), "k": k}, size=k)
        assert response["_shards"]["failed"] == 0
        assert_exact(response, mixed.distances(query), mixed.alive, k)


def test_an_indexed_code_finds_itself_first(es: Client, mixed: QueryIndex) -> None:
    for row in np.flatnonzero(mixed.alive)[:200:20]:
        response = search(es, mixed, {"code": hex_of(mixed.words[row]), "k": 1}, size=1)
        assert hit_ids(response) == [row] or mixed.distances(mixed.words[row])[hit_ids(response)[0]] == 0
        assert response["hits"]["hits"][0]["_score"] == 256


def test_filter_restricts_candidates_and_still_returns_k(es: Client, mixed: QueryIndex) -> None:
    for i, query in enumerate(queries_for(mixed, np.random.default_rng(3), 10)):
        label = i % LABELS
        for k in (5, 300):
            response = search(
                es, mixed, {"code": hex_of(query), "k": k, "filter": {"term": {"label": str(label)}}}, size=k
            )
            assert len(response["hits"]["hits"]) == k
            assert_exact(response, mixed.distances(query), mixed.alive & (mixed.labels == label), k)


def test_max_distance_alone_returns_every_document_within_it(es: Client, mixed: QueryIndex) -> None:
    for query in queries_for(mixed, np.random.default_rng(4), 6)[:3]:
        distances = mixed.distances(query)
        for max_distance in (0, 10, 25):
            response = search(es, mixed, {"code": hex_of(query), "max_distance": max_distance}, size=10_000)
            within = mixed.alive & (distances <= max_distance)
            assert response["hits"]["total"]["value"] == within.sum()
            assert sorted(hit_ids(response)) == sorted(np.flatnonzero(within).tolist())


def test_max_distance_with_k(es: Client, mixed: QueryIndex) -> None:
    query = queries_for(mixed, np.random.default_rng(5), 2)[0]
    response = search(es, mixed, {"code": hex_of(query), "k": 20, "max_distance": 30}, size=20)
    distances = mixed.distances(query)
    assert_exact(response, distances, mixed.alive & (distances <= 30), 20)


def test_paper_mode_ranks_exactly_the_fixed_radius_candidates(es: Client, mixed: QueryIndex) -> None:
    def subcodes(words: np.ndarray) -> np.ndarray:  # the short code's 4 sub-codes
        return np.ascontiguousarray(words[..., :1].astype(">u8")).view(">u2").astype(np.int64)

    for query in queries_for(mixed, np.random.default_rng(6), 6):
        for radius in (0, 2):
            near = np.bitwise_count(subcodes(mixed.words) ^ subcodes(query)) <= radius
            accept = mixed.alive & near.any(axis=1)
            response = search(es, mixed, {"code": hex_of(query), "k": 50, "mode": "paper", "radius": radius}, size=50)
            assert_exact(response, mixed.distances(query), accept, 50)


def test_large_segment_is_searched_by_hashing_and_says_so(es: Client, merged: QueryIndex) -> None:
    for query in queries_for(merged, np.random.default_rng(7), 10)[:5]:
        response = search(es, merged, {"code": hex_of(query), "k": 3}, size=3, explain=True)
        assert_exact(response, merged.distances(query), merged.alive, 3)
        description = response["hits"]["hits"][0]["_explanation"]["description"]
        assert "radius" in description and "segments scanned" in description, description
    # A code of the index, k = 1: distance 0 is certified by ring 0 alone, nothing is scanned (its
    # 16 terms are looked up twice: first for their document frequencies, to price the ring).
    response = search(es, merged, {"code": hex_of(merged.words[123]), "k": 1}, size=1, explain=True)
    description = response["hits"]["hits"][0]["_explanation"]["description"]
    assert "radius 0, 32 term lookups" in description and "0 of 1 segments scanned" in description, description


def test_random_codes_fall_back_to_the_scan_and_stay_exact(es: Client, merged: QueryIndex) -> None:
    query = np.random.default_rng(8).integers(-(2**63), 2**63 - 1, size=4, dtype=np.int64)
    response = search(es, merged, {"code": hex_of(query), "k": 10}, size=10, explain=True)
    assert_exact(response, merged.distances(query), merged.alive, 10)
    assert "1 of 1 segments scanned" in response["hits"]["hits"][0]["_explanation"]["description"]


def test_profile_describes_the_search(es: Client, merged: QueryIndex) -> None:
    response = search(es, merged, {"code": hex_of(merged.words[0]), "k": 3}, size=3, profile=True)
    description = json.dumps(response["profile"])
    assert "term lookups" in description and "candidates compared" in description


def test_query_combines_with_other_queries_and_boost(es: Client, merged: QueryIndex) -> None:
    code = hex_of(merged.words[10])
    response = es.search(
        index=merged.name,
        body={
            "size": 3,
            "_source": False,
            "query": {
                "bool": {
                    "must": [{"hamming": {"code": code, "k": 3, "boost": 2}}],
                    "filter": [{"exists": {"field": "label"}}],
                }
            },
        },
    )
    assert response["hits"]["hits"][0]["_score"] == 512


BAD_QUERIES = {
    "code missing": ({"k": 3}, "[code]"),
    "code too short": ({"code": "ab" * 31}, "[code]"),
    "code not hex": ({"code": "g" * 64}, "[code]"),
    "code not a string": ({"code": 5}, "[code]"),
    "code an object": ({"code": {"hex": "00"}}, "[code]"),
    "k zero": ({"code": "0" * 64, "k": 0}, "[k]"),
    "k negative": ({"code": "0" * 64, "k": -5}, "[k]"),
    "k above the result window": ({"code": "0" * 64, "k": 10_001}, "[k]"),
    "k a string": ({"code": "0" * 64, "k": "ten"}, "[k]"),
    "k a float": ({"code": "0" * 64, "k": 2.5}, "[k]"),
    "k huge": ({"code": "0" * 64, "k": 10**30}, "[k]"),
    "max_distance above the bits": ({"code": "0" * 64, "max_distance": 257}, "[max_distance]"),
    "max_distance negative": ({"code": "0" * 64, "max_distance": -1}, "[max_distance]"),
    "mode unknown": ({"code": "0" * 64, "mode": "fuzzy"}, "[mode]"),
    "radius in exact mode": ({"code": "0" * 64, "radius": 1}, "[radius]"),
    "radius too large": ({"code": "0" * 64, "mode": "paper", "radius": 17}, "[radius]"),
    "unknown field": ({"code": "0" * 64, "fields": ["a", "b", "c", "d"]}, "[fields]"),
    "field of the wrong type": ({"code": "0" * 64, "fields": ["label", "label", "label", "label"]}, "[fields]"),
    "fields not an array": ({"code": "0" * 64, "fields": "hash_r0"}, "[fields]"),
    "subcode field of the wrong type": ({"code": "0" * 64, "subcode_field": "hash_r0"}, "[subcode_field]"),
    "subcode field unknown": ({"code": "0" * 64, "subcode_field": "nope"}, "[subcode_field]"),
    "filter not an object": ({"code": "0" * 64, "filter": "label:1"}, "[filter]"),
    "field not a string": ({"code": "0" * 64, "field": 5}, "[field]"),
    "field and the earlier fields": ({"code": "0" * 64, "field": "hash", "subcode_field": "x"}, "[field]"),
    "hamming_code field of the wrong type": ({"code": "0" * 64, "field": "label"}, "[field]"),
    "unknown parameter": ({"code": "0" * 64, "kk": 3}, "[kk]"),
}


@pytest.mark.parametrize("case", list(BAD_QUERIES))
def test_bad_input_is_a_400_naming_the_parameter(es: Client, mixed: QueryIndex, case: str) -> None:
    body, name = BAD_QUERIES[case]
    status, error = refusal(lambda: es.search(index=mixed.name, body={"query": {"hamming": body}}))
    assert status == 400, json.dumps(error)
    reason = error["error"]["root_cause"][0]["reason"]
    if mixed.layout == "hamming_code" and name in ("[fields]", "[subcode_field]"):
        # The earlier layout's parameters on an index without its fields: either may be named first.
        assert "[fields]" in reason or "[subcode_field]" in reason, reason
    else:
        assert name in reason, reason


DOCUMENTED_REASONS = [
    ({"code": "abc"}, "[code] must be the field's bits / 4 hex characters (64 for a 256-bit code;"),
    ({"code": "0" * 64, "kk": 3}, "[hamming] unknown parameter [kk]; it takes [code, field, k, max_distance, filter"),
    ({"code": "0" * 64, "k": 100_000}, "[k] must be between 1 and index.max_result_window (10000), got 100000"),
    (
        {"code": "0" * 16, "fields": ["nope"]},
        "[fields] names unknown field [nope]: it is not in the index mapping",
    ),
]


@pytest.mark.parametrize(("hamming", "reason"), DOCUMENTED_REASONS, ids=lambda v: str(v)[:24])
def test_bad_input_reasons_are_the_documented_sentences(
    es: Client, mixed: QueryIndex, hamming: dict, reason: str
) -> None:
    """The README's and docs' wording, whole. Errors found on a shard (the mapping, the result
    window) may come wrapped as "failed to create query: <reason>"."""
    status, error = refusal(lambda: es.search(index=mixed.name, body={"query": {"hamming": hamming}}))
    assert status == 400, error
    assert reason in error["error"]["root_cause"][0]["reason"], error


FIELD_REASONS = [
    (
        {"code": "0" * 128, "field": "hash"},
        "[code] must be 64 hex characters: field [hash] holds 256-bit codes, got 128",
    ),
    ({"code": "0" * 64, "field": "label"}, "[field] field [label] must be of type [hamming_code], but it is [keyword]"),
    ({"code": "0" * 64, "field": "nope"}, "[field] names unknown field [nope]: it is not in the index mapping"),
]


@pytest.mark.parametrize(("hamming", "reason"), FIELD_REASONS, ids=lambda v: str(v)[:24])
def test_a_hamming_code_field_checks_the_code_against_its_bits(
    es: Client, merged: QueryIndex, hamming: dict, reason: str
) -> None:
    status, error = refusal(lambda: es.search(index=merged.name, body={"query": {"hamming": hamming}}))
    assert status == 400, error
    assert reason in error["error"]["root_cause"][0]["reason"], error


def test_node_is_healthy_after_bad_input(es: Client, mixed: QueryIndex) -> None:
    for body, _ in BAD_QUERIES.values():
        refusal(lambda body=body: es.search(index=mixed.name, body={"query": {"hamming": body}}))
    assert es.cluster.health()["status"] in ("green", "yellow")
    response = search(es, mixed, {"code": hex_of(mixed.words[1]), "k": 1}, size=1)
    assert len(response["hits"]["hits"]) == 1


def test_console_snippet_replays_with_the_documented_hits(es_url: str) -> None:
    """docs/console/hamming-query.console, verbatim over plain HTTP: each search's hits and scores."""
    from test_console_snippets import CONSOLE_DIR, parse_console, send

    requests = parse_console((CONSOLE_DIR / "hamming-query.console").read_text())
    send(es_url, "DELETE", requests[0][1], None)  # a left-over from an interrupted run
    documents: dict[str, np.ndarray] = {}
    expected_ids = iter(
        [
            ["exact", "near", "zeros"],
            ["exact", "near", "ones"],
            ["exact", "near"],
            ["exact", "near", "zeros"],
            ["exact"],
        ]
    )
    for method, path, body in requests:
        status, response = send(es_url, method, path, body)
        assert status in (200, 201), (method, path, response)
        if "/_doc/" in path:
            documents[path.split("/_doc/")[1].split("?")[0]] = np.array(
                [int(body["hash"][i : i + 16], 16) for i in range(0, 64, 16)], dtype=np.uint64
            )
        if path.endswith("/_search"):
            query = np.array(
                [int(body["query"]["hamming"]["code"][i : i + 16], 16) for i in range(0, 64, 16)], dtype=np.uint64
            )
            hits = response["hits"]["hits"]
            assert [hit["_id"] for hit in hits] == next(expected_ids)
            for hit in hits:
                distance = int(np.bitwise_count(documents[hit["_id"]] ^ query).sum())
                assert hit["_score"] == 256 - distance
            if body.get("explain"):
                assert "radius" in hits[0]["_explanation"]["description"]
    assert next(expected_ids, None) is None, "a search of the snippet was not run"
