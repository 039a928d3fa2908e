"""Bad parameters are answered with HTTP 400 naming the parameter, and the node stays up."""

from __future__ import annotations

import json

import pytest
from conftest import CodeIndex, refusal
from elastichash.engines import Client

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


def script_search(es: Client, index: str, script: dict, **body: object) -> dict:
    query = {"script_score": {"query": {"match_all": {}}, "script": script}}
    return es.search(index=index, body={"query": query, **body})


@pytest.mark.parametrize("case", list(BAD_SCRIPTS))
def test_bad_params_are_400_naming_the_parameter(es: Client, code_index: CodeIndex, case: str) -> None:
    params, name = BAD_SCRIPTS[case]
    script = {"lang": "elastichash", "source": "hamming", "params": params}
    status, body = refusal(lambda: script_search(es, code_index.name, script))
    assert status == 400, json.dumps(body)
    assert name in json.dumps(body)


def test_unknown_script_source_is_400(es: Client, code_index: CodeIndex) -> None:
    script = {"lang": "elastichash", "source": "hammming", "params": {"code": VALID}}
    status, body = refusal(lambda: script_search(es, code_index.name, script))
    assert status == 400
    assert "[hammming]" in json.dumps(body)


def test_non_score_context_is_400(es: Client, code_index: CodeIndex) -> None:
    script = {"lang": "elastichash", "source": "hamming", "params": {"code": VALID}}
    status, body = refusal(lambda: es.search(index=code_index.name, body={"query": {"script": {"script": script}}}))
    assert status == 400
    assert "score" in json.dumps(body)


def test_node_stays_up_and_answers_after_bad_requests(es: Client, code_index: CodeIndex) -> None:
    # Every bad script of the table, sent here (not left to the tests before this one), each refused.
    for params, _ in BAD_SCRIPTS.values():
        status, _body = refusal(
            lambda params=params: script_search(
                es, code_index.name, {"lang": "elastichash", "source": "hamming", "params": params}
            )
        )
        assert status == 400
    health = es.cluster.health()
    assert health["status"] in ("green", "yellow")
    script = {"lang": "elastichash", "source": "hamming", "params": {"code": VALID}}
    response = script_search(es, code_index.name, script, size=1)
    assert response["hits"]["hits"]
