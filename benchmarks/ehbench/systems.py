"""The systems compared: ElasticHash and its alternatives, each behind one `search` call.

Elasticsearch systems share one node and differ only in index layout and query. Faiss runs
in-process: it is the floor, with no HTTP, JSON or Lucene in the way.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
from elastichash import codes, queries
from elasticsearch import Elasticsearch, helpers
from tqdm import tqdm

FILTER_PATH = "took,hits.hits._id"


@dataclass
class Answer:
    ids: np.ndarray  # row numbers of the database codes, best first
    client_ms: float
    took_ms: float | None  # Elasticsearch's own `took`, None in-process


class System:
    name: str
    label: str

    def search(self, query: np.ndarray, k: int) -> Answer:
        """`query`: one packed code (32 bytes)."""
        raise NotImplementedError


# --- ingest ------------------------------------------------------------------------------------


def _hex_rows(packed: np.ndarray) -> list[str]:
    return [row.tobytes().hex() for row in packed]


def elastichash_docs(index: str, packed: np.ndarray, start: int) -> Iterator[dict[str, Any]]:
    """Bulk actions with the ElasticHash fields, vectorised per chunk (no per-doc Code objects)."""
    bits = codes.unpack(packed)
    words, subs, hexes = codes.to_words(bits), codes.to_subcodes(bits), _hex_rows(packed)
    for i in range(len(packed)):
        doc: dict[str, Any] = {"_index": index, "_id": str(start + i), queries.HEX_FIELD: hexes[i]}
        for j, field in enumerate(queries.SUBCODE_FIELDS):
            doc[field] = f"{int(subs[i, j]):04x}"
        for j, field in enumerate(queries.WORD_FIELDS):
            doc[field] = int(words[i, j])
        yield doc


def vector_docs(index: str, packed: np.ndarray, start: int) -> Iterator[dict[str, Any]]:
    # A bit vector may be given as hex: the same 64 characters as the ElasticHash code.
    for i, code in enumerate(_hex_rows(packed)):
        yield {"_index": index, "_id": str(start + i), "vec": code}


def bulk_load(es: Elasticsearch, index: str, packed: np.ndarray, make_docs, chunk: int = 20_000) -> dict[str, float]:  # noqa: ANN001
    """Indexes all codes, refreshes, force-merges to one segment; returns timings and size."""
    started = time.perf_counter()
    with tqdm(total=len(packed), unit="doc", desc=f"ingest {index}") as bar:
        for start in range(0, len(packed), chunk):
            part = packed[start : start + chunk]
            for ok, item in helpers.streaming_bulk(
                es, make_docs(index, part, start), chunk_size=5000, max_retries=5, raise_on_error=True
            ):
                if not ok:
                    raise RuntimeError(f"bulk failure: {item}")
            bar.update(len(part))
    es.indices.refresh(index=index)
    ingest_s = time.perf_counter() - started
    merge_started = time.perf_counter()
    es.options(request_timeout=3600).indices.forcemerge(index=index, max_num_segments=1)
    es.indices.refresh(index=index)
    merge_s = time.perf_counter() - merge_started
    stats = es.indices.stats(index=index, metric="store")
    size = stats["indices"][index]["primaries"]["store"]["size_in_bytes"]
    return {"docs_per_s": len(packed) / ingest_s, "ingest_s": ingest_s, "merge_s": merge_s, "bytes": size}


def create_elastichash_index(es: Elasticsearch, index: str) -> None:
    es.indices.delete(index=index, ignore_unavailable=True)
    es.indices.create(
        index=index,
        settings={**queries.index_settings(1, 0), "refresh_interval": "-1"},
        mappings=queries.mapping(),
    )


def create_vector_index(es: Elasticsearch, index: str, index_type: str) -> None:
    es.indices.delete(index=index, ignore_unavailable=True)
    es.indices.create(
        index=index,
        settings={**queries.index_settings(1, 0), "refresh_interval": "-1"},
        mappings={
            "properties": {
                "vec": {
                    "type": "dense_vector",
                    "element_type": "bit",
                    "dims": codes.CODE_BITS,
                    "index": True,
                    "similarity": "l2_norm",
                    "index_options": {"type": index_type},
                }
            }
        },
    )


def create_neighbours_index(es: Elasticsearch, index: str, radius: int = queries.DEFAULT_RADIUS) -> None:
    """The paper's 2^16 documents: for each 16-bit value, its neighbours within `radius`."""
    es.indices.delete(index=index, ignore_unavailable=True)
    es.indices.create(
        index=index,
        settings=queries.index_settings(1, 0),
        mappings={"properties": {"neighbours": {"type": "keyword", "index": False}}},
    )
    docs = (
        {
            "_index": index,
            "_id": f"{value:04x}",
            "neighbours": [f"{int(n):04x}" for n in codes.subcode_neighbours(value, radius)],
        }
        for value in range(1 << codes.SUBCODE_BITS)
    )
    helpers.bulk(es, docs, chunk_size=2000)
    es.indices.refresh(index=index)
    es.indices.forcemerge(index=index, max_num_segments=1)


