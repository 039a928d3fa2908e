"""Random JSON for the plugin's `hamming` query and script, on a real node.

Whatever a client sends as parameters (wrong types, huge arrays, nested objects, unicode, NaN,
negative or huge numbers, unknown keys), the node answers 200 or a 400 whose reason names a
parameter in brackets, never a 500; afterwards it is healthy and the memory the plugin accounts
in the request circuit breaker is back where it was: nothing leaks per request.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from elastichash import ElasticHash, queries
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VALID = "0123456789abcdef" * 4
QUERY_PARAMETERS = (
    "code",
    "k",
    "max_distance",
    "filter",
    "mode",
    "radius",
    "fields",
    "subcode_field",
    "boost",
    "_name",
)
SCRIPT_PARAMETERS = ("code", "fields")
NAMED = re.compile(r"\[([A-Za-z_][A-Za-z0-9_]*)\]")
FUZZ = settings(
    max_examples=1200,
    deadline=None,
    database=None,  # examples come from the profile in conftest.py: the same ones every run
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Any JSON value, including the ones JSON itself lacks (NaN, infinities), deep and wide.
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, -1, 1, 256, 257, 2**31, 2**63 - 1, -(2**63), 10**30])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=70)
    | st.sampled_from(["", VALID, VALID.upper(), VALID[:16], "exact", "paper", "hash_r0", "hash_mih", "ü" * 64])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=24,
)
huge = st.sampled_from(
    [["hash_r0"] * 20_000, list(range(20_000)), "a" * 200_000, {f"k{i}": i for i in range(2_000)}, [[[[[[[[[[]]]]]]]]]]]
)


def plausible(name: str) -> st.SearchStrategy[Any]:
    """Values that are right, or nearly so, for one parameter: most requests get past parsing."""
    valid = {
        "code": st.sampled_from([VALID, VALID[:16], VALID[:-1], VALID + "0", "g" * 64]),
        "k": st.integers(min_value=-5, max_value=20_000),
        "max_distance": st.integers(min_value=-3, max_value=300),
        "filter": st.sampled_from([{"match_all": {}}, {"term": {"doc_id": "x"}}, {"no_such_query": {}}, {}]),
        "mode": st.sampled_from(["exact", "paper", "Exact", ""]),
        "radius": st.integers(min_value=-2, max_value=20),
        "fields": st.sampled_from([list(queries.WORD_FIELDS), ["hash_r0"], ["doc_id"], ["nope"], []]),
        "subcode_field": st.sampled_from([queries.MIH_FIELD, "doc_id", "nope"]),
        "boost": st.floats(min_value=-2, max_value=10),
        "_name": st.text(max_size=10),
    }[name]
    wild = st.one_of(json_values, huge) if name in {"code", "fields", "filter"} else json_values
    return st.one_of(valid, valid, wild)


def parameters(names: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    known = st.fixed_dictionaries({}, optional={name: plausible(name) for name in names})
    unknown = st.dictionaries(st.text(min_size=1, max_size=12), json_values, max_size=2)
    return st.tuples(known, unknown, st.booleans()).map(lambda t: {**t[0], **t[1]} if t[2] else t[0])


def status_and_text(send: Any) -> tuple[int, str]:
    """Sends one request; its HTTP status and, for an error, the error body as text."""
    try:
        send()
    except Exception as error:  # noqa: BLE001 - both products' client errors carry the status
        status = getattr(error, "status_code", None)
        if not isinstance(status, int):
            raise
        return status, json.dumps(getattr(error, "body", None) or getattr(error, "info", None) or str(error))
    return 200, ""


def not_json(value: Any) -> bool:
    """NaN and the infinities have no JSON form: the node's JSON reader refuses them before any
    plugin sees the request (a 400 naming the position in the body)."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        return any(not_json(v) for v in value.values())
    if isinstance(value, list):
        return any(not_json(v) for v in value)
    return False


