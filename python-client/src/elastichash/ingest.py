"""Bulk indexing of images: decode, hash, send; a report of what was indexed and what failed.

Document ids are content hashes, and documents are sent with `op_type: create`, so running the
same ingest twice indexes nothing the second time. Each batch first asks which of its ids the
index holds already (a real-time `mget`) and skips those before decoding or hashing: a run that
was stopped (Ctrl-C, kill -9, a crash) is finished by running it again, which encodes only the
rest; a batch left half-sent finds its sent half there. A document is the user's fields, its id
again as `image_id`, and its code once, as hex, in the hamming_code field `hash` (layout v3:
`queries.mapping`). `copy_codes` moves the documents of an index of an earlier layout into one
of the current layout (`ElasticHash.reindex_from`).
"""

from __future__ import annotations

import hashlib
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import codes, engines, queries
from .engines import Client
from .errors import ClusterError, ImageError
from .images import IMAGE_SUFFIXES, file_kind, load_image, open_failure, read_file
from .model import HashModel


@dataclass(frozen=True)
class ImageItem:
    """One image to index: its bytes, a name for messages, and fields to store with it."""

    name: str
    data: bytes
    fields: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    @property
    def doc_id(self) -> str:
        """The given id, or a hash of the image's bytes."""
        return self.id or hashlib.sha256(self.data).hexdigest()[:32]


#: Threads that decode images while the model encodes and a bulk request is in flight: the
#: cores, at least 2 (decoding, encoding and sending then overlap) and at most 4.
DEFAULT_THREADS = max(2, min(4, os.cpu_count() or 2))


#: A batch is cut short once its files hold this many bytes, so that a folder of large photos
#: never has more than this (plus one file) in memory at once, whatever the batch size.
MAX_BATCH_BYTES = 64 * 1024 * 1024


@dataclass
class IngestReport:
    """What an ingest did. `failed` maps each image's name to the reason; `duplicates` maps
    each image whose bytes (or given id) another image of this run had already to that
    image's name: it is not indexed again, and its path joins the document's `other_paths`.

    `total` is how many files there were to index, when known: indexed + already_indexed +
    len(duplicates) + len(failed) once the run is complete; `interrupted` says the run
    stopped before the end.
    """

    indexed: int = 0
    already_indexed: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    duplicates: dict[str, str] = field(default_factory=dict)
    total: int | None = None
    interrupted: bool = False
    # The first image's name for each document id met in this run (duplicates point to it).
    _first: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def done(self) -> int:
        """How many images this run has accounted for, one way or another."""
        return self.indexed + self.already_indexed + len(self.duplicates) + len(self.failed)

    def interruption(self, batch_in_flight: bool = False) -> str:
        """The sentence for a stopped run: what is in the index now, and how to finish."""
        of = f" of {self.total}" if self.total is not None else ""
        refused = f", {len(self.failed)} refused" if self.failed else ""
        refused += f", {len(self.duplicates)} identical copies" if self.duplicates else ""
        flight = "; the batch in flight may be partly indexed" if batch_in_flight else ""
        return (
            f"indexed {self.indexed}{of} files ({self.already_indexed} already there{refused}"
            f"{flight}); run the same command again to index the rest"
        )

    def summary(self) -> str:
        """The counts on one line (they add up to the files), then each failure and each group
        of identical images."""
        counts = (self.indexed, self.already_indexed, len(self.failed))
        files = f"{self.total} files: " if self.total is not None else ""
        head = files + "indexed {}, already indexed {}, failed {}".format(*counts)
        if self.duplicates:
            head += f", identical to another file {len(self.duplicates)}"
        lines = [head]
        lines += [f"  failed: {name}: {reason}" for name, reason in sorted(self.failed.items())]
        groups: dict[str, list[str]] = {}
        for name, first in self.duplicates.items():
            groups.setdefault(first, [first]).append(name)
        lines += [f"  identical: {' = '.join(names)}" for _, names in sorted(groups.items())]
        return "\n".join(lines)


