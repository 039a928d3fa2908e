"""Bulk indexing of images: decode, hash, send; a report of what was indexed and what failed.

Document ids are content hashes, and documents are sent with `op_type: create`, so running the
same ingest twice indexes nothing the second time. `copy_codes` moves the documents of an index
with an older layout into one with the current layout (`ElasticHash.reindex_from`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import codes, engines, queries
from .engines import Client
from .errors import ImageError
from .images import IMAGE_SUFFIXES, load_image
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


@dataclass
class IngestReport:
    """What an ingest did. `failed` maps each image's name to the reason."""

    indexed: int = 0
    already_indexed: int = 0
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        counts = (self.indexed, self.already_indexed, len(self.failed))
        lines = ["indexed {}, already indexed {}, failed {}".format(*counts)]
        lines += [f"  failed: {name}: {reason}" for name, reason in sorted(self.failed.items())]
        return "\n".join(lines)


def find_images(directory: str | os.PathLike, recursive: bool = True) -> list[Path]:
    """Files under `directory` with an image suffix, sorted; broken ones are reported later."""
    root = Path(directory)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: not a directory")
    pattern = "**/*" if recursive else "*"
    return sorted(
        p for p in root.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def items_from_paths(
    paths: Iterable[str | os.PathLike], report: IngestReport
) -> Iterator[ImageItem]:
    """Reads each file once; unreadable files go into the report."""
    for path in paths:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            report.failed[str(path)] = f"cannot read the file ({error.strerror or error})"
            continue
        yield ImageItem(name=str(path), data=data, fields={"path": str(path)})


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
) -> IngestReport:
    """Hashes and indexes `items` in batches; every failure is named in the report."""
    report = report or IngestReport()
    bar = tqdm(total=total, unit="img", desc=f"indexing into {index}", disable=not progress)
    for batch in _batches(items, batch_size, bar):
        _index_batch(es, index, model, batch, report)
    if refresh:
        es.indices.refresh(index=index)
    return report


def _batches(items: Iterable[Any], size: int, bar: tqdm) -> Iterator[list[Any]]:
    """Lists of `size` items (the last one shorter), each counted on the progress bar once done."""
    iterator = iter(items)
    with bar:
        while batch := list(islice(iterator, size)):
            yield batch
            bar.update(len(batch))


def _index_batch(
    es: Client, index: str, model: HashModel, batch: list[ImageItem], report: IngestReport
) -> None:
    images, good = [], []
    for item in batch:
        try:
            images.append(load_image(item.data, name=item.name))
            good.append(item)
        except ImageError as error:
            report.failed[item.name] = error.reason
    if not good:
        return
    # Already decoded to RGB above: run the model on them directly, not through encode's loader.
    bits = codes.bits_from_outputs(model.outputs(images))
    send_codes(es, index, [(item.doc_id, item.name, item.fields) for item in good], bits, report)


def send_codes(
    es: Client,
    index: str,
    items: list[tuple[str, str, dict[str, Any]]],
    bits: np.ndarray,
    report: IngestReport,
) -> None:
    """Bulk-creates one document per (id, name, fields) with the code in the same row of `bits`.

    Each document gets the code fields and `image_id` (its id again, read from doc values by
    searches); an id that exists already counts as already indexed.
    """
    names = {doc_id: name for doc_id, name, _ in items}
    actions = [
        {
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
    ]
    results = engines.helpers_of(es).streaming_bulk(
        es,
        actions,
        chunk_size=1000,
        max_retries=5,  # 429s are retried with exponential backoff
        initial_backoff=1,
        raise_on_error=False,
        raise_on_exception=False,
    )
    for ok, result in results:
        outcome = result.get("create", result)
        name = names.get(outcome.get("_id"), outcome.get("_id", "?"))
        if ok:
            report.indexed += 1
        elif outcome.get("status") == 409:
            report.already_indexed += 1
        else:
            error = outcome.get("error", outcome)
            reason = error.get("reason", str(error)) if isinstance(error, dict) else str(error)
            report.failed[name] = f"{engines.product_name(es)} refused it: {reason}"


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
    """Writes every document of `source_index` into `target_index` with the current code fields.

    The code comes from each document's `hash` hex in `_source` (or, lacking it, its words
    `hash_r0..3`); the id and every other field (path, ...) are kept as they are. Documents
    without a code are named in the report; shards that fail to answer raise (helpers.scan).
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
