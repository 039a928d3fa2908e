"""The web page's routes (Starlette TestClient): what is served, what uploads are refused, paging.

No Elasticsearch here: `ElasticHash.search` and `count` are replaced by a recorder over a fixed
list of hits; the model (the tiny test model), the loader, the bodies and the console text are
the library's own. integration-tests/web/ drives the page in a real browser on a real node.
"""

from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the web extra is not installed")
from starlette.testclient import TestClient  # noqa: E402

from elastichash import Code  # noqa: E402
from elastichash.client import ElasticHash, Hit  # noqa: E402
from elastichash.errors import ClusterError  # noqa: E402
from elastichash.web import ImageFolders, NotServed, create_app  # noqa: E402
from elastichash.web.app import SearchOptions, page_bounds  # noqa: E402
from owned_messages import hex_error, image_error  # noqa: E402


def png_bytes(color: tuple[int, int, int], size: int = 32) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), color).save(out, "PNG")
    return out.getvalue()


def bomb_png(width: int = 40_000, height: int = 40_000) -> bytes:
    """A valid PNG header announcing 1.6 billion pixels, with a few bytes of data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


class Recorder(ElasticHash):
    """The library's engine with its cluster calls answered from a list."""

    def __init__(self, model: Path, folder: Path, n: int = 45) -> None:
        super().__init__(es=None, index="imgs", model=str(model))  # type: ignore[arg-type]
        self.calls: list[dict[str, Any]] = []
        self.stored = Code("ab" * 32)
        self.hits = [
            Hit(f"id{i:03d}", 256.0 - i, i, {"path": str(folder / f"{i:03d}.png")})
            for i in range(n)
        ]

    def count(self) -> int:
        return len(self.hits)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        self.calls.append({"get": doc_id})  # the page's look-up of a stored code by id
        return None if doc_id == "missing" else {"hash": self.stored.hex, "path": "elsewhere.png"}

    def search(self, query: Any, *, k: int = 10, **options: Any) -> list[Hit]:
        self.calls.append({"query": query, "k": k, **options})
        if isinstance(query, Code) and query.hex == "f" * 64:
            raise ClusterError("cannot reach Elasticsearch at http://127.0.0.1:9: is it running?")
        return self.hits[:k]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    (images / "shoes").mkdir(parents=True)
    for i in range(3):
        (images / f"{i:03d}.png").write_bytes(png_bytes((i * 50, 0, 0)))
    (images / "shoes" / "boot.png").write_bytes(png_bytes((0, 90, 0)))
    (images / "notes.txt").write_text("not an image")
    secret = tmp_path / "secret.png"
    secret.write_bytes(png_bytes((1, 2, 3)))
    (images / "link-out.png").symlink_to(secret)
    (images / "dir-out").symlink_to(tmp_path)
    (images / "link-in.png").symlink_to(images / "001.png")
    return images


@pytest.fixture
def engine(tiny_model_path: Path, folder: Path) -> Recorder:
    return Recorder(tiny_model_path, folder)


@pytest.fixture
def client(engine: Recorder, folder: Path) -> TestClient:
    app = create_app(engine, ImageFolders([folder]), page_size=20, max_upload_bytes=64 * 1024)
    return TestClient(app, base_url="http://127.0.0.1")


# --- the files route: only images inside the indexed folders ----------------------------


