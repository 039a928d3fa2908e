import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elastichash import codes, queries
from elastichash.codes import Code, CodeError
from owned_messages import hex_error_pattern

CODE = Code.from_hex("0123456789abcdef" * 4)
LONG_MIN = -(2**63)


def script_score(body: dict[str, Any]) -> dict[str, Any]:
    return body["query"]["script_score"]


# --- index and documents ---------------------------------------------------------------------


def test_mapping_v3_is_the_hamming_code_field() -> None:
    properties = queries.mapping({"title": {"type": "text"}})["properties"]
    assert properties == {
        "hash": {"type": "hamming_code"},
        "image_id": {"type": "keyword", "index": False},
        "title": {"type": "text"},
    }
    assert queries.mapping() == queries.mapping(None)
    # Neither this layout's fields nor the earlier layouts' may be redefined.
    for taken in ("hash", "image_id", "hash_r0", "hash_mih", "hash_f3"):
        with pytest.raises(ValueError, match=taken):
            queries.mapping({taken: {"type": "keyword"}})


def test_mapping_v2_is_kept_for_tests_and_benchmarks() -> None:
    properties = queries.v2_mapping({"title": {"type": "text"}})["properties"]
    assert properties == {
        "hash": {"type": "keyword", "index": False, "doc_values": False},
        "hash_mih": {"type": "keyword", "doc_values": False},
        **{f"hash_r{i}": {"type": "long", "index": False} for i in range(4)},
        "image_id": {"type": "keyword", "index": False},
        "title": {"type": "text"},
    }
    with pytest.raises(ValueError, match="hash_mih"):
        queries.v2_mapping({"hash_mih": {"type": "keyword"}})


def test_index_body() -> None:
    body = queries.index_body(shards=3, replicas=1, extra_properties={"tag": {"type": "keyword"}})
    assert body["settings"] == {"number_of_shards": 3, "number_of_replicas": 1}
    assert body["mappings"]["properties"]["tag"] == {"type": "keyword"}
    with pytest.raises(ValueError, match="shards >= 1"):
        queries.index_settings(0, 0)


def test_code_fields_are_the_hex_code_only() -> None:
    assert queries.code_fields(CODE) == {"hash": CODE.hex}
    assert queries.code_fields(CODE.hex.upper()) == {"hash": CODE.hex}  # kept lowercase
    bits = np.random.default_rng(5).integers(0, 2, size=(3, 256), dtype=np.uint8)
    batch = queries.code_fields_batch(bits)
    assert batch == [{"hash": Code.from_bits(row).hex} for row in bits]
    assert queries.code_fields_batch(codes.pack_bits(bits)) == batch
    assert queries.code_fields_batch([Code.from_bits(row).hex for row in bits]) == batch
    assert all(type(fields["hash"]) is str for fields in batch)  # JSON-ready, not numpy


def test_v2_code_fields_example_of_the_docs() -> None:
    fields = queries.v2_code_fields(CODE)
    assert fields == queries.v2_code_fields(CODE.hex.upper())  # a hex string works as well
    assert fields["hash"] == CODE.hex
    assert fields["hash_mih"] == [
        f"{p:x}{part}" for p in range(16) for part in [["0123", "4567", "89ab", "cdef"][p % 4]]
    ]
    assert fields["hash_mih"][:5] == ["00123", "14567", "289ab", "3cdef", "40123"]
    assert [fields[f] for f in queries.WORD_FIELDS] == [0x0123456789ABCDEF] * 4
    assert all(type(fields[f]) is int for f in queries.WORD_FIELDS)  # JSON-ready, not numpy
    assert all(type(term) is str for term in fields["hash_mih"])
    assert set(fields) == {"hash", "hash_mih", *queries.WORD_FIELDS}
    json.dumps(fields)


@pytest.mark.parametrize(
    ("hex_code", "first_terms", "last_term", "words"),
    [
        ("0" * 64, ["00000", "10000"], "f0000", [0] * 4),
        ("f" * 64, ["0ffff", "1ffff"], "fffff", [-1] * 4),
        ("8" + "0" * 63, ["08000", "10000"], "f0000", [LONG_MIN, 0, 0, 0]),
        ("0" * 63 + "1", ["00000", "10000"], "f0001", [0, 0, 0, 1]),
    ],
)
def test_v2_code_fields_edge_codes(
    hex_code: str, first_terms: list[str], last_term: str, words: list[int]
) -> None:
    fields = queries.v2_code_fields(hex_code)
    assert fields["hash_mih"][:2] == first_terms and fields["hash_mih"][-1] == last_term
    assert [fields[f] for f in queries.WORD_FIELDS] == words


