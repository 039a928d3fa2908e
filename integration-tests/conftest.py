"""Fixtures for tests against a real Elasticsearch or OpenSearch node with the ElasticHash
plugin installed.

The node's URL comes from ES_URL when set (a node someone else runs). Otherwise the session starts
(or reuses) a local node of the engine named by `--engine` or EH_ENGINE (es9, es8, opensearch; default
es9) through the launcher in scripts/ehnodes, with the plugin zip built for that engine, and stops it
at the end if it started it. EH_HTTP_PORT, EH_HEAP and EH_STATE_DIR are the launcher's settings.
The `es` fixture is the library's own client for whatever answers there (`elastichash.connect`),
so every call passes its request body as `body=`; tests that only apply to one engine say so in
their skip reason. Without a reachable node the run stops with a message instead of skipping tests.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import elastichash
import numpy as np
import pytest
from elastichash import engines, testing
from elastichash.engines import Client
from elastichash.testing import make_tiny_model
from hypothesis import settings

# The fuzz tests send the same examples on every run, so `make test` is deterministic;
# HYPOTHESIS_PROFILE=explore draws new ones (a failure prints its example: make it a named test).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

from ehnodes import ENGINES, Launcher, NodeError, Options  # noqa: E402

WORD_FIELDS = ["hash_r0", "hash_r1", "hash_r2", "hash_r3"]


def words_to_hex(words: np.ndarray) -> str:
    """One code's int64 words as hex: 16 characters per word, most significant bit first."""
    return "".join(f"{int(w) & 0xFFFF_FFFF_FFFF_FFFF:016x}" for w in words)


def hamming(query: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Exact Hamming distance of one (w,) int64 code to each row of (n, w) int64 codes."""
    return elastichash.codes.hamming_distance(query, codes)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--engine",
        choices=list(ENGINES),
        default=os.environ.get("EH_ENGINE") or "es9",
        help="the engine of the node the session starts when ES_URL is not set (default: $EH_ENGINE or es9)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "resilience: minutes long, on the 3-node cluster (make resilience-test)")


@pytest.fixture(scope="session")
def es_url(pytestconfig: pytest.Config) -> Iterator[str]:
    """The node's base URL: ES_URL, or a local node of --engine started (or reused) for this session."""
    if os.environ.get("ES_URL"):
        yield os.environ["ES_URL"]
        return
    engine = pytestconfig.getoption("engine")
    try:
        launcher = Launcher(Options.from_env(engine=engine))
        url, started = launcher.start()
    except NodeError as error:
        pytest.exit(f"could not start a local {engine} node: {error}", returncode=3)
    yield url
    if started:
        launcher.stop()


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Client]:
    """The library's client for the node at es_url: Elasticsearch or OpenSearch, as it answers."""
    try:
        client = elastichash.connect(es_url)
        health = testing.wait_for_health(client, 30, wait_for_status="yellow")
        assert not health["timed_out"], f"the cluster stays {health['status']}"
    except Exception as error:  # noqa: BLE001 - any failure means the same thing here
        pytest.exit(
            f"no Elasticsearch or OpenSearch node answers at {es_url} ({error}); "
            "run the tests with `make integration-test`, or start one with `make es-start`",
            returncode=3,
        )
    plugins = {row["component"] for row in client.cat.plugins(format="json")}
    if "elastichash" not in plugins:
        pytest.exit(f"the node at {es_url} lacks the elastichash plugin (has {plugins})", 3)
    yield client
    client.close()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The client's tiny test model (the real metadata contract, untrained), written once."""
    return make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")


@pytest.fixture(scope="session")
def engine_name(es: Client) -> str:
    """Elasticsearch or OpenSearch: the product the suite runs against."""
    return engines.product_name(es)


@pytest.fixture(scope="session")
def painless(es: Client) -> bool:
    """Whether the node runs Painless: OpenSearch's test distribution has it, Elasticsearch's has not."""
    languages = engines.request(es, "GET", "/_script_language")["language_contexts"]
    return any(entry["language"] == "painless" for entry in languages)


