"""Where Elasticsearch and OpenSearch differ for the library, and nowhere else.

Elasticsearch is spoken to with the `elasticsearch` client, OpenSearch with `opensearch-py`
(the `elasticsearch` client refuses any server that does not say it is Elasticsearch). Both
clients take the same calls when request bodies are passed as `body=` (`search`, `msearch`,
`count`, `indices.create`, ...), so everything above this module has one code path. What
differs lives here: which product a URL serves (`detect`), building its client (`connect`), the
bulk/scan helpers (`helpers_of`), points in time (`open_point_in_time`), raw requests
(`request`) and reading the clients' exceptions (`failure`).

An Elasticsearch 8 server refuses the `compatible-with=9` media types the 9.x client sends, so
its client sends plain `application/json` instead (`_PlainJsonTransport`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal

import elasticsearch
import elasticsearch.helpers
from elastic_transport import HttpHeaders, TlsError, Transport
from elasticsearch import Elasticsearch

from .errors import ClusterError

if TYPE_CHECKING:
    from opensearchpy import OpenSearch

    Client = Elasticsearch | OpenSearch
else:
    Client = Any

Product = Literal["elasticsearch", "opensearch"]
Engine = Literal["auto", "elasticsearch", "opensearch"]
ENGINES: tuple[Engine, ...] = ("auto", "elasticsearch", "opensearch")
NAMES = {"elasticsearch": "Elasticsearch", "opensearch": "OpenSearch"}
# The major the installed `elasticsearch` client speaks natively (its compatible-with header).
CLIENT_MAJOR = int(elasticsearch.__versionstr__.partition(".")[0])


@dataclass(frozen=True)
class Server:
    """What a URL serves: the product and its version ("" when the server did not say)."""

    product: Product
    version: str = ""

    @property
    def major(self) -> int | None:
        head = self.version.partition(".")[0]
        return int(head) if head.isdigit() else None

    def __str__(self) -> str:
        return f"{NAMES[self.product]} {self.version}".strip()


@dataclass(frozen=True)
class Failure:
    """A client exception read the same way for both clients.

    kind: `connection` (no answer: refused, time-out, TLS), `auth` (401), `scan` (a scroll that
    failed part-way) or `answer` (any other error answer: `status` and `body` are the server's).
    """

    kind: Literal["connection", "auth", "scan", "answer"]
    status: int | str | None = None
    body: Any = None
    message: str = ""


# --- which server ---------------------------------------------------------------------------


def _auth_headers(
    api_key: str | None, username: str | None, password: str | None
) -> dict[str, str]:
    if api_key:
        return {"authorization": f"ApiKey {api_key}"}
    if username is not None:
        pair = f"{username}:{password or ''}".encode()
        return {"authorization": "Basic " + base64.b64encode(pair).decode()}
    return {}


def hosts_of(url: str | Sequence[str]) -> list[str]:
    """The node URLs of `url`: one URL, a comma-separated list of them, or a sequence."""
    parts = url.split(",") if isinstance(url, str) else list(url)
    found = [part.strip() for part in parts if part and part.strip()]
    if not found:
        raise ValueError(f"no node URL given in {url!r}; pass one like http://127.0.0.1:9200")
    return found


def detect(
    url: str | Sequence[str],
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 30,
) -> Server:
    """Asks the node at `url` what it is, below the `elasticsearch` client's product check.

    With several URLs (a list, or commas), the first that answers is asked: a node that is down
    does not stop the client from reaching the others. Elasticsearch marks every answer with
    `X-Elastic-Product` (and its test distribution does not serve `GET /`), so the node info
    comes first: it carries the version. OpenSearch names itself in `GET /`
    (`version.distribution`). Raises ClusterError (one sentence) when nothing sensible answers.
    """
    urls = hosts_of(url)
    last_error: BaseException | None = None
    for one in urls:
        try:
            return _detect_one(one, api_key, username, password, ca_certs, request_timeout)
        except (
            elasticsearch.ConnectionError,
            elasticsearch.ConnectionTimeout,
            elasticsearch.SerializationError,
        ) as error:
            last_error = error
    raise unreachable(", ".join(urls), last_error, ca_certs) from last_error


def _detect_one(
    url: str,
    api_key: str | None,
    username: str | None,
    password: str | None,
    ca_certs: str | None,
    request_timeout: float,
) -> Server:
    probe = Elasticsearch(url, request_timeout=request_timeout, max_retries=0, ca_certs=ca_certs)
    headers = {"accept": "application/json", **_auth_headers(api_key, username, password)}

    def get(path: str) -> tuple[Any, Any]:
        meta, body = probe.transport.perform_request("GET", path, headers=headers, max_retries=0)
        if meta.status == 401:
            raise ClusterError(
                refused_credentials(f"the server at {url}", body), status=401, reason="unauthorized"
            )
        return meta, body if isinstance(body, dict) else {}

    try:
        meta, info = get("/_nodes/_local?filter_path=nodes.*.version")
        if meta.headers.get("x-elastic-product") == "Elasticsearch":
            nodes = info.get("nodes", {}) if meta.status == 200 else {}
            versions = [str(node.get("version", "")) for node in nodes.values()]
            return Server("elasticsearch", versions[0] if versions else "")
        if _security_refusal(meta.status, info):
            # A user without cluster privileges (read on an index is all a search needs): only
            # Elasticsearch's security answers so; the version stays unknown (the client's own).
            return Server("elasticsearch")
        meta, root = get("/")
        version = root.get("version")
        if isinstance(version, dict) and version.get("distribution") == "opensearch":
            return Server("opensearch", str(version.get("number", "")))
        if meta.headers.get("x-elastic-product") == "Elasticsearch":
            return Server("elasticsearch")
        raise ClusterError(
            f"the server at {url} is neither Elasticsearch nor OpenSearch "
            f"(GET / answered {meta.status}); check the URL",
            status=meta.status,
        )
    finally:
        probe.close()


def refused_credentials(who: str, body: object) -> str:
    """The sentence for a 401: an expired API key says so (Elasticsearch names it in the body)."""
    if "expired" in str(body):
        return f"{who} refused the API key: it has expired (401); create a new one"
    return f"{who} refused the credentials (401); check the API key or user and password"


def _security_refusal(status: int, body: dict[str, Any]) -> bool:
    error = body.get("error")
    return status == 403 and isinstance(error, dict) and error.get("type") == "security_exception"


def unreachable(
    url: str,
    error: object = None,
    ca_certs: str | None = None,
    name: str = "Elasticsearch or OpenSearch",
) -> ClusterError:
    """The error for a request without an answer: no node there, or an untrusted certificate."""
    reason = str(error) if error is not None else None
    text = " ".join(str(error).split()) if error is not None else ""
    # The transport's TlsError may say no more than "TLS error"; OpenSearch's client says SSLError.
    if isinstance(error, TlsError) or any(
        word in text for word in ("CERTIFICATE_VERIFY", "SSL", "TLS")
    ):
        if ca_certs:
            message = (
                f"cannot reach {url}: its TLS certificate is not signed by the CA in {ca_certs}; "
                "pass the CA that signed the node's certificate (ca_certs)"
            )
        else:
            message = (
                f"cannot reach {url}: its TLS certificate is not trusted; pass its CA (ca_certs)"
            )
        return ClusterError(message, reason=reason, kind="untrusted_certificate")
    return ClusterError(
        f"cannot reach {name} at {url}: is the node running?", reason=reason, kind="unreachable"
    )


# --- clients -----------------------------------------------------------------------------------


class _PlainJsonTransport(Transport):
    """Sends `application/json` (and `x-ndjson`) where the client put its own major's
    `application/vnd.elasticsearch+json; compatible-with=N`: an Elasticsearch of another major
    refuses N, plain JSON means "your own version" to every release."""

    _COMPAT = re.compile(r"application/vnd\.elasticsearch\+([\w.-]+)\s*;\s*compatible-with=\d+")

    def perform_request(self, method: str, target: str, **options: Any) -> Any:
        headers = options.get("headers")
        if headers:
            plain = {name: self._COMPAT.sub(r"application/\1", v) for name, v in headers.items()}
            options["headers"] = HttpHeaders(plain)
        return super().perform_request(method, target, **options)


def connect(
    url: str | Sequence[str] = "http://127.0.0.1:9200",
    *,
    engine: Engine = "auto",
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 60,
) -> Client:
    """A client for the Elasticsearch or OpenSearch at `url` that retries 429 and 5xx answers
    and time-outs: `elasticsearch.Elasticsearch` or `opensearchpy.OpenSearch`. Pass request
    bodies as `body=`: both clients take that.

    `url` may name several nodes of one cluster (a list, or commas): requests are spread over
    them, and one that fails to answer is retried on another, so that a node going down does not
    fail the requests of a client that knows the others. `engine="auto"` asks the server what it
    is (`detect`, one request); naming the product skips that question (an Elasticsearch is
    then taken to be of the client's own major).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    urls = hosts_of(url)
    if engine == "auto":
        server = detect(urls, api_key, username, password, ca_certs, min(request_timeout, 30))
    else:
        server = Server(engine)
    retries: dict[str, Any] = {
        "retry_on_status": (429, 502, 503, 504),
        "retry_on_timeout": True,
        "max_retries": 3,
    }
    if server.product == "opensearch":
        from opensearchpy import OpenSearch

        options: dict[str, Any] = {"timeout": request_timeout, **retries}
        headers = _auth_headers(api_key, None, None)
        if headers:
            options["headers"] = headers
        if username is not None:
            options["http_auth"] = (username, password or "")
        if any(one.startswith("https:") for one in urls):
            options.update(use_ssl=True, verify_certs=True)
        if ca_certs:
            options["ca_certs"] = ca_certs
        return OpenSearch(urls, **options)
    options = {"request_timeout": request_timeout, **retries}
    if api_key:
        options["api_key"] = api_key
    if username is not None:
        options["basic_auth"] = (username, password or "")
    if ca_certs:
        options["ca_certs"] = ca_certs
    if server.major is not None and server.major != CLIENT_MAJOR:
        options["transport_class"] = _PlainJsonTransport
    return Elasticsearch(urls, **options)


def product(client: Client) -> Product:
    return "elasticsearch" if isinstance(client, Elasticsearch) else "opensearch"


def product_name(client: Client | None) -> str:
    """The product's name for messages: Elasticsearch or OpenSearch."""
    return NAMES[product(client)] if client is not None else "Elasticsearch"


def url_of(client: Client | None) -> str:
    """The client's (first) node URL, for messages."""
    try:
        if isinstance(client, Elasticsearch):
            return client.transport.node_pool.get().base_url
        return client.transport.connection_pool.connections[0].host  # type: ignore[union-attr]
    except Exception:  # noqa: BLE001 - only for a message
        return "the configured URL"


def helpers_of(client: Client) -> ModuleType:
    """The client's helpers module: `bulk`, `streaming_bulk` and `scan` take the same arguments."""
    if isinstance(client, Elasticsearch):
        return elasticsearch.helpers
    import opensearchpy.helpers

    return opensearchpy.helpers


def open_point_in_time(client: Client, index: str, keep_alive: str) -> str:
    """Opens a point in time over `index` and returns its id (the APIs' names differ)."""
    if isinstance(client, Elasticsearch):
        return str(client.open_point_in_time(index=index, keep_alive=keep_alive)["id"])
    return str(client.create_pit(index=index, params={"keep_alive": keep_alive})["pit_id"])


def close_point_in_time(client: Client, pit_id: str) -> None:
    """Closes a point in time; one that expired already is no error."""
    try:
        if isinstance(client, Elasticsearch):
            client.close_point_in_time(id=pit_id)
        else:
            client.delete_pit(body={"pit_id": [pit_id]})
    except Exception as error:
        found = failure(error)
        if found is None or found.kind != "answer" or found.status != 404:
            raise


def request(
    client: Client,
    method: str,
    path: str,
    params: dict[str, Any] | None = None,
    body: Any = None,
) -> Any:
    """A request the clients have no method for (`GET /_script_language`, `_disk_usage`)."""
    if isinstance(client, Elasticsearch):
        headers = {"accept": "application/json"}
        if body is not None:
            headers["content-type"] = "application/json"
        return client.perform_request(method, path, params=params, body=body, headers=headers).body
    return client.transport.perform_request(method, path, params=params, body=body)


# --- errors --------------------------------------------------------------------------------


def _api_errors() -> tuple[type[Exception], ...]:
    import opensearchpy

    return (elasticsearch.ApiError, opensearchpy.TransportError)


def __getattr__(name: str) -> Any:
    # API_ERRORS needs opensearchpy, imported only when asked for.
    if name == "API_ERRORS":
        return _api_errors()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def failure(error: BaseException) -> Failure | None:
    """How a client exception reads (None: not a client exception, let it through)."""
    if isinstance(error, elasticsearch.ConnectionError | elasticsearch.ConnectionTimeout):
        return Failure("connection", message=str(error))
    if isinstance(error, elasticsearch.helpers.ScanError):
        return Failure("scan", message=str(error))
    if isinstance(error, elasticsearch.ApiError):
        kind = "auth" if error.meta.status == 401 else "answer"
        return Failure(kind, error.meta.status, error.body, str(error.message))
    if not type(error).__module__.startswith("opensearchpy"):
        return None
    import opensearchpy
    import opensearchpy.helpers

    if isinstance(error, opensearchpy.ConnectionError):
        return Failure("connection", message=str(error))
    if isinstance(error, opensearchpy.helpers.ScanError):
        return Failure("scan", message=str(error))
    if isinstance(error, opensearchpy.TransportError):
        status = error.status_code
        kind = "auth" if status == 401 else "answer"
        return Failure(kind, status, error.info, str(error.error))
    return None