@given(st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=4))
def test_terms_follow_the_bit_order(raw: list[bytes]) -> None:
    """Term p is p in hex, then bits 16p..16p+15 as 4 hex digits: the code's hex at 4p..4p+3."""
    bits = codes.unpack_bits(np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), 32))
    batch = queries.v2_code_fields_batch(bits)
    for fields, row in zip(batch, bits, strict=True):
        assert fields == queries.v2_code_fields(Code.from_bits(row))
        for position, term in enumerate(fields["hash_mih"]):
            piece = row[16 * position : 16 * position + 16]
            assert term == f"{position:x}{int(''.join(map(str, piece)), 2):04x}"
            assert term[1:] == fields["hash"][4 * position : 4 * position + 4]


def test_subcode_terms_shapes_and_positions() -> None:
    assert queries.subcode_terms([0x4567]) == ["04567"]
    assert queries.subcode_terms([0x4567, 0], positions=[15, 9]) == ["f4567", "90000"]
    assert queries.subcode_terms(np.array([1, 2, 3], dtype=np.uint16), positions=2) == [
        "20001",
        "20002",
        "20003",
    ]
    table = queries.subcode_terms(np.arange(6, dtype=np.uint16).reshape(2, 3))
    assert table == [["00000", "10001", "20002"], ["00003", "10004", "20005"]]
    with pytest.raises(CodeError, match=r"\[0, 65535\]"):
        queries.subcode_terms([70000])
    with pytest.raises(CodeError, match="positions must be 0..15"):
        queries.subcode_terms([1], positions=16)


def test_bad_code_is_named() -> None:
    with pytest.raises(CodeError, match=hex_error_pattern("abc")):
        queries.code_fields("abc")


# --- multi-index hashing terms filter (two_stage, short) ----------------------------------------


def test_mih_filter_has_137_terms_per_short_subcode_at_radius_2() -> None:
    terms = queries.mih_filter(CODE)["terms"]["hash"]
    assert terms == queries.neighbour_terms(CODE)
    assert len(terms) == len(set(terms)) == 4 * 137
    assert [terms[137 * p] for p in range(4)] == queries.v2_code_fields(CODE)["hash_mih"][:4]
    # Layout v2 held the same terms in its own field.
    assert queries.mih_filter(CODE, field="hash_mih") == {"terms": {"hash_mih": terms}}
    for position in range(4):
        block = terms[137 * position : 137 * (position + 1)]
        value = int(CODE.subcodes[position])
        assert all(t[0] == f"{position:x}" and len(t) == 5 and t == t.lower() for t in block)
        assert all(bin(int(t[1:], 16) ^ value).count("1") <= 2 for t in block)


@pytest.mark.parametrize(("radius", "count"), [(0, 1), (1, 17), (3, 697)])
def test_mih_filter_radius(radius: int, count: int) -> None:
    assert len(queries.mih_filter(CODE, radius)["terms"]["hash"]) == 4 * count
    with pytest.raises(CodeError, match="radius"):
        queries.mih_filter(CODE, 17)


def test_neighbour_terms_of_other_positions() -> None:
    terms = queries.neighbour_terms(CODE, 1, positions=[15])
    assert len(terms) == 17 and terms[0] == "fcdef" and all(t[0] == "f" for t in terms)


@given(st.binary(min_size=32, max_size=32), st.sets(st.integers(0, 63), max_size=11))
def test_mih_finds_every_code_within_short_distance_11(query: bytes, flips: set[int]) -> None:
    """Pigeonhole: 11 flipped bits over 4 sub-codes leave one sub-code within distance 2."""
    query_code = Code(query.hex())
    bits = query_code.bits.copy()
    bits[list(flips)] ^= 1
    document = queries.v2_code_fields(Code.from_bits(bits))
    terms = set(queries.mih_filter(query_code)["terms"]["hash"])
    assert terms & set(document["hash_mih"])


@given(st.binary(min_size=32, max_size=32), st.integers(4, 15))
def test_mih_filter_ignores_sub_codes_beyond_the_short_code(query: bytes, position: int) -> None:
    """A document equal to the query only in sub-code `position` >= 4 is not a candidate."""
    query_code = Code(query.hex())
    bits = 1 - query_code.bits
    bits[16 * position : 16 * position + 16] = query_code.bits[16 * position : 16 * position + 16]
    document = queries.v2_code_fields(Code.from_bits(bits))
    assert not set(queries.mih_filter(query_code)["terms"]["hash"]) & set(document["hash_mih"])


