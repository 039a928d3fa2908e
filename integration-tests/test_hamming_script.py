"""The plugin's `hamming` script against numpy's exact Hamming ranking, on a real node."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from conftest import WORD_FIELDS, CodeIndex, hamming, words_to_hex
from elasticsearch import Elasticsearch

K = 100


def hamming_script(code_hex: str, fields: list[str] | None = None) -> dict:
    params: dict = {"code": code_hex}
    if fields is not None:
        params["fields"] = fields
    return {"lang": "elastichash", "source": "hamming", "params": params}


def queries(index: CodeIndex, n: int = 60) -> list[np.ndarray]:
    """Random codes, perturbed copies of indexed codes, and the edge codes themselves."""
    rng = np.random.default_rng(7)
    out = list(rng.integers(0, 2**64, size=(n // 2, 4), dtype=np.uint64).view(np.int64))
    for row in rng.choice(len(index.codes), size=n // 2 - 4, replace=False):
        code = index.codes[row].copy()
        for _ in range(rng.integers(0, 9)):
            word, bit = rng.integers(0, 4), rng.integers(0, 64)
            code[word] ^= np.int64(np.uint64(1) << np.uint64(bit)).item()
        out.append(code)
    out.extend(index.codes[-4:])
    return out


def exact_ranking(index: CodeIndex, query: np.ndarray, k: int) -> list[tuple[int, str]]:
    """Top k as (distance, id), ties broken by id: what the node must return."""
    distances = hamming(query, index.codes)
    order = np.lexsort((np.array(index.ids), distances))[:k]
    return [(int(distances[i]), index.ids[i]) for i in order]


def assert_same_top_k(index: CodeIndex, query: np.ndarray, hits: list[dict], k: int) -> None:
    """Equal to the exact top k, comparing ids per distance as sets (ties may fall either way
    at the last distance, so there only inclusion is required)."""
    expected = exact_ranking(index, query, k)
    got = [(256 - int(hit["_score"]), hit["_id"]) for hit in hits]
    assert len(got) == k
    assert [d for d, _ in got] == [d for d, _ in expected], "distances differ from numpy's"
    row = {doc_id: i for i, doc_id in enumerate(index.ids)}
    for distance, doc_id in got:
        assert int(hamming(query, index.codes[[row[doc_id]]])[0]) == distance
    last = expected[-1][0]
    assert {i for d, i in got if d < last} == {i for d, i in expected if d < last}
    all_at_last = {index.ids[i] for i in np.flatnonzero(hamming(query, index.codes) == last)}
    assert {i for d, i in got if d == last} <= all_at_last


def test_script_score_equals_exact_ranking(es: Elasticsearch, code_index: CodeIndex) -> None:
    for query in queries(code_index):
        response = es.search(
            index=code_index.name,
            size=K,
            query={"script_score": {"query": {"match_all": {}}, "script": hamming_script(words_to_hex(query))}},
            sort=[{"_score": "desc"}, {"doc_id": "asc"}],
            track_scores=True,
        )
        got = [(256 - int(hit["_score"]), hit["_id"]) for hit in response["hits"]["hits"]]
        assert got == exact_ranking(code_index, query, K)


def test_function_score_equals_exact_ranking(es: Elasticsearch, code_index: CodeIndex) -> None:
    for query in queries(code_index, n=20):
        response = es.search(
            index=code_index.name,
            size=K,
            query={
                "function_score": {
                    "query": {"match_all": {}},
                    "functions": [{"script_score": {"script": hamming_script(words_to_hex(query))}}],
                    "boost_mode": "replace",
                }
            },
        )
        assert_same_top_k(code_index, query, response["hits"]["hits"], K)


def test_rescore_equals_exact_ranking(es: Elasticsearch, code_index: CodeIndex) -> None:
    window = len(code_index.codes)  # per shard: covers every document, so the result is exact
    for query in queries(code_index, n=20):
        response = es.search(
            index=code_index.name,
            size=K,
            query={"match_all": {}},
            rescore={
                "window_size": window,
                "query": {
                    "rescore_query": {
                        "script_score": {
                            "query": {"match_all": {}},
                            "script": hamming_script(words_to_hex(query)),
                        }
                    },
                    "query_weight": 0,
                    "rescore_query_weight": 1,
                },
            },
        )
        assert_same_top_k(code_index, query, response["hits"]["hits"], K)


@pytest.mark.parametrize("fields", [["hash_r0"], ["hash_r2", "hash_r3"], ["hash_r3", "hash_r0", "hash_r1"]])
def test_subsets_of_fields_score_out_of_64_per_field(
    es: Elasticsearch, code_index: CodeIndex, fields: list[str]
) -> None:
    columns = [WORD_FIELDS.index(f) for f in fields]
    query = code_index.codes[123, columns]
    response = es.search(
        index=code_index.name,
        size=50,
        query={"script_score": {"query": {"match_all": {}}, "script": hamming_script(words_to_hex(query), fields)}},
    )
    row = {doc_id: i for i, doc_id in enumerate(code_index.ids)}
    hits = response["hits"]["hits"]
    assert hits[0]["_score"] == 64 * len(fields)
    for hit in hits:
        doc = code_index.codes[row[hit["_id"]], columns]
        assert hit["_score"] == 64 * len(fields) - hamming(query, doc[None, :])[0]


def test_raw_http_request_scores_every_hit_exactly(es_url: str, code_index: CodeIndex) -> None:
    """No client library: the bytes a user would send, and every hit's score checked."""
    query = code_index.codes[42]
    body = {
        "size": 1000,
        "query": {"script_score": {"query": {"match_all": {}}, "script": hamming_script(words_to_hex(query))}},
    }
    request = urllib.request.Request(
        f"{es_url}/{code_index.name}/_search",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        hits = json.load(response)["hits"]["hits"]
    assert len(hits) == 1000
    row = {doc_id: i for i, doc_id in enumerate(code_index.ids)}
    for hit in hits:
        doc = code_index.codes[row[hit["_id"]]]
        popcount = sum(bin((int(a) ^ int(b)) & (2**64 - 1)).count("1") for a, b in zip(query, doc, strict=True))
        assert hit["_score"] == 256 - popcount


def test_document_missing_a_word_scores_zero(es: Elasticsearch, scratch_index: str) -> None:
    es.indices.create(index=scratch_index, mappings={"properties": {f: {"type": "long"} for f in WORD_FIELDS}})
    es.index(index=scratch_index, id="full", document={f: 0 for f in WORD_FIELDS})
    es.index(index=scratch_index, id="no-r3", document={f: 0 for f in WORD_FIELDS[:3]})
    es.index(index=scratch_index, id="empty", document={})
    es.indices.refresh(index=scratch_index)
    response = es.search(
        index=scratch_index,
        query={"script_score": {"query": {"match_all": {}}, "script": hamming_script("0" * 64)}},
    )
    scores = {hit["_id"]: hit["_score"] for hit in response["hits"]["hits"]}
    assert scores == {"full": 256, "no-r3": 0, "empty": 0}
    # min_score drops them, as the plugin's documentation says.
    response = es.search(
        index=scratch_index,
        query={"script_score": {"query": {"match_all": {}}, "script": hamming_script("0" * 64), "min_score": 1}},
    )
    assert [hit["_id"] for hit in response["hits"]["hits"]] == ["full"]
