"""A node with security on: TLS with our own CA, users, roles and API keys made through the API.

The module starts its own secured Elasticsearch 9 node through the launcher (`start --secure`: its
own node folder, release copy and port, $EH_SECURE_HTTP_PORT or 9243), so the suite's node is left
alone, and stops it at the end if it started it. It runs only with `--engine es9`: OpenSearch's test
release has no security plugin, and one Elasticsearch major covers the plugin's code path.
"""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import elastichash
import numpy as np
import pytest
from ehnodes import Launcher, NodeError, Options
from elastichash import ClusterError, ElasticHash, codes, queries
from elastichash.engines import Client

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest import refusal  # noqa: E402

SYSTEM_CAS = "/etc/ssl/certs/ca-certificates.crt"  # real CAs, none of which signed our node's certificate
PASSWORD = "a-test-password"
N = 300


@dataclass(frozen=True)
class SecureNode:
    url: str
    ca: str
    admin_password: str
    admin: Client

    def client(self, **credentials: Any) -> Client:
        return elastichash.connect(self.url, ca_certs=self.ca, **credentials)


@pytest.fixture(scope="module")
def node(pytestconfig: pytest.Config) -> Iterator[SecureNode]:
    engine = pytestconfig.getoption("engine")
    if engine != "es9":
        pytest.skip(f"the secured node runs on es9 only: this run is for {engine}")
    port = os.environ.get("EH_SECURE_HTTP_PORT")
    try:
        launcher = Launcher(Options.from_env(engine="es9", secure=True, http_port=int(port) if port else None))
        url, started = launcher.start()
    except NodeError as error:
        pytest.fail(f"could not start the secured es9 node: {error}")
    access = launcher.access()
    admin = elastichash.connect(url, username=access.user, password=access.password, ca_certs=str(access.ca))
    try:
        yield SecureNode(url, str(access.ca), access.password or "", admin)
    finally:
        admin.close()
        if started:
            launcher.stop()


@dataclass(frozen=True)
class Indices:
    a: str
    b: str
    alias_b: str
    query: str  # a code stored in both indices, as hex
    nearest: list[str]  # the admin's hit ids on index a for that query, nearest first


@pytest.fixture(scope="module")
def indices(node: SecureNode) -> Iterator[Indices]:
    """Two indices with the same codes, made with the library as the admin; an alias on the second."""
    stem = f"it-sec-{uuid.uuid4().hex[:6]}"
    a, b = f"{stem}-a", f"{stem}-b"
    bits = np.random.default_rng(7).integers(0, 2, size=(N, codes.CODE_BITS), dtype=np.uint8)
    for name in (a, b):
        ElasticHash(node.admin, index=name).index_codes([f"{name}-{i}" for i in range(N)], bits)
    node.admin.indices.put_alias(index=b, name=f"{stem}-alias-b")
    query = codes.to_hex(bits[17])
    nearest = [hit.id for hit in ElasticHash(node.admin, index=a).search(query, k=5)]
    yield Indices(a, b, f"{stem}-alias-b", query, nearest)
    node.admin.indices.delete(index=f"{a},{b}")  # by name: wildcard deletes are refused


@dataclass(frozen=True)
class Principal:
    """A user and an API key with the same role: each check runs as both."""

    user: str
    api_key: str


def principal(node: SecureNode, role: str, indices_privileges: list[dict[str, Any]]) -> Principal:
    """A role, a user holding it and an API key limited to it, all made through the security API."""
    descriptor = {"indices": indices_privileges}
    node.admin.security.put_role(name=role, body=descriptor)
    node.admin.security.put_user(username=role, body={"password": PASSWORD, "roles": [role]})
    key = node.admin.security.create_api_key(body={"name": role, "role_descriptors": {role: descriptor}})
    return Principal(role, key["encoded"])


@pytest.fixture(scope="module")
def reader_of_a(node: SecureNode, indices: Indices) -> Principal:
    return principal(node, "eh-read-a", [{"names": [indices.a], "privileges": ["read"]}])


def hidden(node: SecureNode, indices: Indices, role: str, fields: list[str]) -> Principal:
    security = {"grant": ["*"], "except": fields}
    return principal(node, role, [{"names": [indices.a], "privileges": ["read"], "field_security": security}])


def clients(node: SecureNode, who: Principal) -> list[Client]:
    return [node.client(username=who.user, password=PASSWORD), node.client(api_key=who.api_key)]


def hamming_body(indices: Indices) -> dict[str, Any]:
    return {"size": 5, "query": queries.hamming_query(indices.query, k=5)}


def script_body(indices: Indices) -> dict[str, Any]:
    script = queries.hamming_script(indices.query)
    return {"size": 5, "query": {"script_score": {"query": {"match_all": {}}, "script": script}}}


