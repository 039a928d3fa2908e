"""The OpenSearch plugin on a real OpenSearch node: the `hamming` query and script against numpy.

Start a node with the plugin (`make es-start ENGINE=opensearch`), then

    OPENSEARCH_URL=http://127.0.0.1:9290 .venv/bin/pytest -q integration-tests/opensearch

Without OPENSEARCH_URL the module is skipped (`make integration-test` runs against Elasticsearch).
Plain HTTP through urllib: the `elasticsearch` client refuses to talk to OpenSearch. The index
layout, the documents' fields and the client's Painless scorer come from the Python library.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from elastichash import codes, queries

OPENSEARCH_URL = os.environ.get("OPENSEARCH_URL", "")
if not OPENSEARCH_URL:
    pytest.skip("set OPENSEARCH_URL to an OpenSearch node with the plugin", allow_module_level=True)

LABELS = ("cat", "dog", "fox")


def call(method: str, path: str, body: Any = None, ndjson: list[dict] | None = None) -> tuple[int, Any]:
    """One REST call: (HTTP status, parsed JSON answer); errors are answers too."""
    if ndjson is not None:
        data, content_type = "".join(json.dumps(line) + "\n" for line in ndjson).encode(), "application/x-ndjson"
    else:
        data, content_type = (None if body is None else json.dumps(body).encode()), "application/json"
    request = urllib.request.Request(
        OPENSEARCH_URL.rstrip("/") + path, data=data, method=method, headers={"Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


@dataclass
class Index:
    name: str
    bits: np.ndarray  # (n, 256) uint8, document i has id str(i)
    words: np.ndarray  # (n, 4) int64
    labels: np.ndarray  # (n,) index into LABELS

    def distances(self, query_words: np.ndarray) -> np.ndarray:
        return codes.hamming_distance(query_words, self.words)


@pytest.fixture(scope="module")
def index() -> Iterator[Index]:
    try:
        status, health = call("GET", "/_cluster/health?wait_for_status=yellow&timeout=60s")
    except OSError as error:
        pytest.exit(
            f"no OpenSearch node answers at {OPENSEARCH_URL} ({error}); "
            "start one with `make es-start ENGINE=opensearch`",
            3,
        )
    assert status == 200, health
    _, plugins = call("GET", "/_cat/plugins?format=json")
    if "elastichash" not in {row["component"] for row in plugins}:
        pytest.exit(f"the node at {OPENSEARCH_URL} lacks the elastichash plugin ({plugins})", 3)

    rng = np.random.default_rng(93)
    uniform = rng.integers(0, 2, size=(3000, 256), dtype=np.uint8)
    centres = rng.integers(0, 2, size=(40, 256), dtype=np.uint8)
    clustered = centres[rng.integers(0, 40, size=2000)] ^ (rng.random((2000, 256)) < 0.05).astype(np.uint8)
    bits = np.concatenate([uniform, clustered])
    labels = rng.integers(0, len(LABELS), size=len(bits))

    name = f"os-smoke-{uuid.uuid4().hex[:8]}"
    body = queries.index_body(shards=2, extra_properties={"label": {"type": "keyword"}})
    status, answer = call("PUT", f"/{name}", body)
    assert status == 200, answer
    documents = queries.code_fields_batch(bits)
    for start in range(0, len(documents), 1000):
        lines: list[dict] = []
        for i in range(start, min(start + 1000, len(documents))):
            lines += [{"index": {"_index": name, "_id": str(i)}}, {**documents[i], "label": LABELS[labels[i]]}]
        status, answer = call("POST", "/_bulk", ndjson=lines)
        assert status == 200 and not answer["errors"], answer
    call("POST", f"/{name}/_refresh")
    yield Index(name, bits, codes.to_words(bits), labels)
    call("DELETE", f"/{name}")


def search(index: Index, body: dict) -> list[dict]:
    status, answer = call("POST", f"/{index.name}/_search", body)
    assert status == 200, answer
    assert answer["_shards"]["failed"] == 0, answer
    return answer["hits"]["hits"]


def queries_of(index: Index) -> list[np.ndarray]:
    """Query codes: noisy copies of indexed codes (near neighbours exist) and fresh random codes."""
    rng = np.random.default_rng(7)
    noisy = [index.bits[i] ^ (rng.random(256) < 0.04).astype(np.uint8) for i in (3100, 4500, 17)]
    return [*noisy, rng.integers(0, 2, size=256, dtype=np.uint8)]


def assert_exact_top_k(hits: list[dict], distances: np.ndarray, k: int) -> None:
    """The hits are the k nearest: their scores are 256 minus the k smallest distances, each hit's
    score is its own, and every document nearer than the k-th distance is among them."""
    expected = np.sort(distances)[:k]
    assert [256 - int(hit["_score"]) for hit in hits] == expected.tolist()
    for hit in hits:
        assert 256 - int(hit["_score"]) == distances[int(hit["_id"])], hit
    nearer = set(np.flatnonzero(distances < expected[-1]).tolist())
    assert nearer <= {int(hit["_id"]) for hit in hits}


@pytest.mark.parametrize("k", [1, 10, 100])
def test_hamming_query_returns_the_exact_k_nearest(index: Index, k: int) -> None:
    for query in queries_of(index):
        body = {"size": k, "query": queries.hamming_query(codes.to_hex(query), k=k), "_source": False}
        assert_exact_top_k(search(index, body), index.distances(codes.to_words(query)), k)


def test_hamming_query_with_filter_and_max_distance(index: Index) -> None:
    query = queries_of(index)[0]
    distances = index.distances(codes.to_words(query))
    only_dogs = np.where(index.labels == LABELS.index("dog"), distances, 10_000)
    body = {
        "size": 10,
        "query": queries.hamming_query(codes.to_hex(query), k=10, filter={"term": {"label": "dog"}}),
        "_source": False,
    }
    hits = search(index, body)
    assert_exact_top_k(hits, only_dogs, 10)

    limit = int(np.sort(distances)[30])
    body = {"size": 1000, "query": {"hamming": {"code": codes.to_hex(query), "max_distance": limit}}, "_source": False}
    within = {int(hit["_id"]) for hit in search(index, body)}
    assert within == set(np.flatnonzero(distances <= limit).tolist())


def test_explain_says_how_the_hit_was_found(index: Index) -> None:
    query = index.bits[4200]
    body = {"size": 1, "explain": True, "query": queries.hamming_query(codes.to_hex(query), k=1)}
    (hit,) = search(index, body)
    assert hit["_id"] == "4200"
    assert hit["_explanation"]["description"].startswith("hamming: 256 bits - distance 0 (exact search: ")


@pytest.mark.parametrize(
    ("hamming", "reason"),
    [
        ({"code": "abc"}, "[code] must be 64 hex characters (256 bits: 16 per 64-bit word), got 3"),
        ({"code": "0" * 64, "kk": 3}, "[hamming] unknown parameter [kk]; it takes [code, k, max_distance, filter"),
        ({"code": "0" * 64, "k": 100_000}, "[k] must be between 1 and index.max_result_window (10000), got 100000"),
        (
            {"code": "0" * 64, "fields": ["hash_r0", "hash_r1", "hash_r2", "nope"]},
            "[fields] names unknown field [nope]: it is not in the index mapping",
        ),
    ],
)
def test_bad_input_is_400_naming_the_parameter(index: Index, hamming: dict, reason: str) -> None:
    """Parsing errors are the reason itself; errors found on a shard (the mapping, the result
    window) come wrapped as "failed to create query: <reason>", as on Elasticsearch."""
    status, answer = call("POST", f"/{index.name}/_search", {"query": {"hamming": hamming}})
    assert status == 400, answer
    assert reason in answer["error"]["root_cause"][0]["reason"], answer


def script_scores(index: Index, ids: list[int], script: dict) -> np.ndarray:
    body = {
        "size": len(ids),
        "_source": False,
        "query": {"script_score": {"query": {"ids": {"values": [str(i) for i in ids]}}, "script": script}},
    }
    scores = {int(hit["_id"]): hit["_score"] for hit in search(index, body)}
    return np.array([scores[i] for i in ids])


def test_hamming_script_scores_bits_minus_distance(index: Index) -> None:
    query = queries_of(index)[1]
    ids = list(range(0, 5000, 25))
    expected = 256 - index.distances(codes.to_words(query))[ids]
    script = {"lang": "elastichash", "source": "hamming", "params": {"code": codes.to_hex(query)}}
    np.testing.assert_array_equal(script_scores(index, ids, script), expected)
    # The client's Painless scorer (no plugin needed) gives the very same scores.
    painless = queries.hamming_script(codes.to_hex(query), scorer="painless")
    np.testing.assert_array_equal(script_scores(index, ids, painless), expected)


def test_painless_first_word_score_equals_ours(index: Index) -> None:
    """The paper's Painless score on the first word against the hamming script on hash_r0 alone."""
    query = queries_of(index)[2]
    word = int(codes.to_words(query)[0])
    ids = list(range(3, 5000, 50))
    painless = {
        "lang": "painless",
        "source": "64 - Long.bitCount(params.q ^ doc['hash_r0'].value)",
        "params": {"q": word},
    }
    ours = {
        "lang": "elastichash",
        "source": "hamming",
        "params": {"code": codes.to_hex(query)[:16], "fields": ["hash_r0"]},
    }
    expected = 64 - codes.hamming_distance(np.array([word]), index.words[ids, :1])
    np.testing.assert_array_equal(script_scores(index, ids, painless), expected)
    np.testing.assert_array_equal(script_scores(index, ids, ours), expected)


def test_bad_script_params_are_400_naming_the_parameter(index: Index) -> None:
    script = {"lang": "elastichash", "source": "hamming", "params": {"code": "0" * 63}}
    body = {"query": {"script_score": {"query": {"match_all": {}}, "script": script}}}
    status, answer = call("POST", f"/{index.name}/_search", body)
    assert status == 400, answer
    assert "[code] must be 64 hex characters" in json.dumps(answer), answer