def check_answer(status: int, text: str, sent: dict[str, Any] | Any, extra_names: tuple[str, ...] = ()) -> None:
    assert status in (200, 400), f"HTTP {status} for {sent!r:.500}: {text:.1000}"
    if not_json(sent):
        assert status == 400, f"NaN/Infinity accepted: {text:.300}"
    elif status == 400:
        named = set(NAMED.findall(text))
        expected = set(sent) if isinstance(sent, dict) else set()
        expected |= {*QUERY_PARAMETERS, *extra_names}
        assert named & expected, f"a 400 that names no parameter for {sent!r:.300}: {text:.600}"


def breaker_bytes(es: Any) -> int:
    stats = es.nodes.stats(metric="breaker")
    return sum(node["breakers"]["request"]["estimated_size_in_bytes"] for node in stats["nodes"].values())


@pytest.fixture(scope="module")
def fuzz_index(es: Any) -> Iterator[str]:
    """300 random codes in the library's own layout (so the query has its sub-code terms)."""
    name = f"it-fuzz-{uuid.uuid4().hex[:8]}"
    bits = np.random.default_rng(7).integers(0, 2, size=(300, 256), dtype=np.uint8)
    ElasticHash(es, name).index_codes([f"d{i}" for i in range(300)], bits)
    yield name
    es.indices.delete(index=name)


def search(es: Any, index: str, body: dict[str, Any]) -> Any:
    return lambda: es.search(index=index, body=body)


@FUZZ
@given(params=parameters(QUERY_PARAMETERS))
def test_random_query_parameters_get_an_answer_or_a_400_naming_one(
    es: Any, fuzz_index: str, params: dict[str, Any]
) -> None:
    body = {"size": 3, "query": {"hamming": params}}
    status, text = status_and_text(search(es, fuzz_index, body))
    check_answer(status, text, params, ("hamming",))


@settings(FUZZ, max_examples=200)
@given(value=json_values | huge)
def test_a_query_that_is_not_an_object_is_a_400(es: Any, fuzz_index: str, value: Any) -> None:
    status, text = status_and_text(search(es, fuzz_index, {"query": {"hamming": value}}))
    check_answer(status, text, value, ("hamming",))


@settings(FUZZ, max_examples=800)
@given(params=parameters(SCRIPT_PARAMETERS))
def test_random_script_parameters_get_an_answer_or_a_400_naming_one(
    es: Any, fuzz_index: str, params: dict[str, Any]
) -> None:
    body = {
        "size": 3,
        "query": {
            "script_score": {
                "query": {"match_all": {}},
                "script": {"lang": "elastichash", "source": "hamming", "params": params},
            }
        },
    }
    status, text = status_and_text(search(es, fuzz_index, body))
    check_answer(status, text, params, ("hamming", "params"))


def test_node_is_healthy_and_holds_no_memory_after_bad_requests(es: Any, fuzz_index: str) -> None:
    """Its own 600 requests, good and bad mixed (so it holds alone, in any order): afterwards the
    request breaker is back where it was and the node answers."""
    before = breaker_bytes(es)
    rng = np.random.default_rng(11)
    values: list[Any] = [VALID, VALID[:10], "zz", 5, 10, None, [], {}, -1, 10**12, "exact", "paper", ["hash_r0"]]
    for _ in range(300):
        names = rng.choice(QUERY_PARAMETERS, size=int(rng.integers(1, 5)), replace=False)
        params = {str(name): values[int(rng.integers(len(values)))] for name in names}
        script = {"lang": "elastichash", "source": "hamming", "params": params}
        for body in (
            {"size": 3, "query": {"hamming": params}},
            {"size": 3, "query": {"script_score": {"query": {"match_all": {}}, "script": script}}},
        ):
            status, text = status_and_text(search(es, fuzz_index, body))
            assert status in (200, 400), f"{status} for {body}: {text:.300}"
    assert es.cluster.health()["status"] in ("green", "yellow")
    after = breaker_bytes(es)
    # Every request's accounting is released when it ends: the breaker is back at its baseline.
    assert after <= before, f"request breaker grew from {before} to {after} bytes"
    answer = es.search(index=fuzz_index, body={"size": 1, "query": {"hamming": {"code": VALID, "k": 1}}})
    assert len(answer["hits"]["hits"]) == 1
    assert not math.isnan(answer["hits"]["hits"][0]["_score"])
