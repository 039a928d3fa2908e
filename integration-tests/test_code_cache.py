"""The node's rows of codes on a real node: the `elastichash_codes` circuit breaker counts what a
search loaded, an index's rows are given back when it is deleted, and with no room left (the
breaker's limit set to almost nothing) the same searches give the same answers from the columns.
"""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from conftest import bulk, hamming, refusal, words_to_hex
from elastichash.engines import Client

BREAKER = "elastichash_codes"
DOCS = 3_000


def cached_bytes(es: Client) -> int:
    """What the node's rows of codes hold, summed over the nodes."""
    stats = es.nodes.stats(metric="breaker")["nodes"].values()
    return sum(node["breakers"][BREAKER]["estimated_size_in_bytes"] for node in stats)


def index_codes(es: Client, index: str, codes: np.ndarray) -> None:
    es.indices.create(
        index=index,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"hash": {"type": "hamming_code"}, "n": {"type": "integer"}}},
        },
    )
    # Every 10th document without a code: rows keep track of which documents have one.
    actions = [
        {"_index": index, "_id": str(i), "n": i, **({} if i % 10 == 0 else {"hash": words_to_hex(code)})}
        for i, code in enumerate(codes)
    ]
    bulk(es, actions, refresh=True)
    es.indices.forcemerge(index=index, max_num_segments=1)
    es.indices.refresh(index=index)


def nearest(es: Client, index: str, query: np.ndarray, k: int, *, script: bool = False) -> list[tuple[int, int]]:
    """(document number, distance) of the k nearest, by the query or by the script."""
    code = words_to_hex(query)
    if script:
        body = {
            "size": k,
            "query": {
                "script_score": {
                    "query": {"exists": {"field": "hash"}},
                    "script": {"lang": "elastichash", "source": "hamming", "params": {"code": code, "field": "hash"}},
                }
            },
            "sort": [{"_score": "desc"}, {"n": "asc"}],
        }
    else:
        body = {
            "size": k,
            "query": {"hamming": {"field": "hash", "code": code, "k": k}},
            "sort": [{"_score": "desc"}, {"n": "asc"}],
        }
    hits = es.search(index=index, body=body)["hits"]["hits"]
    return [(hit["_source"]["n"], 256 - int(hit["_score"])) for hit in hits]


def assert_nearest(hits: list[tuple[int, int]], codes: np.ndarray, query: np.ndarray, k: int) -> None:
    """The k nearest coded documents: each distance right, the distances those of brute force (ties in any order)."""
    distances = hamming(query, codes)
    coded = np.array([i % 10 != 0 for i in range(len(codes))])
    assert len({n for n, _ in hits}) == len(hits) == k
    assert all(coded[n] and distance == int(distances[n]) for n, distance in hits), hits
    assert [distance for _, distance in hits] == sorted(int(d) for d in distances[coded])[:k]


def wait_for(predicate, seconds: float = 20.0) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


@pytest.fixture
def codes() -> np.ndarray:
    rng = np.random.default_rng(5)
    centres = rng.integers(0, 2, size=(30, 256), dtype=np.uint8)
    bits = centres[rng.integers(0, 30, DOCS)] ^ (rng.random((DOCS, 256)) < 0.1).astype(np.uint8)
    return np.packbits(bits, axis=1).view(">i8").astype(np.int64)


def test_a_search_loads_the_rows_once_and_deleting_the_index_gives_them_back(
    es: Client, scratch_index: str, codes: np.ndarray
) -> None:
    index_codes(es, scratch_index, codes)
    before = cached_bytes(es)
    rng = np.random.default_rng(6)
    for query in codes[rng.integers(0, DOCS, 3)]:
        assert_nearest(nearest(es, scratch_index, query, 10), codes, query, 10)
        assert_nearest(nearest(es, scratch_index, query, 10, script=True), codes, query, 10)
    loaded = cached_bytes(es) - before
    # 32 bytes of words a document, a bit a document since some have no code; loaded once, not per search.
    assert DOCS * 32 <= loaded <= DOCS * 32 + DOCS // 8 + 1024, loaded
    es.indices.delete(index=scratch_index)
    assert wait_for(lambda: cached_bytes(es) <= before), (
        f"{cached_bytes(es)} bytes still held, {before} before the index"
    )


def breaker_settings(es: Client) -> dict[str, str]:
    """The breaker's limit and overhead now, as settings that put them back."""
    node = next(iter(es.nodes.stats(metric="breaker")["nodes"].values()))["breakers"][BREAKER]
    return {
        f"breaker.{BREAKER}.limit": f"{node['limit_size_in_bytes']}b",
        f"breaker.{BREAKER}.overhead": node["overhead"],
    }


def test_with_no_room_the_columns_give_the_same_answers(es: Client, scratch_index: str, codes: np.ndarray) -> None:
    index_codes(es, scratch_index, codes)
    # Put back as they were, not cleared: a cleared plugin breaker takes the engine's defaults (the whole heap).
    restore = breaker_settings(es)
    es.cluster.put_settings(body={"transient": {f"breaker.{BREAKER}.limit": "1b"}})
    try:
        before = cached_bytes(es)
        rng = np.random.default_rng(7)
        for query in codes[rng.integers(0, DOCS, 3)]:
            assert_nearest(nearest(es, scratch_index, query, 25), codes, query, 25)
            assert_nearest(nearest(es, scratch_index, query, 25, script=True), codes, query, 25)
        assert cached_bytes(es) == before, "nothing was loaded past the limit"
    finally:
        es.cluster.put_settings(body={"transient": restore})


