"""engines.py with the real clients over real HTTP, against a small fake server on 127.0.0.1.

The fake answers as each product does where it matters here: OpenSearch names itself in
`GET /`; Elasticsearch marks answers with `X-Elastic-Product` (its test distribution answers
`GET /` with 405); Elasticsearch 8 refuses the 9.x client's `compatible-with=9` media types.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest
from elastic_transport import TlsError
from elasticsearch import Elasticsearch
from opensearchpy import OpenSearch

from elastichash import ClusterError, Code, engines, testing
from elastichash.client import ElasticHash
from elastichash.engines import Server
from elastichash.ingest import IngestReport, send_codes

Answer = tuple[int, dict[str, Any] | list[Any] | None]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Fake:
    """What the server answers (a function of method and path) and every request it saw."""

    url: str = ""
    answer: Callable[[str, str, bytes], Answer] = lambda method, path, body: (404, None)
    elastic: bool = False  # send X-Elastic-Product: Elasticsearch on every answer
    refuse_compat: int | None = None  # answer 400 to compatible-with=N, as Elasticsearch 8 does
    seen: list[Seen] = field(default_factory=list)


@pytest.fixture
def fake() -> Iterator[Fake]:
    state = Fake()

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.seen.append(Seen(self.command, self.path, headers, body))
            media = headers.get("accept", "") + headers.get("content-type", "")
            if state.refuse_compat and f"compatible-with={state.refuse_compat}" in media:
                found = state.refuse_compat
                reason = f"Accept version must be either version 8 or 7, but found {found}"
                status, answer = 400, {"error": {"root_cause": [{"reason": reason}]}, "status": 400}
            else:
                status, answer = state.answer(self.command, self.path, body)
            if status == 0:  # a node that dies mid-request: the connection ends without an answer
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            data = b"" if answer is None or self.command == "HEAD" else json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            if state.elastic:
                self.send_header("x-elastic-product", "Elasticsearch")
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _serve

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


COMPAT_9 = "application/vnd.elasticsearch+json; compatible-with=9"
OPENSEARCH_ROOT = {"version": {"distribution": "opensearch", "number": "3.8.0"}}
HIT = {"_score": 250.0, "fields": {"image_id": ["a"], "path": ["a.png"]}}
SEARCH_ANSWER = {"_shards": {"total": 1, "successful": 1, "failed": 0}, "hits": {"hits": [HIT]}}


def elasticsearch_root(version: str) -> Callable[[str, str, bytes], Answer]:
    """A full Elasticsearch: GET / names the version; searches answer one hit."""

    def answer(method: str, path: str, body: bytes) -> Answer:
        if path == "/":
            return 200, {"version": {"number": version, "build_flavor": "default"}}
        if path.startswith("/_nodes/_local"):
            return 200, {"nodes": {"n1": {"version": version}}}
        if "_msearch" in path:
            return 200, {"responses": [SEARCH_ANSWER]}
        if "_search" in path:
            return 200, SEARCH_ANSWER
        if "_bulk" in path:
            return 200, {"errors": False, "items": [{"create": {"_id": "x", "status": 201}}]}
        return 404, None

    return answer


# --- detection ---------------------------------------------------------------------------------


def test_opensearch_is_told_by_its_root_document(fake: Fake) -> None:
    fake.answer = lambda method, path, body: (200, OPENSEARCH_ROOT) if path == "/" else (404, None)
    assert engines.detect(fake.url) == Server("opensearch", "3.8.0")
    client = engines.connect(fake.url)
    assert isinstance(client, OpenSearch)
    assert engines.product_name(client) == "OpenSearch" and engines.url_of(client) == fake.url
    # Node info first (no X-Elastic-Product: not Elasticsearch), then the root document.
    assert [s.path for s in fake.seen][:2] == ["/_nodes/_local?filter_path=nodes.*.version", "/"]


def test_elasticsearch_without_a_root_document_is_told_by_its_header(fake: Fake) -> None:
    """The integ-test distribution answers GET / with 405; the version comes from node info."""

    def answer(method: str, path: str, body: bytes) -> Answer:
        if path == "/":
            return 405, {"error": "Incorrect HTTP method for uri [/] and method [GET]"}
        if path.startswith("/_nodes/_local"):
            return 200, {"nodes": {"n1": {"version": "9.5.4"}}}
        return 404, None

    fake.answer, fake.elastic = answer, True
    assert engines.detect(fake.url) == Server("elasticsearch", "9.5.4")
    client = engines.connect(fake.url)
    assert isinstance(client, Elasticsearch) and engines.product_name(client) == "Elasticsearch"
    assert all(s.path.startswith("/_nodes/_local") for s in fake.seen)  # GET / was not needed


def test_something_else_is_a_sentence(fake: Fake) -> None:
    fake.answer = lambda method, path, body: (200, {"name": "a web server"})
    with pytest.raises(
        ClusterError, match=r"neither Elasticsearch nor OpenSearch \(GET / answered 200"
    ):
        engines.connect(fake.url)


def test_a_user_without_cluster_privileges_is_still_told_elasticsearch(fake: Fake) -> None:
    """Read on an index is all a search needs: node info answers 403 from the security layer."""
    refusal = {
        "error": {
            "type": "security_exception",
            "reason": "action [cluster:monitor/nodes/info] is unauthorized",
        }
    }
    fake.answer = lambda method, path, body: (
        (403, refusal) if path.startswith("/_nodes") else (404, None)
    )
    assert engines.detect(fake.url) == Server("elasticsearch")
    assert [s.path for s in fake.seen] == ["/_nodes/_local?filter_path=nodes.*.version"]
    # Any other 403 is not taken for Elasticsearch's security.
    fake.answer = lambda method, path, body: (403, {"error": "forbidden"})
    with pytest.raises(ClusterError, match="neither Elasticsearch nor OpenSearch"):
        engines.detect(fake.url)


def test_an_expired_api_key_says_so() -> None:
    body = {"error": {"additional_unsuccessful_credentials": "API key: api key is expired"}}
    assert engines.refused_credentials("the server at u", body) == (
        "the server at u refused the API key: it has expired (401); create a new one"
    )
    assert engines.refused_credentials("the server at u", {"error": "unauthorized"}) == (
        "the server at u refused the credentials (401); check the API key or user and password"
    )


def test_an_untrusted_certificate_names_the_ca_given() -> None:
    error = (
        "TLS error caused by: SSLError([SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed)"
    )
    named = engines.unreachable("https://h:1", error, "/ca.pem")
    assert str(named) == (
        "cannot reach https://h:1: its TLS certificate is not signed by the CA in /ca.pem; "
        "pass the CA that signed the node's certificate (ca_certs)"
    )
    assert named.kind == "untrusted_certificate"
    assert str(engines.unreachable("https://h:1", TlsError("TLS error"))).endswith(
        "its TLS certificate is not trusted; pass its CA (ca_certs)"
    )
    down = engines.unreachable("http://h:1", "Connection refused")
    assert "is the node running?" in str(down) and down.kind == "unreachable"


def test_refused_credentials_are_a_sentence_and_the_credentials_were_sent(fake: Fake) -> None:
    fake.answer = lambda method, path, body: (401, {"error": "unauthorized"})
    with pytest.raises(ClusterError, match=r"refused the credentials \(401\); check the API key"):
        engines.connect(fake.url, username="elastic", password="secret")
    assert fake.seen[0].headers["authorization"] == "Basic ZWxhc3RpYzpzZWNyZXQ="
    fake.seen.clear()
    with pytest.raises(ClusterError):
        engines.connect(fake.url, api_key="a2V5")
    assert fake.seen[0].headers["authorization"] == "ApiKey a2V5"


def test_an_unknown_engine_is_refused() -> None:
    with pytest.raises(ValueError, match="engine must be one of auto, elasticsearch, opensearch"):
        engines.connect("http://127.0.0.1:9", engine="solr")  # type: ignore[arg-type]


def test_naming_the_engine_asks_nothing(fake: Fake) -> None:
    assert isinstance(engines.connect(fake.url, engine="opensearch"), OpenSearch)
    assert isinstance(engines.connect(fake.url, engine="elasticsearch"), Elasticsearch)
    assert fake.seen == []


# --- Elasticsearch 8: plain JSON instead of compatible-with=9 -----------------------------------


def _media_types(seen: list[Seen]) -> set[str]:
    return {s.headers.get(h, "") for s in seen for h in ("accept", "content-type")} - {""}


def test_elasticsearch_8_gets_plain_json_in_every_request(fake: Fake) -> None:
    fake.answer, fake.elastic, fake.refuse_compat = elasticsearch_root("8.19.4"), True, 9
    client = engines.connect(fake.url)
    assert engines.detect(fake.url).major == 8
    engine = ElasticHash(client, index="pics")
    code = Code.from_bits(np.zeros(256, dtype=np.uint8))
    hits = engine.search(code, k=1)  # JSON
    assert [(h.id, h.distance) for h in hits] == [("a", 6)]
    distances, _ = engine.search_codes([code.hex], k=1)  # ndjson
    assert distances.tolist() == [[6]]
    assert _media_types(fake.seen) == {"application/json", "application/x-ndjson"}


def test_elasticsearch_9_keeps_the_client_s_own_media_types(fake: Fake) -> None:
    fake.answer, fake.elastic, fake.refuse_compat = elasticsearch_root("9.5.4"), True, 8
    engine = ElasticHash(engines.connect(fake.url), index="pics")
    engine.search(Code.from_bits(np.zeros(256, dtype=np.uint8)), k=1)
    search = [s for s in fake.seen if "_search" in s.path]
    assert search[0].headers["content-type"] == COMPAT_9


def test_without_the_rewrite_elasticsearch_8_would_refuse(fake: Fake) -> None:
    """The fake's refusal is real: the 9.x client's own headers meet it."""
    fake.answer, fake.elastic, fake.refuse_compat = elasticsearch_root("8.19.4"), True, 9
    engine = ElasticHash(engines.connect(fake.url, engine="elasticsearch"), index="pics")
    with pytest.raises(ClusterError, match="answered 400: Accept version must be either version 8"):
        engine.search(Code.from_bits(np.zeros(256, dtype=np.uint8)), k=1)


# --- one code path above the clients ------------------------------------------------------------


def opensearch_answers(method: str, path: str, body: bytes) -> Answer:
    if path == "/":
        return 200, OPENSEARCH_ROOT
    if method == "HEAD":
        return 404, None  # the index does not exist yet
    if method == "PUT":
        return 200, {"acknowledged": True}
    if path.startswith("/_bulk"):
        lines = [json.loads(line) for line in body.decode().splitlines()]
        items = [{"create": {"_id": a["create"]["_id"], "status": 201}} for a in lines[::2]]
        return 200, {"errors": False, "items": items}
    if "_refresh" in path:
        return 200, {"_shards": {"failed": 0}}
    if "_search" in path:
        reason = "no such index [pics]"
        error = {"root_cause": [{"type": "index_not_found_exception", "reason": reason}]}
        return 404, {"error": {**error, "type": "index_not_found_exception"}, "status": 404}
    return 404, None


def test_opensearch_round_trip_through_the_library(fake: Fake) -> None:
    fake.answer = opensearch_answers
    engine = ElasticHash(engines.connect(fake.url), index="pics")
    bits = np.random.default_rng(3).integers(0, 2, size=(3, 256), dtype=np.uint8)
    report = engine.index_codes(["a", "b", "c"], bits, [{"path": f"{i}.png"} for i in "abc"])
    assert (report.indexed, report.failed) == (3, {})
    (create,) = [s for s in fake.seen if s.method == "PUT"]
    assert json.loads(create.body)["mappings"]["properties"]["hash"] == {"type": "hamming_code"}
    (bulk,) = [s for s in fake.seen if s.path.startswith("/_bulk")]
    documents = [json.loads(line) for line in bulk.body.decode().splitlines()][1::2]
    assert documents == [
        {"path": f"{i}.png", "image_id": i, "hash": Code.from_bits(row).hex}
        for i, row in zip("abc", bits, strict=True)
    ]
    with pytest.raises(ClusterError, match=f"index 'pics' does not exist at {fake.url}"):
        engine.search(Code.from_bits(bits[0]))


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_error_answers_read_the_same_from_both_clients(fake: Fake, engine: str) -> None:
    fake.elastic = engine == "elasticsearch"
    reason = "[k] must be between 1 and index.max_result_window (10000), got 0"
    error = {"error": {"root_cause": [{"type": "x_content_parse_exception", "reason": reason}]}}
    fake.answer = lambda method, path, body: (400, {**error, "status": 400})
    client = engines.connect(fake.url, engine=engine)  # type: ignore[arg-type]
    with pytest.raises(engines.API_ERRORS) as raised:
        client.search(index="pics", body={"query": {"hamming": {"code": "0" * 64, "k": 0}}})
    status, body = testing.error_answer(raised.value)
    assert status == 400 and body["error"]["root_cause"][0]["reason"] == reason
    name = engines.NAMES[engine]
    with pytest.raises(ClusterError, match=rf"^{name} at {fake.url} answered 400: \[k\] must be"):
        ElasticHash(client, index="pics").search("0" * 64, k=1)


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_a_node_that_is_down_is_one_sentence(engine: str) -> None:
    client = engines.connect("http://127.0.0.1:9", engine=engine, request_timeout=2)  # type: ignore[arg-type]
    sentence = rf"^cannot reach {engines.NAMES[engine]} at http://127.0.0.1:9: is the node running"
    with pytest.raises(ClusterError, match=sentence):
        ElasticHash(client, index="pics").count()
    with pytest.raises(TypeError, match="not an error answer"):
        testing.error_answer(ValueError("x"))


def test_helpers_and_requests_follow_the_client(fake: Fake) -> None:
    languages = {"language_contexts": [{"language": "painless"}]}
    fake.answer = lambda method, path, body: (200, languages)
    opensearch = engines.connect(fake.url, engine="opensearch")
    assert engines.helpers_of(opensearch).__name__ == "opensearchpy.helpers"
    assert engines.request(opensearch, "GET", "/_script_language") == languages
    assert testing.with_timeout(opensearch, 900).transport.kwargs["timeout"] == 900
    fake.elastic = True
    elastic = engines.connect(fake.url, engine="elasticsearch")
    assert engines.helpers_of(elastic).__name__ == "elasticsearch.helpers"
    assert engines.request(elastic, "GET", "/_script_language") == languages
    assert fake.seen[-1].headers["accept"] == COMPAT_9


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_wait_for_health_repeats_the_server_s_wait_and_sends_no_timeout(
    fake: Fake, engine: str
) -> None:
    answers = iter([{"status": "red", "timed_out": True}, {"status": "yellow", "timed_out": False}])
    fake.elastic = engine == "elasticsearch"
    fake.answer = lambda method, path, body: (200, next(answers))
    client = engines.connect(fake.url, engine=engine)  # type: ignore[arg-type]
    health = testing.wait_for_health(client, 30, wait_for_status="yellow")
    assert health == {"status": "yellow", "timed_out": False}
    assert len(fake.seen) == 2
    assert all("wait_for_status=yellow" in s.path and "timeout" not in s.path for s in fake.seen)


# --- several nodes, retries --------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_a_dead_first_node_is_passed_over(fake: Fake, engine: str) -> None:
    """The first URL names a node that is down: detection and requests use the next one."""
    fake.elastic = engine == "elasticsearch"
    fake.answer = elasticsearch_root("9.5.4") if fake.elastic else opensearch_answers
    dead = f"http://127.0.0.1:{free_port()}"
    assert engines.hosts_of(f"{dead}, {fake.url},") == [dead, fake.url]
    assert engines.detect([dead, fake.url]).product == engine
    client = engines.connect(f"{dead},{fake.url}", request_timeout=5)
    bits = np.zeros((1, 256), dtype=np.uint8)
    for _ in range(4):  # wherever the client starts, the dead node's requests go to the living one
        report = IngestReport()
        send_codes(client, "pics", [("x", "x", {})], bits, report, waits=())
        assert (report.indexed, report.failed) == (1, {})
    with pytest.raises(ClusterError, match=f"cannot reach .*{dead}") as raised:
        engines.detect([dead])
    assert raised.value.status is None and raised.value.__cause__ is not None
    with pytest.raises(ValueError, match="no node URL"):
        engines.hosts_of(" , ")


def bulk_answers(statuses: list[dict[str, int]]) -> Callable[[str, str, bytes], Answer]:
    """A bulk endpoint answering each id with the next status given for it (then 201)."""

    def answer(method: str, path: str, body: bytes) -> Answer:
        if path == "/":
            return 200, OPENSEARCH_ROOT
        lines = [json.loads(line) for line in body.decode().splitlines()]
        ids = [a["create"]["_id"] for a in lines[::2]]
        round_ = statuses.pop(0) if statuses else {}
        if round_.get("*") == 0:
            return 0, None
        items = []
        for doc_id in ids:
            status = round_.get(doc_id, 201)
            item: dict[str, Any] = {"_id": doc_id, "status": status}
            if status >= 300:
                item["error"] = {
                    "type": "unavailable_shards_exception",
                    "reason": f"{status} {doc_id}",
                }
            items.append({"create": item})
        return 200, {"errors": True, "items": items}

    return answer


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_bulk_sends_unavailable_and_rejected_documents_again(fake: Fake, engine: str) -> None:
    fake.elastic = engine == "elasticsearch"
    fake.answer = bulk_answers([{"b": 503, "c": 429}, {"c": 503}])
    client = engines.connect(fake.url, engine=engine)  # type: ignore[arg-type]
    report = IngestReport()
    bits = np.zeros((3, 256), dtype=np.uint8)
    send_codes(client, "pics", [(i, f"{i}.png", {}) for i in "abc"], bits, report, waits=(0, 0))
    assert (report.indexed, report.already_indexed, report.failed) == (3, 0, {})
    sent = [
        [json.loads(line)["create"]["_id"] for line in s.body.splitlines()[::2]] for s in fake.seen
    ]
    assert sent[-3:] == [["a", "b", "c"], ["b", "c"], ["c"]]


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_bulk_gives_up_after_its_waits_and_names_the_document(fake: Fake, engine: str) -> None:
    fake.elastic = engine == "elasticsearch"
    fake.answer = bulk_answers([{"a": 503}, {"a": 503}, {"a": 503}, {"b": 400}])
    client = engines.connect(fake.url, engine=engine)  # type: ignore[arg-type]
    report = IngestReport()
    bits = np.zeros((2, 256), dtype=np.uint8)
    send_codes(client, "pics", [("a", "a.png", {}), ("b", "b.png", {})], bits, report, waits=(0, 0))
    name = engines.NAMES[engine]
    assert report.indexed == 1 and report.failed == {"a.png": f"{name} refused it: 503 a"}


@pytest.mark.parametrize("engine", ["elasticsearch", "opensearch"])
def test_a_bulk_that_lost_its_connection_is_sent_again_and_counts_each_document_once(
    fake: Fake, engine: str
) -> None:
    """The node received the bulk, then died before answering (the client's own retries too):
    the documents are sent again; those that arrived answer 409 and count as already there."""
    fake.elastic = engine == "elasticsearch"
    fake.answer = bulk_answers([{"*": 0}] * 4 + [{"a": 409}])
    client = engines.connect(fake.url, engine=engine)  # type: ignore[arg-type]
    report = IngestReport()
    bits = np.zeros((2, 256), dtype=np.uint8)
    send_codes(client, "pics", [("a", "a.png", {}), ("b", "b.png", {})], bits, report, waits=(0,))
    assert (report.indexed, report.already_indexed, report.failed) == (1, 1, {})