# --- stage 2: scorers ------------------------------------------------------------------------


def test_plugin_script_is_the_public_api() -> None:
    assert queries.hamming_script(CODE) == {
        "lang": "elastichash",
        "source": "hamming",
        "params": {"code": CODE.hex, "field": "hash"},
    }
    short = queries.hamming_script(CODE, short=True)
    assert short["params"] == {"code": CODE.hex[:16], "field": "hash"}
    other = queries.hamming_script(CODE.hex.upper(), field="photo_code")
    assert other["params"] == {"code": CODE.hex, "field": "photo_code"}


def test_painless_script_carries_signed_words() -> None:
    code = Code.from_hex("8" + "0" * 15 + "f" * 16 + "0" * 31 + "1")
    script = queries.hamming_script(code, scorer="painless")
    assert script == queries.v2_painless_script(code)
    assert script["lang"] == "painless"
    assert script["params"] == {"words": [LONG_MIN, -1, 0, 1], "fields": list(queries.WORD_FIELDS)}
    short = queries.hamming_script(code, short=True, scorer="painless")
    assert short["params"] == {"words": [LONG_MIN], "fields": ["hash_r0"]}
    assert all(type(w) is int for w in script["params"]["words"])
    source = script["source"]
    assert "64 - Long.bitCount(params.words.get(i) ^ values.value)" in source
    assert "if (values.size() == 0) { return 0; }" in source  # as the plugin: missing field → 0


def test_script_errors() -> None:
    with pytest.raises(ValueError, match="scorer"):
        queries.hamming_script(CODE, scorer="lucene")  # type: ignore[arg-type]
    with pytest.raises(CodeError, match=hex_error_pattern(CODE.hex[:16])):
        queries.hamming_script(CODE.hex[:16])  # the short code is asked for with short=True


# --- the hamming query (exact, paper) ---------------------------------------------------------


def test_hamming_query_leaves_defaults_out() -> None:
    assert queries.hamming_query(CODE) == {"hamming": {"field": "hash", "code": CODE.hex, "k": 10}}
    assert queries.hamming_query(CODE.hex.upper(), k=3) == {
        "hamming": {"field": "hash", "code": CODE.hex, "k": 3}
    }
    assert list(queries.hamming_query(CODE)["hamming"]) == ["field", "code", "k"]
    assert queries.hamming_query(CODE, field="photo_code")["hamming"]["field"] == "photo_code"


