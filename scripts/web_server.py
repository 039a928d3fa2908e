"""`elastichash serve` in the background, for `make demo`: start (or keep) it, stop it.

    python scripts/web_server.py start --es-url URL --index NAME [--port P] DIR...
    python scripts/web_server.py stop
    python scripts/web_server.py url     # the running page's URL

`start` is idempotent and prints the page's URL last; its state (process id, URL) and log live
under build/web/.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / "build" / "web"
STATE = STATE_DIR / "server.json"
LOG = STATE_DIR / "server.log"


def running() -> dict | None:
    """The recorded server when its process still lives, else None (and the record goes)."""
    if not STATE.is_file():
        return None
    state = json.loads(STATE.read_text())
    try:
        # The recorded process, not another that got its number after it ended.
        command = Path(f"/proc/{state['pid']}/cmdline").read_bytes()
    except OSError:
        command = b""
    if b"elastichash.cli" not in command:
        STATE.unlink()
        return None
    return state


def start(args: argparse.Namespace) -> int:
    state = running()
    if state:
        print(f"web: the page is already served (process {state['pid']})", file=sys.stderr)
        print(state["url"])
        return 0
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "elastichash.cli",
        "--es-url",
        args.es_url,
        "--index",
        args.index,
        "serve",
        *args.folders,
        "--port",
        str(args.port),
    ]
    with LOG.open("w") as log:
        # Its own session: the server outlives `make demo` and ignores the terminal's Ctrl+C.
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        lines = LOG.read_text().splitlines()
        url = next((line for line in lines if line.startswith("http://")), None)
        if url:
            STATE.write_text(json.dumps({"pid": process.pid, "url": url}))
            print(url)
            return 0
        if process.poll() is not None:
            print(f"web: error: the server stopped: {LOG.read_text().strip()}", file=sys.stderr)
            return 1
        time.sleep(0.2)
    process.terminate()
    print(f"web: error: the server did not start within 90 s; see {LOG}", file=sys.stderr)
    return 1


def stop() -> int:
    state = running()
    if not state:
        print("web: no page is served", file=sys.stderr)
        return 0
    os.kill(state["pid"], signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(state["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    STATE.unlink(missing_ok=True)
    print(f"web: stopped the page at {state['url']}", file=sys.stderr)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    begin = commands.add_parser("start", help="serve the page in the background; prints its URL last")
    begin.add_argument("--es-url", default="http://127.0.0.1:9200")
    begin.add_argument("--index", default="images")
    begin.add_argument("--port", type=int, default=8700)
    begin.add_argument("folders", nargs="+", metavar="DIR")
    commands.add_parser("stop", help="stop the page")
    commands.add_parser("url", help="print the running page's URL")
    args = parser.parse_args()
    if args.command == "url":
        state = running()
        if not state:
            print("web: no page is served; start one with `make demo`", file=sys.stderr)
            return 1
        print(state["url"])
        return 0
    return start(args) if args.command == "start" else stop()


if __name__ == "__main__":
    sys.exit(main())
