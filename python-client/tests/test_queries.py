import json

import numpy as np
import pytest

from elastichash import queries
from elastichash.codes import Code

CODE = Code.from_hex("0123456789abcdef" * 4)


def test_mapping_has_code_fields_and_extras() -> None:
    properties = queries.mapping({"title": {"type": "text"}})["properties"]
    assert all(properties[f]["type"] == "keyword" for f in queries.SUBCODE_FIELDS)
    assert all(properties[f]["type"] == "long" for f in queries.WORD_FIELDS)
    assert properties["title"] == {"type": "text"}
    with pytest.raises(ValueError, match="hash_r0"):
        queries.mapping({"hash_r0": {"type": "keyword"}})


def test_code_fields() -> None:
    fields = queries.code_fields(CODE)
    assert fields["hash"] == CODE.hex
    assert [fields[f] for f in queries.SUBCODE_FIELDS] == ["0123", "4567", "89ab", "cdef"]
    assert fields["hash_r0"] == 0x0123456789ABCDEF


def test_mih_filter_has_137_terms_per_subcode_at_radius_2() -> None:
    should = queries.mih_filter(CODE)["bool"]["should"]
    assert len(should) == 4
    for clause, field, value in zip(should, queries.SUBCODE_FIELDS, CODE.subcodes, strict=True):
        terms = clause["terms"][field]
        assert len(terms) == len(set(terms)) == 137
        assert terms[0] == f"{int(value):04x}"
        assert all(bin(int(t, 16) ^ int(value)).count("1") <= 2 for t in terms)


@pytest.mark.parametrize("mode", queries.MODES)
@pytest.mark.parametrize("scorer", queries.SCORERS)
def test_search_body_structure(mode: str, scorer: str) -> None:
    body = queries.search_body(CODE, k=7, mode=mode, scorer=scorer, filter={"term": {"tag": "x"}})
    assert body["size"] == 7
    script_score = body["query"]["script_score"]
    filters = script_score["query"]["bool"]["filter"]
    assert {"term": {"tag": "x"}} in filters
    assert (len(filters) == 2) == (mode != "long")
    fields = script_score["script"]["params"]["fields"]
    assert fields == (["hash_r0"] if mode == "short" else list(queries.WORD_FIELDS))
    assert script_score["script"]["lang"] == ("elastichash" if scorer == "plugin" else "painless")


def test_plugin_script_code_is_the_hex_of_its_words() -> None:
    script = queries.hamming_script(CODE, ("hash_r0", "hash_r1"))
    assert script["params"]["code"] == CODE.hex[:32]
    painless = queries.hamming_script(CODE, scorer="painless")
    assert painless["params"]["words"] == [int(w) for w in CODE.words]


def test_long_mode_without_filter_matches_all() -> None:
    assert queries.search_body(CODE, mode="long")["query"]["script_score"]["query"] == {"match_all": {}}


def test_bad_mode_and_k() -> None:
    with pytest.raises(ValueError, match="mode"):
        queries.search_body(CODE, mode="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="k must"):
        queries.search_body(CODE, k=0)


def test_console_text_parses_back() -> None:
    body = queries.search_body(CODE)
    text = queries.to_console("images", body)
    first, rest = text.split("\n", 1)
    assert first == "GET images/_search"
    assert json.loads(rest) == body


def test_max_score() -> None:
    assert queries.max_score("short") == 64 and queries.max_score("two_stage") == 256
    assert np.iinfo(np.int64).min in [int(w) for w in Code.from_hex("8" + "0" * 63).words]