# --- Elasticsearch systems -----------------------------------------------------------------------


class ElasticsearchSystem(System):
    def __init__(self, es: Elasticsearch, index: str) -> None:
        self.es, self.index = es, index

    def body(self, query: np.ndarray, k: int) -> dict[str, Any]:
        raise NotImplementedError

    def search(self, query: np.ndarray, k: int) -> Answer:
        body = self.body(query, k)
        started = time.perf_counter()
        response = self.es.search(index=self.index, filter_path=FILTER_PATH, **body)
        client_ms = (time.perf_counter() - started) * 1000
        hits = response.get("hits", {}).get("hits", [])
        return Answer(np.array([int(h["_id"]) for h in hits], dtype=np.int64), client_ms, float(response["took"]))

    def candidates(self, query: np.ndarray) -> int | None:
        return None


def _code(query: np.ndarray) -> codes.Code:
    return codes.Code(query.tobytes().hex())


class TwoStage(ElasticsearchSystem):
    """(a) ElasticHash: inline multi-index hashing terms, native `hamming` re-ranking."""

    name, label = "two_stage_native", "(a) ElasticHash two-stage, native scorer"

    def __init__(self, es: Elasticsearch, index: str, scorer: str = "plugin") -> None:
        super().__init__(es, index)
        self.scorer = scorer
        if scorer == "painless":
            self.name, self.label = "two_stage_painless", "two-stage, inline terms, Painless scorer"

    def body(self, query: np.ndarray, k: int) -> dict[str, Any]:
        body = queries.search_body(_code(query), k=k, mode="two_stage", scorer=self.scorer, source=False)
        body["track_total_hits"] = False
        return body

    def candidates(self, query: np.ndarray) -> int:
        return int(self.es.count(index=self.index, query=queries.mih_filter(_code(query)))["count"])


class PaperTwoStage(ElasticsearchSystem):
    """(b) The paper: terms lookup of neighbours from a 2^16-doc index, 4 function_score scripts."""

    def __init__(self, es: Elasticsearch, index: str, neighbours: str, lang: str) -> None:
        super().__init__(es, index)
        self.neighbours, self.lang = neighbours, lang
        if lang == "painless":
            self.name, self.label = "paper_painless", "(b) paper: terms lookup + 4 Painless bitCount scripts"
        else:
            self.name, self.label = "paper_lookup_native", "(b') paper's terms lookup + native scorer"

    def body(self, query: np.ndarray, k: int) -> dict[str, Any]:
        code = _code(query)
        lookup = {
            "bool": {
                "should": [
                    {"terms": {field: {"index": self.neighbours, "id": f"{int(v):04x}", "path": "neighbours"}}}
                    for field, v in zip(queries.SUBCODE_FIELDS, code.subcodes, strict=True)
                ],
                "minimum_should_match": 1,
            }
        }
        if self.lang == "painless":
            functions = [
                {
                    "script_score": {
                        "script": {
                            "lang": "painless",
                            "source": f"64 - Long.bitCount(params.q ^ doc['{field}'].value)",
                            "params": {"q": int(w)},
                        }
                    }
                }
                for field, w in zip(queries.WORD_FIELDS, code.words, strict=True)
            ]
            scored = {
                "function_score": {
                    "query": {"bool": {"filter": [lookup]}},
                    "functions": functions,
                    "score_mode": "sum",
                    "boost_mode": "replace",
                }
            }
        else:
            scored = {"script_score": {"query": {"bool": {"filter": [lookup]}}, "script": queries.hamming_script(code)}}
        return {"size": k, "_source": False, "track_total_hits": False, "query": scored}


