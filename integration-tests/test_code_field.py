"""The `hamming_code` field type on a real node: what a document may hold and the sentence a bad one
gets, bulk requests where only the bad documents fail, documents without a code, updates,
`fields` / `docvalue_fields` / `exists` / terms aggregations, mapping errors, and codes of other
lengths (64 to 1024 bits) searched by the query and scored by the script against numpy.

Everything here is sent as any client would send it: the code as hex, nothing derived.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import bulk, hamming, refusal, words_to_hex
from elastichash import engines
from elastichash.engines import Client

HEX = "0123456789abcdef" * 4


def create(es: Client, index: str, **field: object) -> None:
    es.indices.create(
        index=index,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {"properties": {"hash": {"type": "hamming_code", **field}, "tag": {"type": "keyword"}}},
        },
    )


def reason_chain(error: dict) -> str:
    """The error's reason with every cause's, as one text."""
    node, parts = error.get("error", error), []
    parts += [str(cause.get("reason", "")) for cause in node.get("root_cause", [])]
    while isinstance(node, dict):
        parts.append(str(node.get("reason", "")))
        node = node.get("caused_by")
    return " / ".join(parts)


def test_the_mapping_is_one_field_with_its_bits(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    mapping = es.indices.get_mapping(index=scratch_index)[scratch_index]["mappings"]["properties"]
    assert mapping["hash"] == {"type": "hamming_code", "bits": 256}


# The mapper's sentences are worded once, in the core's HammingCodeFieldTest; here each node must
# hand on the field's name and what was wrong with this value.
BAD_VALUES = {
    "too short": ("abc", "got 3"),
    "not hex": ("g" * 64, "character 'g' at position 0"),
    "a number": (12345, "got a number [12345]"),
    "an array": ([HEX, HEX], "got an array"),
    "an object": ({"hex": HEX}, "got an object"),
    "a boolean": (True, "got a boolean [true]"),
}


@pytest.mark.parametrize("case", list(BAD_VALUES))
def test_a_bad_value_is_a_400_naming_the_field_and_the_problem(es: Client, scratch_index: str, case: str) -> None:
    create(es, scratch_index)
    value, message = BAD_VALUES[case]
    status, error = refusal(lambda: es.index(index=scratch_index, id="x", body={"hash": value}))
    assert status == 400, error
    text = reason_chain(error)
    assert "field [hash] of type [hamming_code]" in text and message in text, text


def test_bulk_indexes_the_good_documents_and_names_each_bad_one(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    actions = [{"_index": scratch_index, "_id": f"good-{i}", "hash": f"{i:064x}"} for i in range(5)]
    actions.insert(2, {"_index": scratch_index, "_id": "short", "hash": "ff"})
    actions.insert(4, {"_index": scratch_index, "_id": "twice", "hash": [HEX, HEX]})
    ok, errors = bulk(es, actions, raise_on_error=False, refresh=True)
    assert ok == 5
    failed = {item["index"]["_id"]: reason_chain(item["index"]) for item in errors}
    assert set(failed) == {"short", "twice"}
    assert "got 2" in failed["short"] and "one code per document" in failed["twice"]
    assert es.count(index=scratch_index)["count"] == 5


def test_a_document_without_a_code_is_kept_found_by_no_search_and_scored_zero(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    es.index(index=scratch_index, id="coded", body={"hash": HEX, "tag": "a"})
    es.index(index=scratch_index, id="null", body={"hash": None, "tag": "a"})
    es.index(index=scratch_index, id="absent", body={"tag": "a"}, refresh=True)
    assert es.count(index=scratch_index)["count"] == 3
    hits = es.search(index=scratch_index, body={"query": {"hamming": {"field": "hash", "code": HEX, "k": 10}}})
    assert [hit["_id"] for hit in hits["hits"]["hits"]] == ["coded"]
    script = {"lang": "elastichash", "source": "hamming", "params": {"code": HEX, "field": "hash"}}
    scored = es.search(
        index=scratch_index, body={"query": {"script_score": {"query": {"match_all": {}}, "script": script}}}
    )
    assert {hit["_id"]: hit["_score"] for hit in scored["hits"]["hits"]} == {"coded": 256, "null": 0, "absent": 0}
    exists = es.search(index=scratch_index, body={"query": {"exists": {"field": "hash"}}})
    assert [hit["_id"] for hit in exists["hits"]["hits"]] == ["coded"]


def code_out_of_source(es: Client, index: str) -> bool:
    """Whether `index` keeps its codes out of the stored `_source` (Elasticsearch 9's
    `index.mapping.exclude_source_vectors`, on by default; a setting Elasticsearch 8 and OpenSearch lack)."""
    settings = es.indices.get_settings(index=index, include_defaults=True, flat_settings=True)[index]
    value = settings.get("settings", {}).get("index.mapping.exclude_source_vectors")
    return str(value or settings.get("defaults", {}).get("index.mapping.exclude_source_vectors")).lower() == "true"


def test_source_fields_and_doc_values_hold_the_hex_and_nothing_derived(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    es.index(index=scratch_index, id="1", body={"hash": HEX.upper(), "tag": "a"}, refresh=True)
    hit = es.search(index=scratch_index, body={"query": {"match_all": {}}, "docvalue_fields": ["tag", "hash"]})
    hit = hit["hits"]["hits"][0]
    # Kept out of the stored source, the code is read back from the column: the canonical
    # lowercase hex. Kept in it, it is the hex as sent.
    shown = HEX if code_out_of_source(es, scratch_index) else HEX.upper()
    assert hit["_source"] == {"hash": shown, "tag": "a"}
    assert hit["fields"] == {"hash": [HEX], "tag": ["a"]}  # doc values: the canonical lowercase hex
    only = es.search(index=scratch_index, body={"query": {"match_all": {}}, "fields": ["hash"], "_source": False})
    assert only["hits"]["hits"][0]["fields"]["hash"] == [shown]


def test_elasticsearch_9_keeps_codes_out_of_the_stored_source_and_gives_them_back(
    es: Client, scratch_index: str
) -> None:
    create(es, scratch_index)
    if not code_out_of_source(es, scratch_index):
        pytest.skip("this node keeps every field in the stored _source (Elasticsearch 8, OpenSearch)")
    kept = scratch_index + "-kept"  # the same documents with the setting off: the hex stays in _source
    es.indices.create(
        index=kept,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.mapping.exclude_source_vectors": False},
            "mappings": {"properties": {"hash": {"type": "hamming_code"}, "tag": {"type": "keyword"}}},
        },
    )
    try:
        n = 2_000
        hexes = [words_to_hex(code) for code in np.random.default_rng(31).integers(-(2**63), 2**63 - 1, (n, 4))]
        for index in (scratch_index, kept):
            bulk(es, ({"_index": index, "_id": str(i), "hash": h.upper(), "tag": "t"} for i, h in enumerate(hexes)))
            es.indices.refresh(index=index)
            es.indices.forcemerge(index=index, max_num_segments=1)
        stored = {}
        for index in (scratch_index, kept):
            usage = engines.request(es, "POST", f"/{index}/_disk_usage", params={"run_expensive_tasks": "true"})
            stored[index] = usage[index]["fields"]["_source"]["total_in_bytes"]
        # 64 hex characters of random bits a document compress to no fewer than 32 bytes; left
        # out, what is stored is {"tag":"t"}.
        assert stored[kept] >= n * 32 and stored[scratch_index] <= n * 8, stored
        # Every read of the source gets the code back, from the column (lowercase: not what was
        # sent); unlike dense_vector's, `_source.exclude_vectors` does not hide it.
        assert es.get(index=scratch_index, id="7")["_source"] == {"hash": hexes[7], "tag": "t"}
        assert es.get(index=kept, id="7")["_source"] == {"hash": hexes[7].upper(), "tag": "t"}
        hits = es.search(index=scratch_index, body={"size": n, "query": {"match_all": {}}})["hits"]["hits"]
        assert {hit["_id"]: hit["_source"]["hash"] for hit in hits} == {str(i): h for i, h in enumerate(hexes)}
        # An update of another field keeps the code; a code of its own replaces it.
        es.update(index=scratch_index, id="7", body={"doc": {"tag": "u"}}, refresh=True)
        assert es.get(index=scratch_index, id="7")["_source"] == {"hash": hexes[7], "tag": "u"}
        es.update(index=scratch_index, id="7", body={"doc": {"hash": "F" * 64}}, refresh=True)
        assert es.get(index=scratch_index, id="7")["_source"] == {"hash": "f" * 64, "tag": "u"}
        top = es.search(index=scratch_index, body={"query": {"hamming": {"field": "hash", "code": "f" * 64, "k": 1}}})
        assert top["hits"]["hits"][0]["_id"] == "7" and top["hits"]["hits"][0]["_score"] == 256
    finally:
        es.indices.delete(index=kept, ignore_unavailable=True)


def test_update_replaces_the_code_and_search_follows(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    es.index(index=scratch_index, id="1", body={"hash": "0" * 64, "tag": "a"}, refresh=True)
    es.update(index=scratch_index, id="1", body={"doc": {"hash": "f" * 64}}, refresh=True)
    hits = es.search(index=scratch_index, body={"query": {"hamming": {"field": "hash", "code": "f" * 64, "k": 1}}})
    assert hits["hits"]["hits"][0]["_score"] == 256
    assert hits["hits"]["hits"][0]["_source"] == {"hash": "f" * 64, "tag": "a"}
    status, error = refusal(lambda: es.update(index=scratch_index, id="1", body={"doc": {"hash": "z"}}))
    assert status == 400 and "field [hash] of type [hamming_code]" in reason_chain(error)
    kept = es.get(index=scratch_index, id="1")["_source"]
    assert kept["hash"] == "f" * 64, "a refused update must leave the document as it was"


def test_identical_codes_are_counted_by_a_terms_aggregation(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    bulk(es, [{"_index": scratch_index, "_id": str(i), "hash": HEX if i < 3 else f"{i:064x}"} for i in range(6)])
    es.indices.refresh(index=scratch_index)
    answer = es.search(index=scratch_index, body={"size": 0, "aggs": {"codes": {"terms": {"field": "hash"}}}})
    buckets = {b["key"]: b["doc_count"] for b in answer["aggregations"]["codes"]["buckets"]}
    assert buckets[HEX] == 3 and len(buckets) == 4


def test_terms_on_sub_codes_are_the_paper_s_first_stage(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    bulk(
        es,
        [{"_index": scratch_index, "_id": "a", "hash": HEX}, {"_index": scratch_index, "_id": "b", "hash": "0" * 64}],
    )
    es.indices.refresh(index=scratch_index)
    # Sub-code 0 of HEX is 0x0123; sub-code 15 of the zero code is 0x0000.
    hits = es.search(index=scratch_index, body={"query": {"terms": {"hash": ["00123", "f0000"]}}})["hits"]["hits"]
    assert sorted(hit["_id"] for hit in hits) == ["a", "b"]
    status, error = refusal(lambda: es.search(index=scratch_index, body={"query": {"term": {"hash": HEX}}}))
    assert status == 400 and "a term query on it takes a sub-code" in reason_chain(error), error


# Worded in the core's HammingCodeFieldTest; here each node names the parameter, the field and the value.
MAPPING_ERRORS = {
    "bits not a multiple of 64": ({"bits": 100}, "[bits] of field [hash]", "got 100"),
    "bits too large": ({"bits": 2048}, "[bits] of field [hash]", "got 2048"),
    "bits a word": ({"bits": "many"}, "[bits] of field [hash]", "[many]"),
    "unknown parameter": ({"bitz": 64}, "unknown parameter [bitz]", ""),
}


@pytest.mark.parametrize("case", list(MAPPING_ERRORS))
def test_mapping_errors_are_400s_naming_the_parameter(es: Client, scratch_index: str, case: str) -> None:
    field, named, value = MAPPING_ERRORS[case]
    status, error = refusal(lambda: create(es, scratch_index, **field))
    assert status == 400 and named in reason_chain(error) and value in reason_chain(error), error


def test_bits_cannot_change_on_an_existing_field(es: Client, scratch_index: str) -> None:
    create(es, scratch_index)
    status, error = refusal(
        lambda: es.indices.put_mapping(
            index=scratch_index, body={"properties": {"hash": {"type": "hamming_code", "bits": 128}}}
        )
    )
    assert status == 400 and "bits" in reason_chain(error), error


@pytest.mark.parametrize("bits", [64, 1024])
def test_other_code_lengths_are_searched_and_scored_exactly(es: Client, scratch_index: str, bits: int) -> None:
    create(es, scratch_index, bits=bits)
    rng = np.random.default_rng(bits)
    words = bits // 64
    codes = rng.integers(-(2**63), 2**63 - 1, size=(400, words), dtype=np.int64)
    codes[200:] = codes[:200] ^ (rng.random((200, words)) < 0.05).astype(np.int64)  # near copies
    bulk(es, ({"_index": scratch_index, "_id": str(i), "hash": words_to_hex(c)} for i, c in enumerate(codes)))
    es.indices.refresh(index=scratch_index)
    for row in (3, 250):
        query = codes[row] ^ np.int64(5)
        distances = hamming(query, codes)
        answer = es.search(
            index=scratch_index,
            body={"size": 20, "query": {"hamming": {"field": "hash", "code": words_to_hex(query), "k": 20}}},
        )
        got = [bits - hit["_score"] for hit in answer["hits"]["hits"]]
        assert got == sorted(distances)[:20]
        assert all(distances[int(hit["_id"])] == bits - hit["_score"] for hit in answer["hits"]["hits"])
        script = {"lang": "elastichash", "source": "hamming", "params": {"code": words_to_hex(query), "field": "hash"}}
        scored = es.search(
            index=scratch_index,
            body={"size": 400, "query": {"script_score": {"query": {"match_all": {}}, "script": script}}},
        )
        assert all(bits - hit["_score"] == distances[int(hit["_id"])] for hit in scored["hits"]["hits"])
    status, error = refusal(
        lambda: es.search(
            index=scratch_index,
            body={"query": {"hamming": {"field": "hash", "code": HEX[:16] * (words * 2 if words < 16 else 8)}}},
        )
    )
    assert status == 400 and f"field [hash] holds {bits}-bit codes" in reason_chain(error), error


# --- other writers: _reindex, _update_by_query, ingest pipelines ---------------------------------
# OpenSearch's test distribution ships the reindex, ingest-common and lang-painless modules;
# Elasticsearch's integ-test zip has none of them (and no registry serves them), so there these
# writers cannot run at all.


@pytest.fixture(scope="module")
def modules(es: Client) -> set[str]:
    nodes = es.nodes.info(metric="plugins")["nodes"].values()
    return {module["name"] for node in nodes for module in node.get("modules", [])}


def needs(modules: set[str], *names: str) -> None:
    missing = [name for name in names if name not in modules]
    if missing:
        pytest.skip(
            f"this node's distribution lacks the {', '.join(missing)} module(s) (Elasticsearch's integ-test zip)"
        )


def search_hits(es: Client, index: str, code: str) -> dict[str, float]:
    answer = es.search(index=index, body={"size": 100, "query": {"hamming": {"field": "hash", "code": code, "k": 100}}})
    return {hit["_id"]: hit["_score"] for hit in answer["hits"]["hits"]}


def test_reindex_derives_the_code_in_the_new_index(es: Client, modules: set[str], scratch_index: str) -> None:
    needs(modules, "reindex")
    source = scratch_index + "-source"
    es.indices.create(index=source, body={"mappings": {"properties": {"hex": {"type": "keyword"}}}})
    try:
        codes = {str(i): f"{i * 7919:064x}" for i in range(20)}
        bulk(es, [{"_index": source, "_id": i, "hex": h} for i, h in codes.items()], refresh=True)
        create(es, scratch_index)
        es.reindex(
            body={
                "source": {"index": source},
                "dest": {"index": scratch_index},
                "script": {"lang": "painless", "source": "ctx._source.hash = ctx._source.remove('hex')"},
            },
            refresh=True,
        )
        hits = search_hits(es, scratch_index, codes["5"])
        assert len(hits) == 20 and hits["5"] == 256
        query = np.frombuffer(bytes.fromhex(codes["5"]), dtype=">u8").astype(np.uint64).view(np.int64)
        for doc_id, score in hits.items():
            words = np.frombuffer(bytes.fromhex(codes[doc_id]), dtype=">u8").astype(np.uint64).view(np.int64)
            assert score == 256 - hamming(query, words[None, :])[0]
    finally:
        es.indices.delete(index=source, ignore_unavailable=True)


def test_update_by_query_rewrites_codes(es: Client, modules: set[str], scratch_index: str) -> None:
    needs(modules, "reindex", "lang-painless")
    create(es, scratch_index)
    bulk(es, [{"_index": scratch_index, "_id": str(i), "hash": "0" * 64, "tag": "a"} for i in range(5)], refresh=True)
    es.update_by_query(
        index=scratch_index,
        body={"script": {"lang": "painless", "source": "ctx._source.hash = params.h", "params": {"h": "f" * 64}}},
        refresh=True,
    )
    assert search_hits(es, scratch_index, "f" * 64) == {str(i): 256.0 for i in range(5)}


def test_an_ingest_pipeline_may_set_the_code(es: Client, modules: set[str], scratch_index: str) -> None:
    needs(modules, "ingest-common")
    pipeline = scratch_index + "-pipeline"
    es.ingest.put_pipeline(id=pipeline, body={"processors": [{"set": {"field": "hash", "value": "{{code}}"}}]})
    try:
        create(es, scratch_index)
        actions = [
            {"_index": scratch_index, "_id": "good", "code": HEX},
            {"_index": scratch_index, "_id": "bad", "code": "not a code"},
        ]
        ok, errors = bulk(es, actions, pipeline=pipeline, raise_on_error=False, refresh=True)
        assert ok == 1 and [item["index"]["_id"] for item in errors] == ["bad"]
        assert "field [hash] of type [hamming_code]" in reason_chain(errors[0]["index"])
        assert search_hits(es, scratch_index, HEX) == {"good": 256.0}
    finally:
        es.ingest.delete_pipeline(id=pipeline)


# --- timeout -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def million(es: Client, engine_name: str) -> object:
    """1M random codes in one shard: a query code far from all of them scans every one."""
    version = next(iter(es.nodes.info(metric="process")["nodes"].values()))["version"]
    if engine_name != "Elasticsearch" or not version.startswith("9."):
        pytest.skip(
            f"{engine_name} {version}: only Elasticsearch 9's searcher lets a query's own work check the search's "
            "timeout and cancellation (docs/hamming-query.md)"
        )
    name = "it-million"
    if not es.indices.exists(index=name) or es.count(index=name)["count"] != 1_000_000:
        es.indices.delete(index=name, ignore_unavailable=True)
        es.indices.create(
            index=name,
            body={
                "settings": {"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": -1},
                "mappings": {"_source": {"enabled": False}, "properties": {"hash": {"type": "hamming_code"}}},
            },
        )
        rng = np.random.default_rng(1_000_000)
        for _ in range(0, 1_000_000, 50_000):
            rows = rng.integers(0, 256, size=(50_000, 32), dtype=np.uint8)
            bulk(es, ({"_index": name, "hash": row.tobytes().hex()} for row in rows), chunk_size=10_000)
        es.indices.refresh(index=name)
    yield name
    es.indices.delete(index=name)


def test_a_scan_of_a_million_codes_stops_at_the_search_timeout(es: Client, million: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(3):
        code = rng.integers(0, 256, 32, dtype=np.uint8).tobytes().hex()
        body = {"timeout": "1ms", "size": 10, "query": {"hamming": {"field": "hash", "code": code, "k": 10}}}
        answer = es.search(index=million, body=body)
        assert answer["timed_out"] is True, answer
        assert answer["_shards"]["failed"] == 0
    # The node is free at once: nothing left running on the search threads, and a search without
    # a timeout scans the million codes and answers whole.
    active = sum(int(row["active"]) for row in es.cat.thread_pool(thread_pool_patterns="search", format="json"))
    assert active <= 1, active  # the request asking is one
    whole = es.search(index=million, body={"size": 10, "query": {"hamming": {"field": "hash", "code": code, "k": 10}}})
    assert whole["timed_out"] is False and len(whole["hits"]["hits"]) == 10
