"""`index` and `add-codes` spread over Dask workers (`--dask`), writing straight to the node.

The quick tests run a local Dask cluster of two worker processes against the node under test.
The slow one (`make resilience-test`) runs against the local 3-node cluster and SIGKILLs a
worker while it holds a share of the work: the share runs again on a worker, and the index
ends with every image exactly once, the report adding up.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import elastichash
import numpy as np
import pytest
from ehnodes import Launcher
from elastichash import ElasticHash, distributed
from elastichash.engines import Client
from elastichash.ingest import IngestReport, find_images
from elastichash.model import HashModel
from PIL import Image

distributed_package = pytest.importorskip("distributed")


def pictures(folder: Path, n: int, seed: int = 0) -> Path:
    """n distinct small PNGs, two of them identical to others (named together in the report)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(folder / f"p{i:04d}.png")
    for i in range(2):
        (folder / f"copy-{i}.png").write_bytes((folder / f"p{i:04d}.png").read_bytes())
    return folder


def run_cli(es_url: str, model: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "elastichash.cli", "--es-url", es_url, "--model", model, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def test_index_and_add_codes_over_two_local_workers(
    es: Client, es_url: str, tiny_model: str, scratch_index: str, tmp_path: Path
) -> None:
    folder = pictures(tmp_path / "pictures", 300)
    done = run_cli(
        es_url, tiny_model, "index", str(folder), "--index", scratch_index, "--dask", "local:2", "--no-progress"
    )
    assert done.returncode == 0, done.stderr
    assert "302 files: indexed 300, already indexed 0, failed 0, identical to another file 2" in done.stdout
    assert es.count(index=scratch_index)["count"] == 300
    again = run_cli(
        es_url, tiny_model, "index", str(folder), "--index", scratch_index, "--dask", "local:2", "--no-progress"
    )
    assert "indexed 0, already indexed 300" in again.stdout, again.stdout + again.stderr

    # A manifest with a field, spread the same way: relative paths start at its folder.
    manifest = folder / "products.csv"
    lines = ["path,id,category"] + [f"p{i:04d}.png,sku-{i},{'red' if i % 3 else 'blue'}" for i in range(90)]
    manifest.write_text("\n".join(lines) + "\n")
    products = f"{scratch_index}-products"
    try:
        done = run_cli(
            es_url, tiny_model, "index", str(manifest), "--index", products, "--dask", "local:2", "--no-progress"
        )
        assert "90 files: indexed 90, already indexed 0, failed 0" in done.stdout, done.stdout + done.stderr
        blue = es.count(index=products, body={"query": {"term": {"category": "blue"}}})["count"]
        assert blue == 30 and es.get(index=products, id="sku-7")["_source"]["category"] == "red"
    finally:
        es.indices.delete(index=products, ignore_unavailable=True)

    # add-codes: a catalogue of documents holding image paths, coded over three slices.
    catalogue = f"{scratch_index}-catalogue"
    try:
        es.indices.create(index=catalogue, body={"mappings": {"properties": {"photo": {"type": "keyword"}}}})
        paths = sorted(str(p) for p in folder.glob("p*.png"))[:60]
        for i, path in enumerate(paths):
            es.index(index=catalogue, id=f"sku-{i}", body={"photo": path, "title": f"item {i}"})
        es.index(index=catalogue, id="sku-lost", body={"title": "no photo"})
        es.indices.refresh(index=catalogue)
        done = run_cli(
            es_url, tiny_model, "add-codes", "--index", catalogue, "--image-field", "photo",
            "--dask", "local:2", "--slices", "3", "--no-progress",
        )  # fmt: skip
        assert "61 documents without a code: coded 60, failed 1" in done.stdout, done.stdout + done.stderr
        assert "sku-lost: no `photo` field" in done.stdout
        document = es.get(index=catalogue, id="sku-7")["_source"]
        assert document["title"] == "item 7" and len(document["hash"]) == 64
    finally:
        es.indices.delete(index=catalogue, ignore_unavailable=True)


def test_a_scheduler_that_is_not_there_and_a_bad_local_count_are_sentences(
    es_url: str, tiny_model: str, scratch_index: str, tmp_path: Path
) -> None:
    folder = pictures(tmp_path / "few", 3)
    done = run_cli(es_url, tiny_model, "index", str(folder), "--index", scratch_index, "--dask", "tcp://127.0.0.1:9")
    assert done.returncode == 1 and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_cli(es_url, tiny_model, "index", str(folder), "--index", scratch_index, "--dask", "local:zero")
    assert done.returncode == 1 and "local:N needs a number of workers N ≥ 1" in done.stderr


@pytest.mark.resilience
@pytest.mark.skipif(
    not os.environ.get("EH_RESILIENCE"), reason="minutes long: run with `make resilience-test` (EH_RESILIENCE=1)"
)
def test_a_worker_killed_mid_run_loses_and_duplicates_nothing(
    cluster: Launcher, tiny_model: str, tmp_path: Path
) -> None:
    from distributed import Client as DaskClient
    from distributed import LocalCluster

    urls = [spec.url for spec in cluster.specs("none")]
    es = elastichash.connect(urls)
    index = f"it-dask-{uuid.uuid4().hex[:8]}"
    folder = pictures(tmp_path / "pictures", 2000)
    total = len(find_images(folder))
    access = distributed.ClusterAccess(tuple(urls))
    engine = ElasticHash(es, index=index, model=HashModel(tiny_model))
    engine.create_index(shards=3, replicas=1)
    workers = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        with DaskClient(workers) as client:
            report = IngestReport()
            errors: list[BaseException] = []

            def run() -> None:
                try:
                    distributed.index_directory(
                        engine, folder, client, access, model=tiny_model, partition_files=100,
                        batch_size=16, progress=False, report=report,
                    )  # fmt: skip
                except BaseException as error:  # noqa: BLE001 (handed to the test's thread)
                    errors.append(error)

            thread = threading.Thread(target=run)
            thread.start()
            # Kill a worker while it holds work: after the first documents arrive, before the end.
            killed = None
            deadline = time.monotonic() + 120
            while killed is None and time.monotonic() < deadline and thread.is_alive():
                es.indices.refresh(index=index)
                count = es.count(index=index)["count"]
                processing = {worker: tasks for worker, tasks in client.processing().items() if tasks}
                if 0 < count < total - 200 and processing:
                    victim = next(iter(processing))
                    pid = client.run(os.getpid, workers=[victim])[victim]
                    os.kill(pid, signal.SIGKILL)
                    killed = (victim, len(processing[victim]), count)
                time.sleep(0.05)
            thread.join(timeout=300)
            assert not thread.is_alive() and not errors, errors
            assert killed is not None, "no worker was busy to be killed: the run ended first"
    finally:
        workers.close()
    try:
        # The report adds up, and the index holds every image once: content ids, none twice.
        assert report.indexed + report.already_indexed + len(report.duplicates) + len(report.failed) == total
        assert not report.failed
        es.indices.refresh(index=index)
        assert es.count(index=index)["count"] == total - 2
        print(f"\nkilled worker {killed[0]} holding {killed[1]} task(s) at {killed[2]} documents; report: "
              f"indexed {report.indexed}, already indexed {report.already_indexed} (written by the killed worker's "
              "share before it died, found again when the share ran again)")  # fmt: skip
        rerun = IngestReport()
        with distributed.dask_client("local:2") as client:
            distributed.index_directory(engine, folder, client, access, model=tiny_model, progress=False, report=rerun)
        assert rerun.indexed == 0 and rerun.already_indexed + len(rerun.duplicates) == total
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)
        es.close()
