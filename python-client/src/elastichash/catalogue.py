"""Codes for the documents an index already holds: each document's image, named by a field.

`add_codes` walks the documents that lack a code (a point in time, `search_after`, optionally
one slice of several), reads each image from the path or URL in the image field (`sources`),
encodes a batch at a time and writes only the code into each document: a partial update
guarded by the document's sequence number, so every other field stays as it is and a document
changed meanwhile is not given the code of its old image. What fails is named with its document
id and the reason; a re-run visits only the documents still without a code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from tqdm import tqdm

from . import codes, engines, queries
from .engines import Client
from .errors import ClusterError, ImageError
from .images import load_image
from .ingest import send_actions
from .model import HashModel
from .sources import ImageReader

#: How long the point in time lives between two pages (each page renews it).
KEEP_ALIVE = "10m"
#: Documents asked for per page; only their image field is fetched.
PAGE_SIZE = 500


@dataclass
class AddCodesReport:
    """What `add_codes` did: `failed` maps each document id to the reason.

    `total` is how many documents lacked a code when the walk began (in the slice walked);
    once complete, coded + already_coded + len(failed) == total unless documents were added
    meanwhile. `already_coded` counts documents that another walk coded first (a slice run
    again after its worker died finds what the dead worker wrote).
    """

    coded: int = 0
    already_coded: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    total: int | None = None
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        of = f"{self.total} documents without a code: " if self.total is not None else ""
        already = f", already coded {self.already_coded}" if self.already_coded else ""
        lines = [f"{of}coded {self.coded}{already}, failed {len(self.failed)}"]
        lines += [f"  failed: {doc_id}: {reason}" for doc_id, reason in sorted(self.failed.items())]
        return "\n".join(lines)


def missing_code_query() -> dict[str, Any]:
    """Documents without a code in the hamming_code field."""
    return {"bool": {"must_not": [{"exists": {"field": queries.HEX_FIELD}}]}}


def add_codes(
    es: Client,
    index: str,
    model: HashModel,
    image_field: str,
    reader: ImageReader | None = None,
    *,
    batch_size: int = 32,
    slice_id: int | None = None,
    slices: int | None = None,
    progress: bool = True,
    should_stop: Callable[[], bool] | None = None,
    report: AddCodesReport | None = None,
    refresh: bool = True,
    point_in_time: str | None = None,
) -> AddCodesReport:
    """Codes every document of `index` that lacks one, from the image its `image_field` names.

    The index must have the hamming_code field already (`ElasticHash.add_codes` maps it).
    `slice_id` of `slices` walks one share of the documents, so that several processes can
    share the work; the slices of one run must walk one `point_in_time`, opened before any of
    them starts (`engines.open_point_in_time`; the caller closes it): a slice is a share of
    one view of the index, and coding documents changes the view a later one would open.
    `should_stop` is asked before each batch (as in `ingest.ingest`).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    reader = reader or ImageReader()
    report = report if report is not None else AddCodesReport()
    query = missing_code_query()
    walk_slice = None
    if slices is not None and slices > 1:
        walk_slice = {"id": slice_id or 0, "max": slices}
    bar = tqdm(unit="doc", desc=f"coding {index}", disable=not progress)
    # Reading is mostly waiting (disks, web servers): a few threads overlap it.
    with bar, ThreadPoolExecutor(max_workers=8) as pool:
        for total, hits in _pages(es, index, query, image_field, walk_slice, point_in_time):
            if report.total is None:
                report.total = bar.total = total
                bar.refresh()
            for start in range(0, len(hits), batch_size):
                if should_stop is not None and should_stop():
                    report.interrupted = True
                    break
                batch = hits[start : start + batch_size]
                _code_batch(es, model, image_field, reader, pool, batch, report)
                bar.update(len(batch))
            if report.interrupted:
                break
    if refresh:
        es.indices.refresh(index=index)
    return report


