"""Replays the Kibana Dev Tools snippets in docs/console verbatim, over plain HTTP."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from conftest import ES_URL, WORD_FIELDS, hamming

CONSOLE_DIR = Path(__file__).resolve().parent.parent / "docs" / "console"
REQUEST_LINE = re.compile(r"^(GET|PUT|POST|DELETE|HEAD) (\S+)$")


def parse_console(text: str) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) for each request, as Kibana's console reads the file."""
    requests: list[tuple[str, str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = REQUEST_LINE.match(line)
        if match:
            requests.append((match[1], match[2], []))
        elif requests:
            requests[-1][2].append(line)
        elif line.strip():
            raise AssertionError(f"text before the first request: {line!r}")
    return [(m, p, json.loads("\n".join(b)) if "".join(b).strip() else None) for m, p, b in requests]


def send(method: str, path: str, body: dict | None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{ES_URL}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_hamming_console_snippet_replays_with_exact_scores() -> None:
    requests = parse_console((CONSOLE_DIR / "hamming-script.console").read_text())
    assert [m for m, _, _ in requests].count("GET") == 3
    index = requests[0][1]
    send("DELETE", index, None)  # a left-over from an interrupted run
    documents: dict[str, dict] = {}
    searches = 0
    for method, path, body in requests:
        status, response = send(method, path, body)
        assert status in (200, 201), (method, path, response)
        if "/_doc/" in path:
            documents[path.split("/_doc/")[1].split("?")[0]] = body
        if path.endswith("/_search"):
            searches += 1
            code = next(iter(_find_key(body, "code")))
            query = np.array([np.uint64(int(code[i : i + 16], 16)) for i in range(0, 64, 16)], dtype=np.uint64).view(
                np.int64
            )
            for hit in response["hits"]["hits"]:
                doc = documents[hit["_id"]]
                if all(f in doc for f in WORD_FIELDS):
                    words = np.array([[doc[f] for f in WORD_FIELDS]], dtype=np.int64)
                    expected = 256 - int(hamming(query, words)[0])
                else:
                    expected = 0
                assert hit["_score"] == expected, (path, hit)
            assert response["hits"]["hits"], path
    assert searches == 3


def _find_key(node: object, key: str):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            else:
                yield from _find_key(v, key)
    elif isinstance(node, list):
        for item in node:
            yield from _find_key(item, key)