def find_images(
    directory: str | os.PathLike, recursive: bool = True, skipped: dict[str, str] | None = None
) -> list[Path]:
    """Regular files under `directory` with an image suffix, sorted.

    Symlinks are followed, but each folder is walked once, so a symlink loop cannot trap the
    walk. What cannot be indexed goes into `skipped` (path: reason) rather than vanishing:
    broken and looping symlinks (whatever their names), image-named entries that are not
    regular files (FIFOs, sockets, devices, which would block or never end when read), folders
    that cannot be listed, and symlinks to a folder walked already.
    """
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    skipped = {} if skipped is None else skipped
    found: list[Path] = []
    top = root.stat()
    walked = {(top.st_dev, top.st_ino): root}
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            skipped[str(folder)] = f"cannot list the folder ({error.strerror or error})"
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                info = os.stat(entry.path)  # follows symlinks
            except OSError as error:
                skipped[str(path)] = open_failure(path, error)
                continue
            if stat.S_ISDIR(info.st_mode):
                if not recursive:
                    continue
                first = walked.setdefault((info.st_dev, info.st_ino), path)
                if first is path:
                    pending.append(path)
                else:
                    skipped[str(path)] = f"the folder {first} again (a symlink); walked once"
            elif path.suffix.lower() in IMAGE_SUFFIXES:
                if stat.S_ISREG(info.st_mode):
                    found.append(path)
                else:
                    skipped[str(path)] = f"not a regular file: {file_kind(info.st_mode)}"
    return sorted(found)


def items_from_paths(
    paths: Iterable[str | os.PathLike], report: IngestReport
) -> Iterator[ImageItem]:
    """Reads each file once (`images.read_file`: bounded, never blocking); unreadable files go
    into the report with the reason."""
    for path in paths:
        try:
            data = read_file(path)
        except ImageError as error:
            report.failed[error.name] = error.reason
            continue
        yield ImageItem(name=str(path), data=data, fields={queries.PATH_FIELD: str(path)})


def ingest(
    es: Client,
    index: str,
    model: HashModel,
    items: Iterable[ImageItem],
    report: IngestReport | None = None,
    batch_size: int = 32,
    total: int | None = None,
    progress: bool = True,
    refresh: bool = True,
    should_stop: Callable[[], bool] | None = None,
    threads: int = DEFAULT_THREADS,
) -> IngestReport:
    """Hashes and indexes `items` in batches; every failure is named in the report.

    Images whose id the index holds already are counted as such and not decoded or hashed.
    `should_stop` is asked before each batch: when it says yes, the run ends there (every
    batch sent so far complete) with `report.interrupted` set. `threads` > 1 overlaps the
    stages (`_Pipeline`); 1 runs them one after the other.
    """
    report = report or IngestReport()
    bar = tqdm(total=total, unit="img", desc=f"indexing into {index}", disable=not progress)
    pipeline = _Pipeline(threads)
    try:
        for batch in _batches(items, batch_size, bar, max_bytes=MAX_BATCH_BYTES):
            if should_stop is not None and should_stop():
                report.interrupted = True
                break
            _index_batch(es, index, model, batch, report, pipeline)
        pipeline.wait()
    finally:
        pipeline.close()
    if refresh:
        es.indices.refresh(index=index)
    return report