def _pages(
    es: Client,
    index: str,
    query: dict[str, Any],
    image_field: str,
    walk_slice: dict[str, int] | None,
    point_in_time: str | None = None,
) -> Iterator[tuple[int, list[dict[str, Any]]]]:
    """Pages of hits (id, index, sequence number, the image field) under one point in time (a
    new one unless given), so that documents coded meanwhile neither shift the pages nor come
    back; each with the number of documents the walk (its slice) holds, counted by the first
    page."""
    own = point_in_time is None
    pit_id = engines.open_point_in_time(es, index, KEEP_ALIVE) if own else point_in_time
    try:
        after: list[Any] | None = None
        total = 0
        while True:
            body: dict[str, Any] = {
                "query": query,
                "size": PAGE_SIZE,
                "_source": [image_field],
                "seq_no_primary_term": True,
                "sort": ["_shard_doc"],
                "track_total_hits": after is None,
                "pit": {"id": pit_id, "keep_alive": KEEP_ALIVE},
            }
            if walk_slice is not None:
                body["slice"] = walk_slice
            if after is not None:
                body["search_after"] = after
            answer = es.search(body=body)
            pit_id = answer.get("pit_id", pit_id)
            _check_shards(answer, index)
            if after is None:
                total = int(answer["hits"]["total"]["value"])
            hits = answer["hits"]["hits"]
            if not hits:
                if after is None:
                    yield total, hits  # nothing to code: the count, for the report
                return
            yield total, hits
            after = hits[-1]["sort"]
    finally:
        if own:
            engines.close_point_in_time(es, pit_id)


def _check_shards(answer: dict[str, Any], index: str) -> None:
    shards = answer.get("_shards", {})
    if shards.get("failed", 0):
        failures = shards.get("failures") or [{}]
        raise ClusterError(
            f"{shards['failed']} of {shards.get('total', '?')} shards failed to list their "
            f"documents of index '{index}' ({failures[0].get('reason', 'no reason given')}); "
            "run again once the cluster is whole (what was coded stays coded)",
        )


def image_location(source: dict[str, Any], image_field: str) -> str:
    """The image field's value (a dotted name reaches into objects), or an ImageError."""
    value: Any = source
    for part in image_field.split("."):
        if not isinstance(value, dict) or part not in value:
            raise ImageError("", f"no `{image_field}` field")
        value = value[part]
    if isinstance(value, list):
        if len(value) != 1:
            raise ImageError("", f"its `{image_field}` holds {len(value)} values, not one")
        value = value[0]
    if not isinstance(value, str) or not value.strip():
        raise ImageError("", f"its `{image_field}` is not a path or URL: {value!r}")
    return value


def _code_batch(
    es: Client,
    model: HashModel,
    image_field: str,
    reader: ImageReader,
    pool: ThreadPoolExecutor,
    hits: list[dict[str, Any]],
    report: AddCodesReport,
) -> None:
    def read(hit: dict[str, Any]) -> Any:
        """The preprocessed image of a hit, or the reason it has none."""
        try:
            location = image_location(hit.get("_source") or {}, image_field)
            data = reader.read(location)
            return model.preprocess(load_image(data, name=location))
        except ImageError as error:
            return error.reason

    arrays, good = [], []
    for hit, result in zip(hits, pool.map(read, hits), strict=True):
        if isinstance(result, str):
            report.failed[hit["_id"]] = result
        else:
            arrays.append(result)
            good.append(hit)
    if not good:
        return
    hexes = codes.to_hex(codes.bits_from_outputs(model.outputs_of_arrays(arrays)))
    assert isinstance(hexes, list)
    actions = {
        hit["_id"]: {
            "_op_type": "update",
            "_index": hit["_index"],
            "_id": hit["_id"],
            "if_seq_no": hit["_seq_no"],
            "if_primary_term": hit["_primary_term"],
            "doc": {queries.HEX_FIELD: code},
        }
        for hit, code in zip(good, hexes, strict=True)
    }

    changed: list[str] = []

    def outcome(doc_id: str, ok: bool, status: object, reason: str) -> None:
        if ok:
            report.coded += 1
        elif status == 409:
            changed.append(doc_id)
        elif status == 404:
            report.failed[doc_id] = "deleted while it was being coded"
        else:
            report.failed[doc_id] = f"{engines.product_name(es)} refused the code: {reason}"

    send_actions(es, actions, outcome)
    if changed:
        _sort_changed(es, {doc_id: actions[doc_id]["_index"] for doc_id in changed}, report)


def _sort_changed(es: Client, changed: dict[str, str], report: AddCodesReport) -> None:
    """Documents changed since the walk saw them: coded by another walk meanwhile (a slice run
    again after its worker died), or changed otherwise (their code would be their old image's)."""
    docs = [{"_index": index, "_id": doc_id} for doc_id, index in changed.items()]
    found = es.mget(body={"docs": docs}, _source=[queries.HEX_FIELD])["docs"]
    for doc in found:
        if doc.get("found") and (doc.get("_source") or {}).get(queries.HEX_FIELD):
            report.already_coded += 1
        else:
            report.failed[doc["_id"]] = "changed while it was being coded; run again to code it"
