"""The systems compared, each behind one `search(query, k)` call.

Elasticsearch systems share one node (or cluster) and differ only in index and query; ElasticHash's
bodies are the client's (`queries.search_body`). ElasticHash's own systems search layout v3 (the
hamming_code field `hash`), the paper's Painless ones layout v2 (`hash_mih`, `hash_r0..3`: Painless
cannot read a hamming_code field), and `eh_exact_v2` the `hamming` query on layout v2, beside v3.
Every one fetches its hits the same way: no stored fields, the `image_id` doc value,
`track_total_hits: false`. Faiss runs in-process: the floor, with no HTTP, JSON or Lucene in the
way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

import faiss
import numpy as np
from elastichash import codes, engines, queries
from elastichash.engines import Client

from . import indices

FETCH = (queries.ID_FIELD,)  # the only field any system reads back
FILTER_PATH = "took,timed_out,_shards.failed,_shards.failures,hits.hits.fields"
MAX_DISTANCE = 24  # the near-duplicate form: every document within this distance
BRUTE_FORCE = ("long_native", "long_painless", "paper_long_painless", "dense_vector_flat", "faiss_flat")


class Query(NamedTuple):
    hex: str  # 64 hex characters
    packed: np.ndarray  # (32,) uint8


@dataclass
class Answer:
    rows: np.ndarray  # database row numbers of the hits, best first
    client_ms: float
    took_ms: float | None  # Elasticsearch's own `took`; None in-process


Body = Callable[[str, int], dict[str, Any]]
FirstStage = Callable[[str], dict[str, Any]]  # the query of a two-stage system's candidates


@dataclass
class System:
    name: str
    label: str
    index_kind: str | None  # the index it searches (indices.KINDS), None in-process
    body: Body | None = None  # Elasticsearch systems: the `_search` body for (hex code, k)
    faiss_index: Any = None  # in-process systems
    within: int | None = None  # returns every document within this distance, whatever k
    first_stage: FirstStage | None = None  # two-stage systems: whose candidates are counted
    es: Client | None = None
    index: str = ""

    def search(self, query: Query, k: int) -> Answer:
        if self.faiss_index is not None:
            started = time.perf_counter()
            _, ids = self.faiss_index.search(query.packed[None, :], k)
            return Answer(ids[0][ids[0] >= 0].astype(np.int64), (time.perf_counter() - started) * 1000, None)
        assert self.es is not None and self.body is not None
        body = self.body(query.hex, k)
        started = time.perf_counter()
        response = self.es.search(index=self.index, body=body, filter_path=FILTER_PATH)
        client_ms = (time.perf_counter() - started) * 1000
        if response.get("timed_out") or response.get("_shards", {}).get("failed", 0):
            raise RuntimeError(f"{self.name}: partial answer: {response}")
        hits = response.get("hits", {}).get("hits", [])
        rows = np.array([int(h["fields"][queries.ID_FIELD][0]) for h in hits], dtype=np.int64)
        return Answer(rows, client_ms, float(response["took"]))


# --- bodies ------------------------------------------------------------------------------------


def _no_totals(body: dict[str, Any]) -> dict[str, Any]:
    return {**body, "track_total_hits": False}


def client_body(mode: queries.Mode, scorer: queries.Scorer = "plugin", **options: Any) -> Body:
    """The client's own body for `mode`, fetching only `image_id`."""

    def body(code: str, k: int) -> dict[str, Any]:
        return _no_totals(queries.search_body(code, k=k, mode=mode, scorer=scorer, docvalue_fields=FETCH, **options))

    return body


def v2_query_body(mode: queries.Mode) -> Body:
    """The client's `hamming` query for `mode` without `field`, as clients sent it before the
    field type: the plugin then reads layout v2's default fields `hash_mih` and `hash_r0..3`."""
    plain = client_body(mode)

    def body(code: str, k: int) -> dict[str, Any]:
        sent = plain(code, k)
        params = {name: value for name, value in sent["query"]["hamming"].items() if name != "field"}
        return {**sent, "query": {"hamming": params}}

    return body


def max_distance_body(window: int) -> Body:
    """Every document within MAX_DISTANCE (up to `window` of them), whatever k is asked."""

    def body(code: str, k: int) -> dict[str, Any]:
        return _no_totals(queries.search_body(code, k=window, max_distance=MAX_DISTANCE, docvalue_fields=FETCH))

    return body


# The paper's stored Painless script (umr-ds/ElasticHash, `hd64`): one long field's 64 - Hamming
# distance, the field and the query's word as parameters.
PAPER_SCRIPT_ID = "hd64"
PAPER_SCRIPT = "64 - Long.bitCount(params.subcode ^ doc[params.field].value)"


def store_paper_script(es: Client) -> None:
    """Stores the paper's `hd64` script (idempotent: a PUT replaces it)."""
    engines.request(
        es, "PUT", f"/_scripts/{PAPER_SCRIPT_ID}", body={"script": {"lang": "painless", "source": PAPER_SCRIPT}}
    )