def test_serves_an_image_of_the_indexed_folder(client: TestClient, folder: Path) -> None:
    answer = client.get("/files/0/shoes/boot.png")
    assert answer.status_code == 200
    assert answer.content == (folder / "shoes" / "boot.png").read_bytes()
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_symlink_inside_the_folder_is_served(client: TestClient, folder: Path) -> None:
    assert client.get("/files/0/link-in.png").content == (folder / "001.png").read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/files/0/../secret.png",
        "/files/0/%2e%2e/secret.png",
        "/files/0/shoes/..%2F..%2Fsecret.png",
        "/files/0/%2Fetc%2Fpasswd",
        "/files/0//etc/passwd",
        "/files/0/link-out.png",  # a symlink that points out of the folder
        "/files/0/dir-out/secret.png",  # through a symlinked directory
        "/files/0/notes.txt",  # inside, but not an image
        "/files/0/shoes",  # a directory
        "/files/1/000.png",  # no such folder number
        "/files/0/nothing.png",
    ],
)
def test_nothing_outside_the_folder_is_served(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404, path
    assert b"\x89PNG" not in answer.content
    assert b"root:" not in answer.content


def test_folders_refuse_traversal_absolute_paths_and_links_out(folder: Path) -> None:
    folders = ImageFolders([folder])
    assert folders.file(0, "shoes/boot.png") == (folder / "shoes" / "boot.png").resolve()
    for bad in (
        "../secret.png",
        "/etc/passwd",
        "link-out.png",
        "dir-out/secret.png",
        "a/../000.png",
    ):
        with pytest.raises(NotServed):
            folders.file(0, bad)


def test_urls_only_for_paths_inside_the_folders(folder: Path, tmp_path: Path) -> None:
    folders = ImageFolders([folder])
    assert folders.url_of(str(folder / "shoes" / "boot.png")) == "/files/0/shoes/boot.png"
    assert folders.url_of(str(tmp_path / "secret.png")) is None
    assert folders.url_of(str(folder / "link-out.png")) is None
    assert folders.url_of(None) is None
    assert folders.display_name(str(folder / "shoes" / "boot.png")) == "shoes/boot.png"


def test_relative_stored_paths_are_read_from_the_working_directory(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(folder.parent)
    folders = ImageFolders(["images"])
    assert folders.url_of("images/shoes/boot.png") == "/files/0/shoes/boot.png"
    assert folders.prefix_clauses("shoes/") == [
        "shoes/",
        f"{folder.resolve()}/shoes/",
        "images/shoes/",
    ]


def test_a_missing_folder_is_a_sentence(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a directory"):
        ImageFolders([tmp_path / "nope"])


def test_other_host_names_are_refused(engine: Recorder, folder: Path) -> None:
    """DNS rebinding: a page of another site must not reach the API through its own name."""
    app = create_app(engine, ImageFolders([folder]))
    answer = TestClient(app, base_url="http://evil.example").get("/api/info")
    assert answer.status_code == 400


# --- uploads: limited, decoded by the ingest's loader, never kept ------------------------


def test_an_upload_is_encoded_by_the_model_and_searched(
    client: TestClient, engine: Recorder, folder: Path
) -> None:
    data = (folder / "001.png").read_bytes()
    answer = client.post("/api/upload?name=query.png&k=30", content=data)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    expected = engine.model.encode_one(data)
    assert body["query"] == {"kind": "upload", "name": "query.png", "code": expected.hex}
    assert engine.calls[-1]["query"] == expected
    assert engine.calls[-1]["k"] == 30
    assert [hit["id"] for hit in body["hits"]] == [f"id{i:03d}" for i in range(20)]
    assert body["hits"][1]["image_url"] == "/files/0/001.png"
    assert body["hits"][5]["image_url"] is None  # 005.png is not on disk
    assert body["encode_ms"] > 0 and body["search_ms"] >= 0
    assert body["console"] == engine.console(expected, k=30, mode="exact", filter=None)


def test_nothing_uploaded_is_written_to_disk(
    client: TestClient, folder: Path, tmp_path: Path
) -> None:
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    client.post("/api/upload?name=query.png", content=(folder / "000.png").read_bytes())
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


def test_a_text_file_named_png_gets_a_sentence(client: TestClient, engine: Recorder) -> None:
    text = b"shopping list: milk, eggs\n"
    answer = client.post("/api/upload?name=notes.png", content=text)
    assert answer.status_code == 400
    assert answer.json() == {"error": image_error(text, "notes.png")}
    assert engine.calls == []


def test_a_decompression_bomb_gets_a_sentence(client: TestClient, engine: Recorder) -> None:
    answer = client.post("/api/upload?name=bomb.png", content=bomb_png())
    assert answer.status_code == 400
    message = answer.json()["error"]
    assert message.startswith("bomb.png: refused as a possible decompression bomb")
    assert "Traceback" not in message
    assert engine.calls == []


def test_an_oversized_upload_is_refused(client: TestClient, engine: Recorder) -> None:
    big = png_bytes((9, 9, 9), size=8) + b"\0" * (64 * 1024)
    answer = client.post("/api/upload?name=big.png", content=big)
    assert answer.status_code == 413
    assert answer.json() == {"error": "big.png: the upload is larger than the limit of 64 KB"}
    # Without a Content-Length (chunked), the stream is cut at the limit all the same.
    streamed = client.post("/api/upload?name=big.png", content=iter([big[:40_000], big[40_000:]]))
    assert streamed.status_code == 413
    assert engine.calls == []


def test_an_empty_upload_and_a_truncated_one(client: TestClient, folder: Path) -> None:
    assert client.post("/api/upload?name=e.png", content=b"").json() == {
        "error": "e.png: the file is empty (0 bytes)"
    }
    truncated = (folder / "000.png").read_bytes()[:60]
    answer = client.post("/api/upload?name=t.png", content=truncated)
    assert answer.status_code == 400
    assert answer.json()["error"].startswith("t.png: ")


def test_the_upload_name_cannot_smuggle_a_path(client: TestClient) -> None:
    answer = client.post("/api/upload?name=../../etc/x.png", content=b"text")
    assert answer.json()["error"] == "x.png: not an image Pillow can read"


# --- search by an indexed image, by code; options and paging -----------------------------


def test_search_by_an_indexed_image_uses_its_stored_code(
    client: TestClient, engine: Recorder
) -> None:
    body = client.get("/api/search?id=id007&k=45&page=3").json()
    lookup, searched = engine.calls
    assert lookup == {"get": "id007"}
    assert searched["query"] == engine.stored  # not encoded again
    assert body["query"]["code"] == engine.stored.hex
    assert body["query"]["kind"] == "indexed"
    assert (body["page"], body["pages"], body["found"]) == (3, 3, 45)
    assert [hit["rank"] for hit in body["hits"]] == list(range(41, 46))
    assert [hit["id"] for hit in body["hits"]] == [f"id{i:03d}" for i in range(40, 45)]


def test_an_unknown_id_is_a_404_sentence(client: TestClient) -> None:
    answer = client.get("/api/search?id=missing")
    assert answer.status_code == 404
    assert answer.json() == {"error": "no image with id 'missing' in index 'imgs'"}


def test_search_by_code_with_filters(client: TestClient, engine: Recorder, folder: Path) -> None:
    code = "0f" * 32
    body = client.get(
        f"/api/search?code={code}&k=5&mode=paper&prefix=shoes/&label_field=kind&label=boot"
    ).json()
    call = engine.calls[-1]
    assert call["mode"] == "paper" and call["k"] == 5
    prefixes = call["filter"]["bool"]["filter"][0]["bool"]["should"]
    assert {"prefix": {"path": f"{folder.resolve()}/shoes/"}} in prefixes
    assert call["filter"]["bool"]["filter"][1] == {"term": {"kind": "boot"}}
    console = body["console"].split("\n", 1)
    assert console[0] == "GET imgs/_search"
    assert json.loads(console[1])["query"]["hamming"]["filter"] == call["filter"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("code=abc", hex_error("abc")),
        ("code=" + "0" * 64 + "&k=0", "k must be between 1 and 1000, got 0"),
        ("code=" + "0" * 64 + "&k=ten", "k must be a whole number, got 'ten'"),
        ("code=" + "0" * 64 + "&mode=long", "mode must be one of exact, paper, got 'long'"),
        ("code=" + "0" * 64 + "&label_field=hash_r0", "label field must be a stored field"),
        ("code=" + "0" * 64 + "&label_field=a%20b", "label field must be a stored field"),
        ("", "say what to search by"),
    ],
)
def test_bad_parameters_are_sentences(client: TestClient, query: str, message: str) -> None:
    answer = client.get(f"/api/search?{query}")
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_a_cluster_error_is_a_sentence(client: TestClient) -> None:
    answer = client.get("/api/search?code=" + "f" * 64)
    assert answer.status_code == 502
    assert answer.json()["error"].startswith("cannot reach Elasticsearch")


def test_page_bounds() -> None:
    assert page_bounds(45, 1, 20) == (0, 20, 3)
    assert page_bounds(45, 3, 20) == (40, 45, 3)
    assert page_bounds(45, 4, 20) == (45, 45, 3)  # past the end: empty
    assert page_bounds(0, 1, 20) == (0, 0, 1)
    assert page_bounds(40, 2, 20) == (20, 40, 2)


def test_options_defaults() -> None:
    assert SearchOptions.parse({}) == SearchOptions()


def test_the_page_and_its_assets(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'id="results"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/api/info").json()["images"] == 45


def test_serve_refuses_a_taken_port() -> None:
    from elastichash.web import listen

    first = listen("127.0.0.1", 0)
    try:
        with pytest.raises(OSError, match="choose another --port"):
            listen("127.0.0.1", first.getsockname()[1])
    finally:
        first.close()


def test_the_cli_names_a_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from elastichash.cli import main

    code = main(["--es-url", "http://127.0.0.1:9", "serve", str(tmp_path / "nope")])
    assert code == 1
    assert capsys.readouterr().err.strip().endswith("nope: not a directory")
