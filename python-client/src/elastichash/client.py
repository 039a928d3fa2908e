"""The ElasticHash library's front door: an index of image codes in Elasticsearch."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import elasticsearch
import numpy as np
from elasticsearch import Elasticsearch

from . import codes, queries
from .errors import ClusterError
from .images import ImageSource
from .ingest import ImageItem, IngestReport, find_images, ingest, items_from_paths, send_codes
from .model import HashModel
from .queries import Mode, Scorer


@dataclass(frozen=True)
class Hit:
    """One search result: `distance` is the Hamming distance in the mode's bits."""

    id: str
    score: float
    distance: int
    source: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "distance": self.distance,
            "source": self.source,
        }


def connect(
    url: str = "http://127.0.0.1:9200",
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: str | None = None,
    request_timeout: float = 60,
) -> Elasticsearch:
    """An Elasticsearch client that retries 429 and 5xx answers and time-outs."""
    options: dict[str, Any] = {
        "request_timeout": request_timeout,
        "retry_on_status": (429, 502, 503, 504),
        "retry_on_timeout": True,
        "max_retries": 3,
    }
    if api_key:
        options["api_key"] = api_key
    if username is not None:
        options["basic_auth"] = (username, password or "")
    if ca_certs:
        options["ca_certs"] = ca_certs
    return Elasticsearch(url, **options)


class ElasticHash:
    """Image similarity search over one Elasticsearch index.

    >>> es = connect("http://127.0.0.1:9200")
    >>> eh = ElasticHash(es, index="images", model=HashModel("m.onnx"))
    >>> eh.create_index()
    >>> eh.index_directory("photos/")
    >>> eh.search("query.jpg", k=10)
    """

    def __init__(
        self, es: Elasticsearch, index: str = "images", model: HashModel | str | None = None
    ) -> None:
        self.es = es
        self.index = index
        self._model = model

    @property
    def model(self) -> HashModel:
        """The hashing model, loaded on first use (the bundled default when none was given)."""
        if not isinstance(self._model, HashModel):
            self._model = HashModel(self._model)
        return self._model

    # --- index -----------------------------------------------------------------------------

    def create_index(
        self, shards: int = 1, replicas: int = 0, extra_properties: dict[str, Any] | None = None
    ) -> bool:
        """Creates the index with the ElasticHash mapping; False when it exists already."""
        with _cluster_errors(self.es):
            if self.es.indices.exists(index=self.index):
                return False
            self.es.indices.create(
                index=self.index,
                settings=queries.index_settings(shards, replicas),
                mappings=queries.mapping({"path": {"type": "keyword"}, **(extra_properties or {})}),
            )
        return True

    def index_directory(
        self, directory: str | os.PathLike, progress: bool = True, batch_size: int = 32
    ) -> IngestReport:
        """Indexes every image file under `directory`; broken files are named in the report."""
        paths = find_images(directory)
        report = IngestReport()
        return self._ingest(
            items_from_paths(paths, report), report, len(paths), progress, batch_size
        )

    def index_images(
        self, items: Iterable[tuple[str, bytes]], progress: bool = True, batch_size: int = 32
    ) -> IngestReport:
        """Indexes (id, image bytes) pairs under the given ids."""
        return self._ingest(
            (ImageItem(name=doc_id, data=data, id=doc_id) for doc_id, data in items),
            None,
            None,
            progress,
            batch_size,
        )

    def index_codes(
        self,
        ids: list[str],
        bits: np.ndarray,
        fields: list[dict[str, Any]] | None = None,
        refresh: bool = True,
    ) -> IngestReport:
        """Indexes precomputed codes: ids[i] gets the code in row i of `bits` (n, 256)."""
        self.create_index()
        bits = np.asarray(bits, dtype=np.uint8)
        if len(ids) != len(bits):
            raise ValueError(f"{len(ids)} ids for {len(bits)} codes")
        report = IngestReport()
        items = [(doc_id, doc_id, (fields[i] if fields else {})) for i, doc_id in enumerate(ids)]
        with _cluster_errors(self.es, self.index):
            send_codes(self.es, self.index, items, bits, report)
            if refresh:
                self.es.indices.refresh(index=self.index)
        return report

    def _ingest(self, items, report, total, progress, batch_size) -> IngestReport:  # noqa: ANN001
        self.create_index()
        with _cluster_errors(self.es, self.index):
            return ingest(
                self.es, self.index, self.model, items, report, batch_size, total, progress
            )

    def count(self) -> int:
        with _cluster_errors(self.es, self.index):
            return int(self.es.count(index=self.index)["count"])

    # --- search ----------------------------------------------------------------------------

    def code_of(self, query: ImageSource | codes.Code) -> codes.Code:
        """The query's code: a Code as is, a 64-character hex string as a code, else an image."""
        if isinstance(query, codes.Code):
            return query
        if isinstance(query, str) and len(query) == codes.HEX_CHARS and not os.path.exists(query):
            return codes.Code.from_hex(query)
        return self.model.encode_one(query)

    def search_body(
        self,
        query: ImageSource | codes.Code,
        k: int = 10,
        mode: Mode = "two_stage",
        scorer: Scorer = "plugin",
        filter: dict[str, Any] | None = None,  # noqa: A002
        radius: int = queries.DEFAULT_RADIUS,
    ) -> dict[str, Any]:
        return queries.search_body(self.code_of(query), k, mode, scorer, filter, radius)

    def search(
        self,
        query: ImageSource | codes.Code,
        k: int = 10,
        mode: Mode = "two_stage",
        scorer: Scorer = "plugin",
        filter: dict[str, Any] | None = None,  # noqa: A002
        radius: int = queries.DEFAULT_RADIUS,
    ) -> list[Hit]:
        """The k nearest images to `query` (an image, a Code or a hex code), nearest first."""
        body = self.search_body(query, k, mode, scorer, filter, radius)
        with _cluster_errors(self.es, self.index, scorer):
            response = self.es.search(index=self.index, **body)
        top = queries.max_score(mode)
        return [
            Hit(hit["_id"], hit["_score"], top - round(hit["_score"]), hit.get("_source", {}))
            for hit in response["hits"]["hits"]
        ]

    def console(self, query: ImageSource | codes.Code, **options: Any) -> str:
        """The search as Kibana Dev Tools text."""
        return queries.to_console(self.index, self.search_body(query, **options))