class LongOnly(ElasticsearchSystem):
    """(c)/(d) Brute force: every document scored on 256 bits."""

    def __init__(self, es: Elasticsearch, index: str, scorer: str) -> None:
        super().__init__(es, index)
        self.scorer = scorer
        self.name = f"long_{'native' if scorer == 'plugin' else 'painless'}"
        self.label = f"({'c' if scorer == 'plugin' else 'd'}) long-only brute force, {self.name.split('_')[1]}"

    def body(self, query: np.ndarray, k: int) -> dict[str, Any]:
        body = queries.search_body(_code(query), k=k, mode="long", scorer=self.scorer, source=False)
        body["track_total_hits"] = False
        return body


class VectorKnn(ElasticsearchSystem):
    """(e) dense_vector element_type bit: HNSW approximate kNN, or a flat index (exact)."""

    def __init__(self, es: Elasticsearch, index: str, num_candidates: int | None, flat: bool = False) -> None:
        super().__init__(es, index)
        self.num_candidates, self.flat = num_candidates, flat
        if flat:
            self.name, self.label = "dense_vector_flat", "(e) dense_vector bit, flat (exact kNN)"
        else:
            self.name = f"dense_vector_hnsw_{num_candidates}"
            self.label = f"(e) dense_vector bit, HNSW, num_candidates={num_candidates}"

    def body(self, query: np.ndarray, k: int) -> dict[str, Any]:
        candidates = max(k, self.num_candidates or k)
        return {
            "size": k,
            "_source": False,
            "knn": {"field": "vec", "query_vector": query.tobytes().hex(), "k": k, "num_candidates": candidates},
        }


# --- in-process ----------------------------------------------------------------------------------


class FaissSystem(System):
    def __init__(self, index: faiss.IndexBinary, name: str, label: str) -> None:
        self.index, self.name, self.label = index, name, label

    def search(self, query: np.ndarray, k: int) -> Answer:
        started = time.perf_counter()
        _, ids = self.index.search(query[None, :], k)
        client_ms = (time.perf_counter() - started) * 1000
        return Answer(ids[0][ids[0] >= 0], client_ms, None)


def faiss_flat(packed: np.ndarray) -> FaissSystem:
    index = faiss.IndexBinaryFlat(codes.CODE_BITS)
    index.add(packed)
    return FaissSystem(index, "faiss_flat", "(f) Faiss IndexBinaryFlat (exact, in-process)")


def faiss_multihash(packed: np.ndarray) -> FaissSystem:
    # Four 16-bit hash tables over the first 64 bits, probing every value within distance 2:
    # the same candidate set as ElasticHash's first stage, then exact 256-bit ranking.
    index = faiss.IndexBinaryMultiHash(codes.CODE_BITS, codes.N_SUBCODES, codes.SUBCODE_BITS)
    index.nflip = queries.DEFAULT_RADIUS
    index.add(packed)
    return FaissSystem(index, "faiss_multihash", "(f) Faiss IndexBinaryMultiHash (4x16 bits, nflip=2)")


def exact_distances(packed: np.ndarray, queries_packed: np.ndarray, k: int) -> np.ndarray:
    """The exact k smallest 256-bit distances per query (ground truth for recall)."""
    index = faiss.IndexBinaryFlat(codes.CODE_BITS)
    index.add(packed)
    distances, _ = index.search(queries_packed, k)
    return distances


def painless_available(es: Elasticsearch) -> bool:
    languages = es.perform_request("GET", "/_script_language")["language_contexts"]
    return any(entry["language"] == "painless" for entry in languages)
