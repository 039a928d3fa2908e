import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elastichash import codes, queries
from elastichash.codes import Code, CodeError

CODE = Code.from_hex("0123456789abcdef" * 4)
LONG_MIN = -(2**63)


def script_score(body: dict[str, Any]) -> dict[str, Any]:
    return body["query"]["script_score"]


# --- index and documents ---------------------------------------------------------------------


def test_mapping_has_code_fields_and_extras() -> None:
    properties = queries.mapping({"title": {"type": "text"}})["properties"]
    assert [f for f in properties if f.startswith("hash_f")] == list(queries.SUBCODE_FIELDS)
    assert all(properties[f]["type"] == "keyword" for f in queries.SUBCODE_FIELDS)
    assert all(properties[f]["type"] == "long" for f in queries.WORD_FIELDS)
    assert properties["hash"] == {"type": "keyword", "index": False, "doc_values": False}
    assert properties["title"] == {"type": "text"}
    assert queries.mapping() == queries.mapping(None)
    with pytest.raises(ValueError, match="hash_r0"):
        queries.mapping({"hash_r0": {"type": "keyword"}})


def test_index_body() -> None:
    body = queries.index_body(shards=3, replicas=1, extra_properties={"tag": {"type": "keyword"}})
    assert body["settings"] == {"number_of_shards": 3, "number_of_replicas": 1}
    assert body["mappings"]["properties"]["tag"] == {"type": "keyword"}
    with pytest.raises(ValueError, match="shards >= 1"):
        queries.index_settings(0, 0)


def test_code_fields() -> None:
    fields = queries.code_fields(CODE)
    assert fields == queries.code_fields(CODE.hex.upper())  # a hex string works as well
    assert fields["hash"] == CODE.hex
    assert [fields[f] for f in queries.SUBCODE_FIELDS] == ["0123", "4567", "89ab", "cdef"]
    assert [fields[f] for f in queries.WORD_FIELDS] == [0x0123456789ABCDEF] * 4
    assert all(type(fields[f]) is int for f in queries.WORD_FIELDS)  # JSON-ready, not numpy
    json.dumps(fields)


@pytest.mark.parametrize(
    ("hex_code", "subcodes", "words"),
    [
        ("0" * 64, ["0000"] * 4, [0] * 4),
        ("f" * 64, ["ffff"] * 4, [-1] * 4),
        ("8" + "0" * 63, ["8000", "0000", "0000", "0000"], [LONG_MIN, 0, 0, 0]),
        ("0" * 63 + "1", ["0000"] * 4, [0, 0, 0, 1]),
    ],
)
def test_code_fields_edge_codes(hex_code: str, subcodes: list[str], words: list[int]) -> None:
    fields = queries.code_fields(hex_code)
    assert [fields[f] for f in queries.SUBCODE_FIELDS] == subcodes
    assert [fields[f] for f in queries.WORD_FIELDS] == words


def test_bad_code_is_named() -> None:
    with pytest.raises(CodeError, match="64 hex characters .* got 3"):
        queries.code_fields("abc")


# --- stage 1: multi-index hashing --------------------------------------------------------------


def test_mih_filter_has_137_terms_per_subcode_at_radius_2() -> None:
    query = queries.mih_filter(CODE)
    assert query["bool"]["minimum_should_match"] == 1
    should = query["bool"]["should"]
    assert [next(iter(clause["terms"])) for clause in should] == list(queries.SUBCODE_FIELDS)
    for clause, field, value in zip(should, queries.SUBCODE_FIELDS, CODE.subcodes, strict=True):
        terms = clause["terms"][field]
        assert len(terms) == len(set(terms)) == 137
        assert terms[0] == f"{int(value):04x}"
        assert all(len(t) == 4 and t == t.lower() for t in terms)
        assert all(bin(int(t, 16) ^ int(value)).count("1") <= 2 for t in terms)


@pytest.mark.parametrize(("radius", "count"), [(0, 1), (1, 17), (3, 697)])
def test_mih_filter_radius(radius: int, count: int) -> None:
    for clause in queries.mih_filter(CODE, radius)["bool"]["should"]:
        assert len(next(iter(clause["terms"].values()))) == count
    with pytest.raises(CodeError, match="radius"):
        queries.mih_filter(CODE, 17)


@given(st.binary(min_size=32, max_size=32), st.sets(st.integers(0, 63), max_size=11))
def test_mih_finds_every_code_within_short_distance_11(query: bytes, flips: set[int]) -> None:
    """Pigeonhole: 11 flipped bits over 4 sub-codes leave one sub-code within distance 2."""
    query_code = Code(query.hex())
    bits = query_code.bits.copy()
    bits[list(flips)] ^= 1
    document = queries.code_fields(Code.from_bits(bits))
    should = queries.mih_filter(query_code)["bool"]["should"]
    assert any(
        document[f] in clause["terms"][f]
        for clause, f in zip(should, queries.SUBCODE_FIELDS, strict=True)
    )