def _paper_lookup(neighbours_index: str, code: codes.Code, field: str) -> dict[str, Any]:
    """The paper's first stage: per short-code sub-code, its neighbour terms (radius 2) fetched
    by terms lookup from the neighbours index, whose document id is the sub-code's own term; any
    of the four enough. Our layouts key the terms by position in one field (the hamming_code
    field `hash` in v3, `hash_mih` in v2: the same text) where the paper had four fields
    f0..f3: each clause still matches exactly the documents whose sub-code at that position is
    within the radius of the query's."""
    own_terms = queries.subcode_terms(code.subcodes[: codes.N_SUBCODES])
    return {
        "bool": {
            "should": [
                {"terms": {field: {"index": neighbours_index, "id": term, "path": indices.NEIGHBOURS_FIELD}}}
                for term in own_terms
            ],
            "minimum_should_match": 1,
        }
    }


def _paper_function_score(candidates: dict[str, Any], code: codes.Code, k: int) -> dict[str, Any]:
    """The paper's scoring: `function_score` summing four stored `hd64` Painless functions (one
    per long field, weight 1) onto a `constant_score` (boost 0) of the candidates: score = 256 -
    Hamming distance."""
    functions = [
        {
            "script_score": {"script": {"id": PAPER_SCRIPT_ID, "params": {"field": name, "subcode": int(word)}}},
            "weight": 1,
        }
        for name, word in zip(queries.WORD_FIELDS, code.words, strict=True)
    ]
    scored = {
        "function_score": {
            "query": {"constant_score": {"filter": candidates, "boost": 0}},
            "functions": functions,
            "score_mode": "sum",
            "boost_mode": "sum",
        }
    }
    return _no_totals({"size": k, "query": scored, **queries.fetch_options(False, FETCH)})


def inline_terms(field: str) -> FirstStage:
    """The client's first stage: the 4 x 137 neighbour terms inline (`queries.mih_filter`) on
    `field`, the hamming_code field `hash` (v3) or `hash_mih` (v2)."""
    return lambda code: queries.mih_filter(code, field=field)


def lookup_terms(neighbours_index: str, field: str) -> FirstStage:
    """The paper's first stage: the neighbour terms by terms lookup (`_paper_lookup`) on `field`."""
    return lambda code: _paper_lookup(neighbours_index, codes.Code(code), field)


def paper_painless_body(neighbours_index: str) -> Body:
    """(b), the paper's two-stage query as its code sends it, on layout v2: the terms-lookup
    filter on `hash_mih`, scored by the four `hd64` functions on `hash_r0..3`. Needs
    `store_paper_script` first."""

    def body(code: str, k: int) -> dict[str, Any]:
        c = codes.Code(code)
        return _paper_function_score(_paper_lookup(neighbours_index, c, queries.MIH_FIELD), c, k)

    return body


def paper_long_painless_body() -> Body:
    """(d) in the paper's form (its "long", brute force): the four `hd64` functions over every
    document of layout v2."""

    def body(code: str, k: int) -> dict[str, Any]:
        return _paper_function_score({"match_all": {}}, codes.Code(code), k)

    return body


def paper_lookup_native_body(neighbours_index: str) -> Body:
    """(b'): the paper's terms-lookup first stage on the hamming_code field `hash` (layout v3),
    re-ranked by the plugin's `hamming` script."""

    def body(code: str, k: int) -> dict[str, Any]:
        c = codes.Code(code)
        candidates = {"bool": {"filter": [_paper_lookup(neighbours_index, c, queries.HEX_FIELD)]}}
        scored = {"script_score": {"query": candidates, "script": queries.hamming_script(c)}}
        return _no_totals({"size": k, "query": scored, **queries.fetch_options(False, FETCH)})

    return body


# --- the floor: the same response with no search work ----------------------------------------


def floor_match_all_body() -> Body:
    """k hits from `match_all`: no term, no score, no code read; the same fetch and response
    shape as every system. What any query answering with k hits costs at least (its hits are the
    first k documents, not the nearest: recall is not its point)."""

    def body(code: str, k: int) -> dict[str, Any]:
        return _no_totals({"size": k, "query": {"match_all": {}}, **queries.fetch_options(False, FETCH)})

    return body


def floor_ids_body(nearest: Callable[[str, int], list[str]]) -> Body:
    """The true k nearest documents by `_id` (`nearest(code, k)`, known from Faiss): the very
    hits the exact query returns, fetched from the same places, found without any Hamming work."""

    def body(code: str, k: int) -> dict[str, Any]:
        ids = nearest(code, k)
        return _no_totals({"size": k, "query": {"ids": {"values": ids}}, **queries.fetch_options(False, FETCH)})

    return body


def floor_systems(nearest: Callable[[str, int], list[str]]) -> list[System]:
    """The floor rows, on ElasticHash's index: what the node, HTTP and the client cost alone."""
    eh = indices.ELASTICHASH
    return [
        System("floor_match_all", "floor: `match_all`, size k (no search work)", eh, floor_match_all_body()),
        System("floor_ids", "floor: `ids` of the true k nearest (no Hamming work)", eh, floor_ids_body(nearest)),
    ]


