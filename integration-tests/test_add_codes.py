"""Codes for the documents of an existing index (`add-codes`), against a real node.

A catalogue index of the user's own (their mapping, their fields, no code) names each product's
image by a file path or a URL served by a local web server that also serves the usual trouble: a
404, a slow answer, a web page, a file over the limit (announced or not), a redirect to a file.
Only the code may change in a document; what fails is named by id; a re-run adds nothing.
"""

from __future__ import annotations

import functools
import io
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import bulk
from elastichash import ClusterError, ElasticHash, HashModel, engines
from elastichash.engines import Client, helpers_of
from elastichash.sources import ImageReader
from PIL import Image

N_PICTURES = 24


@functools.cache
def png(seed: int) -> bytes:
    array = np.random.default_rng(seed).integers(0, 256, (36, 36, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(array).save(out, "PNG")
    return out.getvalue()


class CatalogueServer(BaseHTTPRequestHandler):
    """Pictures at /img/N.png, and the troubles a catalogue's URLs meet."""

    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        if self.path.startswith("/img/"):
            self._send(200, "image/png", png(int(self.path[5:].split(".")[0])))
        elif self.path == "/slow.png":
            time.sleep(8)
            self._send(200, "image/png", png(1))
        elif self.path == "/page.html":
            self._send(200, "text/html; charset=utf-8", b"<html><body>Not found, sorry</body></html>")
        elif self.path == "/huge.png":
            self._send(200, "image/png", b"\0" * (3 << 20))
        elif self.path == "/huge-unannounced.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.end_headers()  # no length: the body runs until the connection closes
            self.close_connection = True
            for _ in range(48):
                self.wfile.write(b"\0" * (64 << 10))
        elif self.path == "/to-a-file.png":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()
        else:
            self._send(404, "text/plain", b"no such picture")

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), CatalogueServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("catalogue")
    for i in range(N_PICTURES):
        (folder / f"{i}.png").write_bytes(png(i))
    (folder / "notes.png").write_text("a shopping list, not a picture")
    return folder


@pytest.fixture
def catalogue(es: Client) -> Iterator[str]:
    name = f"it-catalogue-{uuid.uuid4().hex[:8]}"
    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "photo": {"type": "keyword"},
                    "name": {"type": "text"},
                    "price": {"type": "float"},
                    "tags": {"type": "keyword"},
                    "added": {"type": "date"},
                }
            },
        },
    )
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


def product(i: int, photo: Any) -> dict[str, Any]:
    document = {"name": f"product {i}", "price": round(1.5 * i, 2), "tags": ["a", f"t{i % 3}"]}
    document["added"] = f"2026-0{1 + i % 9}-1{i % 10}"
    document["vendor"] = {"country": "NL", "rating": i % 5}  # dynamically mapped, nested
    if photo is not None:
        document["photo"] = photo
    return document


#: Documents whose image cannot be read, and a phrase their reason must hold.
TROUBLE = {
    "no-photo": (None, "no `photo` field"),
    "number": (42, "not a path or URL"),
    "not-there": ("missing/nothing.png", "no such file"),
    "not-an-image": ("notes.png", "not an image"),
    "web-404": ("{web}/img-none/7.png", "HTTP 404"),
    "web-slow": ("{web}/slow.png", "timed out"),
    "web-page": ("{web}/page.html", "not an image: the server sent text/html"),
    "web-huge": ("{web}/huge.png", "the image is 3.0 MiB, over the 1 MiB accepted"),
    "web-huge-unannounced": ("{web}/huge-unannounced.png", "over the 1 MiB accepted"),
    "web-to-a-file": ("{web}/to-a-file.png", "cannot fetch it"),
    "ftp": ("ftp://example.org/1.png", "only file paths and http(s) URLs"),
}


