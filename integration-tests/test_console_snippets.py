"""Replays Kibana Dev Tools text over plain HTTP: the snippets in docs/console verbatim, and the
searches the library and the CLI print (`ElasticHash.console`, `elastichash console`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from conftest import hamming
from elastichash import Code, ElasticHash, queries
from elastichash.engines import Client

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


def send(es_url: str, method: str, path: str, body: dict | None) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{es_url}/{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method=method,
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_hamming_console_snippet_replays_with_exact_scores(es_url: str) -> None:
    requests = parse_console((CONSOLE_DIR / "hamming-script.console").read_text())
    assert [m for m, _, _ in requests].count("GET") == 3
    index = requests[0][1]
    send(es_url, "DELETE", index, None)  # a left-over from an interrupted run
    documents: dict[str, dict] = {}
    searches = 0
    for method, path, body in requests:
        status, response = send(es_url, method, path, body)
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
                if "hash" in doc:
                    words = np.array([[int(doc["hash"][i : i + 16], 16) for i in range(0, 64, 16)]], dtype=np.uint64)
                    expected = 256 - int(hamming(query, words.view(np.int64))[0])
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


# --- the library's and the CLI's console text ---------------------------------------------------


@pytest.fixture(scope="module")
def code_engine(es: Client) -> Iterator[tuple[ElasticHash, np.ndarray]]:
    """600 codes, a third of them near copies of others (so that every mode finds some)."""
    rng = np.random.default_rng(17)
    bits = rng.integers(0, 2, size=(600, 256), dtype=np.uint8)
    bits[400:] = bits[:200]
    for row in bits[400:]:
        row[rng.choice(256, size=rng.integers(0, 12), replace=False)] ^= 1
    engine = ElasticHash(es, index=f"it-console-{uuid.uuid4().hex[:8]}")
    engine.create_index(shards=2)
    ids = [f"img-{i:03d}" for i in range(len(bits))]
    report = engine.index_codes(ids, bits, [{"path": f"pics/{i:03d}.png"} for i in range(len(bits))])
    assert report.ok and report.indexed == len(bits)
    yield engine, bits
    es.indices.delete(index=engine.index)


def replay(es_url: str, text: str) -> list[tuple[str, float, str]]:
    """Sends console text (one search) over HTTP: (id, score, path) per hit, from doc values."""
    ((method, path, body),) = parse_console(text)
    status, response = send(es_url, method, path, body)
    assert status == 200, response
    assert response["_shards"]["failed"] == 0
    hits = response["hits"]["hits"]
    assert all("_source" not in hit for hit in hits)  # doc values only, no stored fields
    return [(hit["fields"]["image_id"][0], hit["_score"], hit["fields"]["path"][0]) for hit in hits]


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"k": 3, "max_distance": 100},
        {"mode": "paper", "radius": 1},
        {"mode": "two_stage", "filter": {"range": {"path": {"gte": "pics/4"}}}},  # the near copies
        {"mode": "long", "k": 25},
        {"mode": "short", "max_distance": 10},
    ],
    ids=lambda options: options.get("mode", "exact") + ("+" if len(options) > 1 else ""),
)
def test_console_text_gives_the_same_hits(
    es_url: str, code_engine: tuple[ElasticHash, np.ndarray], options: dict
) -> None:
    engine, bits = code_engine
    for row in (5, 150, 450):
        code = Code.from_bits(bits[row])
        text = engine.console(code, **options)
        assert text.startswith(f"GET {engine.index}/_search\n")
        hits = engine.search(code, **options)
        assert hits, options
        assert replay(es_url, text) == [(h.id, h.score, h.source["path"]) for h in hits]


def test_cli_console_text_gives_the_cli_s_hits(es_url: str, code_engine: tuple[ElasticHash, np.ndarray]) -> None:
    engine, bits = code_engine
    code = Code.from_bits(bits[420]).hex
    cli = [sys.executable, "-m", "elastichash.cli", "--es-url", es_url, "--index", engine.index]
    console = subprocess.run([*cli, "console", code, "-k", "7"], capture_output=True, text=True, timeout=120)
    assert console.returncode == 0, console.stderr
    body = parse_console(console.stdout)[0][2]
    assert body == queries.search_body(code, k=7)  # the short native query
    search = subprocess.run([*cli, "search", code, "-k", "7", "--json"], capture_output=True, text=True, timeout=120)
    assert search.returncode == 0, search.stderr
    found = [(h["id"], h["score"], h["source"]["path"]) for h in json.loads(search.stdout)]
    assert len(found) == 7 and replay(es_url, console.stdout) == found