class _Pipeline:
    """The stages of an ingest overlapped: images decoded by `threads` threads (Pillow and numpy
    release the GIL while they work), and each batch's bulk request sent by a thread of its own
    while the next batch is decoded and encoded, one request in flight at a time, so that memory
    stays at two batches. With `threads` = 1 every stage runs in the caller's thread."""

    def __init__(self, threads: int) -> None:
        if threads < 1:
            raise ValueError(f"threads must be at least 1, got {threads}")
        self._decoders = ThreadPoolExecutor(threads) if threads > 1 else None
        self._sender = ThreadPoolExecutor(1) if threads > 1 else None
        self._in_flight: Future[None] | None = None

    def map(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if self._decoders is None:
            return [work(item) for item in items]
        return list(self._decoders.map(work, items))

    def send(self, work: Callable[..., None], *args: Any) -> None:
        """Runs `work(*args)` once the request in flight is answered; in the background."""
        self.wait()
        if self._sender is None:
            work(*args)
        else:
            self._in_flight = self._sender.submit(work, *args)

    def wait(self) -> None:
        """Until the request in flight is answered; its error, if any, is raised here."""
        in_flight, self._in_flight = self._in_flight, None
        if in_flight is not None:
            in_flight.result()

    def close(self) -> None:
        for pool in (self._decoders, self._sender):
            if pool is not None:
                pool.shutdown(wait=False, cancel_futures=True)


def _batches(
    items: Iterable[Any], size: int, bar: tqdm, max_bytes: int | None = None
) -> Iterator[list[Any]]:
    """Lists of `size` items (the last one shorter), each counted on the progress bar once done.

    With `max_bytes`, a batch of ImageItems also ends once their data reach that many bytes.
    """
    iterator = iter(items)
    with bar:
        while batch := _next_batch(iterator, size, max_bytes):
            yield batch
            bar.update(len(batch))


def _next_batch(iterator: Iterator[Any], size: int, max_bytes: int | None) -> list[Any]:
    if max_bytes is None:
        return list(islice(iterator, size))
    batch, held = [], 0
    for item in iterator:
        batch.append(item)
        held += len(item.data)
        if len(batch) == size or held >= max_bytes:
            break
    return batch


def _index_batch(
    es: Client,
    index: str,
    model: HashModel,
    batch: list[ImageItem],
    report: IngestReport,
    pipeline: _Pipeline,
) -> None:
    fresh, copies = [], {}
    for item in batch:
        first = report._first.get(item.doc_id)
        if first is None:
            report._first[item.doc_id] = item.name
            fresh.append(item)
        else:
            report.duplicates[item.name] = first
            if queries.PATH_FIELD in item.fields:
                copies.setdefault(item.doc_id, []).append(str(item.fields[queries.PATH_FIELD]))
    _encode_and_send(es, index, model, fresh, report, pipeline)
    if copies:
        pipeline.wait()  # the first copies may be in the request in flight
        _add_other_paths(es, index, copies)


def _add_other_paths(es: Client, index: str, copies: dict[str, list[str]]) -> None:
    """Adds the paths of identical copies to their documents' `other_paths` (a real-time read,
    then a partial update of that field alone), each path once."""
    answer = es.mget(
        index=index,
        body={"ids": list(copies)},
        _source=[queries.PATH_FIELD, queries.OTHER_PATHS_FIELD],
    )
    actions = {}
    for doc in answer.get("docs", []):
        if not doc.get("found"):
            continue  # its first copy failed, or is not sent yet: named in the report anyway
        source = doc.get("_source") or {}
        known = source.get(queries.OTHER_PATHS_FIELD) or []
        known = [known] if isinstance(known, str) else list(known)
        new = [
            p for p in copies[doc["_id"]] if p != source.get(queries.PATH_FIELD) and p not in known
        ]
        if new:
            actions[doc["_id"]] = {
                "_op_type": "update",
                "_index": doc["_index"],
                "_id": doc["_id"],
                "doc": {queries.OTHER_PATHS_FIELD: sorted(set(known + new))},
            }
    failed: dict[str, str] = {}
    send_actions(es, actions, lambda i, ok, _, why: None if ok else failed.update({i: why}))
    if failed:
        raise ClusterError(
            f"{engines.product_name(es)} refused to record the paths of identical copies: "
            + "; ".join(f"{i}: {why}" for i, why in sorted(failed.items()))
        )


def _encode_and_send(
    es: Client,
    index: str,
    model: HashModel,
    batch: list[ImageItem],
    report: IngestReport,
    pipeline: _Pipeline,
) -> None:
    there = existing_ids(es, index, [item.doc_id for item in batch])
    todo = []
    for item in batch:
        if item.doc_id in there:
            report.already_indexed += 1
        else:
            todo.append(item)

    def prepare(item: ImageItem) -> np.ndarray | str:
        """The model's input array, or the reason there is none. Decoded, shrunk and dropped
        one at a time per thread: a batch of large photos holds only their small arrays."""
        try:
            return model.preprocess(load_image(item.data, name=item.name))
        except ImageError as error:
            return error.reason

    arrays, good = [], []
    for item, result in zip(todo, pipeline.map(prepare, todo), strict=True):
        if isinstance(result, str):
            report.failed[item.name] = result
        else:
            arrays.append(result)
            good.append(item)
    if not good:
        return
    bits = codes.bits_from_outputs(model.outputs_of_arrays(arrays))
    items = [(item.doc_id, item.name, item.fields) for item in good]
    pipeline.send(send_codes, es, index, items, bits, report)


def existing_ids(es: Client, index: str, ids: list[str]) -> set[str]:
    """Which of `ids` the index holds. A real-time `mget` (no refresh needed), so a document
    sent by a run killed a moment ago is seen; asks for no `_source`, only whether found."""
    if not ids:
        return set()
    answer = es.mget(
        index=index, body={"ids": list(set(ids))}, _source=False, filter_path="docs._id,docs.found"
    )
    return {doc["_id"] for doc in answer.get("docs", []) if doc.get("found")}


#: Bulk item answers worth sending again: too many requests, and a shard or node that is
#: unavailable for a moment (a node died; its shards' copies elsewhere are being promoted).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: Waits before each further bulk round: about a minute in all, the time a cluster takes to
#: notice a dead node and promote replicas of its shards.
RETRY_WAITS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)


