"""A node dies mid-ingest: on the local 3-node cluster, an index of 3 shards
with 1 replica takes >= 100k codes and a folder of images through the library while the node at
the client's first URL is SIGKILLed and restarted, with searches running all along; then the
same with that node already down when the ingest starts.

What is counted and printed (and written to build/resilience.json): searches answered, failed
(a ClusterError) and refused as partial (PartialResultError); documents at the end (exactly the
codes and images given, none twice: ids are given or content hashes); and the exact search's
answers against those of an index held whole by one node, built before any node was killed, and
against brute force. Slow (minutes): it runs only with EH_RESILIENCE=1 (`make resilience-test`).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import elastichash
import numpy as np
import pytest
from ehnodes import Launcher
from elastichash import ClusterError, ElasticHash, PartialResultError, codes, engines, queries, testing
from elastichash.engines import Client
from elastichash.ingest import ImageItem, IngestReport
from elastichash.model import HashModel
from PIL import Image

pytestmark = [
    pytest.mark.resilience,
    pytest.mark.skipif(
        not os.environ.get("EH_RESILIENCE"),
        reason="minutes long: run with `make resilience-test` (EH_RESILIENCE=1)",
    ),
]

N_CODES = int(os.environ.get("EH_RESILIENCE_CODES") or 100_000)
N_IMAGES = 200
K = 10
N_QUERIES = 100  # checked at the end, out of more candidates: those without ties at rank K
VICTIM = 1  # the node at the client's first URL: its failure must not stop the client
REPORT = Path(__file__).resolve().parent.parent / "build" / "resilience.json"


@dataclass
class Figures:
    """What one scenario counted."""

    scenario: str
    codes: int
    images: int
    searches_ok: int = 0
    searches_failed: int = 0
    searches_partial_raised: int = 0
    search_errors: dict[str, int] = field(default_factory=dict)
    documents_at_kill: int = 0  # in the index when the node was killed (mid-ingest: < codes)
    kills: int = 0
    restarts: int = 0
    indexed: int = 0
    already_indexed: int = 0
    refused: int = 0
    documents: int = 0
    duplicates: int = 0
    missing: int = 0
    answers_checked: int = 0
    answers_equal_to_single_node: int = 0
    answers_equal_to_brute_force: int = 0
    seconds: float = 0.0


def urls(launcher: Launcher) -> list[str]:
    return [spec.url for spec in launcher.specs("none")]


@pytest.fixture(scope="module")
def client(cluster: Launcher) -> Iterator[Client]:
    es = elastichash.connect(urls(cluster))
    yield es
    es.close()


@dataclass
class Data:
    ids: list[str]
    bits: np.ndarray  # (n, 256): the codes, then the images' codes
    folder: Path
    queries: np.ndarray  # (q, 256)
    expected: list[list[tuple[int, str]]]  # per query: the true K nearest (distance, id), sorted


def packed(bits: np.ndarray) -> np.ndarray:
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Data:
    rng = np.random.default_rng(1010)
    bits = rng.integers(0, 2, (N_CODES, codes.CODE_BITS), dtype=np.uint8)
    ids = [f"code-{i:06d}" for i in range(N_CODES)]
    folder = tmp_path_factory.mktemp("images")
    paths = []
    for i in range(N_IMAGES):
        path = folder / f"img{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    model = HashModel()
    image_ids = [ImageItem(str(p), p.read_bytes()).doc_id for p in paths]
    all_bits = np.concatenate([bits, model.encode([str(p) for p in paths])])
    all_ids = ids + image_ids
    # Queries near indexed codes (and images), so that answers hold small distances too; only
    # queries whose K-th and (K+1)-th distances differ are kept, so the K nearest are one set.
    candidates = all_bits[rng.choice(len(all_bits), min(20 * N_QUERIES, len(all_bits)), replace=False)].copy()
    flips = rng.random(candidates.shape) < rng.uniform(0.02, 0.3, (len(candidates), 1))
    candidates ^= flips.astype(np.uint8)
    words = packed(all_bits)
    chosen, expected = [], []
    for query in candidates:
        distances = np.bitwise_count(words ^ packed(query[None, :])).sum(axis=1)
        order = np.argsort(distances, kind="stable")[: K + 1]
        if distances[order[K - 1]] == distances[order[K]]:
            continue
        chosen.append(query)
        expected.append(sorted((int(distances[i]), all_ids[i]) for i in order[:K]))
        if len(chosen) == N_QUERIES:
            break
    assert len(chosen) == N_QUERIES, "too few tie-free queries; change the seed"
    return Data(all_ids, all_bits, folder, np.array(chosen), expected)


def answers(engine: ElasticHash, query_bits: np.ndarray) -> list[list[tuple[int, str]]]:
    distances, ids = engine.search_codes(query_bits, k=K, mode="exact")
    return [
        sorted((int(d), str(i)) for d, i in zip(row_d, row_i, strict=True) if i is not None)
        for row_d, row_i in zip(distances, ids, strict=True)
    ]


@pytest.fixture(scope="module")
def single_node(cluster: Launcher, client: Client, data: Data) -> Iterator[list]:
    """The answers of an index held whole by one node (node 3, never killed), built first."""
    name = f"rs-single-{uuid.uuid4().hex[:6]}"
    body = queries.index_body(1, 0, {"path": {"type": "keyword"}})
    node = cluster.specs("none")[2].node_name
    body["settings"]["index.routing.allocation.require._name"] = node
    client.indices.create(index=name, body=body)
    engine = ElasticHash(client, index=name)
    report = engine.index_codes(data.ids[:N_CODES], data.bits[:N_CODES])
    assert (report.indexed, report.failed) == (N_CODES, {})
    report = engine.index_directory(data.folder, progress=False)
    assert (report.indexed, report.failed) == (N_IMAGES, {})
    assert engine.count() == N_CODES + N_IMAGES
    yield answers(engine, data.queries)
    client.indices.delete(index=name, ignore_unavailable=True)


class Searcher(threading.Thread):
    """Searches the index again and again until told to stop, counting how each one ended."""

    def __init__(self, engine: ElasticHash, query_bits: np.ndarray, figures: Figures) -> None:
        super().__init__(daemon=True)
        self.engine, self.query_bits, self.figures = engine, query_bits, figures
        self.stop = threading.Event()
        self.unexpected: BaseException | None = None
        self.errors: Counter[str] = Counter()

    def run(self) -> None:
        rng = np.random.default_rng(7)
        while not self.stop.is_set():
            batch = self.query_bits[rng.choice(len(self.query_bits), 5, replace=False)]
            try:
                self.engine.search_codes(batch, k=K, mode="exact")
                self.figures.searches_ok += 1
            except PartialResultError as error:
                self.figures.searches_partial_raised += 1
                self.errors[f"partial: {error.reason}"[:120]] += 1
            except ClusterError as error:
                self.figures.searches_failed += 1
                self.errors[f"{error.status}: {error.reason}"[:120]] += 1
            except BaseException as error:  # noqa: BLE001 - anything else is a bug: fail the test
                self.unexpected = error
                return
            time.sleep(0.05)


def wait_for_count(engine: ElasticHash, at_least: int, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if engine.count() >= at_least:
                return
        except ClusterError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"the index never reached {at_least} documents")


def run_scenario(name: str, cluster: Launcher, data: Data, single_node: list, down_at_start: bool) -> Figures:
    figures = Figures(name, N_CODES, N_IMAGES)
    started = time.monotonic()
    if down_at_start:
        assert cluster.kill(VICTIM)
        figures.kills += 1
    # Every node's URL, the dead one first: the client must find the living ones.
    es = elastichash.connect(",".join(urls(cluster)))
    engine = ElasticHash(es, index=f"rs-{name}-{uuid.uuid4().hex[:6]}")
    assert engine.create_index(shards=3, replicas=1)
    searcher = Searcher(engine, data.queries, figures)
    searcher.start()
    reports: list[IngestReport] = []
    failure: list[BaseException] = []

    def ingest() -> None:
        try:
            reports.append(engine.index_codes(data.ids[:N_CODES], data.bits[:N_CODES]))
            reports.append(engine.index_directory(data.folder, progress=False))
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            failure.append(error)

    ingester = threading.Thread(target=ingest, daemon=True)
    ingester.start()
    try:
        if down_at_start:
            wait_for_count(engine, N_CODES // 2)
        else:
            wait_for_count(engine, N_CODES // 3)
            assert cluster.kill(VICTIM)
            figures.kills += 1
            figures.documents_at_kill = engine.count()
            assert ingester.is_alive(), "the ingest ended before the node was killed"
            time.sleep(5)  # ingest and searches go on with the node gone
        assert cluster.revive(VICTIM)
        figures.restarts += 1
        ingester.join(timeout=1800)
        assert not ingester.is_alive(), "the ingest did not end"
    finally:
        searcher.stop.set()
        searcher.join(timeout=120)
    assert not failure, f"the ingest failed: {failure[0]!r}"
    assert searcher.unexpected is None, f"a search raised {searcher.unexpected!r}"
    health = testing.wait_for_health(es, 300, wait_for_status="green", wait_for_nodes=3)
    assert not health["timed_out"], f"the cluster stays {health['status']}"
    es.indices.refresh(index=engine.index)

    figures.indexed = sum(r.indexed for r in reports)
    figures.already_indexed = sum(r.already_indexed for r in reports)
    figures.refused = sum(len(r.failed) for r in reports)
    ids = [
        hit["_id"]
        for hit in engines.helpers_of(es).scan(
            es, index=engine.index, query={"query": {"match_all": {}}}, _source=False
        )
    ]
    counted = Counter(ids)
    figures.documents = engine.count()
    figures.duplicates = sum(n - 1 for n in counted.values())
    figures.missing = len(set(data.ids) - set(counted))
    got = answers(engine, data.queries)
    figures.answers_checked = len(got)
    figures.answers_equal_to_single_node = sum(a == b for a, b in zip(got, single_node, strict=True))
    figures.answers_equal_to_brute_force = sum(a == b for a, b in zip(got, data.expected, strict=True))
    figures.search_errors = dict(searcher.errors.most_common(5))
    figures.seconds = round(time.monotonic() - started, 1)
    record(figures)
    es.indices.delete(index=engine.index)
    es.close()
    return figures


def record(figures: Figures) -> None:
    print(f"\nresilience {figures.scenario}: " + json.dumps(asdict(figures)))
    REPORT.parent.mkdir(exist_ok=True)
    runs = json.loads(REPORT.read_text()) if REPORT.exists() else {}
    runs[figures.scenario] = asdict(figures)
    REPORT.write_text(json.dumps(runs, indent=1) + "\n")


def check(figures: Figures) -> None:
    total = N_CODES + N_IMAGES
    assert figures.refused == 0
    assert figures.indexed + figures.already_indexed == total
    assert (figures.documents, figures.duplicates, figures.missing) == (total, 0, 0)
    assert figures.answers_equal_to_single_node == figures.answers_checked == N_QUERIES
    assert figures.answers_equal_to_brute_force == N_QUERIES
    assert figures.searches_ok > 0


def test_single_node_index_answers_as_brute_force(single_node: list, data: Data) -> None:
    assert single_node == data.expected


def test_a_node_killed_mid_ingest_and_restarted(cluster: Launcher, data: Data, single_node: list) -> None:
    check(run_scenario("killed-mid-ingest", cluster, data, single_node, down_at_start=False))


def test_a_node_down_when_the_ingest_starts(cluster: Launcher, data: Data, single_node: list) -> None:
    check(run_scenario("down-at-start", cluster, data, single_node, down_at_start=True))
