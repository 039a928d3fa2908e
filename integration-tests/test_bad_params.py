"""Bad parameters are answered with HTTP 400 naming the parameter, and the node stays up."""

from __future__ import annotations

import json

import pytest
from conftest import CodeIndex
from elasticsearch import ApiError, Elasticsearch

VALID = "0123456789abcdef" * 4

BAD_SCRIPTS = {
    "code not hex": ({"code": "z" * 64}, "[code]"),
    "code too short": ({"code": VALID[:-1]}, "[code]"),
    "code too long": ({"code": VALID + "00"}, "[code]"),
    "code length does not match fields": ({"code": VALID, "fields": ["hash_r0", "hash_r1"]}, "[code]"),
    "code missing": ({"fields": ["hash_r0"]}, "[code]"),
    "code not a string": ({"code": 12345}, "[code]"),
    "unknown field": ({"code": VALID[:16], "fields": ["no_such_field"]}, "[fields]"),
    "field not long": ({"code": VALID[:16], "fields": ["doc_id"]}, "[fields]"),
    "fields not a list": ({"code": VALID[:16], "fields": "hash_r0"}, "[fields]"),
    "fields empty": ({"code": "", "fields": []}, "[fields]"),
    "fields with a number": ({"code": VALID[:16], "fields": [7]}, "[fields]"),
    "unknown parameter": ({"code": VALID, "feilds": ["hash_r0"]}, "[feilds]"),
}


def error_text(error: ApiError) -> str:
    return json.dumps(error.body)


@pytest.mark.parametrize("case", list(BAD_SCRIPTS))
def test_bad_params_are_400_naming_the_parameter(es: Elasticsearch, code_index: CodeIndex, case: str) -> None:
    params, name = BAD_SCRIPTS[case]
    with pytest.raises(ApiError) as raised:
        es.search(
            index=code_index.name,
            query={
                "script_score": {
                    "query": {"match_all": {}},
                    "script": {"lang": "elastichash", "source": "hamming", "params": params},
                }
            },
        )
    assert raised.value.meta.status == 400, error_text(raised.value)
    assert name in error_text(raised.value)


def test_unknown_script_source_is_400(es: Elasticsearch, code_index: CodeIndex) -> None:
    with pytest.raises(ApiError) as raised:
        es.search(
            index=code_index.name,
            query={
                "script_score": {
                    "query": {"match_all": {}},
                    "script": {"lang": "elastichash", "source": "hammming", "params": {"code": VALID}},
                }
            },
        )
    assert raised.value.meta.status == 400
    assert "[hammming]" in error_text(raised.value)


def test_non_score_context_is_400(es: Elasticsearch, code_index: CodeIndex) -> None:
    with pytest.raises(ApiError) as raised:
        es.search(
            index=code_index.name,
            query={"script": {"script": {"lang": "elastichash", "source": "hamming", "params": {"code": VALID}}}},
        )
    assert raised.value.meta.status == 400
    assert "score" in error_text(raised.value)


def test_node_stays_up_and_answers_after_bad_requests(es: Elasticsearch, code_index: CodeIndex) -> None:
    health = es.cluster.health()
    assert health["status"] in ("green", "yellow")
    response = es.search(
        index=code_index.name,
        size=1,
        query={
            "script_score": {
                "query": {"match_all": {}},
                "script": {"lang": "elastichash", "source": "hamming", "params": {"code": VALID}},
            }
        },
    )
    assert response["hits"]["hits"]