@pytest.fixture
def needs_painless(painless: bool, engine_name: str) -> None:
    if not painless:
        pytest.skip(
            f"this {engine_name} node has no Painless: Elasticsearch's integ-test zip lacks the "
            "lang-painless module and no registry serves it for 8.x/9.x; runs on OpenSearch"
        )


def bulk(es: Client, actions: Any, **options: Any) -> tuple[int, Any]:
    """The client's own `helpers.bulk` (elasticsearch or opensearchpy)."""
    return engines.helpers_of(es).bulk(es, actions, **options)


def refusal(call: Any) -> tuple[Any, dict]:
    """(HTTP status, error body) of a request the node refuses; fails the test if it answers."""
    try:
        answer = call()
    except engines.API_ERRORS as error:
        return testing.error_answer(error)
    raise AssertionError(f"the request was answered: {answer}")


class CodeIndex:
    """An index of random 256-bit codes, kept alongside as a numpy array for exact answers. Each
    document holds its code in both layouts: a `hamming_code` field `hash` (what the script reads
    by default) and the earlier layout's long words `hash_r0..3` (read with `fields`)."""

    def __init__(self, name: str, ids: list[str], codes: np.ndarray) -> None:
        self.name = name
        self.ids = ids
        self.codes = codes


@pytest.fixture(scope="session")
def code_index(es: Client) -> Iterator[CodeIndex]:
    rng = np.random.default_rng(20211)
    n = 5000
    random_codes = rng.integers(0, 2**64, size=(n, 4), dtype=np.uint64).view(np.int64)
    # Near copies of some codes, so that queries have neighbours at small distances.
    near = random_codes[:500].copy()
    flips = rng.integers(0, 64, size=(500, 4))
    near ^= (np.uint64(1) << flips.astype(np.uint64)).view(np.int64) * (rng.random((500, 4)) < 0.5)
    edges = np.array(
        [[0, 0, 0, 0], [-1, -1, -1, -1], [np.iinfo(np.int64).min] * 4, [1, -1, 0, np.iinfo(np.int64).max]],
        dtype=np.int64,
    )
    codes = np.concatenate([random_codes, near, edges])
    ids = [f"{i:06d}" for i in range(len(codes))]

    name = f"it-hamming-{uuid.uuid4().hex[:8]}"
    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": 2, "number_of_replicas": 0},
            "mappings": {
                "properties": {
                    "doc_id": {"type": "keyword"},
                    "hash": {"type": "hamming_code"},
                    **{field: {"type": "long"} for field in WORD_FIELDS},
                }
            },
        },
    )
    # Several bulk rounds with refreshes in between, so that shards hold several segments.
    for start in range(0, len(codes), 1500):
        actions = (
            {
                "_index": name,
                "_id": ids[i],
                "doc_id": ids[i],
                "hash": words_to_hex(codes[i]),
                **{field: int(codes[i, w]) for w, field in enumerate(WORD_FIELDS)},
            }
            for i in range(start, min(start + 1500, len(codes)))
        )
        bulk(es, actions)
        es.indices.refresh(index=name)
    assert es.count(index=name)["count"] == len(codes)
    yield CodeIndex(name, ids, codes)
    es.indices.delete(index=name)


@pytest.fixture
def scratch_index(es: Client) -> Iterator[str]:
    """A name for an index the test creates itself; deleted afterwards."""
    name = f"it-scratch-{uuid.uuid4().hex[:8]}"
    yield name
    es.indices.delete(index=name, ignore_unavailable=True)


@pytest.fixture(scope="session")
def cluster(pytestconfig: pytest.Config) -> Iterator[Launcher]:
    """The local 3-node cluster of the engine under test (the slow suites: `make resilience-test`)."""
    engine = pytestconfig.getoption("engine")
    try:
        launcher = Launcher(Options.from_env(engine=engine, cluster=True))
        _, started = launcher.start()
    except NodeError as error:
        pytest.exit(f"could not start the local 3-node {engine} cluster: {error}", returncode=3)
    yield launcher
    if started:
        launcher.stop()
