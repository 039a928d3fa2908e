"""The benchmark's indices: created, loaded, force-merged and measured.

ElasticHash documents are written by the client (`ElasticHash.index_codes`: the layout of
`queries.mapping`, documents of `queries.code_fields_batch`). The `dense_vector` indices hold the
same codes as bit vectors and the same `image_id` doc-values field, so that every system fetches
its hits the same way. The paper's neighbours index serves (b')'s terms lookup.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from elastichash import ElasticHash, codes, engines, queries
from elastichash.engines import Client
from tqdm import tqdm

VECTOR_FIELD = "vec"
NEIGHBOURS_FIELD = "neighbours"
ELASTICHASH, HNSW, FLAT = "elastichash", "hnsw", "flat"
KINDS = (ELASTICHASH, HNSW, FLAT)
BULK_CHUNK = 1000  # documents per bulk request, as the client's ingest sends them
ROWS_PER_ROUND = 20_000  # codes turned into documents at a time
INGEST_META = "ehbench_ingest"  # the mapping `_meta` key under which `load` records its cost


@dataclass(frozen=True)
class IndexNames:
    """Index names of one data set, node layout and shard count (reused with --reuse)."""

    tag: str  # e.g. "clustered-1000000-1s"

    def of(self, kind: str) -> str:
        return f"bench-{kind}-{self.tag}"

    @property
    def neighbours(self) -> str:
        return "bench-neighbours-mih"


def _settings(shards: int) -> dict[str, Any]:
    # No refresh while loading; the load ends with a refresh and a force-merge.
    return {**queries.index_settings(shards, 0), "refresh_interval": "-1"}


def create(es: Client, index: str, kind: str, shards: int) -> None:
    es.indices.delete(index=index, ignore_unavailable=True)
    if kind == ELASTICHASH:
        mappings = queries.mapping()
    else:
        id_spec = queries.mapping()["properties"][queries.ID_FIELD]
        vector = {
            "type": "dense_vector",
            "element_type": "bit",
            "dims": codes.CODE_BITS,
            "index": True,
            "similarity": "l2_norm",
            "index_options": {"type": kind},
        }
        mappings = {"properties": {VECTOR_FIELD: vector, queries.ID_FIELD: id_spec}}
    es.indices.create(index=index, body={"settings": _settings(shards), "mappings": mappings})


def _vector_actions(index: str, packed: np.ndarray, start: int) -> Iterator[dict[str, Any]]:
    # A bit vector may be given as hex: the same 64 characters as the ElasticHash code.
    for i, hex_code in enumerate(codes.to_hex(codes.unpack_bits(packed)), start):
        yield {"_op_type": "create", "_index": index, "_id": str(i), VECTOR_FIELD: hex_code, queries.ID_FIELD: str(i)}


def _load_rows(es: Client, index: str, kind: str, packed: np.ndarray, start: int) -> None:
    if kind == ELASTICHASH:
        ids = [str(i) for i in range(start, start + len(packed))]
        report = ElasticHash(es, index).index_codes(ids, codes.unpack_bits(packed), refresh=False)
        if report.indexed != len(ids):
            raise RuntimeError(f"ingest into {index}: {report.summary()}")
        return
    for ok, item in engines.helpers_of(es).streaming_bulk(
        es, _vector_actions(index, packed, start), chunk_size=BULK_CHUNK, max_retries=5, raise_on_error=False
    ):
        if not ok:
            raise RuntimeError(f"ingest into {index} failed: {item}")


def load(es: Client, index: str, kind: str, packed: np.ndarray) -> dict[str, Any]:
    """Indexes every code, refreshes and force-merges to one segment per shard; what it cost."""
    started = time.perf_counter()
    with tqdm(total=len(packed), unit="doc", desc=f"ingest {index}", leave=False) as bar:
        for start in range(0, len(packed), ROWS_PER_ROUND):
            part = packed[start : start + ROWS_PER_ROUND]
            _load_rows(es, index, kind, part, start)
            bar.update(len(part))
    es.indices.refresh(index=index)
    ingest_s = time.perf_counter() - started
    merge_started = time.perf_counter()
    engines.with_timeout(es, 7200).indices.forcemerge(index=index, max_num_segments=1)
    es.indices.refresh(index=index)
    merge_s = time.perf_counter() - merge_started
    cost = {"docs_per_s": len(packed) / ingest_s, "ingest_s": ingest_s, "merge_s": merge_s}
    # Kept with the index, so that a run that reuses it (--reuse) still reports what it cost.
    es.indices.put_mapping(index=index, body={"_meta": {INGEST_META: cost}})
    return {**cost, **storage(es, index)}


def earlier_ingest(es: Client, index: str) -> dict[str, Any]:
    """What loading an existing index cost, as `load` recorded it (empty when it did not)."""
    mappings = es.indices.get_mapping(index=index)[index]["mappings"]
    return dict(mappings.get("_meta", {}).get(INGEST_META, {}))


def storage(es: Client, index: str) -> dict[str, Any]:
    """Size on disk, and per field the bytes of `_disk_usage` (run_expensive_tasks=true; an
    Elasticsearch API: on OpenSearch `fields` stays empty).

    For a dense_vector field, `knn_vectors` is everything its vector format wrote: the vectors
    and, for HNSW, the graph. The segment files by extension come from the index stats
    (`vex` is Lucene's HNSW graph file, when the segment is not a compound file).
    """
    stats = es.indices.stats(index=index, metric=["store", "segments"], include_segment_file_sizes=True)
    primaries = stats["indices"][index]["primaries"]
    fields = {}
    if engines.product(es) == "elasticsearch":
        usage = engines.request(
            engines.with_timeout(es, 3600), "POST", f"/{index}/_disk_usage", params={"run_expensive_tasks": "true"}
        )
        fields = {
            name: {key: value for key, value in entry.items() if key.endswith("_in_bytes") and value}
            for name, entry in usage[index]["fields"].items()
        }
    files = {ext: entry["size_in_bytes"] for ext, entry in primaries["segments"].get("file_sizes", {}).items()}
    return {
        "bytes": primaries["store"]["size_in_bytes"],
        "segments": primaries["segments"]["count"],
        "fields": fields,
        "files": files,
    }


def ready(es: Client, index: str, n: int) -> bool:
    return bool(es.indices.exists(index=index)) and es.count(index=index)["count"] == n


def create_neighbours(
    es: Client, index: str, radius: int = queries.DEFAULT_RADIUS, only: np.ndarray | None = None
) -> None:
    """The paper's neighbour lists, for `hash_mih`: one document per (position 0..3, value),
    whose id is that sub-code's term and whose `neighbours` are the terms of every value within
    `radius` at the same position (4 x 65,536 documents of 137 terms at radius 2). `only`
    (packed codes): just the documents these codes look up, for a quick run."""
    if only is None:
        per_position = [np.arange(1 << codes.SUBCODE_BITS, dtype=np.uint32)] * codes.N_SUBCODES
    else:
        subcodes = codes.to_subcodes(codes.unpack_bits(only))
        per_position = [np.unique(subcodes[:, p]).astype(np.uint32) for p in range(codes.N_SUBCODES)]
    n_docs = sum(len(values) for values in per_position)
    if ready(es, index, n_docs):
        return
    es.indices.delete(index=index, ignore_unavailable=True)
    es.indices.create(
        index=index,
        body={
            "settings": _settings(1),
            "mappings": {"properties": {NEIGHBOURS_FIELD: {"type": "keyword", "index": False, "doc_values": False}}},
        },
    )
    masks = codes.subcode_neighbours(0, radius).astype(np.uint32)  # the values within radius of 0

    def actions() -> Iterator[dict[str, Any]]:
        step = 4096
        for position, all_values in enumerate(per_position):
            for start in range(0, len(all_values), step):
                values = all_values[start : start + step]
                ids = queries.subcode_terms(values, positions=position)
                lists = queries.subcode_terms(values[:, None] ^ masks[None, :], positions=position)
                for doc_id, terms in zip(ids, lists, strict=True):
                    yield {"_index": index, "_id": doc_id, NEIGHBOURS_FIELD: terms}

    for ok, item in tqdm(
        engines.helpers_of(es).streaming_bulk(es, actions(), chunk_size=2000, max_retries=5, raise_on_error=False),
        total=n_docs,
        desc=f"ingest {index}",
        leave=False,
    ):
        if not ok:
            raise RuntimeError(f"ingest into {index} failed: {item}")
    es.indices.refresh(index=index)
    engines.with_timeout(es, 3600).indices.forcemerge(index=index, max_num_segments=1)
