"""Indexing with metadata (a manifest, or fields given to `index_images`), fields used in the
query's filter, and an ingest report that adds up when a folder holds identical copies."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from elastichash import ElasticHash
from elastichash.engines import Client
from PIL import Image


@pytest.fixture
def engine(es: Client, tiny_model: str) -> Iterator[ElasticHash]:
    engine = ElasticHash(es, index=f"it-manifest-{uuid.uuid4().hex[:8]}", model=tiny_model)
    yield engine
    es.indices.delete(index=engine.index, ignore_unavailable=True)


def pictures(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(11)
    paths = []
    for i in range(n):
        path = folder / f"{i:02d}.png"
        Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def test_a_csv_manifest_s_columns_become_fields_for_the_filter(engine: ElasticHash, tmp_path: Path) -> None:
    pictures(tmp_path / "shop", 8)
    lines = ["path,id,category,price"]
    lines += [f"shop/{i:02d}.png,sku-{i},{'shoe' if i % 2 else 'hat'},{10 + i}" for i in range(8)]
    lines += ["shop/gone.png,sku-gone,shoe,1", ",sku-nowhere,hat,2", "http://127.0.0.1:9/x.png,sku-web,hat,3"]
    manifest = tmp_path / "products.csv"
    manifest.write_text("\n".join(lines) + "\n")
    report = engine.index_manifest(manifest, progress=False)
    assert (report.total, report.indexed) == (11, 8)
    assert report.failed == {
        f"{manifest}:10 (shop/gone.png)": "no such file",
        f"{manifest}:11": "no path or url",
        f"{manifest}:12 (http://127.0.0.1:9/x.png)": "cannot fetch it (connection refused or no route)",
    }
    document = engine.es.get(index=engine.index, id="sku-3")["_source"]
    assert {k: document[k] for k in ("path", "category", "price")} == {
        "path": "shop/03.png",
        "category": "shoe",
        "price": "13",
    }
    hits = engine.search(tmp_path / "shop" / "02.png", k=8, filter={"term": {"category": "shoe"}})
    assert sorted(hit.id for hit in hits) == ["sku-1", "sku-3", "sku-5", "sku-7"]
    again = engine.index_manifest(manifest, progress=False)
    assert (again.indexed, again.already_indexed, len(again.failed)) == (0, 8, 3)


def test_json_lines_keep_their_types(engine: ElasticHash, tmp_path: Path) -> None:
    paths = pictures(tmp_path / "p", 6)
    rows = [
        {"path": str(path), "price": 5.5 * i, "tags": ["a", f"t{i % 2}"], "owner": {"team": "x"}}
        for i, path in enumerate(paths)
    ]
    text = "\n".join(json.dumps(row) for row in rows) + "\n[1, 2]\nnot json\n"
    manifest = tmp_path / "photos.jsonl"
    manifest.write_text(text)
    report = engine.index_manifest(manifest, progress=False)
    assert report.indexed == 6 and report.failed == {
        f"{manifest}:7": "not a JSON object",
        f"{manifest}:8": "not JSON (Expecting value)",
    }
    hits = engine.search(paths[0], k=6, filter={"range": {"price": {"gte": 10}}})
    assert len(hits) == 4
    hits = engine.search(paths[0], k=6, filter={"term": {"tags": "t1"}}, source=True)
    assert sorted(hit.source["price"] for hit in hits) == [5.5, 16.5, 27.5]


def test_index_images_takes_fields(engine: ElasticHash, tmp_path: Path) -> None:
    paths = pictures(tmp_path / "f", 4)
    report = engine.index_images(
        [(f"img-{i}", path.read_bytes(), {"owner": "ann" if i < 2 else "bob"}) for i, path in enumerate(paths)],
        progress=False,
    )
    assert report.indexed == 4
    hits = engine.search(paths[3], k=4, filter={"term": {"owner": "bob"}})
    assert sorted(hit.id for hit in hits) == ["img-2", "img-3"]
    with pytest.raises(ValueError, match="hash are ElasticHash's own fields"):
        engine.index_images([("x", paths[0].read_bytes(), {"hash": "0" * 64})], progress=False)


def test_the_report_adds_up_with_identical_copies_and_keeps_their_paths(engine: ElasticHash, tmp_path: Path) -> None:
    folder = tmp_path / "copies"
    originals = pictures(folder, 10)
    (folder / "again").mkdir()
    shutil.copy(originals[0], folder / "again" / "00-copy.png")
    shutil.copy(originals[0], folder / "zz-00-second-copy.png")
    shutil.copy(originals[4], folder / "again" / "04-copy.png")
    (folder / "broken.png").write_bytes(b"not a picture")
    report = engine.index_directory(folder, progress=False, batch_size=4)
    assert report.total == 14
    assert (report.indexed, report.already_indexed, len(report.duplicates), len(report.failed)) == (10, 0, 3, 1)
    assert report.total == report.done
    summary = report.summary().splitlines()
    assert summary[0] == "14 files: indexed 10, already indexed 0, failed 1, identical to another file 3"
    assert (
        f"  identical: {originals[0]} = {folder / 'again' / '00-copy.png'} = {folder / 'zz-00-second-copy.png'}"
        in summary
    )
    assert f"  identical: {originals[4]} = {folder / 'again' / '04-copy.png'}" in summary
    engine.es.indices.refresh(index=engine.index)
    hits = engine.search(originals[0], k=1, source=True)
    assert hits[0].source["path"] == str(originals[0])
    assert hits[0].source["other_paths"] == sorted(
        [str(folder / "again" / "00-copy.png"), str(folder / "zz-00-second-copy.png")]
    )
    assert engine.count() == 10
    again = engine.index_directory(folder, progress=False, batch_size=4)
    assert (again.indexed, again.already_indexed, len(again.duplicates), len(again.failed)) == (0, 10, 3, 1)
    assert again.total == again.done == 14
    assert engine.search(originals[0], k=1, source=True)[0].source["other_paths"] == hits[0].source["other_paths"]


def test_cli_indexes_a_manifest_and_names_a_bad_one(
    es_url: str, engine: ElasticHash, tiny_model: str, tmp_path: Path
) -> None:
    pictures(tmp_path / "shop", 4)
    manifest = tmp_path / "shop.csv"
    manifest.write_text("url,colour\n" + "".join(f"shop/{i:02d}.png,{'red' if i < 3 else 'blue'}\n" for i in range(4)))
    base = [sys.executable, "-m", "elastichash.cli", "--es-url", es_url, "--index", engine.index, "--model", tiny_model]
    indexed = subprocess.run(
        [*base, "index", str(manifest), "--no-progress"], capture_output=True, text=True, timeout=300
    )
    assert indexed.returncode == 0, indexed.stderr
    assert indexed.stdout.startswith("4 files: indexed 4, already indexed 0, failed 0")
    found = subprocess.run(
        [*base, "search", str(tmp_path / "shop" / "00.png"), "--filter", '{"term": {"colour": "red"}}', "--json"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert len(json.loads(found.stdout)) == 3
    bad = tmp_path / "bad.csv"
    bad.write_text("file,colour\na.png,red\n")
    refused = subprocess.run([*base, "index", str(bad)], capture_output=True, text=True, timeout=300)
    assert refused.returncode == 1
    assert refused.stderr == (
        f"elastichash: error: {bad}: the manifest has no `path` or `url` column (its columns: file, colour); "
        "one of them names each image\n"
    )
    picture = subprocess.run(
        [*base, "index", str(tmp_path / "shop" / "00.png")], capture_output=True, text=True, timeout=300
    )
    assert (
        "a file, but not a manifest; index takes a folder of images or a manifest (.csv, .jsonl, .ndjson)"
        in picture.stderr
    )
