"""Indexing spread over many machines: a Dask distributed cluster, each worker reading, encoding
and writing its own share straight to Elasticsearch or OpenSearch.

Why Dask (not Ray): the work is plain Python functions over lists of files or index slices; Dask
distributed schedules them, retries a task whose worker died on another worker, runs the same
code on one machine's processes (`LocalCluster`, "local:N") or on a cluster of machines
("tcp://scheduler:8786"), and is a pure-Python install; Ray would bring a heavier runtime and
an object store this job has no use for.

Nothing is lost or written twice when a worker dies: a folder's documents are named by their
images' content (`ImageItem.doc_id`), so a retried share finds what the dead worker had written
as "already indexed"; `add-codes` writes only documents still without a code, so a retried
slice codes only what is left. The driver checks the index and its model once before the work
is spread (`ElasticHash.create_index`, `check_model`); workers load the model once per process.

Workers must reach the cluster and the images: the same paths on a shared file system, or URLs
(`add-codes`). Needs the `distributed` extra (`pip install 'elastichash-client[distributed]'`).
"""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .catalogue import AddCodesReport
from .errors import ElasticHashError
from .ingest import IngestReport, find_images, ingest, items_from_paths

if TYPE_CHECKING:
    from distributed import Client as DaskClient

    from .client import ElasticHash

#: Files per task of a distributed `index`: small enough that a dead worker costs little work,
#: large enough that a task's set-up (a client, the model's first batch) is paid rarely.
PARTITION_FILES = 256
#: Times a task is tried again after its worker died (Dask's `retries`).
RETRIES = 3
NEEDS_EXTRA = (
    "spreading the work over Dask needs the package distributed: "
    "pip install 'elastichash-client[distributed]'"
)


@dataclass(frozen=True)
class ClusterAccess:
    """How a worker connects to Elasticsearch or OpenSearch (sent to each task, so picklable)."""

    urls: tuple[str, ...]
    api_key: str | None = None
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    engine: str = "auto"


@functools.lru_cache(maxsize=4)
def _worker_client(access: ClusterAccess) -> Any:
    from .engines import connect

    return connect(
        list(access.urls),
        api_key=access.api_key,
        username=access.username,
        password=access.password,
        ca_certs=access.ca_certs,
        engine=access.engine,  # type: ignore[arg-type]
    )


@functools.lru_cache(maxsize=2)
def _worker_model(model: str | None) -> Any:
    from .model import HashModel

    return HashModel(model)


def index_partition(
    access: ClusterAccess, index: str, model: str | None, paths: Sequence[str], batch_size: int = 32
) -> dict[str, Any]:
    """One task: index `paths` (a worker's share of a folder); the report as a dict."""
    report = IngestReport(total=len(paths))
    ingest(
        _worker_client(access),
        index,
        _worker_model(model),
        items_from_paths(paths, report),
        report,
        batch_size,
        progress=False,
        refresh=False,
    )
    return {
        "indexed": report.indexed,
        "already_indexed": report.already_indexed,
        "failed": report.failed,
        "duplicates": report.duplicates,
    }


def index_manifest_partition(
    access: ClusterAccess,
    index: str,
    model: str | None,
    rows: Sequence[Any],
    reader_options: dict[str, Any],
    batch_size: int = 32,
) -> dict[str, Any]:
    """One task: index a worker's share of a manifest's rows (`manifest.Row`s); the report."""
    from .ingest import ImageItem
    from .manifest import read_images
    from .sources import ImageReader

    report = IngestReport(total=len(rows))
    items = (
        ImageItem(name=row.location or row.name, data=data, fields=row.fields, id=row.id)
        for row, data in read_images(list(rows), ImageReader(**reader_options), report.failed)
    )
    ingest(
        _worker_client(access),
        index,
        _worker_model(model),
        items,
        report,
        batch_size,
        progress=False,
        refresh=False,
    )
    return _as_parts(report)