def float_vector(values: Any) -> list[float]:
    """A float vector as JSON numbers, 5 decimals (a float16 feature holds no more)."""
    return [round(float(x), 5) for x in values]


def knn_body(num_candidates: int | None) -> Body:
    def body(code: str, k: int) -> dict[str, Any]:
        knn = {
            "field": indices.VECTOR_FIELD,
            "query_vector": code,
            "k": k,
            "num_candidates": max(k, num_candidates or k),
        }
        return _no_totals({"size": k, "knn": knn, **queries.fetch_options(False, FETCH)})

    return body


# --- the line-up -------------------------------------------------------------------------------


def elasticsearch_systems(
    num_candidates: list[int], painless: bool, neighbours_index: str, window: int, vectors: bool = True
) -> list[System]:
    """The systems served by the node; `vectors`: whether it has `dense_vector` (Elasticsearch).
    ElasticHash's on layout v3 (`eh`), the Painless ones and `eh_exact_v2` on layout v2 (`v2`)."""
    eh, v2, hnsw, flat = indices.ELASTICHASH, indices.ELASTICHASH_V2, indices.HNSW, indices.FLAT
    line_up = [
        System("eh_exact", "(a) ElasticHash `hamming` query, exact", eh, client_body("exact")),
        System(
            "eh_exact_v2",
            "(a) `hamming` query, exact, on layout v2 (`hash_mih`, `hash_r0..3`)",
            v2,
            v2_query_body("exact"),
        ),
        System(
            "eh_paper",
            "(a) `hamming` query, mode paper (radius 2)",
            eh,
            client_body("paper"),
            first_stage=inline_terms(queries.HEX_FIELD),
        ),
        System(
            "two_stage_native",
            "ElasticHash two-stage, client-side (terms + script)",
            eh,
            client_body("two_stage"),
            first_stage=inline_terms(queries.HEX_FIELD),
        ),
        System(
            "paper_lookup_native",
            "(b') paper's terms lookup + native scorer",
            eh,
            paper_lookup_native_body(neighbours_index),
            first_stage=lookup_terms(neighbours_index, queries.HEX_FIELD),
        ),
        System("long_native", "(c) long-only brute force, `hamming` script", eh, client_body("long")),
        *[
            System(f"dense_vector_hnsw_{nc}", f"(e) dense_vector bit, HNSW, num_candidates={nc}", hnsw, knn_body(nc))
            for nc in (num_candidates if vectors else [])
        ],
        *(
            [System("dense_vector_flat", "(e) dense_vector bit, flat (exact kNN)", flat, knn_body(None))]
            if vectors
            else []
        ),
    ]
    if painless:
        line_up[5:5] = [
            System(
                "paper_painless",
                "(b) paper: terms lookup + 4 Painless bitCount scripts",
                v2,
                paper_painless_body(neighbours_index),
                first_stage=lookup_terms(neighbours_index, queries.MIH_FIELD),
            ),
            System(
                "two_stage_painless",
                "two-stage, inline terms, Painless scorer",
                v2,
                client_body("two_stage", "painless"),
                first_stage=inline_terms(queries.MIH_FIELD),
            ),
        ]
        line_up += [
            System("long_painless", "(d) long-only brute force, Painless", v2, client_body("long", "painless")),
            System(
                "paper_long_painless",
                "(d) paper's long-only brute force: 4 stored Painless bitCount functions",
                v2,
                paper_long_painless_body(),
            ),
        ]
    line_up.append(
        System(
            "eh_max_distance",
            f"(a) `hamming` query, max_distance {MAX_DISTANCE} (every document within it)",
            eh,
            max_distance_body(window),
            within=MAX_DISTANCE,
        )
    )
    return line_up


def faiss_flat(packed: np.ndarray) -> System:
    index = faiss.IndexBinaryFlat(codes.CODE_BITS)
    index.add(packed)
    return System("faiss_flat", "(f) Faiss IndexBinaryFlat (exact, in-process)", None, faiss_index=index)


def faiss_multihash(packed: np.ndarray) -> System:
    # Four 16-bit hash tables over the first 64 bits, probing every value within distance 2:
    # the same candidate set as the paper's first stage, then exact 256-bit ranking.
    index = faiss.IndexBinaryMultiHash(codes.CODE_BITS, codes.N_SUBCODES, codes.SUBCODE_BITS)
    index.nflip = queries.DEFAULT_RADIUS
    index.add(packed)
    return System("faiss_multihash", "(f) Faiss IndexBinaryMultiHash (4x16 bits, nflip=2)", None, faiss_index=index)


def painless_available(es: Client) -> bool:
    languages = engines.request(es, "GET", "/_script_language")["language_contexts"]
    return any(entry["language"] == "painless" for entry in languages)
