"""The plugin's `hamming` script against numpy's exact Hamming ranking, on a real node; where the
node has Painless (OpenSearch), also against the paper's Painless scores and the client's."""

from __future__ import annotations

import json
import urllib.request

import numpy as np
import pytest
from conftest import WORD_FIELDS, CodeIndex, hamming, words_to_hex
from elastichash import queries as client_queries
from elastichash.engines import Client

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


@pytest.mark.parametrize("layout", ["default", "field", "fields"])
def test_script_score_equals_exact_ranking(es: Client, code_index: CodeIndex, layout: str) -> None:
    """The hamming_code field (named, or found as the default `hash`) and the earlier long words."""
    for query in queries(code_index):
        script = hamming_script(words_to_hex(query), WORD_FIELDS if layout == "fields" else None)
        if layout == "field":
            script["params"]["field"] = "hash"
        response = es.search(
            index=code_index.name,
            body={
                "size": K,
                "query": {"script_score": {"query": {"match_all": {}}, "script": script}},
                "sort": [{"_score": "desc"}, {"doc_id": "asc"}],
                "track_scores": True,
            },
        )
        got = [(256 - int(hit["_score"]), hit["_id"]) for hit in response["hits"]["hits"]]
        assert got == exact_ranking(code_index, query, K)


def test_function_score_equals_exact_ranking(es: Client, code_index: CodeIndex) -> None:
    for query in queries(code_index, n=20):
        response = es.search(
            index=code_index.name,
            body={
                "size": K,
                "query": {
                    "function_score": {
                        "query": {"match_all": {}},
                        "functions": [{"script_score": {"script": hamming_script(words_to_hex(query))}}],
                        "boost_mode": "replace",
                    }
                },
            },
        )
        assert_same_top_k(code_index, query, response["hits"]["hits"], K)


def test_rescore_equals_exact_ranking(es: Client, code_index: CodeIndex) -> None:
    window = len(code_index.codes)  # per shard: covers every document, so the result is exact
    for query in queries(code_index, n=20):
        response = es.search(
            index=code_index.name,
            body={
                "size": K,
                "query": {"match_all": {}},
                "rescore": {
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
            },
        )
        assert_same_top_k(code_index, query, response["hits"]["hits"], K)


@pytest.mark.parametrize("fields", [["hash_r0"], ["hash_r2", "hash_r3"], ["hash_r3", "hash_r0", "hash_r1"]])
def test_subsets_of_fields_score_out_of_64_per_field(es: Client, code_index: CodeIndex, fields: list[str]) -> None:
    columns = [WORD_FIELDS.index(f) for f in fields]
    query = code_index.codes[123, columns]
    script = hamming_script(words_to_hex(query), fields)
    response = es.search(
        index=code_index.name,
        body={"size": 50, "query": {"script_score": {"query": {"match_all": {}}, "script": script}}},
    )
    row = {doc_id: i for i, doc_id in enumerate(code_index.ids)}
    hits = response["hits"]["hits"]
    assert hits[0]["_score"] == 64 * len(fields)
    for hit in hits:
        doc = code_index.codes[row[hit["_id"]], columns]
        assert hit["_score"] == 64 * len(fields) - hamming(query, doc[None, :])[0]


def test_a_prefix_of_the_code_scores_the_short_code(es: Client, code_index: CodeIndex) -> None:
    """16 hex characters against a 256-bit hamming_code field: the first 64 bits, out of 64."""
    query = code_index.codes[77]
    script = hamming_script(words_to_hex(query[:1]))
    script["params"]["field"] = "hash"
    response = es.search(
        index=code_index.name,
        body={"size": 50, "query": {"script_score": {"query": {"match_all": {}}, "script": script}}},
    )
    row = {doc_id: i for i, doc_id in enumerate(code_index.ids)}
    hits = response["hits"]["hits"]
    assert hits[0]["_score"] == 64
    for hit in hits:
        assert hit["_score"] == 64 - hamming(query[:1], code_index.codes[row[hit["_id"]], :1][None, :])[0]


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


def test_document_missing_a_word_scores_zero(es: Client, scratch_index: str) -> None:
    es.indices.create(
        index=scratch_index, body={"mappings": {"properties": {f: {"type": "long"} for f in WORD_FIELDS}}}
    )
    es.index(index=scratch_index, id="full", body={f: 0 for f in WORD_FIELDS})
    es.index(index=scratch_index, id="no-r3", body={f: 0 for f in WORD_FIELDS[:3]})
    es.index(index=scratch_index, id="empty", body={})
    es.indices.refresh(index=scratch_index)
    script_score = {"query": {"match_all": {}}, "script": hamming_script("0" * 64)}
    response = es.search(index=scratch_index, body={"query": {"script_score": script_score}})
    scores = {hit["_id"]: hit["_score"] for hit in response["hits"]["hits"]}
    assert scores == {"full": 256, "no-r3": 0, "empty": 0}
    # min_score drops them, as the plugin's documentation says.
    response = es.search(index=scratch_index, body={"query": {"script_score": {**script_score, "min_score": 1}}})
    assert [hit["_id"] for hit in response["hits"]["hits"]] == ["full"]


# --- Painless (OpenSearch's test distribution has it; Elasticsearch's has not) -------------------


def script_scores(es: Client, index: CodeIndex, rows: list[int], script: dict) -> np.ndarray:
    """Each row's score under `script`, in the order of `rows`."""
    query = {"script_score": {"query": {"ids": {"values": [index.ids[r] for r in rows]}}, "script": script}}
    response = es.search(index=index.name, body={"size": len(rows), "_source": False, "query": query})
    scores = {hit["_id"]: hit["_score"] for hit in response["hits"]["hits"]}
    return np.array([scores[index.ids[r]] for r in rows])


@pytest.mark.usefixtures("needs_painless")
def test_client_painless_scorer_scores_as_the_plugin(es: Client, code_index: CodeIndex) -> None:
    """The client's Painless scorer (`--scorer painless`, no plugin needed) against the plugin's
    script and numpy, score for score."""
    rows = list(range(0, len(code_index.codes), 25))
    for query in queries(code_index, n=8):
        expected = 256 - hamming(query, code_index.codes[rows])
        ours = script_scores(es, code_index, rows, hamming_script(words_to_hex(query)))
        painless = script_scores(
            es, code_index, rows, client_queries.hamming_script(words_to_hex(query), scorer="painless")
        )
        np.testing.assert_array_equal(ours, expected)
        np.testing.assert_array_equal(painless, expected)


@pytest.mark.usefixtures("needs_painless")
def test_paper_s_painless_word_score_equals_ours(es: Client, code_index: CodeIndex) -> None:
    """The paper's stored-script score on one word, `64 - Long.bitCount(q ^ doc[f].value)`, against
    the hamming script on that word alone."""
    rows = list(range(3, len(code_index.codes), 50))
    for query in queries(code_index, n=10):
        for w, field in enumerate(WORD_FIELDS):
            paper = {
                "lang": "painless",
                "source": f"64 - Long.bitCount(params.q ^ doc['{field}'].value)",
                "params": {"q": int(query[w])},
            }
            expected = 64 - hamming(query[w : w + 1], code_index.codes[rows, w : w + 1])
            np.testing.assert_array_equal(script_scores(es, code_index, rows, paper), expected)
            ours = hamming_script(words_to_hex(query[w : w + 1]), [field])
            np.testing.assert_array_equal(script_scores(es, code_index, rows, ours), expected)