def _as_parts(report: IngestReport) -> dict[str, Any]:
    return {
        "indexed": report.indexed,
        "already_indexed": report.already_indexed,
        "failed": report.failed,
        "duplicates": report.duplicates,
    }


def add_codes_slice(
    access: ClusterAccess,
    index: str,
    model: str | None,
    image_field: str,
    slice_id: int,
    slices: int,
    point_in_time: str,
    reader_options: dict[str, Any],
    batch_size: int = 32,
) -> dict[str, Any]:
    """One task: `add-codes` over one slice of the run's point in time; the report as a dict."""
    from .catalogue import add_codes
    from .sources import ImageReader

    report = AddCodesReport()
    add_codes(
        _worker_client(access),
        index,
        _worker_model(model),
        image_field,
        ImageReader(**reader_options),
        batch_size=batch_size,
        slice_id=slice_id if slices > 1 else None,
        slices=slices if slices > 1 else None,
        progress=False,
        report=report,
        refresh=False,
        point_in_time=point_in_time,
    )
    return asdict(report)


def local_workers(address: str) -> int | None:
    """N for "local:N" (a ValueError unless N ≥ 1), None for a scheduler's address."""
    if not address.startswith("local:"):
        return None
    count = address.removeprefix("local:")
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"--dask {address}: local:N needs a number of workers N ≥ 1")
    return int(count)


@contextmanager
def dask_client(address: str) -> Iterator[DaskClient]:
    """A Dask client for `address`: "local:N" starts N worker processes on this machine (one
    thread each) for the run; anything else is a scheduler's address ("tcp://host:8786")."""
    workers = local_workers(address)
    try:
        from distributed import Client, LocalCluster
    except ImportError as error:
        raise ElasticHashError(NEEDS_EXTRA) from error
    if workers is not None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        _probe(address)
        client = Client(address, timeout="20s")
    except (OSError, TimeoutError) as error:
        raise ElasticHashError(
            f"cannot reach the Dask scheduler at {address} ({error}); is it running?"
        ) from error
    with client:
        yield client


def _probe(address: str) -> None:
    """Connects once to a tcp:// scheduler's port: a refused connection is an answer at once,
    where the Dask client would retry it for its whole time-out."""
    parts = urlsplit(address)
    if parts.scheme == "tcp" and parts.hostname and parts.port:
        socket.create_connection((parts.hostname, parts.port), timeout=5).close()


def _gather(
    client: DaskClient,
    futures: list[Any],
    progress: bool,
    unit: str,
    on_done: Callable[[Any], None],
) -> None:
    from distributed import as_completed
    from tqdm import tqdm

    with tqdm(total=len(futures), unit=unit, desc="tasks", disable=not progress) as bar:
        try:
            for future in as_completed(futures):
                try:
                    on_done(future.result())
                except Exception as error:
                    # A task that failed on every try (its worker died RETRIES + 1 times, or
                    # the cluster refused it): the others go on; a rerun does what is missing.
                    raise ElasticHashError(
                        f"a task failed on every try ({type(error).__name__}: {error}); run the "
                        "same command again: it does only what is missing"
                    ) from error
                bar.update(1)
        except BaseException:
            client.cancel(futures)
            raise


def index_directory(
    engine: ElasticHash,
    directory: str | os.PathLike,
    client: DaskClient,
    access: ClusterAccess,
    *,
    model: str | None = None,
    partition_files: int = PARTITION_FILES,
    batch_size: int = 32,
    progress: bool = True,
    report: IngestReport | None = None,
) -> IngestReport:
    """Indexes every image under `directory` into `engine`'s index, spread over `client`'s
    workers in shares of `partition_files` files. `model` is what each worker loads (a path
    the workers can read, or a bundled model's name; None: the default model)."""
    report = report or IngestReport()
    skipped: dict[str, str] = {}
    paths = [str(path) for path in find_images(directory, skipped=skipped)]
    report.failed.update(skipped)
    report.total = len(paths) + len(skipped)
    shares = [
        paths[start : start + partition_files] for start in range(0, len(paths), partition_files)
    ]
    return _spread(
        engine,
        client,
        report,
        progress,
        index_partition,
        access,
        engine.index,
        model,
        shares,
        batch_size,
    )


