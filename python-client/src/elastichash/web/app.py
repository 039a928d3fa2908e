"""The search-by-example web page: a Starlette app over one `ElasticHash` index.

Routes: `/` (the page, plain HTML/CSS/JS from `static/`), `/api/info`, `/api/search` (by an
indexed image's id, or by a code), `/api/upload` (an image's bytes as the request body) and
`/files/<folder>/<path>` (thumbnails, only from the indexed folders: `folders.ImageFolders`).

Only the library's public API is used (`search`, `console`, `code_of`, `count`, `model`), so
the page works on every engine the library talks to. Uploads are read into memory up to a size
limit, decoded by the loader that ingest uses (`images.load_image`) and never written anywhere.
"""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .. import queries
from ..client import ElasticHash, Hit
from ..codes import Code
from ..errors import ClusterError, ElasticHashError, ImageError
from ..images import load_image
from .folders import ImageFolders, NotServed

#: The modes offered on the page: the plugin's exact query and the paper's two stages.
PAGE_MODES = ("exact", "paper")
MAX_K = 1000
DEFAULT_K = 100
DEFAULT_PAGE_SIZE = 20
DEFAULT_MAX_UPLOAD = 10 * 1024 * 1024
# A field name for the label filter: letters, digits and . _ - (no query syntax).
_FIELD_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")
_STATIC = resources.files(__package__) / "static"


