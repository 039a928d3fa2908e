"""The benchmark's indices: created, loaded, force-merged and measured.

ElasticHash's index (kind `elastichash`) is what users get: the client writes it
(`ElasticHash.index_codes`: layout v3, the hamming_code field `hash` of `queries.mapping`). The
earlier layout v2 (kind `elastichash_v2`: `queries.v2_mapping`, sub-code terms `hash_mih` and
words `hash_r0..3` in the documents, `queries.v2_code_fields_batch`) is what Painless can read:
the paper's baselines run on it. The `dense_vector` indices hold the same codes as bit vectors
and the same `image_id` doc-values field, so that every system fetches its hits the same way.
The paper's neighbours index serves the terms lookups of (b) and (b').
"""

from __future__ import annotations

import argparse
import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from elastichash import ElasticHash, codes, engines, queries, testing
from elastichash.engines import Client
from tqdm import tqdm

from . import data
from .data import Dataset

VECTOR_FIELD = "vec"
NEIGHBOURS_FIELD = "neighbours"
ELASTICHASH, ELASTICHASH_V2, HNSW, FLAT = "elastichash", "elastichash_v2", "hnsw", "flat"
KINDS = (ELASTICHASH, ELASTICHASH_V2, HNSW, FLAT)
# What each kind keeps the codes in, for the report.
LAYOUTS = {
    ELASTICHASH: "layout v3: the hamming_code field `hash`",
    ELASTICHASH_V2: "layout v2: keyword `hash_mih`, long `hash_r0..3`",
    HNSW: "dense_vector bit, HNSW",
    FLAT: "dense_vector bit, flat",
}
BULK_CHUNK = 1000  # documents per bulk request, as the client's ingest sends them
ROWS_PER_ROUND = 20_000  # codes turned into documents at a time
INGEST_META = "ehbench_ingest"  # the mapping `_meta` key under which `load` records its cost
CODES_META = "ehbench_codes"  # ... and the fingerprint of the codes it loaded (`fingerprint`)


@dataclass(frozen=True)
class IndexNames:
    """Index names of one data set, node layout and shard count (reused with --reuse)."""

    tag: str  # e.g. "clustered-1000000-1s"

    def of(self, kind: str) -> str:
        return f"bench-{kind}-{self.tag}"

    @property
    def neighbours(self) -> str:
        return "bench-neighbours-mih"


