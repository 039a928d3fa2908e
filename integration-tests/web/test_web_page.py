"""The search-by-example page in headless Chromium, over a real node and a real server process.

Each test answers one question a user would ask of the page, and checks the page's answer
against the library's own search (or the node's answer to the page's console text).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from elastichash import Code
from elastichash.engines import Client
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from .conftest import PAGE_SIZE, IndexedFolder


def wait_for(driver: WebDriver, what: str, check: Callable[[], Any], timeout: float = 30) -> Any:
    """Polls `check` until it returns something true; fails naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - elements come and go while the page renders
            value = None
        if value:
            return value
        time.sleep(0.1)
    error = driver.find_element(By.ID, "error").text
    pytest.fail(f"the page never showed {what} (its error line: {error!r})")


def grid(driver: WebDriver) -> list[tuple[str, int, str]]:
    """(id, distance, path) of each result on the page, in order."""
    return [
        (
            card.get_attribute("data-id"),
            int(card.get_attribute("data-distance")),
            card.find_element(By.CLASS_NAME, "path").text,
        )
        for card in driver.find_elements(By.CSS_SELECTOR, "#results .hit")
    ]


def ready_for(driver: WebDriver, code: str) -> list[tuple[str, int, str]]:
    """Waits for the grid of the search by `code` and returns it."""

    def shown() -> list[tuple[str, int, str]] | None:
        body = driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        results = driver.find_element(By.ID, "results").get_attribute("data-query-code")
        return grid(driver) if body == "ready" and results == code else None

    return wait_for(driver, f"the results for code {code[:12]}...", shown)


def upload(driver: WebDriver, url: str, path: Path) -> None:
    driver.get(url)
    wait_for(driver, "the index line", lambda: "images" in driver.find_element(By.ID, "index-info").text)
    driver.find_element(By.ID, "file").send_keys(str(path))


def library_answer(folder: IndexedFolder, code: Code, k: int = 100) -> list[tuple[str, int, str]]:
    hits = folder.engine.search(code, k=k)
    return [(hit.id, hit.distance, Path(hit.source["path"]).relative_to(folder.root).as_posix()) for hit in hits]


def test_an_indexed_picture_comes_first_at_distance_0(
    browser: WebDriver, server: str, indexed_folder: IndexedFolder
) -> None:
    picture = indexed_folder.root / "a" / "07.png"
    code = indexed_folder.engine.model.encode_one(picture)
    upload(browser, server, picture)
    shown = ready_for(browser, code.hex)
    assert shown[0] == (indexed_folder.ids["a/07.png"], 0, "a/07.png")
    assert shown == library_answer(indexed_folder, code)[:PAGE_SIZE]
    timing = browser.find_element(By.ID, "timing").text
    found = re.fullmatch(
        r"exact search for the 100 nearest: ([\d.]+) ms \(\+ ([\d.]+) ms to encode the upload\) · 36 found",
        timing,
    )
    assert found, timing
    print(f"\npage search time: {found[1]} ms, encoding {found[2]} ms")
    # The address names the query by its code: a link that gives the same search.
    assert f"code={code.hex}" in browser.current_url
    assert browser.find_element(By.ID, "query-image").get_attribute("src").startswith("blob:")


def test_clicking_the_second_result_searches_by_it(
    browser: WebDriver, server: str, indexed_folder: IndexedFolder
) -> None:
    picture = indexed_folder.root / "b" / "03.png"
    upload(browser, server, picture)
    first = ready_for(browser, indexed_folder.engine.model.encode_one(picture).hex)
    second_id, _, second_path = first[1]
    browser.find_elements(By.CSS_SELECTOR, "#results .hit")[1].click()
    # Searched by the code stored for that image: the library's encoding of the same file.
    second_code = indexed_folder.engine.model.encode_one(indexed_folder.root / second_path)
    shown = ready_for(browser, second_code.hex)
    assert shown[0] == (second_id, 0, second_path)
    assert shown == library_answer(indexed_folder, second_code)[:PAGE_SIZE]
    assert f"id={second_id}" in browser.current_url
    assert browser.find_element(By.ID, "query-name").text == second_path
    # The back button returns to the upload's neighbours.
    browser.back()
    assert ready_for(browser, indexed_folder.engine.model.encode_one(picture).hex) == first


def test_a_text_file_named_png_gets_a_sentence(browser: WebDriver, server: str, tmp_path: Path) -> None:
    notes = tmp_path / "notes.png"
    notes.write_text("shopping list: milk, eggs, bread\n")
    upload(browser, server, notes)
    error = browser.find_element(By.ID, "error")
    message = wait_for(browser, "an error line", lambda: error.is_displayed() and error.text)
    assert message == "notes.png: not an image Pillow can read"