class BadRequest(Exception):
    """A request the page cannot answer; the message is one sentence for the user."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SearchOptions:
    """What the user asked: the k nearest, shown `page_size` at a time, optionally filtered."""

    k: int = DEFAULT_K
    mode: str = "exact"
    page: int = 1
    prefix: str = ""
    label_field: str = "label"
    label: str = ""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> SearchOptions:
        k = _integer(params, "k", DEFAULT_K, 1, MAX_K)
        page = _integer(params, "page", 1, 1, MAX_K)
        mode = params.get("mode") or "exact"
        if mode not in PAGE_MODES:
            raise BadRequest(f"mode must be one of {', '.join(PAGE_MODES)}, got {mode!r}")
        label_field = (params.get("label_field") or "label").strip()
        if not _FIELD_NAME.match(label_field) or label_field in queries.CODE_FIELDS:
            raise BadRequest(f"label field must be a stored field's name, got {label_field!r}")
        return cls(
            k, mode, page, params.get("prefix", "").strip(), label_field, params.get("label", "")
        )

    def filter(self, folders: ImageFolders) -> dict[str, Any] | None:
        """The Elasticsearch query the hits must match: a path prefix and/or a label."""
        clauses: list[dict[str, Any]] = []
        prefixes = folders.prefix_clauses(self.prefix)
        if prefixes:
            clauses.append(
                {
                    "bool": {
                        "should": [{"prefix": {"path": p}} for p in prefixes],
                        "minimum_should_match": 1,
                    }
                }
            )
        if self.label.strip():
            clauses.append({"term": {self.label_field: self.label.strip()}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"bool": {"filter": clauses}}


def _integer(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    text = params.get(name)
    if text in (None, ""):
        return default
    try:
        value = int(text)
    except ValueError:
        raise BadRequest(f"{name} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be between {low} and {high}, got {value}")
    return value


def page_bounds(found: int, page: int, page_size: int) -> tuple[int, int, int]:
    """(start, end, pages) of `page` (from 1) over `found` hits; a page past the end is empty."""
    pages = max(1, math.ceil(found / page_size))
    start = min((page - 1) * page_size, found)
    return start, min(start + page_size, found), pages


class WebApp:
    """The page's handlers around one engine, its image folders and its limits."""

    def __init__(
        self,
        engine: ElasticHash,
        folders: ImageFolders,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
        encoders: int = 2,
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page size must be at least 1, got {page_size}")
        self.engine = engine
        self.folders = folders
        self.page_size = page_size
        self.max_upload_bytes = max_upload_bytes
        # Decoding and encoding hold a whole image in memory: only a few at once.
        self._encoding = asyncio.Semaphore(encoders)

    # --- routes ----------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        return FileResponse(str(_STATIC / "index.html"), media_type="text/html")

    async def info(self, request: Request) -> Response:
        count = await run_in_threadpool(self.engine.count)
        return JSONResponse(
            {
                "index": self.engine.index,
                "images": count,
                "page_size": self.page_size,
                "max_k": MAX_K,
                "default_k": DEFAULT_K,
                "modes": list(PAGE_MODES),
                "max_upload_bytes": self.max_upload_bytes,
                "folders": [root.name for root in self.folders.roots],
            }
        )

    async def search(self, request: Request) -> Response:
        params = request.query_params
        options = SearchOptions.parse(params)
        if params.get("id"):
            doc_id = params["id"]
            if len(doc_id) > 512:
                raise BadRequest("id is too long to be an image's id")
            code, path = await run_in_threadpool(self._stored_code, doc_id)
            query = {
                "kind": "indexed",
                "id": doc_id,
                "path": self.folders.display_name(path),
                "image_url": self.folders.url_of(path),
            }
        elif params.get("code"):
            code = Code.from_hex(params["code"].strip())
            query = {"kind": "code"}
        else:
            raise BadRequest("say what to search by: an image (upload one) or an indexed image")
        return JSONResponse(await self._answer(code, options, query))

    async def upload(self, request: Request) -> Response:
        options = SearchOptions.parse(request.query_params)
        name = Path(request.query_params.get("name") or "upload").name[:200] or "upload"
        data = await self._read_limited(request, name)
        async with self._encoding:
            started = time.perf_counter()
            code = await run_in_threadpool(self._encode, data, name)
            encode_ms = (time.perf_counter() - started) * 1000
        answer = await self._answer(code, options, {"kind": "upload", "name": name})
        answer["encode_ms"] = round(encode_ms, 1)
        return JSONResponse(answer)

    async def file(self, request: Request) -> Response:
        try:
            path = self.folders.file(int(request.path_params["root"]), request.path_params["path"])
        except NotServed as error:
            return JSONResponse({"error": str(error)}, status_code=404)
        return FileResponse(path, headers={"Cache-Control": "max-age=3600"})

    # --- work ------------------------------------------------------------------------------

    def _stored_code(self, doc_id: str) -> tuple[Code, str | None]:
        """An indexed image's code as stored (`hash`), not encoded again, and its path."""
        document = self.engine.get(doc_id)
        if document is None or not isinstance(document.get(queries.HEX_FIELD), str):
            raise BadRequest(f"no image with id {doc_id!r} in index '{self.engine.index}'", 404)
        return Code.from_hex(document[queries.HEX_FIELD]), document.get("path")

    def _encode(self, data: bytes, name: str) -> Code:
        # The ingest's loader: the same refusals (not an image, truncated, bomb) as indexing.
        return self.engine.code_of(load_image(data, name=name))

    async def _read_limited(self, request: Request, name: str) -> bytes:
        """The request body, refused as soon as it passes the limit (never kept on disk)."""
        limit = self.max_upload_bytes
        too_large = BadRequest(
            f"{name}: the upload is larger than the limit of {_size(limit)}", 413
        )
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        if size == 0:
            raise BadRequest(f"{name}: the file is empty (0 bytes)")
        return b"".join(chunks)

    async def _answer(
        self, code: Code, options: SearchOptions, query: dict[str, Any]
    ) -> dict[str, Any]:
        """Runs the search for the k nearest and returns the page asked for, as JSON."""
        search = {"k": options.k, "mode": options.mode, "filter": options.filter(self.folders)}
        started = time.perf_counter()
        hits: list[Hit] = await run_in_threadpool(self.engine.search, code, **search)
        search_ms = (time.perf_counter() - started) * 1000
        start, end, pages = page_bounds(len(hits), options.page, self.page_size)
        return {
            "query": {**query, "code": code.hex},
            "k": options.k,
            "mode": options.mode,
            "page": options.page,
            "pages": pages,
            "page_size": self.page_size,
            "found": len(hits),
            "search_ms": round(search_ms, 1),
            "hits": [
                {
                    "rank": rank,
                    "id": hit.id,
                    "distance": hit.distance,
                    "path": self.folders.display_name(hit.source.get("path")),
                    "image_url": self.folders.url_of(hit.source.get("path")),
                }
                for rank, hit in enumerate(hits[start:end], start + 1)
            ],
            # The very request that produced these hits, for Kibana Dev Tools.
            "console": self.engine.console(code, **search),
        }


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MB" if n >= 1024 * 1024 else f"{n / 1024:g} KB"


async def _error(request: Request, error: Exception) -> Response:
    """Every expected failure as {"error": sentence}; never a stack trace."""
    if isinstance(error, BadRequest):
        return JSONResponse({"error": str(error)}, status_code=error.status)
    if isinstance(error, ImageError):
        return JSONResponse({"error": str(error)}, status_code=400)
    if isinstance(error, ClusterError):
        return JSONResponse({"error": str(error)}, status_code=502)
    return JSONResponse({"error": str(error)}, status_code=400)  # other ElasticHashError


class _SecurityHeaders:
    """No framing, no sniffing, no referrer, and scripts/styles from this server only."""

    HEADERS = (
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (
            b"content-security-policy",
            b"default-src 'self'; img-src 'self' blob: data:; object-src 'none'; "
            b"base-uri 'none'; frame-ancestors 'none'",
        ),
    )

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def create_app(
    engine: ElasticHash,
    folders: ImageFolders,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    allowed_hosts: list[str] | None = None,
) -> Starlette:
    """The ASGI app. `allowed_hosts` (Host header names; default the loopback names) keeps
    other web sites from reaching the page through DNS rebinding."""
    web = WebApp(engine, folders, page_size, max_upload_bytes)
    return Starlette(
        routes=[
            Route("/", web.page),
            Route("/api/info", web.info),
            Route("/api/search", web.search),
            Route("/api/upload", web.upload, methods=["POST"]),
            Route("/files/{root:int}/{path:path}", web.file),
            Mount("/static", StaticFiles(directory=str(_STATIC)), name="static"),
        ],
        middleware=[
            Middleware(
                TrustedHostMiddleware,
                allowed_hosts=allowed_hosts or ["127.0.0.1", "localhost"],
            ),
            Middleware(_SecurityHeaders),
        ],
        exception_handlers={BadRequest: _error, ElasticHashError: _error},
    )