def test_segments_merged_away_give_their_arrays_back(es: Client, scratch_index: str, codes: np.ndarray) -> None:
    es.indices.create(
        index=scratch_index,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"hash": {"type": "hamming_code"}}},
        },
    )
    before = cached_bytes(es)
    # Three segments (a refresh after each third), each searched, so each loaded.
    for part in np.array_split(np.arange(DOCS), 3):
        bulk(es, [{"_index": scratch_index, "_id": str(i), "hash": words_to_hex(codes[i])} for i in part], refresh=True)
    es.search(
        index=scratch_index, body={"query": {"hamming": {"field": "hash", "code": words_to_hex(codes[0]), "k": 5}}}
    )
    segments = es.indices.segments(index=scratch_index)["indices"][scratch_index]["shards"]["0"][0][
        "num_search_segments"
    ]
    assert segments >= 2
    assert cached_bytes(es) - before == DOCS * 32  # every document has a code: no bit set
    es.indices.forcemerge(index=scratch_index, max_num_segments=1)
    es.indices.refresh(index=scratch_index)
    es.search(
        index=scratch_index, body={"query": {"hamming": {"field": "hash", "code": words_to_hex(codes[0]), "k": 5}}}
    )
    # The merged segment's arrays are loaded, the three old ones released once their readers close.
    assert wait_for(lambda: cached_bytes(es) - before == DOCS * 32), cached_bytes(es) - before


# 135,000 with a code: over the 131,072 from which a segment's codes are grouped around pivots.
PARTITIONED_DOCS = 150_000


def explained(es: Client, index: str, query: np.ndarray) -> str:
    """How the exact query searched for `query`, k=10 (its explanation says)."""
    body = {"size": 1, "query": {"hamming": {"field": "hash", "code": words_to_hex(query), "k": 10}}, "explain": True}
    return es.search(index=index, body=body)["hits"]["hits"][0]["_explanation"]["description"]


def compared(es: Client, index: str, query: np.ndarray) -> int:
    """Codes the exact query compared for `query`, k=10."""
    return int(explained(es, index, query).split(" candidates compared")[0].split()[-1])


def test_a_large_segment_is_grouped_around_pivots_and_its_scans_skip_most_codes(es: Client, scratch_index: str) -> None:
    # Codes spread like real images' (tens of bits to the nearest): 50 clusters, 15 % of bits flipped.
    rng = np.random.default_rng(9)
    centres = rng.integers(0, 2, size=(50, 256), dtype=np.uint8)
    flips = (rng.random((PARTITIONED_DOCS, 256)) < 0.15).astype(np.uint8)
    bits = centres[rng.integers(0, 50, PARTITIONED_DOCS)] ^ flips
    codes = np.packbits(bits, axis=1).view(">i8").astype(np.int64)
    before = cached_bytes(es)
    index_codes(es, scratch_index, codes)
    coded = PARTITIONED_DOCS - PARTITIONED_DOCS // 10
    compared_before = compared(es, scratch_index, codes[1])
    # The arrays load on the first search; the partition is built in the background after it, and
    # from then on the scan compares fewer codes.
    grouped = "1 of 1 segments scanned (1 through pivot groups)"
    assert wait_for(lambda: grouped in explained(es, scratch_index, codes[1]), seconds=60)
    assert compared(es, scratch_index, codes[1]) < coded // 2
    # Held: the arrays (32 bytes a document, a bit set as some have no code) and the partition (a
    # copy of the codes, each one's document and distance to its pivot: 38 bytes a code; pivots).
    held = cached_bytes(es) - before
    arrays = PARTITIONED_DOCS * 32
    assert arrays + coded * 38 <= held <= arrays + PARTITIONED_DOCS // 8 + coded * 38 + 256 * 1024, held
    for query in codes[rng.integers(0, PARTITIONED_DOCS, 4)]:
        for k in (10, 100):
            assert_nearest(nearest(es, scratch_index, query, k), codes, query, k)
    assert compared_before >= coded, "before its partition the segment was scanned whole"
    es.indices.delete(index=scratch_index)
    assert wait_for(lambda: cached_bytes(es) <= before), f"{cached_bytes(es)} bytes still held, {before} before"


def test_the_partition_setting_is_dynamic_and_checked(es: Client) -> None:
    setting = "elastichash.code_cache.partition_min_codes"
    status, error = refusal(lambda: es.cluster.put_settings(body={"transient": {setting: -1}}))
    assert status == 400 and setting in json.dumps(error), error
    try:
        es.cluster.put_settings(body={"transient": {setting: 2**31 - 1}})
        assert es.cluster.get_settings(flat_settings=True)["transient"][setting] == str(2**31 - 1)
    finally:
        es.cluster.put_settings(body={"transient": {setting: None}})
