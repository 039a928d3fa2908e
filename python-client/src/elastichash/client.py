"""The ElasticHash library's front door: an index of image codes in Elasticsearch."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import catalogue, codes, engines, index_meta, manifest, queries
from .catalogue import AddCodesReport
from .engines import Client
from .errors import ClusterError, LayoutError, PartialResultError
from .images import ImageSource
from .ingest import (
    ImageItem,
    IngestReport,
    copy_codes,
    find_images,
    ingest,
    items_from_paths,
    send_codes,
)
from .model import HashModel, ModelIdentity
from .queries import Mode, Scorer
from .sources import ImageReader

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Hit:
    """One search result: `distance` is the Hamming distance in the mode's bits.

    `id` is the document id (its `image_id` doc value); `source` holds the doc-value fields
    asked for (`path`), or the stored `_source` when the search asked for it.
    """

    id: str
    score: float
    distance: int
    source: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "score": self.score,
            "distance": self.distance,
            "source": self.source,
        }


class ElasticHash:
    """Image similarity search over one Elasticsearch or OpenSearch index.

    >>> es = connect("http://127.0.0.1:9200")
    >>> eh = ElasticHash(es, index="images", model=HashModel("m.onnx"))
    >>> eh.create_index()
    >>> eh.index_directory("photos/")
    >>> eh.search("query.jpg", k=10)
    """

    def __init__(
        self, es: Client | None, index: str = "images", model: HashModel | str | None = None
    ) -> None:
        # `es` may be None for what needs no cluster: the query text of `console`.
        self.es = es
        self.index = index
        self._model = model
        # What each index keeps its codes in (`_layout`), asked once per index.
        self._layouts: dict[str, Layout] = {}
        # The indices whose recorded model was checked against the model in hand, and whether
        # for writing (an index that records none then adopts it): asked once per index.
        self._models_checked: set[tuple[str, bool]] = set()

    @property
    def model(self) -> HashModel:
        """The hashing model, loaded on first use (the bundled default when none was given)."""
        if not isinstance(self._model, HashModel):
            self._model = HashModel(self._model)
        return self._model

    # --- index -----------------------------------------------------------------------------

    def create_index(
        self,
        shards: int = 1,
        replicas: int = 0,
        extra_properties: dict[str, Any] | None = None,
        *,
        record_model: bool = True,
    ) -> bool:
        """Creates the index with the ElasticHash mapping (layout v3); False when it exists
        already (whatever its layout: ingest and search look at that).

        The new index records the model (`record_model`, default): its `_meta` names the model
        whose codes it takes, and ingest or a search by image with another model is refused
        (ModelMismatchError). Without it, the first image ingest records its model.
        """
        recorded = self.model.identity if record_model else None
        return self._create(shards, replicas, extra_properties, recorded)

    def _create(
        self,
        shards: int,
        replicas: int,
        extra_properties: dict[str, Any] | None,
        model: ModelIdentity | None,
    ) -> bool:
        with _cluster_errors(self.es):
            if self.es.indices.exists(index=self.index):
                return False
            self.es.indices.create(
                index=self.index,
                body=queries.index_body(
                    shards,
                    replicas,
                    {
                        queries.PATH_FIELD: {"type": "keyword"},
                        queries.OTHER_PATHS_FIELD: {"type": "keyword"},
                        **(extra_properties or {}),
                    },
                    index_meta.meta(model),
                ),
            )
        self._layouts[self.index] = Layout(queries.FIELD_TYPE, (queries.FIELD_TYPE,))
        if model is not None and model == self._loaded_identity():
            self._models_checked |= {(self.index, False), (self.index, True)}
        return True

    def _loaded_identity(self) -> ModelIdentity | None:
        return self._model.identity if isinstance(self._model, HashModel) else None

    def check_model(self, *, writing: bool = False) -> None:
        """A ModelMismatchError when the index records another model than `model`.

        `writing`: the model is about to write codes, so an index that records no model records
        this one from now on (saying so once, as a logged warning). Asked once per index; an
        index whose mapping cannot be read (missing, or not allowed) is not checked.
        """
        if (self.index, writing) in self._models_checked or self.es is None:
            return
        given = self.model.identity
        with _cluster_errors(self.es, self.index):
            recorded = index_meta.recorded_models(self.es, self.index)
            for name, identity in (recorded or {}).items():
                if identity is not None and identity.sha256 != given.sha256:
                    raise index_meta.mismatch(name, identity, given)
                if identity is None and writing and index_meta.record_model(self.es, name, given):
                    log.warning(
                        "index '%s' recorded no model; it records the model %s from now on, "
                        "and refuses codes of any other",
                        name,
                        given.describe(),
                    )
        if recorded is not None:
            self._models_checked.add((self.index, writing))
            if writing:
                self._models_checked.add((self.index, False))

    def _layout(self) -> Layout | None:
        """What the index keeps its codes in, asked once per index through the field
        capabilities API (which the `read` privilege allows, unlike the mapping API). None when
        the cluster does not say (no such index, not allowed): the request itself then meets
        the reason, in its own words."""
        if self.index in self._layouts:
            return self._layouts[self.index]
        try:
            # A list: Elasticsearch's client sends it in the body, OpenSearch's joins it.
            answer = self.es.field_caps(index=self.index, fields=list(LAYOUT_FIELDS))
        except Exception as error:
            found = engines.failure(error)
            if found is None:
                raise
            if found.kind == "answer":
                return None
            raise cluster_error(found, self.es, self.index) from error
        layout = Layout.of(answer.get("fields", {}))
        self._layouts[self.index] = layout
        return layout

    def _check_layout(self, *, writing: bool = False, scorer: Scorer = "plugin") -> Layout | None:
        """A LayoutError, before anything is sent, when the index cannot take the request:
        documents or plugin searches need the hamming_code field `hash`; the Painless scorer
        needs an index of layout v2 (it cannot read a hamming_code field). An index without
        any `hash` is searched (field-level security may hide it) but takes no documents.
        Returns the layout found (None: not known)."""
        layout = self._layout()
        if layout is None:
            return None
        if scorer == "painless":
            if layout.kind == queries.FIELD_TYPE:
                raise LayoutError(
                    f"index '{self.index}' keeps its codes in the hamming_code field "
                    f"`{queries.HEX_FIELD}`, which Painless cannot read; only the plugin scorer "
                    "searches it",
                    self.index,
                    layout.kind,
                )
            return layout
        if layout.kind == queries.FIELD_TYPE or (layout.kind == "none" and not writing):
            return layout
        raise LayoutError(layout.refusal(self.index), self.index, layout.kind)

    def index_directory(
        self,
        directory: str | os.PathLike,
        progress: bool = True,
        batch_size: int = 32,
        report: IngestReport | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> IngestReport:
        """Indexes every image file under `directory`; broken files are named in the report.

        Images already in the index are skipped before decoding, so running it again after an
        interruption indexes exactly the rest. Pass your own `report` to keep the counts when a
        KeyboardInterrupt ends it; `should_stop` ends it cleanly between batches (`ingest`).
        """
        report = report if report is not None else IngestReport()
        skipped: dict[str, str] = {}
        paths = find_images(directory, skipped=skipped)
        report.failed.update(skipped)
        report.total = len(paths) + len(skipped)
        return self._ingest(
            items_from_paths(paths, report), report, len(paths), progress, batch_size, should_stop
        )

    def index_manifest(
        self,
        path: str | os.PathLike,
        *,
        reader: ImageReader | None = None,
        progress: bool = True,
        batch_size: int = 32,
        report: IngestReport | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> IngestReport:
        """Indexes the images a manifest lists (CSV or JSON lines: `manifest`), each with the
        row's other columns as fields beside its code, under the row's `id` or else a hash of
        its bytes. Relative paths start at the manifest's folder (unless `reader` says).
        Rows that cannot be indexed are named by file and line in the report."""
        rows = manifest.read_rows(path)
        reader = reader or ImageReader(base_dir=Path(path).parent)
        report = report if report is not None else IngestReport()
        report.total = len(rows)
        items = (
            ImageItem(name=row.location or row.name, data=data, fields=row.fields, id=row.id)
            for row, data in manifest.read_images(rows, reader, report.failed)
        )
        return self._ingest(items, report, len(rows), progress, batch_size, should_stop)

    def index_images(
        self,
        items: Iterable[tuple[str, bytes] | tuple[str, bytes, dict[str, Any]]],
        progress: bool = True,
        batch_size: int = 32,
    ) -> IngestReport:
        """Indexes (id, image bytes) or (id, image bytes, fields) under the given ids, the
        fields (the user's own: category, owner, ...) stored beside each code."""
        return self._ingest(
            (
                ImageItem(name=item[0], data=item[1], id=item[0], fields=dict(_fields_of(item)))
                for item in items
            ),
            None,
            None,
            progress,
            batch_size,
        )

    def index_codes(
        self,
        ids: list[str],
        bits: np.ndarray,
        fields: list[dict[str, Any]] | None = None,
        refresh: bool = True,
    ) -> IngestReport:
        """Indexes precomputed codes: ids[i] gets the code in row i of `bits` (n, 256).

        A new index records the model only when one was given to this ElasticHash: the codes'
        model is the caller's to know."""
        self.create_index(record_model=self._model is not None)
        bits = np.asarray(bits, dtype=np.uint8)
        if len(ids) != len(bits):
            raise ValueError(f"{len(ids)} ids for {len(bits)} codes")
        self._check_layout(writing=True)
        report = IngestReport()
        items = [(doc_id, doc_id, (fields[i] if fields else {})) for i, doc_id in enumerate(ids)]
        with _cluster_errors(self.es, self.index):
            send_codes(self.es, self.index, items, bits, report)
            if refresh:
                self.es.indices.refresh(index=self.index)
        return report

    def _ingest(  # noqa: ANN001
        self, items, report, total, progress, batch_size, should_stop=None
    ) -> IngestReport:
        self.create_index()
        self._check_layout(writing=True)
        self.check_model(writing=True)
        with _cluster_errors(self.es, self.index):
            return ingest(
                self.es,
                self.index,
                self.model,
                items,
                report,
                batch_size,
                total,
                progress,
                should_stop=should_stop,
            )

    def add_codes(
        self,
        image_field: str,
        *,
        reader: ImageReader | None = None,
        batch_size: int = 32,
        slice_id: int | None = None,
        slices: int | None = None,
        progress: bool = True,
        should_stop: Callable[[], bool] | None = None,
        report: AddCodesReport | None = None,
        point_in_time: str | None = None,
    ) -> AddCodesReport:
        """Adds a code to every document of an existing index that lacks one, from the image
        whose path or http(s) URL its `image_field` holds (`catalogue.add_codes`).

        Only the code is written (a partial update of `hash`); every other field stays as it
        is. An index without the hamming_code field gets it in its mapping first, and records
        the model. `reader` sets where relative paths start, time-outs and the size limit.
        Running it again codes only the documents still without a code. `slice_id` of
        `slices` codes one share; the slices of one run walk one `point_in_time`
        (`catalogue.add_codes`).
        """
        self._prepare_for_codes(image_field)
        with _cluster_errors(self.es, self.index):
            return catalogue.add_codes(
                self.es,
                self.index,
                self.model,
                image_field,
                reader,
                batch_size=batch_size,
                slice_id=slice_id,
                slices=slices,
                progress=progress,
                should_stop=should_stop,
                report=report,
                point_in_time=point_in_time,
            )

    def _prepare_for_codes(self, image_field: str) -> None:
        """Maps the hamming_code field into an existing index that has none, and checks that
        the image field is there and the model is the index's."""
        with _cluster_errors(self.es, self.index):
            if not self.es.indices.exists(index=self.index):
                raise ClusterError(
                    f"index '{self.index}' does not exist at {_url_of(self.es)}; adding codes "
                    "needs an index that holds documents already (a folder or a manifest goes "
                    "into a new index by indexing it)"
                )
            # One request: the image field, and the fields that tell the layout.
            answer = self.es.field_caps(index=self.index, fields=[image_field, *LAYOUT_FIELDS])
            fields = answer.get("fields", {})
            if image_field not in fields:
                raise ClusterError(
                    f"index '{self.index}' has no field `{image_field}`; name the field that "
                    "holds each document's image path or URL"
                )
        layout = self._layouts.setdefault(self.index, Layout.of(fields))
        if layout.kind == "none":
            with _cluster_errors(self.es, self.index):
                self.es.indices.put_mapping(
                    index=self.index,
                    body={"properties": {queries.HEX_FIELD: {"type": queries.FIELD_TYPE}}},
                )
            self._layouts[self.index] = Layout(
                queries.FIELD_TYPE, (queries.FIELD_TYPE,), layout.ids
            )
        self._check_layout(writing=True)
        self.check_model(writing=True)

    def count(self) -> int:
        with _cluster_errors(self.es, self.index):
            return int(self.es.count(index=self.index)["count"])

    def reindex_from(
        self,
        old_index: str,
        shards: int | None = None,
        replicas: int | None = None,
        progress: bool = True,
        batch_size: int = 1000,
    ) -> IngestReport:
        """Moves the images of `old_index` (layout v1 or v2, or v3) into this index, layout v3.

        Creates this index with the old index's own fields (path, ...; not the earlier layouts'
        code fields) and, unless given, its shard and replica counts; then copies every document
        under its id, its code the hamming_code field `hash` (from its hex `hash`, else its
        words `hash_r0..3`). Runs again safely: documents already copied are counted as such.
        An existing index of another layout is refused. The old index is left as it is.
        """
        if old_index == self.index:
            raise ValueError(
                f"reindex needs a new index: the old index and the new one are both {old_index!r}"
            )
        with _cluster_errors(self.es, old_index):
            old = next(iter(self.es.indices.get(index=old_index).values()))
            total = int(self.es.count(index=old_index)["count"])
        settings = old["settings"]["index"]
        properties = old.get("mappings", {}).get("properties", {})
        # The codes are the old index's: so is their model, when it records one.
        old_meta = (old.get("mappings", {}).get("_meta") or {}).get(index_meta.META_KEY, {})
        created = self._create(
            int(settings["number_of_shards"]) if shards is None else shards,
            int(settings.get("number_of_replicas", 0)) if replicas is None else replicas,
            {name: spec for name, spec in properties.items() if name not in queries.CODE_FIELDS},
            ModelIdentity.from_dict(old_meta.get(index_meta.MODEL_KEY)),
        )
        if not created:
            layout = self._layout()
            if layout is not None and layout.kind != queries.FIELD_TYPE:
                raise LayoutError(
                    f"index '{self.index}' exists without the hamming_code field "
                    f"`{queries.HEX_FIELD}` ({layout.description()}), so it cannot take the "
                    "reindexed images; reindex into an index that does not exist yet",
                    self.index,
                    layout.kind,
                )
        with _cluster_errors(self.es, self.index):
            return copy_codes(self.es, old_index, self.index, None, batch_size, total, progress)

    # --- search ----------------------------------------------------------------------------

    def code_of(self, query: ImageSource | codes.Code) -> codes.Code:
        """The query's code: a Code as is, a 64-character hex string as a code, else an image,
        encoded by the model (once `check_model` found it the index's)."""
        if isinstance(query, codes.Code):
            return query
        if isinstance(query, str) and len(query) == codes.HEX_CHARS and not os.path.exists(query):
            return codes.Code.from_hex(query)
        self.check_model()
        return self.model.encode_one(query)

    def get(self, doc_id: str) -> dict[str, Any] | None:
        """One document's `_source`, or None when the index holds no document `doc_id`. Needs no
        plugin and no model."""
        try:
            answer = self.es.get(index=self.index, id=doc_id)
        except Exception as error:
            found = engines.failure(error)
            if found is None:
                raise
            body = found.body if isinstance(found.body, dict) else {}
            if found.status == 404 and body.get("found") is False:
                return None
            raise cluster_error(found, self.es, self.index) from error
        return answer.get("_source", {}) if answer.get("found") else None

    def search_body(
        self,
        query: ImageSource | codes.Code,
        *,
        k: int = 10,
        mode: Mode = "exact",
        scorer: Scorer = "plugin",
        filter: dict[str, Any] | None = None,  # noqa: A002
        radius: int | None = None,
        max_distance: int | None = None,
        source: bool | list[str] = False,
    ) -> dict[str, Any]:
        """The `_search` body of `search` (queries.search_body)."""
        return queries.search_body(
            self.code_of(query),
            k=k,
            mode=mode,
            scorer=scorer,
            filter=filter,
            radius=radius,
            source=source,
            max_distance=max_distance,
        )

    def search(
        self,
        query: ImageSource | codes.Code,
        *,
        k: int = 10,
        mode: Mode = "exact",
        scorer: Scorer = "plugin",
        filter: dict[str, Any] | None = None,  # noqa: A002
        radius: int | None = None,
        max_distance: int | None = None,
        source: bool | list[str] = False,
    ) -> list[Hit]:
        """The k nearest images to `query` (an image, a Code or a hex code), nearest first.

        `mode`: exact (the true k nearest), paper, two_stage, long or short (queries.search_body).
        Hits carry the doc-value fields (`path`) as `source`; `source=True` fetches `_source`,
        a list of field names those fields of it.
        """
        body = self.search_body(
            query,
            k=k,
            mode=mode,
            scorer=scorer,
            filter=filter,
            radius=radius,
            max_distance=max_distance,
            source=source,
        )
        layout = self._check_layout(scorer=scorer)
        body = layout.fit(body) if layout is not None else body
        with _cluster_errors(self.es, self.index):
            response = self.es.search(index=self.index, body=body)
        _check_shards(response, self.es, self.index)
        top = queries.max_score(mode)
        return [_hit(raw, top) for raw in response["hits"]["hits"]]

    def search_codes(
        self,
        codes_: np.ndarray | list[str],
        *,
        k: int = 10,
        mode: Mode = "exact",
        filter: dict[str, Any] | None = None,  # noqa: A002
        max_distance: int | None = None,
        batch_size: int = 100,
        radius: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest images to each of n codes, Faiss-style: `(distances, ids)`.

        `codes_`: (n, 256) bits, (n, 32) packed bytes or n hex strings. Returns distances
        (n, k) int32, nearest first, and ids (n, k) object; a rank without a hit (fewer than k
        found) has distance -1 and id None. Sent as `_msearch` requests of `batch_size` searches.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        hexes = codes.to_hex(codes.bit_rows(codes_))
        bodies = [
            queries.search_body(
                code,
                k=k,
                mode=mode,
                filter=filter,
                radius=radius,
                max_distance=max_distance,
                docvalue_fields=(queries.ID_FIELD,),
            )
            for code in hexes
        ]
        if bodies:
            layout = self._check_layout()
            if layout is not None:
                bodies = [layout.fit(body) for body in bodies]
        responses: list[dict[str, Any]] = []
        for start in range(0, len(bodies), batch_size):
            searches = [part for body in bodies[start : start + batch_size] for part in ({}, body)]
            with _cluster_errors(self.es, self.index):
                answer = self.es.msearch(
                    index=self.index, body=searches, filter_path=MSEARCH_FILTER_PATH
                )
            responses.extend(answer.get("responses", []))
        return assemble_results(
            responses, len(bodies), k, queries.max_score(mode), self.es, self.index
        )

    def console(self, query: ImageSource | codes.Code, **options: Any) -> str:
        """The search as Kibana Dev Tools text."""
        return queries.to_console(self.index, self.search_body(query, **options))


def _fields_of(item: tuple[Any, ...]) -> dict[str, Any]:
    fields = item[2] if len(item) > 2 else {}
    if not isinstance(fields, dict):
        raise TypeError(f"the fields of image {item[0]!r} must be a dict, got {type(fields)}")
    clash = manifest.RESERVED & set(fields)
    if clash:
        raise ValueError(f"the fields of image {item[0]!r}: {manifest.reserved(clash)}")
    return fields


# The fields whose types tell the layouts apart: `hash` (a hamming_code field in layout v3, a
# keyword in v1 and v2) and one field of each earlier layout.
EARLIER_FIELDS = (queries.MIH_FIELD, queries.WORD_FIELDS[0], queries.LEGACY_SUBCODE_FIELDS[0])
LAYOUT_FIELDS = (queries.HEX_FIELD, queries.ID_FIELD, *EARLIER_FIELDS)


@dataclass(frozen=True)
class Layout:
    """What an index keeps its codes in, read from its field capabilities.

    `kind`: "hamming_code" (layout v3), "earlier" (layout v1 or v2), "other" (a `hash` of
    another type) or "none" (no `hash`); `types`: the types `hash` has (several when the name
    covers several indices).
    """

    kind: str
    types: tuple[str, ...]
    ids: bool = True

    @classmethod
    def of(cls, fields: dict[str, Any]) -> Layout:
        """The layout of a field capabilities answer's `fields` (for LAYOUT_FIELDS)."""
        types = tuple(sorted(fields.get(queries.HEX_FIELD, {})))
        ids = queries.ID_FIELD in fields
        if types == (queries.FIELD_TYPE,):
            return cls(queries.FIELD_TYPE, types, ids)
        if any(name in fields for name in EARLIER_FIELDS):
            return cls("earlier", types, ids)
        return cls("other" if types else "none", types, ids)

    def fit(self, body: dict[str, Any]) -> dict[str, Any]:
        """A search body that returns each hit's id on this index: an index without the
        `image_id` doc values (a user's own, coded by `add_codes`) gives `_id`, which needs
        the stored fields that the body would otherwise skip."""
        if not self.ids and body.get("stored_fields") == "_none_":
            del body["stored_fields"]
        return body

    def description(self) -> str:
        """What the index holds instead of a hamming_code field, as a clause."""
        if self.kind == "earlier":
            return "it has an earlier ElasticHash layout: hash_mih and hash_r0..3, or hash_f0..3"
        if self.kind == "none":
            return f"it has no `{queries.HEX_FIELD}` field"
        return f"its `{queries.HEX_FIELD}` is a {' and '.join(self.types)} field"

    def refusal(self, index: str) -> str:
        """Why an index of this layout takes neither documents nor plugin searches."""
        if self.kind == "earlier":
            return (
                f"index '{index}' has an earlier ElasticHash layout (hash_mih and hash_r0..3, "
                f"or hash_f0..3) without the hamming_code field `{queries.HEX_FIELD}`; move it "
                "to the current layout by reindexing it into a new index"
            )
        instead = "" if self.kind == "none" else f", not a {queries.FIELD_TYPE} field"
        return f"index '{index}' is not an ElasticHash index: {self.description()}{instead}"


# What `search_codes` reads of an `_msearch` answer (smaller answers, faster JSON).
MSEARCH_FILTER_PATH = [
    "responses.error",
    "responses.status",
    "responses._shards",
    "responses.hits.hits._id",
    "responses.hits.hits._score",
    "responses.hits.hits.fields",
]


def _hit_id(raw: dict[str, Any]) -> str | None:
    """The hit's `image_id` doc value, else its `_id` (present when `_source` was fetched)."""
    values = raw.get("fields", {}).get(queries.ID_FIELD)
    return values[0] if values else raw.get("_id")


def _hit(raw: dict[str, Any], top: int) -> Hit:
    if "_source" in raw:
        source = raw["_source"]
    else:
        fields = raw.get("fields", {})
        source = {
            name: values[0] if len(values) == 1 else values
            for name, values in fields.items()
            if name != queries.ID_FIELD
        }
    return Hit(_hit_id(raw) or "", raw["_score"], top - round(raw["_score"]), source)


def assemble_results(
    responses: list[dict[str, Any]], n: int, k: int, top: int, es: Client | None, index: str
) -> tuple[np.ndarray, np.ndarray]:
    """`_msearch` responses → (distances (n, k) int32, -1 where missing; ids (n, k), None)."""
    if len(responses) != n:
        raise ClusterError(
            f"{engines.product_name(es)} at {_url_of(es)} answered {len(responses)} of {n} searches"
        )
    distances = np.full((n, k), -1, dtype=np.int32)
    ids = np.full((n, k), None, dtype=object)
    for row, response in enumerate(responses):
        if "error" in response:
            status = response.get("status")
            sentence, kind = _error_sentence(es, index, None, status or "an error", response)
            raise ClusterError(
                sentence,
                status=status if isinstance(status, int) else None,
                reason=_reason(response) or None,
                kind=kind,
            )
        _check_shards(response, es, index)
        for rank, raw in enumerate(response.get("hits", {}).get("hits", [])[:k]):
            distances[row, rank] = top - round(raw["_score"])
            ids[row, rank] = _hit_id(raw)
    return distances, ids


def _check_shards(response: dict[str, Any], es: Client | None, index: str) -> None:
    """A PartialResultError when some shards failed: a partial answer is never passed off as
    whole (a node that died mid-search leaves its shards' hits out of an answer that still says
    200)."""
    shards = response.get("_shards", {})
    if shards.get("failed", 0) > 0:
        failures = shards.get("failures") or [{}]
        reason = failures[0].get("reason", {})
        if isinstance(reason, dict):  # a shard without any copy says only its type
            reason = reason.get("reason") or reason.get("type") or reason
        raise PartialResultError(
            f"{shards['failed']} of {shards.get('total', '?')} shards of index '{index}' at "
            f"{_url_of(es)} failed ({reason or 'no reason given'}), so the answer would be "
            "incomplete; search again once the cluster is whole (green)",
            failed=int(shards["failed"]),
            total=shards.get("total"),
            reason=str(reason) if reason else None,
        )


class _cluster_errors:  # noqa: N801 - used as a context manager
    """Turns client exceptions into ClusterError sentences that say what to do."""

    def __init__(self, es: Client | None, index: str | None = None) -> None:
        self.es, self.index = es, index

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, error, traceback) -> bool:  # noqa: ANN001
        if error is None:
            return False
        found = engines.failure(error)
        if found is None:
            return False
        # The client's exception stays the cause (`raise ... from error`), as elasticsearch-py
        # keeps its own: callers read `status`/`reason` here and the full answer there.
        raise cluster_error(found, self.es, self.index) from error


def cluster_error(found: engines.Failure, es: Client | None, index: str | None) -> ClusterError:
    """The ClusterError for a client exception read by `engines.failure`: one sentence that
    says what to do, with the server's status and reason."""
    url, name = _url_of(es), engines.product_name(es)
    status = found.status if isinstance(found.status, int) else None
    if found.kind == "connection":
        return engines.unreachable(url, found.message or None, name=name)
    if found.kind == "auth":
        return ClusterError(
            engines.refused_credentials(f"{name} at {url}", found.body),
            status=401,
            reason=_reason(found.body) or found.message or None,
        )
    if found.kind == "scan":
        return ClusterError(
            f"reading index '{index}' at {url} failed part-way ({found.message}), so it was not "
            "copied whole",
            reason=found.message or None,
        )
    sentence, kind = _error_sentence(es, index, found.message, found.status, found.body)
    return ClusterError(
        sentence, status=status, reason=_reason(found.body) or found.message or None, kind=kind
    )


def _error_sentence(
    es: Client | None, index: str | None, message: str | None, status: object, body: object
) -> tuple[str, str | None]:
    """One sentence for an error answer (an exception's or an `_msearch` item's), and its kind."""
    url = _url_of(es)
    text = str(body)
    if "index_not_found" in text:
        return (
            f"index '{index}' does not exist at {url}; index images into it first",
            "index_missing",
        )
    if "unknown query [hamming]" in text:
        return (
            f"the cluster at {url} does not know the hamming query: the elastichash plugin is "
            "not installed or older than the query; install or upgrade it (docs/plugin.md), "
            "or search an index of the earlier layout v2 in mode two_stage with the painless "
            "scorer, which needs no plugin",
            "plugin_missing",
        )
    if "script_lang not supported [elastichash]" in text or (
        "[elastichash]" in text and "not supported" in text
    ):
        return (
            f"the elastichash plugin is not installed on the cluster at {url}; install it "
            "(docs/plugin.md), or search an index of the earlier layout v2 with the painless "
            "scorer, which needs no plugin",
            "plugin_missing",
        )
    if "script_lang not supported [painless]" in text:
        return (
            f"the cluster at {url} has no Painless scripting; use the plugin scorer (on an index "
            "of the current layout: reindexing moves an earlier one to it)",
            "painless_missing",
        )
    reason = _reason(body) or message or text
    return f"{engines.product_name(es)} at {url} answered {status}: {reason}", None


def _url_of(es: Client | None) -> str:
    return engines.url_of(es)


def _reason(body: object) -> str:
    """The root causes' reasons of an error body, joined; empty when it has none."""
    cause = body.get("error", {}) if isinstance(body, dict) else {}
    if isinstance(cause, dict) and cause:
        roots = cause.get("root_cause") or [cause]
        return "; ".join(str(r.get("reason", r)) for r in roots)
    return str(cause or "")