def send_codes(
    es: Client,
    index: str,
    items: list[tuple[str, str, dict[str, Any]]],
    bits: np.ndarray,
    report: IngestReport,
    waits: tuple[float, ...] = RETRY_WAITS,
) -> None:
    """Bulk-creates one document per (id, name, fields) with the code in the same row of `bits`.

    Each document is `{**fields, "image_id": id, "hash": hex}`: `image_id` (its id again) is
    read from doc values by searches, and the plugin derives from `hash` all that search reads.
    An id that exists already counts as already indexed. Documents refused with 429
    or 502-504, and those whose request lost its connection, are sent again after each of
    `waits`: creating by id is idempotent, so a document that did arrive before the connection
    broke comes back as 409 (already indexed), never twice.
    """
    names = {doc_id: name for doc_id, name, _ in items}
    actions = {
        doc_id: {
            "_op_type": "create",
            "_index": index,
            "_id": doc_id,
            **fields,
            queries.ID_FIELD: doc_id,
            **code_fields,
        }
        for (doc_id, _, fields), code_fields in zip(
            items, queries.code_fields_batch(bits), strict=True
        )
    }

    def outcome(doc_id: str, ok: bool, status: object, reason: str) -> None:
        if ok:
            report.indexed += 1
        elif status == 409:
            report.already_indexed += 1
        else:
            name = names.get(doc_id, doc_id)
            report.failed[name] = f"{engines.product_name(es)} refused it: {reason}"

    send_actions(es, actions, outcome, waits)