def test_the_console_text_replays_to_the_same_hits(
    browser: WebDriver, server: str, indexed_folder: IndexedFolder, es: Client
) -> None:
    doc_id = indexed_folder.ids["a/12.png"]
    browser.get(f"{server}?id={doc_id}&k=25&prefix=a/")
    code = indexed_folder.engine.model.encode_one(indexed_folder.root / "a" / "12.png")
    shown = ready_for(browser, code.hex)
    text = browser.find_element(By.ID, "console").text
    request, body = text.split("\n", 1)
    assert request == f"GET {indexed_folder.index}/_search"
    replay = es.search(index=indexed_folder.index, body=json.loads(body))
    replayed = [hit["fields"]["image_id"][0] for hit in replay["hits"]["hits"]]
    assert len(replayed) == 20  # k=25, but only 20 images lie under a/
    assert [row[0] for row in shown] == replayed[:PAGE_SIZE]
    assert all(row[2].startswith("a/") for row in shown)

    # The copy button puts exactly that text on the clipboard.
    browser.execute_cdp_cmd(
        "Browser.grantPermissions",
        {"origin": server.rstrip("/"), "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]},
    )
    browser.find_element(By.ID, "copy").click()
    wait_for(browser, "'copied'", lambda: browser.find_element(By.ID, "copy-status").text == "copied")
    pasted = browser.execute_async_script(
        "navigator.clipboard.readText().then(arguments[0], (e) => arguments[0]('error: ' + e))"
    )
    assert pasted.strip() == text.strip()


def test_pages_and_shared_links(browser: WebDriver, server: str, indexed_folder: IndexedFolder) -> None:
    doc_id = indexed_folder.ids["b/00.png"]
    code = indexed_folder.engine.model.encode_one(indexed_folder.root / "b" / "00.png")
    expected = library_answer(indexed_folder, code, k=36)
    browser.get(f"{server}?id={doc_id}&k=36")
    assert ready_for(browser, code.hex) == expected[:10]
    assert browser.find_element(By.ID, "page-info").text == "page 1 of 4"
    browser.find_element(By.ID, "next").click()
    wait_for(browser, "page 2", lambda: browser.find_element(By.ID, "page-info").text == "page 2 of 4")
    assert ready_for(browser, code.hex) == expected[10:20]
    ranks = [c.get_attribute("data-rank") for c in browser.find_elements(By.CSS_SELECTOR, "#results .hit")]
    assert ranks == [str(r) for r in range(11, 21)]
    # The last page holds the remaining 6 of the 36 nearest; the address alone brings it back.
    browser.get(f"{server}?id={doc_id}&k=36&page=4")
    assert ready_for(browser, code.hex) == expected[30:36]
    assert browser.find_element(By.ID, "next").get_attribute("class") == "off"
    # Changing the mode in the form searches again with the paper's two stages.
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element(By.ID, "mode")).select_by_value("paper")
    browser.find_element(By.ID, "apply").click()
    wait_for(browser, "the paper mode", lambda: "mode=paper" in browser.current_url)
    paper = [
        (hit.id, hit.distance, Path(hit.source["path"]).relative_to(indexed_folder.root).as_posix())
        for hit in indexed_folder.engine.search(code, k=36, mode="paper")
    ]
    assert ready_for(browser, code.hex) == paper[:10]
    assert browser.find_element(By.ID, "timing").text.startswith("paper search for the 36 nearest")


def test_a_dropped_image_is_searched(browser: WebDriver, server: str, indexed_folder: IndexedFolder) -> None:
    browser.get(server)
    wait_for(browser, "the index line", lambda: "images" in browser.find_element(By.ID, "index-info").text)
    # What a drag from the desktop delivers: a drop event whose DataTransfer holds the file.
    browser.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0]).then((r) => r.blob()).then((blob) => {
          const files = new DataTransfer();
          files.items.add(new File([blob], "dropped.png", { type: "image/png" }));
          const zone = document.getElementById("drop");
          zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: files, bubbles: true, cancelable: true }));
          zone.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
          done();
        });
        """,
        "/files/0/b/09.png",
    )
    code = indexed_folder.engine.model.encode_one(indexed_folder.root / "b" / "09.png")
    assert ready_for(browser, code.hex)[0] == (indexed_folder.ids["b/09.png"], 0, "b/09.png")
    assert browser.find_element(By.ID, "query-name").text == "dropped.png (uploaded, not stored)"