class _cluster_errors:  # noqa: N801 - used as a context manager
    """Turns client exceptions into ClusterError sentences that say what to do."""

    def __init__(
        self, es: Elasticsearch, index: str | None = None, scorer: str | None = None
    ) -> None:
        self.es, self.index, self.scorer = es, index, scorer

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:  # noqa: ANN001
        if error is None:
            return False
        url = _url_of(self.es)
        if isinstance(error, elasticsearch.ConnectionError | elasticsearch.ConnectionTimeout):
            raise ClusterError(
                f"cannot reach Elasticsearch at {url}: is the node running? "
                "(start one with `make es-start`)"
            ) from None
        if isinstance(error, elasticsearch.AuthenticationException):
            raise ClusterError(
                f"Elasticsearch at {url} refused the credentials (401); check the API key or user"
            ) from None
        if isinstance(error, elasticsearch.NotFoundError) and "index_not_found" in str(error):
            raise ClusterError(
                f"index '{self.index}' does not exist at {url}; create it by indexing images "
                f"(`elastichash index DIR --index {self.index}`)"
            ) from None
        if isinstance(error, elasticsearch.ApiError):
            text = str(error.body)
            if (
                "script_lang not supported [elastichash]" in text
                or "[elastichash]" in text
                and "not supported" in text
            ):
                raise ClusterError(
                    f"the elastichash plugin is not installed on the cluster at {url}; install it "
                    "(see the README), or search with --scorer painless, which needs no plugin"
                ) from None
            if "script_lang not supported [painless]" in text:
                raise ClusterError(
                    f"the cluster at {url} has no Painless scripting; use --scorer plugin"
                ) from None
            raise ClusterError(
                f"Elasticsearch at {url} answered {error.meta.status}: {_reason(error)}"
            ) from None
        return False


def _url_of(es: Elasticsearch) -> str:
    try:
        node = es.transport.node_pool.get()
        return node.base_url
    except Exception:  # noqa: BLE001 - only for a message
        return "the configured URL"


def _reason(error: elasticsearch.ApiError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    cause = body.get("error", {})
    if isinstance(cause, dict):
        roots = cause.get("root_cause") or [cause]
        return "; ".join(str(r.get("reason", r)) for r in roots)
    return str(error.body or error.message)
