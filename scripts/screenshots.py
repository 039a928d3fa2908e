"""Screenshots of the demo's web page for the README, taken with headless Debian Chromium.

    python scripts/screenshots.py --url http://127.0.0.1:8700/     (`make screenshots`)

Needs `make demo` first (the node, the indexed sample images, the page). Writes docs/img/web-*.png
and prints the search times the page showed.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "img"
QUERY = ROOT / "build" / "demo" / "queries" / "sneaker-6.png"


def browser(profile: str) -> WebDriver:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not binary or not driver:
        sys.exit("screenshots: need chromium and chromium-driver (make browser)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--hide-scrollbars",
        "--window-size=1200,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=driver))


def settle(driver: WebDriver, code: str | None = None, timeout: float = 30) -> None:
    """Waits for the page to show an answer (for `code` when given) and its thumbnails."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = driver.find_element(By.TAG_NAME, "body").get_attribute("data-state")
        shown = driver.find_element(By.ID, "results").get_attribute("data-query-code")
        images_done = driver.execute_script("return [...document.images].every((i) => !i.src || i.complete)")
        if state in ("ready", "error") and (code is None or shown == code) and images_done:
            return
        time.sleep(0.1)
    sys.exit("screenshots: the page did not answer within 30 s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8700/")
    args = parser.parse_args()
    if not QUERY.is_file():
        sys.exit(f"screenshots: {QUERY.relative_to(ROOT)} is missing; run `make demo` first")
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        driver = browser(profile)
        try:
            driver.get(args.url)
            for _ in range(300):
                if "images" in driver.find_element(By.ID, "index-info").text:
                    break
                time.sleep(0.1)
            # 1. An upload of a picture that is not in the index: its neighbours and the time.
            driver.find_element(By.ID, "k").clear()
            driver.find_element(By.ID, "k").send_keys("50")
            driver.find_element(By.ID, "file").send_keys(str(QUERY))
            time.sleep(0.3)
            code = driver.execute_script("return new URLSearchParams(location.search).get('code')") or ""
            settle(driver, code or None)
            driver.save_screenshot(str(OUT / "web-upload.png"))
            print("upload:", driver.find_element(By.ID, "timing").text)
            # 2. The second result clicked: the grid shows that image's neighbours.
            second = driver.find_elements(By.CSS_SELECTOR, "#results .hit")[1]
            second.click()
            time.sleep(0.3)
            settle(driver)
            driver.save_screenshot(str(OUT / "web-click.png"))
            print("click: ", driver.find_element(By.ID, "timing").text)
            # 3. The query as Kibana Dev Tools text, with its copy button.
            box = driver.find_element(By.ID, "console-box")
            driver.execute_script("arguments[0].scrollIntoView()", box)
            box.screenshot(str(OUT / "web-console.png"))
            # 4. A text file named .png: one sentence on the page.
            notes = Path(profile) / "notes.png"
            notes.write_text("shopping list: milk, eggs, bread\n")
            driver.execute_script("window.scrollTo(0, 0)")
            driver.find_element(By.ID, "file").send_keys(str(notes))
            time.sleep(0.5)
            settle(driver)
            driver.find_element(By.ID, "ask").screenshot(str(OUT / "web-error.png"))
            print("error: ", driver.find_element(By.ID, "error").text)
        finally:
            driver.quit()
    print(f"wrote {', '.join(sorted(p.name for p in OUT.glob('web-*.png')))} in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