def ids(answer: Any) -> list[str]:
    return [hit["_id"] for hit in answer["hits"]["hits"]]


def cli(*arguments: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "elastichash.cli", *arguments]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def one_sentence(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


# --- connecting: credentials and CA --------------------------------------------------------------


def test_library_connects_with_a_user_an_api_key_and_the_ca(
    node: SecureNode, indices: Indices, reader_of_a: Principal
) -> None:
    assert node.url.startswith("https://")
    for client in clients(node, reader_of_a):
        hits = ElasticHash(client, index=indices.a).search(indices.query, k=5)
        assert [hit.id for hit in hits] == indices.nearest
        assert hits[0].distance == 0


@pytest.mark.parametrize("how", ["user", "api-key"])
def test_cli_connects_over_https(node: SecureNode, indices: Indices, reader_of_a: Principal, how: str) -> None:
    credentials = (
        ["--user", reader_of_a.user, "--password", PASSWORD] if how == "user" else ["--api-key", reader_of_a.api_key]
    )
    done = cli(
        "--es-url", node.url, "--ca-certs", node.ca, *credentials,
        "--index", indices.a, "search", indices.query, "-k", "5", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert '"distance": 0' in done.stdout and indices.nearest[0] in done.stdout


def test_a_wrong_api_key_is_one_sentence(node: SecureNode, indices: Indices, reader_of_a: Principal) -> None:
    # A real key's id with a wrong secret.
    wrong = base64.b64encode(base64.b64decode(reader_of_a.api_key).split(b":")[0] + b":not-the-secret").decode()
    with pytest.raises(ClusterError) as raised:
        node.client(api_key=wrong)
    assert str(raised.value) == (
        f"the server at {node.url} refused the credentials (401); check the API key or user and password"
    )
    done = cli(
        "--es-url", node.url, "--ca-certs", node.ca, "--api-key", wrong, "--index", indices.a, "search", indices.query
    )
    assert done.returncode == 1
    assert one_sentence(done.stderr) == f"elastichash: error: {raised.value}"


def test_a_wrong_password_is_one_sentence(node: SecureNode, reader_of_a: Principal) -> None:
    with pytest.raises(ClusterError, match=r"refused the credentials \(401\)"):
        node.client(username=reader_of_a.user, password="wrong")


def test_a_wrong_ca_is_one_sentence(node: SecureNode, indices: Indices, reader_of_a: Principal) -> None:
    with pytest.raises(ClusterError) as raised:
        elastichash.connect(node.url, api_key=reader_of_a.api_key, ca_certs=SYSTEM_CAS)
    assert str(raised.value) == (
        f"cannot reach {node.url}: its TLS certificate is not signed by the CA in {SYSTEM_CAS}; "
        "pass the CA that signed the node's certificate (ca_certs)"
    )
    with pytest.raises(ClusterError, match=r"its TLS certificate is not trusted; pass its CA \(ca_certs\)"):
        elastichash.connect(node.url, api_key=reader_of_a.api_key)
    done = cli(
        "--es-url", node.url, "--ca-certs", SYSTEM_CAS, "--api-key", reader_of_a.api_key, "search", indices.query
    )
    assert done.returncode == 1
    assert one_sentence(done.stderr) == f"elastichash: error: {raised.value} (--ca-certs PATH)"


def test_an_expired_api_key_says_so(node: SecureNode, indices: Indices) -> None:
    descriptor = {"indices": [{"names": [indices.a], "privileges": ["read"]}]}
    body = {"name": "eh-short", "expiration": "1s", "role_descriptors": {"eh-short": descriptor}}
    key = node.admin.security.create_api_key(body=body)
    time.sleep(max(0.0, key["expiration"] / 1000 - time.time()) + 1.0)
    with pytest.raises(ClusterError) as raised:
        node.client(api_key=key["encoded"])
    assert str(raised.value) == f"the server at {node.url} refused the API key: it has expired (401); create a new one"
    # Naming the engine skips the first question: the search itself meets the 401.
    client = elastichash.connect(node.url, engine="elasticsearch", api_key=key["encoded"], ca_certs=node.ca)
    with pytest.raises(ClusterError, match=r"refused the API key: it has expired \(401\); create a new one$"):
        ElasticHash(client, index=indices.a).search(indices.query)
    done = cli("--es-url", node.url, "--ca-certs", node.ca, "--api-key", key["encoded"], "search", indices.query)
    assert done.returncode == 1 and "it has expired" in one_sentence(done.stderr)


# --- index privileges: read on A does not reach B ------------------------------------------------


def test_read_on_a_reaches_a_but_never_b(node: SecureNode, indices: Indices, reader_of_a: Principal) -> None:
    for client in clients(node, reader_of_a):
        for body in (hamming_body(indices), script_body(indices)):
            assert ids(client.search(index=indices.a, body=body)) == indices.nearest
            for target in (indices.b, indices.alias_b, f"{indices.a},{indices.b}"):
                status, error = refusal(lambda c=client, t=target, b=body: c.search(index=t, body=b))
                assert status == 403 and error["error"]["type"] == "security_exception", error
            # Wildcards expand to the indices the role may read: A's hits only, never B's.
            for pattern in (f"{indices.a[:-2]}-*", "*", "_all"):
                found = ids(client.search(index=pattern, body=body))
                assert found == indices.nearest, (pattern, found)


def test_the_query_s_filter_cannot_look_up_b(node: SecureNode, indices: Indices, reader_of_a: Principal) -> None:
    """A terms lookup inside our `filter` is run as the user, so it is refused on B too."""
    lookup = {"terms": {"image_id": {"index": indices.b, "id": f"{indices.b}-17", "path": "image_id"}}}
    body = {"size": 5, "query": queries.hamming_query(indices.query, k=5, filter=lookup)}
    for client in clients(node, reader_of_a):
        status, error = refusal(lambda client=client: client.search(index=indices.a, body=body))
        assert status == 403 and "on indices [" + indices.b + "]" in str(error), error


def test_the_library_names_a_forbidden_index_in_one_sentence(
    node: SecureNode, indices: Indices, reader_of_a: Principal
) -> None:
    client = node.client(api_key=reader_of_a.api_key)
    with pytest.raises(ClusterError) as raised:
        ElasticHash(client, index=indices.b).search(indices.query)
    message = str(raised.value)
    assert message.startswith(f"Elasticsearch at {node.url} answered 403: action [indices:data/read/search]")
    assert f"on indices [{indices.b}]" in message and "\n" not in message


# --- field-level security: the plugin does not read around it -------------------------------------


def test_a_hidden_code_field_is_refused_by_name(node: SecureNode, indices: Indices) -> None:
    who = hidden(node, indices, "eh-fls-code", ["hash"])
    for client in clients(node, who):
        # The user still reads the documents' other fields...
        # Nor the code by another way: not put back into _source from its column (Elasticsearch 9
        # keeps it out of the stored source), not in doc values or the fields API.
        for asked in ({"docvalue_fields": ["hash"]}, {"fields": ["hash"]}):
            body = {"size": 1, "query": {"match_all": {}}, "_source": True, **asked}
            plain = client.search(index=indices.a, body=body)["hits"]["hits"][0]
            assert "image_id" in plain["_source"] and "hash" not in plain["_source"], plain
            assert "hash" not in plain.get("fields", {}), plain
        # ...but neither the query nor the script scores on a field it may not see: no empty answer,
        # no score of 0 for every document, but a 400 naming the field.
        paper = {**hamming_body(indices), "query": queries.hamming_query(indices.query, 5, mode="paper")}
        for body in (hamming_body(indices), paper, script_body(indices)):
            status, error = refusal(lambda client=client, body=body: client.search(index=indices.a, body=body))
            reason = error["error"]["root_cause"][0]["reason"]
            assert status == 400
            assert reason.startswith("[field] field [hash] is hidden from this user by field-level security"), reason
        with pytest.raises(ClusterError, match=r"answered 400: \[field\] field \[hash\] is hidden"):
            ElasticHash(client, index=indices.a).search(indices.query)


def test_a_role_granting_the_code_field_by_name_searches_it_whole(node: SecureNode, indices: Indices) -> None:
    """The field's derived columns have Lucene names of their own that such a role does not name;
    they hold the code the user may see, so the query and the script read them."""
    grant = {"grant": ["hash", "image_id"]}
    who = principal(node, "eh-fls-grant", [{"names": [indices.a], "privileges": ["read"], "field_security": grant}])
    client = node.client(api_key=who.api_key)
    assert ids(client.search(index=indices.a, body=hamming_body(indices))) == indices.nearest
    body = {"size": 1, "query": {"match_all": {}}, "docvalue_fields": ["hash"]}
    hit = client.search(index=indices.a, body=body)["hits"]["hits"][0]
    assert len(hit["_source"]["hash"]) == 64 and hit["fields"]["hash"] == [hit["_source"]["hash"]], hit
    assert ids(client.search(index=indices.a, body=script_body(indices))) == indices.nearest
    hits = ElasticHash(client, index=indices.a).search(indices.query, k=5, mode="long")
    assert [hit.id for hit in hits] == indices.nearest
