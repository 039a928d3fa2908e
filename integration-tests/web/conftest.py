"""Fixtures for the web page in a real browser: an indexed image folder on the real node, a real
`elastichash serve` process, and Debian's headless Chromium driven by Selenium.

`make integration-test` installs chromium and chromium-driver when they are missing
(scripts/ensure-browser.sh); without them these tests fail with a sentence saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from elastichash import ElasticHash, connect
from elastichash.engines import Client
from elastichash.ingest import ImageItem
from PIL import Image, ImageDraw

PAGE_SIZE = 10


@dataclass
class IndexedFolder:
    """The folder served, the index of its images, and each image's id."""

    root: Path
    index: str
    engine: ElasticHash
    ids: dict[str, str]  # path below root → document id

    def path_of(self, doc_id: str) -> str:
        return next(path for path, known in self.ids.items() if known == doc_id)


def draw_image(rng: np.random.Generator, size: int = 64) -> Image.Image:
    """A picture of a few coloured shapes on a coloured ground; different for every draw."""
    image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.integers(0, 256, 3)))
    pen = ImageDraw.Draw(image)
    for _ in range(3):
        x0, y0 = (int(v) for v in rng.integers(0, size // 2, 2))
        x1, y1 = x0 + int(rng.integers(8, size // 2)), y0 + int(rng.integers(8, size // 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            pen.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            pen.rectangle((x0, y0, x1, y1), fill=colour)
    return image


@pytest.fixture(scope="session")
def indexed_folder(es: Client, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[IndexedFolder]:
    root = tmp_path_factory.mktemp("web") / "pictures"
    rng = np.random.default_rng(11)
    for group, count in (("a", 20), ("b", 16)):
        (root / group).mkdir(parents=True)
        for i in range(count):
            draw_image(rng).save(root / group / f"{i:02d}.png")
    index = f"it-web-{uuid.uuid4().hex[:8]}"
    engine = ElasticHash(connect(es_url), index=index)
    report = engine.index_directory(root, progress=False)
    assert report.ok and report.indexed == 36, report.summary()
    ids = {
        path.relative_to(root).as_posix(): ImageItem(str(path), path.read_bytes()).doc_id
        for path in sorted(root.rglob("*.png"))
    }
    yield IndexedFolder(root, index, engine, ids)
    es.indices.delete(index=index, ignore_unavailable=True)
    engine.es.close()


@pytest.fixture(scope="session")
def server(indexed_folder: IndexedFolder, es_url: str) -> Iterator[str]:
    """`elastichash serve` as its own process; yields its URL (the last line it prints)."""
    command = [
        sys.executable,
        "-m",
        "elastichash.cli",
        "--es-url",
        es_url,
        "--index",
        indexed_folder.index,
        "serve",
        str(indexed_folder.root),
        # 0: a port the system picks (and the server prints), free even with other suites running at once.
        "--port",
        "0",
        "--page-size",
        str(PAGE_SIZE),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url, seen = None, []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("http://"):
            url = line.strip()
    if url is None:
        process.kill()
        pytest.fail(f"elastichash serve did not start: {''.join(seen)}")
    yield url
    process.terminate()
    process.wait(timeout=15)


def _browser_paths() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver: run "
            "scripts/ensure-browser.sh (as root) or `make integration-test`"
        )
    return browser, driver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--window-size=1280,1100",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(argument)
    # A given driver path keeps Selenium Manager from looking for one on the internet.
    os.environ.setdefault("SE_OFFLINE", "true")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