def index_manifest(
    engine: ElasticHash,
    path: str | os.PathLike,
    client: DaskClient,
    access: ClusterAccess,
    *,
    model: str | None = None,
    reader_options: dict[str, Any] | None = None,
    partition_files: int = PARTITION_FILES,
    batch_size: int = 32,
    progress: bool = True,
    report: IngestReport | None = None,
) -> IngestReport:
    """Indexes the images a manifest lists (`manifest`), with their fields, spread over
    `client`'s workers in shares of `partition_files` rows; relative paths start at the
    manifest's folder (as the workers see it) unless `reader_options` give `base_dir`."""
    from .manifest import read_rows

    rows = read_rows(path)
    report = report or IngestReport()
    report.total = len(rows)
    options = {"base_dir": os.path.abspath(Path(path).parent)} | (reader_options or {})
    shares = [
        rows[start : start + partition_files] for start in range(0, len(rows), partition_files)
    ]
    return _spread(
        engine,
        client,
        report,
        progress,
        index_manifest_partition,
        access,
        engine.index,
        model,
        shares,
        options,
        batch_size,
    )


def _spread(
    engine: ElasticHash,
    client: DaskClient,
    report: IngestReport,
    progress: bool,
    task: Callable[..., dict[str, Any]],
    access: ClusterAccess,
    index: str,
    model: str | None,
    shares: list[Any],
    *options: Any,
) -> IngestReport:
    """One `task(access, index, model, share, *options)` per share; their reports merged."""
    engine.create_index()
    engine.check_model(writing=True)
    futures = [
        client.submit(task, access, index, model, share, *options, retries=RETRIES, pure=False)
        for share in shares
    ]

    def merge(part: dict[str, Any]) -> None:
        report.indexed += part["indexed"]
        report.already_indexed += part["already_indexed"]
        report.failed.update(part["failed"])
        report.duplicates.update(part["duplicates"])

    _gather(client, futures, progress, "share", merge)
    engine.es.indices.refresh(index=engine.index)
    return report


def add_codes(
    engine: ElasticHash,
    image_field: str,
    client: DaskClient,
    access: ClusterAccess,
    *,
    model: str | None = None,
    slices: int | None = None,
    reader_options: dict[str, Any] | None = None,
    batch_size: int = 32,
    progress: bool = True,
) -> AddCodesReport:
    """`add-codes` over `engine`'s index, one slice of its documents per task (`slices`,
    default: twice the workers), spread over `client`'s workers."""
    from . import engines
    from .catalogue import KEEP_ALIVE

    slices = slices or 2 * max(1, len(client.scheduler_info().get("workers", {})))
    engine._prepare_for_codes(image_field)
    # Every slice walks this one view of the index: coding documents changes the view, so
    # slices of views opened one after the other would not partition the documents.
    point_in_time = engines.open_point_in_time(engine.es, engine.index, KEEP_ALIVE)
    report = AddCodesReport(total=0)

    def merge(part: dict[str, Any]) -> None:
        report.coded += part["coded"]
        report.already_coded += part["already_coded"]
        report.failed.update(part["failed"])
        report.total = (report.total or 0) + (part["total"] or 0)

    try:
        futures = [
            client.submit(
                add_codes_slice,
                access,
                engine.index,
                model,
                image_field,
                slice_id,
                slices,
                point_in_time,
                reader_options or {},
                batch_size,
                retries=RETRIES,
                pure=False,
            )
            for slice_id in range(slices)
        ]
        _gather(client, futures, progress, "slice", merge)
    finally:
        engines.close_point_in_time(engine.es, point_in_time)
    engine.es.indices.refresh(index=engine.index)
    return report