def test_hamming_query_options() -> None:
    user_filter = {"term": {"tag": "x"}}
    query = queries.hamming_query(
        CODE, k=5, max_distance=0, filter=user_filter, mode="paper", radius=1
    )
    assert query == {
        "hamming": {
            "field": "hash",
            "code": CODE.hex,
            "k": 5,
            "mode": "paper",
            "radius": 1,
            "max_distance": 0,
            "filter": user_filter,
        }
    }
    assert queries.hamming_query(CODE, mode="paper")["hamming"] == {
        "field": "hash",
        "code": CODE.hex,
        "k": 10,
        "mode": "paper",
    }


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"k": 0}, "k must be at least 1, got 0"),
        ({"max_distance": 257}, "max_distance must be between 0 and 256, got 257"),
        ({"max_distance": -1}, "max_distance must be between 0 and 256, got -1"),
        ({"radius": 1}, "radius applies to the paper mode only"),
        ({"mode": "paper", "radius": 17}, "radius must be between 0 and 16, got 17"),
        ({"mode": "two_stage"}, "hamming query's mode must be one of"),
        ({"filter": "tag:x"}, "filter must be an Elasticsearch query object, got str"),
    ],
)
def test_hamming_query_bad_arguments(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        queries.hamming_query(CODE, **options)


# --- whole searches --------------------------------------------------------------------------

DOCVALUES_ONLY = {
    "_source": False,
    "stored_fields": "_none_",
    "docvalue_fields": ["image_id", "path"],
}


def test_default_body_is_the_exact_hamming_query_without_stored_fields() -> None:
    body = queries.search_body(CODE)
    assert body == {
        "size": 10,
        "query": {"hamming": {"field": "hash", "code": CODE.hex, "k": 10}},
        **DOCVALUES_ONLY,
    }
    assert list(body) == ["size", "query", "_source", "stored_fields", "docvalue_fields"]


@pytest.mark.parametrize("mode", queries.QUERY_MODES)
def test_query_modes_pass_everything_to_the_hamming_query(mode: queries.Mode) -> None:
    user_filter = {"term": {"tag": "x"}}
    radius = 1 if mode == "paper" else None
    body = queries.search_body(
        CODE, k=7, mode=mode, filter=user_filter, max_distance=40, radius=radius
    )
    assert body["size"] == 7
    assert body["query"] == queries.hamming_query(CODE, 7, 40, user_filter, mode, radius)
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize("mode", queries.SCRIPT_MODES)
@pytest.mark.parametrize("scorer", queries.SCORERS)
def test_script_modes_structure(mode: queries.Mode, scorer: queries.Scorer) -> None:
    user_filter = {"term": {"tag": "x"}}
    body = queries.search_body(CODE, k=7, mode=mode, scorer=scorer, filter=user_filter)
    assert body["size"] == 7
    assert {key: body[key] for key in DOCVALUES_ONLY} == DOCVALUES_ONLY
    filters = script_score(body)["query"]["bool"]["filter"]
    # The Painless scorer reads layout v2: its sub-code terms are in hash_mih.
    terms_field = "hash_mih" if scorer == "painless" else "hash"
    if mode == "long":
        assert filters == [user_filter]
    else:
        assert filters == [queries.mih_filter(CODE, field=terms_field), user_filter]
    script = script_score(body)["script"]
    assert script == queries.hamming_script(CODE, short=mode == "short", scorer=scorer)
    if scorer == "plugin":
        assert script["params"]["field"] == "hash"
        assert len(script["params"]["code"]) == (16 if mode == "short" else 64)
    assert "min_score" not in script_score(body)
    assert json.loads(json.dumps(body)) == body


@pytest.mark.parametrize("mode", ["two_stage", "short"])
def test_without_filter_the_candidates_are_the_mih_filter(mode: queries.Mode) -> None:
    body = queries.search_body(CODE.hex, mode=mode, radius=1)
    assert script_score(body)["query"] == {"bool": {"filter": [queries.mih_filter(CODE, 1)]}}


def test_long_mode_without_filter_matches_all() -> None:
    body = queries.search_body(CODE, mode="long", scorer="painless")
    assert script_score(body)["query"] == {"match_all": {}}


@pytest.mark.parametrize(("mode", "min_score"), [("two_stage", 236), ("long", 236), ("short", 44)])
def test_max_distance_in_script_modes_is_a_min_score(mode: queries.Mode, min_score: int) -> None:
    assert script_score(queries.search_body(CODE, mode=mode, max_distance=20))["min_score"] == (
        min_score
    )


def test_source_options_and_defaults_are_not_shared() -> None:
    assert queries.search_body(CODE, source=["path"])["_source"] == ["path"]
    body = queries.search_body(CODE, source=True)
    assert body["_source"] is True  # layout v3's _source holds only what was sent
    assert "stored_fields" not in body and "docvalue_fields" not in body
    body["docvalue_fields"] = ["path"]
    assert "docvalue_fields" not in queries.search_body(CODE, source=True)
    only_ids = queries.search_body(CODE, docvalue_fields=["image_id"])
    assert only_ids["docvalue_fields"] == ["image_id"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"mode": "fast"}, "mode must be one of"),
        ({"scorer": "java"}, "scorer must be one of"),
        ({"k": 0}, "k must be at least 1, got 0"),
        (
            {"filter": [{"term": {"a": 1}}]},
            "filter must be an Elasticsearch query object, got list",
        ),
        ({"scorer": "painless"}, "scorer 'painless' applies to the script modes"),
        ({"scorer": "painless", "mode": "paper"}, "paper mode is the plugin's hamming query"),
        ({"radius": 1}, "radius applies to the modes .* not to exact"),
        ({"radius": 1, "mode": "long"}, "not to long"),
        ({"mode": "short", "max_distance": 65}, "max_distance must be between 0 and 64, got 65"),
    ],
)
def test_bad_arguments(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        queries.search_body(CODE, **options)


def test_max_score() -> None:
    assert queries.max_score("short") == 64
    assert {queries.max_score(m) for m in queries.MODES if m != "short"} == {256}


# --- Kibana console ----------------------------------------------------------------------------


@pytest.mark.parametrize("mode", queries.MODES)
def test_console_text_parses_back(mode: queries.Mode) -> None:
    """Every mode's body as console text (the exact mode's: `"query": {"hamming": ...}`)."""
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
    code = Code.from_bits(np.ones(256, dtype=np.uint8))
    for body in (
        queries.search_body(code, mode="two_stage", scorer="painless", max_distance=3),
        queries.search_body(code, mode="paper", radius=np.int64(1), k=np.int64(3)),
    ):
        assert json.loads(json.dumps(body)) == body
    assert codes.CODE_BITS == 256