def send_actions(
    es: Client,
    actions: dict[str, dict[str, Any]],
    outcome: Callable[[str, bool, object, str], None],
    waits: tuple[float, ...] = RETRY_WAITS,
) -> None:
    """Bulk-sends `actions` (by document id) and calls `outcome(id, ok, status, reason)` once
    for each with its final answer. Actions refused with 429 or 502-504, and those whose request
    lost its connection, are sent again after each of `waits`; so each action must be safe to
    send twice (a create by id, an update guarded by its sequence number)."""
    pending = list(actions)
    for attempt in range(len(waits) + 1):
        last = attempt == len(waits)
        if attempt:
            time.sleep(waits[attempt - 1])
        answered: set[str] = set()
        again: list[str] = []
        try:
            for doc_id, ok, status, reason in _bulk(es, [actions[i] for i in pending]):
                answered.add(doc_id)
                if (
                    not ok
                    and (status in RETRY_STATUSES or not isinstance(status, int))
                    and not last
                ):
                    # opensearch-py reports a lost connection per document, status "N/A".
                    again.append(doc_id)
                else:
                    outcome(doc_id, ok, status, reason)
        except Exception as error:
            found = engines.failure(error)
            # No answer from any node (the client tried each): what was not answered is sent
            # again; anything else is not ours to retry.
            if found is None or found.kind != "connection" or last:
                raise
            again += [doc_id for doc_id in pending if doc_id not in answered]
        if not again:
            return
        pending = again


def _bulk(es: Client, actions: list[dict[str, Any]]) -> Iterator[tuple[str, bool, Any, str]]:
    """(id, ok, status, reason) per action, sent by the client's own `streaming_bulk`."""
    results = engines.helpers_of(es).streaming_bulk(
        es,
        # The helpers pop the metadata out of what they are given: hand them copies, so that
        # the same actions can be sent again.
        (dict(action) for action in actions),
        chunk_size=1000,
        raise_on_error=False,
        raise_on_exception=False,
    )
    for ok, result in results:
        outcome = result.get("create") or result.get("update") or result
        error = outcome.get("error", outcome)
        reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
        yield outcome.get("_id", "?"), ok, outcome.get("status"), reason


def copy_codes(
    es: Client,
    source_index: str,
    target_index: str,
    report: IngestReport | None = None,
    batch_size: int = 1000,
    total: int | None = None,
    progress: bool = True,
    refresh: bool = True,
) -> IngestReport:
    """Writes every document of `source_index` into `target_index` in the current layout.

    The code comes from each document's `hash` hex in `_source` (or, lacking it, its layout-v2
    words `hash_r0..3`); the id and every other field (path, ...) are kept as they are, but the
    earlier layouts' code fields (`queries.CODE_FIELDS`: hash_mih, hash_r0..3, hash_f0..3) are
    left behind. Documents without a code are named in the report; shards that fail to answer
    raise (helpers.scan).
    """
    report = report or IngestReport()
    bar = tqdm(
        total=total, unit="doc", desc=f"reindexing into {target_index}", disable=not progress
    )
    scan = engines.helpers_of(es).scan(es, index=source_index, size=batch_size)
    for batch in _batches(scan, batch_size, bar):
        _copy_batch(es, target_index, batch, report)
    if refresh:
        es.indices.refresh(index=target_index)
    return report


def _copy_batch(es: Client, index: str, hits: list[dict[str, Any]], report: IngestReport) -> None:
    items, hexes = [], []
    for hit in hits:
        source = hit.get("_source") or {}
        try:
            code = _stored_code(source)
        except codes.CodeError as error:
            report.failed[hit["_id"]] = f"its `{queries.HEX_FIELD}` is not a code: {error}"
            continue
        if code is None:
            report.failed[hit["_id"]] = (
                f"no code: neither `{queries.HEX_FIELD}` nor {'/'.join(queries.WORD_FIELDS)} "
                "in its _source"
            )
            continue
        fields = {name: value for name, value in source.items() if name not in queries.CODE_FIELDS}
        items.append((hit["_id"], hit["_id"], fields))
        hexes.append(code)
    if items:
        send_codes(es, index, items, codes.bit_rows(hexes), report)


def _stored_code(source: dict[str, Any]) -> str | None:
    """A document's code as hex, from `hash`, else from `hash_r0..3`; None when it has neither."""
    if queries.HEX_FIELD in source:
        return codes.Code.from_hex(source[queries.HEX_FIELD]).hex
    if all(field in source for field in queries.WORD_FIELDS):
        return codes.Code.from_words([int(source[f]) for f in queries.WORD_FIELDS]).hex
    return None