# --- stage 2: scorers ------------------------------------------------------------------------


def test_plugin_script_is_the_public_api() -> None:
    assert queries.hamming_script(CODE) == {
        "lang": "elastichash",
        "source": "hamming",
        "params": {"code": CODE.hex, "fields": ["hash_r0", "hash_r1", "hash_r2", "hash_r3"]},
    }
    short = queries.hamming_script(CODE, ("hash_r0",))
    assert short["params"] == {"code": CODE.hex[:16], "fields": ["hash_r0"]}


def test_painless_script_carries_signed_words() -> None:
    code = Code.from_hex("8" + "0" * 15 + "f" * 16 + "0" * 31 + "1")
    script = queries.hamming_script(code, scorer="painless")
    assert script["lang"] == "painless"
    assert script["params"] == {"words": [LONG_MIN, -1, 0, 1], "fields": list(queries.WORD_FIELDS)}
    assert all(type(w) is int for w in script["params"]["words"])
    source = script["source"]
    assert "64 - Long.bitCount(params.words.get(i) ^ values.value)" in source
    assert "if (values.size() == 0) { return 0; }" in source  # as the plugin: missing field → 0


def test_script_errors() -> None:
    with pytest.raises(ValueError, match="scorer"):
        queries.hamming_script(CODE, scorer="lucene")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="1 to 4 long fields, got 5"):
        queries.hamming_script(CODE, ("a", "b", "c", "d", "e"))
    with pytest.raises(ValueError, match="got 0"):
        queries.hamming_script(CODE, ())


# --- whole searches --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", queries.MODES)
@pytest.mark.parametrize("scorer", queries.SCORERS)
def test_search_body_structure(mode: queries.Mode, scorer: queries.Scorer) -> None:
    user_filter = {"term": {"tag": "x"}}
    body = queries.search_body(CODE, k=7, mode=mode, scorer=scorer, filter=user_filter)
    assert body["size"] == 7
    assert body["_source"] == {"excludes": ["hash_f*", "hash_r*"]}
    filters = script_score(body)["query"]["bool"]["filter"]
    assert filters[-1] == user_filter
    if mode == "long":
        assert filters == [user_filter]
    else:
        assert filters == [queries.mih_filter(CODE), user_filter]
    script = script_score(body)["script"]
    assert script == queries.hamming_script(
        CODE, ("hash_r0",) if mode == "short" else queries.WORD_FIELDS, scorer
    )
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize("mode", ["two_stage", "short"])
def test_without_filter_the_candidates_are_the_mih_filter(mode: queries.Mode) -> None:
    body = queries.search_body(CODE.hex, mode=mode)
    assert script_score(body)["query"] == {"bool": {"filter": [queries.mih_filter(CODE)]}}


def test_long_mode_without_filter_matches_all() -> None:
    body = queries.search_body(CODE, mode="long", scorer="painless")
    assert script_score(body)["query"] == {"match_all": {}}


def test_source_options_and_defaults_are_not_shared() -> None:
    assert queries.search_body(CODE, source=False)["_source"] is False
    assert queries.search_body(CODE, source=["path"])["_source"] == ["path"]
    body = queries.search_body(CODE)
    body["_source"]["excludes"].append("path")
    assert queries.search_body(CODE)["_source"] == {"excludes": ["hash_f*", "hash_r*"]}


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        queries.search_body(CODE, mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="scorer must be one of"):
        queries.search_body(CODE, scorer="java")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must be at least 1, got 0"):
        queries.search_body(CODE, k=0)
    with pytest.raises(ValueError, match="filter must be an Elasticsearch query object, got list"):
        queries.search_body(CODE, filter=[{"term": {"a": 1}}])  # type: ignore[arg-type]


def test_max_score() -> None:
    assert queries.max_score("short") == 64
    assert queries.max_score("two_stage") == queries.max_score("long") == 256


# --- Kibana console ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", queries.MODES)
def test_console_text_parses_back(mode: queries.Mode) -> None:
    body = queries.search_body(CODE, mode=mode, filter={"range": {"year": {"gte": 2000}}})
    text = queries.to_console("images", body)
    first, rest = text.split("\n", 1)
    assert first == "GET images/_search"
    assert json.loads(rest) == body
    assert rest.startswith('{\n  "size": 10,')  # indent 2


def test_console_other_requests() -> None:
    text = queries.to_console("images", queries.index_body(), endpoint="", method="PUT")
    assert text.startswith("PUT images\n{")
    assert queries.to_console("images", None, "_count") == "GET images/_count\n"


def test_numpy_free_bodies() -> None:
    """Every number in a body is a Python int, so any JSON encoder takes it."""
    body = queries.search_body(Code.from_bits(np.ones(256, dtype=np.uint8)), scorer="painless")
    assert json.loads(json.dumps(body)) == body
    assert codes.CODE_BITS == 256