def fill(es: Client, index: str, web: str, pictures: Path, n: int, url_every: int = 4) -> dict[str, int]:
    """n products: even ones by a relative path, odd ones by an absolute path, every
    `url_every`-th (from the second on) by a URL; then the troubles. Returns the picture number
    of each good document."""
    picture_of: dict[str, int] = {}
    actions = []
    for i in range(n):
        number = i % N_PICTURES
        photo = f"{number}.png" if i % 2 == 0 else str(pictures / f"{number}.png")
        if i % url_every == 1:
            photo = f"{web}/img/{number}.png"
        picture_of[f"p{i:05d}"] = number
        actions.append({"_index": index, "_id": f"p{i:05d}", **product(i, photo)})
    for j, (doc_id, (photo, _)) in enumerate(TROUBLE.items()):
        location = photo.format(web=web) if isinstance(photo, str) else photo
        actions.append({"_index": index, "_id": doc_id, **product(1000 + j, location)})
    assert bulk(es, actions)[0] == len(actions)
    es.indices.refresh(index=index)
    return picture_of


def sources(es: Client, index: str) -> dict[str, dict[str, Any]]:
    return {hit["_id"]: hit["_source"] for hit in helpers_of(es).scan(es, index=index, size=1000)}


def reader(pictures: Path) -> ImageReader:
    # The slow picture answers after 8 s: a time-out of 3 s leaves a busy machine room to spare.
    return ImageReader(base_dir=pictures, max_bytes=1 << 20, timeout=3.0, connect_timeout=3.0)


def test_add_codes_writes_only_the_code_names_failures_and_runs_again_for_nothing(
    es: Client, catalogue: str, web: str, pictures: Path, tiny_model: str
) -> None:
    picture_of = fill(es, catalogue, web, pictures, 200)
    before = sources(es, catalogue)
    engine = ElasticHash(es, index=catalogue, model=tiny_model)
    report = engine.add_codes("photo", reader=reader(pictures), progress=False)
    assert report.total == 200 + len(TROUBLE)
    assert report.coded == 200 and set(report.failed) == set(TROUBLE)
    for doc_id, (_, phrase) in TROUBLE.items():
        assert phrase in report.failed[doc_id], (doc_id, report.failed[doc_id])
    # Document by document: the code is the only change, and it is the image's own code.
    model = HashModel(tiny_model)
    expected = model.encode_hex([png(i) for i in range(N_PICTURES)])
    after = sources(es, catalogue)
    coded = sources(es, catalogue)
    assert set(after) == set(before)
    for doc_id, document in after.items():
        code = document.pop("hash", None)
        assert document == before[doc_id], doc_id
        assert code == (expected[picture_of[doc_id]] if doc_id in picture_of else None), doc_id
    mapping = es.indices.get_mapping(index=catalogue)[catalogue]["mappings"]
    assert mapping["properties"]["hash"]["type"] == "hamming_code"
    assert mapping["_meta"]["elastichash"]["model"]["file"] == "tiny.onnx"
    # Searchable at once, with the user's own fields as filters.
    hits = engine.search(pictures / "5.png", k=3, filter={"range": {"price": {"lte": 20}}})
    assert hits[0].distance == 0 and hits[0].id == "p00005"
    assert all(before[hit.id]["price"] <= 20 for hit in hits)
    # Again: only the failures are visited, and fail again with the same reasons.
    again = engine.add_codes("photo", reader=reader(pictures), progress=False)
    assert (again.total, again.coded, again.failed) == (len(TROUBLE), 0, report.failed)
    assert sources(es, catalogue) == coded


def test_ten_thousand_documents_change_nowhere_but_their_code(
    es: Client, catalogue: str, web: str, pictures: Path, tiny_model: str
) -> None:
    """The issue's scale: every other field of 10,000 documents compared before and after."""
    picture_of = fill(es, catalogue, web, pictures, 10_000, url_every=40)
    before = sources(es, catalogue)
    engine = ElasticHash(es, index=catalogue, model=tiny_model)
    report = engine.add_codes("photo", reader=reader(pictures), progress=False)
    assert (report.coded, len(report.failed)) == (10_000, len(TROUBLE)), sorted(report.failed.items())[:30]
    after = sources(es, catalogue)
    changed = [doc_id for doc_id in before if {k: v for k, v in after[doc_id].items() if k != "hash"} != before[doc_id]]
    assert changed == []
    assert sum("hash" in document for document in after.values()) == len(picture_of)