def add_left_by_bench_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of a tool that measures on the indices `make bench` left on the node."""
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--n", type=int, default=1_000_000, help="codes of the benchmark's indices (default 1M)")
    parser.add_argument("--realistic", action="store_true", help="the realistic data's indices (default: clustered)")
    parser.add_argument("--flip", type=float, default=0.04, help="per-bit noise of the clustered data (default 0.04)")


def left_by_bench(es: Client, args: argparse.Namespace, kinds: tuple[str, ...]) -> tuple[Dataset, dict[str, str]]:
    """The data set of those options (`args.queries` queries) and its indices of `kinds` on one
    shard, by kind; stops with what to run where one is missing."""
    if args.realistic:
        dataset = data.realistic(args.n, args.queries)
    else:
        dataset = data.clustered(args.n, args.queries, data.default_centres(args.n), args.flip)
    names = IndexNames(f"{dataset.kind}-{dataset.n}-1s")
    found = {kind: names.of(kind) for kind in kinds}
    for index in found.values():
        if not es.indices.exists(index=index):
            raise SystemExit(f"no index {index}: run the benchmark first (make bench-es9 BENCH_ARGS=...)")
    return dataset, found


def _settings(shards: int) -> dict[str, Any]:
    # No refresh while loading; the load ends with a refresh and a force-merge.
    return {**queries.index_settings(shards, 0), "refresh_interval": "-1"}


def mappings(kind: str) -> dict[str, Any]:
    """The mapping of an index of `kind` (KINDS)."""
    if kind == ELASTICHASH:
        return queries.mapping()
    if kind == ELASTICHASH_V2:
        return queries.v2_mapping()
    if kind not in (HNSW, FLAT):
        raise ValueError(f"index kind must be one of {KINDS}, got {kind!r}")
    id_spec = queries.mapping()["properties"][queries.ID_FIELD]
    vector = {
        "type": "dense_vector",
        "element_type": "bit",
        "dims": codes.CODE_BITS,
        "index": True,
        "similarity": "l2_norm",
        "index_options": {"type": kind},
    }
    return {"properties": {VECTOR_FIELD: vector, queries.ID_FIELD: id_spec}}


def create(es: Client, index: str, kind: str, shards: int) -> None:
    es.indices.delete(index=index, ignore_unavailable=True)
    es.indices.create(index=index, body={"settings": _settings(shards), "mappings": mappings(kind)})


def _vector_actions(index: str, packed: np.ndarray, start: int) -> Iterator[dict[str, Any]]:
    # A bit vector may be given as hex: the same 64 characters as the ElasticHash code.
    for i, hex_code in enumerate(codes.to_hex(codes.unpack_bits(packed)), start):
        yield {"_op_type": "create", "_index": index, "_id": str(i), VECTOR_FIELD: hex_code, queries.ID_FIELD: str(i)}


def _v2_actions(index: str, packed: np.ndarray, start: int) -> Iterator[dict[str, Any]]:
    # Layout v2's documents as the client wrote them before the field type: the hex code, the
    # 16 sub-code terms and the 4 words, and the id again as a doc value.
    for i, fields in enumerate(queries.v2_code_fields_batch(packed), start):
        yield {"_op_type": "create", "_index": index, "_id": str(i), **fields, queries.ID_FIELD: str(i)}


def _load_rows(es: Client, index: str, kind: str, packed: np.ndarray, start: int) -> None:
    if kind == ELASTICHASH:
        ids = [str(i) for i in range(start, start + len(packed))]
        report = ElasticHash(es, index).index_codes(ids, codes.unpack_bits(packed), refresh=False)
        if report.indexed != len(ids):
            raise RuntimeError(f"ingest into {index}: {report.summary()}")
        return
    actions = (_v2_actions if kind == ELASTICHASH_V2 else _vector_actions)(index, packed, start)
    for ok, item in engines.helpers_of(es).streaming_bulk(
        es, actions, chunk_size=BULK_CHUNK, max_retries=5, raise_on_error=False
    ):
        if not ok:
            raise RuntimeError(f"ingest into {index} failed: {item}")


def force_merge(es: Client, index: str) -> float:
    """Force-merges `index` to one segment per shard and refreshes it; the seconds it took."""
    started = time.perf_counter()
    testing.with_timeout(es, 7200).indices.forcemerge(index=index, max_num_segments=1)
    es.indices.refresh(index=index)
    return time.perf_counter() - started


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
    merge_s = force_merge(es, index)
    cost = {"docs_per_s": len(packed) / ingest_s, "ingest_s": ingest_s, "merge_s": merge_s}
    # Kept with the index, so that a run that reuses it (--reuse) still reports what it cost, and
    # reuses it only for the same codes.
    es.indices.put_mapping(index=index, body={"_meta": {INGEST_META: cost, CODES_META: fingerprint(packed)}})
    return {**cost, **storage(es, index)}


def earlier_ingest(es: Client, index: str) -> dict[str, Any]:
    """What loading an existing index cost, as `load` recorded it (empty when it did not)."""
    mappings = es.indices.get_mapping(index=index)[index]["mappings"]
    return dict(mappings.get("_meta", {}).get(INGEST_META, {}))


def storage(es: Client, index: str) -> dict[str, Any]:
    """Size on disk, and per field the bytes of `_disk_usage` (run_expensive_tasks=true; an
    Elasticsearch API: on OpenSearch `fields` stays empty).

    The fields are Lucene's, as the API lists them: a hamming_code field `hash` is `hash` (its
    sub-code terms) and `hash#0..3` (its word columns). A field's terms are `inverted_index`.
    For a dense_vector field, `knn_vectors` is everything its vector format wrote: the vectors
    and, for HNSW, the graph. The segment files by extension come from the index stats
    (`vex` is Lucene's HNSW graph file, when the segment is not a compound file).
    """
    stats = es.indices.stats(index=index, metric=["store", "segments"], include_segment_file_sizes=True)
    primaries = stats["indices"][index]["primaries"]
    fields = {}
    if engines.product(es) == "elasticsearch":
        usage = engines.request(
            testing.with_timeout(es, 3600), "POST", f"/{index}/_disk_usage", params={"run_expensive_tasks": "true"}
        )
        fields = {name: _field_bytes(entry) for name, entry in usage[index]["fields"].items()}
    files = {ext: entry["size_in_bytes"] for ext, entry in primaries["segments"].get("file_sizes", {}).items()}
    return {
        "bytes": primaries["store"]["size_in_bytes"],
        "segments": primaries["segments"]["count"],
        "fields": fields,
        "files": files,
    }


def _field_bytes(entry: dict[str, Any]) -> dict[str, int]:
    """One field of `_disk_usage`: its non-zero byte counts (`total_in_bytes`, ...); the terms'
    bytes, which the API nests under `inverted_index`, as `inverted_index_in_bytes`."""
    sizes = {key: value for key, value in entry.items() if key.endswith("_in_bytes") and value}
    terms = entry.get("inverted_index", {}).get("total_in_bytes")
    return {**sizes, "inverted_index_in_bytes": terms} if terms else sizes


def ready(es: Client, index: str, n: int) -> bool:
    return bool(es.indices.exists(index=index)) and es.count(index=index)["count"] == n


def fingerprint(packed: np.ndarray) -> str:
    """A short digest of the codes, row order included."""
    return hashlib.sha256(np.ascontiguousarray(packed).tobytes()).hexdigest()[:16]


def holds(es: Client, index: str, kind: str, packed: np.ndarray) -> bool:
    """Whether `index` may be reused (--reuse) for `kind` and these codes: `load` loaded exactly
    them (the same n, --flip, --centres, --uniform), and its fields have the kind's types, so that
    an index of an earlier layout under the same name is not taken for the new one."""
    if not ready(es, index, len(packed)):
        return False
    found = es.indices.get_mapping(index=index)[index]["mappings"]
    types = {name: spec.get("type") for name, spec in found.get("properties", {}).items()}
    wanted = {name: spec["type"] for name, spec in mappings(kind)["properties"].items()}
    same_codes = found.get("_meta", {}).get(CODES_META) == fingerprint(packed)
    return same_codes and all(types.get(name) == wanted_type for name, wanted_type in wanted.items())


def create_neighbours(
    es: Client, index: str, radius: int = queries.DEFAULT_RADIUS, only: np.ndarray | None = None
) -> None:
    """The paper's neighbour lists: one document per (position 0..3, value), whose id is that
    sub-code's term and whose `neighbours` are the terms of every value within `radius` at the
    same position, in the text that both the hamming_code field `hash` and layout v2's
    `hash_mih` take (4 x 65,536 documents of 137 terms at radius 2). `only`
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
    testing.with_timeout(es, 3600).indices.forcemerge(index=index, max_num_segments=1)


PIVOT_GROUPS_SETTING = "elastichash.code_cache.partition_min_codes"


def pivot_groups_from(es: Client) -> int:
    """The codes from which the node groups a segment around pivots: its
    `elastichash.code_cache.partition_min_codes`, as set or by default."""
    settings = es.cluster.get_settings(include_defaults=True, flat_settings=True)
    for scope in ("transient", "persistent", "defaults"):
        if PIVOT_GROUPS_SETTING in settings.get(scope, {}):
            return int(settings[scope][PIVOT_GROUPS_SETTING])
    raise RuntimeError(f"the node lists no {PIVOT_GROUPS_SETTING}: is the plugin installed?")


def wait_for_pivot_groups(es: Client, index: str, seconds: float = 600, field: str = "hash") -> float | None:
    """Seconds until an exact search of `index` scans its large segments through their groups
    around pivots, which the node builds in the background after their first search (about
    2.5 s per million codes); None if not within `seconds`. A code far from every other (uniformly
    random) makes the query scan; its explanation says how. Timing before the groups are built
    would time the plain scan and a build competing for the cores."""
    code = codes.to_hex(np.random.default_rng(0).integers(0, 2, size=(1, codes.CODE_BITS), dtype=np.uint8))[0]
    body = {"size": 1, "explain": True, "query": {"hamming": {"field": field, "code": code, "k": 10}}}
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        hits = es.search(index=index, body=body)["hits"]["hits"]
        if hits and "through pivot groups" in hits[0]["_explanation"]["description"]:
            return time.perf_counter() - started
        time.sleep(0.2)
    return None