def test_a_document_changed_meanwhile_is_not_given_its_old_image_s_code(
    es: Client, catalogue: str, web: str, pictures: Path, tiny_model: str
) -> None:
    fill(es, catalogue, web, pictures, 40)
    engine = ElasticHash(es, index=catalogue, model=tiny_model)
    moved = {"p00003": False}

    def change_one_image() -> bool:  # asked before each batch: the first batch is in hand
        if not moved["p00003"]:
            es.update(index=catalogue, id="p00003", body={"doc": {"photo": "7.png"}}, refresh=True)
            moved["p00003"] = True
        return False

    report = engine.add_codes(
        "photo", reader=reader(pictures), batch_size=64, progress=False, should_stop=change_one_image
    )
    assert report.failed["p00003"] == "changed while it was being coded; run again to code it"
    assert "hash" not in es.get(index=catalogue, id="p00003")["_source"]
    again = engine.add_codes("photo", reader=reader(pictures), progress=False)
    assert "p00003" not in again.failed and again.coded == 1
    code = es.get(index=catalogue, id="p00003")["_source"]["hash"]
    assert code == HashModel(tiny_model).encode_hex([pictures / "7.png"])[0]


def test_clear_sentences_for_a_missing_index_or_field(es: Client, catalogue: str, tiny_model: str) -> None:
    with pytest.raises(
        ClusterError,
        match="index 'it-no-such-catalogue' does not exist .* adding codes needs an index that holds documents",
    ):
        ElasticHash(es, index="it-no-such-catalogue", model=tiny_model).add_codes("photo")
    with pytest.raises(ClusterError, match=f"index '{catalogue}' has no field `picture`"):
        ElasticHash(es, index=catalogue, model=tiny_model).add_codes("picture")


def test_cli_add_codes(es: Client, es_url: str, catalogue: str, web: str, pictures: Path, tiny_model: str) -> None:
    fill(es, catalogue, web, pictures, 10)
    command = [
        sys.executable, "-m", "elastichash.cli", "--es-url", es_url, "add-codes", "--index", catalogue,
        "--model", tiny_model, "--image-field", "photo", "--base-dir", str(pictures), "--timeout", "3",
        "--max-image-mb", "1", "--no-progress",
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stderr  # some documents failed
    assert result.stdout.startswith(f"{10 + len(TROUBLE)} documents without a code: coded 10, failed {len(TROUBLE)}\n")
    assert "  failed: web-404: the server answered HTTP 404\n" in result.stdout
    assert "Traceback" not in result.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.stdout.startswith(f"{len(TROUBLE)} documents without a code: coded 0, failed {len(TROUBLE)}\n")
    assert es.count(index=catalogue)["count"] == 10 + len(TROUBLE)


def test_two_slices_share_the_work_without_overlap(
    es: Client, catalogue: str, web: str, pictures: Path, tiny_model: str
) -> None:
    """What several processes would each run: slice 0 and slice 1 of 2, walking one point in time
    opened first, code every document once; a slice run again (its worker died) finds its
    documents coded already."""
    picture_of = fill(es, catalogue, web, pictures, 120, url_every=1000)
    engine = ElasticHash(es, index=catalogue, model=tiny_model)
    pit = engines.open_point_in_time(es, catalogue, "5m")
    try:
        parts = [
            engine.add_codes("photo", reader=reader(pictures), slice_id=i, slices=2, progress=False, point_in_time=pit)
            for i in (0, 1)
        ]
        again = engine.add_codes(
            "photo", reader=reader(pictures), slice_id=0, slices=2, progress=False, point_in_time=pit
        )
    finally:
        engines.close_point_in_time(es, pit)
    assert (again.coded, again.already_coded, again.failed) == (0, parts[0].coded, parts[0].failed)
    assert all(part.coded > 0 for part in parts)
    assert sum(part.coded for part in parts) == len(picture_of)
    assert sum(part.total or 0 for part in parts) == len(picture_of) + len(TROUBLE)
    assert set(parts[0].failed).isdisjoint(parts[1].failed)
    assert set(parts[0].failed) | set(parts[1].failed) == set(TROUBLE)
