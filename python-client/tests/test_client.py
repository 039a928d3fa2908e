"""The client's search paths without a cluster: request bodies sent, answers read, errors."""

import io
from typing import Any

import numpy as np
import pytest

from elastichash import ClusterError, Code, LayoutError, codes, queries
from elastichash.client import ElasticHash, Hit, Layout, assemble_results
from elastichash.ingest import IngestReport, _copy_batch, _stored_code

RNG = np.random.default_rng(7)
BITS = RNG.integers(0, 2, size=(5, 256), dtype=np.uint8)


def hit(image_id: str | None, distance: int, **fields: Any) -> dict[str, Any]:
    """A hit as a doc-values-only search returns it: no `_id`, no `_source`."""
    values = {name: [value] for name, value in fields.items()}
    if image_id is not None:
        values["image_id"] = [image_id]
    return {"_index": "images", "_score": float(256 - distance), "fields": values}


def answer(*hits: dict[str, Any], failed: int = 0) -> dict[str, Any]:
    shards: dict[str, Any] = {"total": 2, "successful": 2 - failed, "skipped": 0, "failed": failed}
    if failed:
        shards["failures"] = [{"shard": 1, "reason": {"type": "x", "reason": "disk on fire"}}]
    return {"_shards": shards, "hits": {"hits": list(hits)}}


# What `_field_caps` answers for the layout fields of an index of each layout.
# The fields the library maps into every index it creates, beside the code.
PATH_FIELDS = {"path": {"type": "keyword"}, "other_paths": {"type": "keyword"}}
V3_CAPS = {
    "hash": {"hamming_code": {"type": "hamming_code"}},
    "image_id": {"keyword": {"type": "keyword"}},
}
V2_CAPS = {
    "hash": {"keyword": {"type": "keyword"}},
    "hash_mih": {"keyword": {"type": "keyword"}},
    "hash_r0": {"long": {"type": "long"}},
}
V1_CAPS = {
    "hash": {"keyword": {"type": "keyword"}},
    "hash_f0": {"keyword": {"type": "keyword"}},
    "hash_r0": {"long": {"type": "long"}},
}


class StubES:
    """Answers searches from a function of the request body; records every request.

    `caps`: the field capabilities of the index (layout v3 unless given); an exception is
    raised instead when it is one."""

    def __init__(self, respond: Any, caps: Any = None) -> None:
        self.respond = respond
        self.caps = V3_CAPS if caps is None else caps
        self.requests: list[dict[str, Any]] = []
        self.caps_asked: list[tuple[str, str]] = []

    def field_caps(self, index: str, fields: list[str]) -> dict[str, Any]:
        self.caps_asked.append((index, ",".join(fields)))
        if isinstance(self.caps, Exception):
            raise self.caps
        return {"indices": [index], "fields": self.caps}

    def search(self, index: str, body: dict[str, Any]) -> dict[str, Any]:
        # Both clients take the request body as `body=` (engines.py): nothing else may be sent.
        self.requests.append({"index": index, **body})
        return self.respond(body)

    def msearch(self, index: str, body: list[dict[str, Any]], filter_path: Any) -> dict:
        self.requests.append({"index": index, "searches": body})
        assert all(header == {} for header in body[::2])
        return {"responses": [self.respond(search) for search in body[1::2]]}


def by_code(body: dict[str, Any]) -> dict[str, Any]:
    """One hit per query: the document `id-<first 8 hex digits>` at distance 3."""
    code = body["query"]["hamming"]["code"]
    return answer(hit(f"id-{code[:8]}", 3))


# --- reading answers -----------------------------------------------------------------------------


def test_assemble_results_pads_missing_ranks() -> None:
    responses = [answer(hit("a", 0), hit("b", 5), hit("c", 9)), answer(hit("d", 12)), answer()]
    distances, ids = assemble_results(responses, 3, 3, 256, None, "images")  # type: ignore[arg-type]
    assert distances.dtype == np.int32 and distances.shape == (3, 3)
    assert distances.tolist() == [[0, 5, 9], [12, -1, -1], [-1, -1, -1]]
    assert ids.dtype == object
    assert ids.tolist() == [["a", "b", "c"], ["d", None, None], [None, None, None]]


def test_assemble_results_uses_the_mode_s_bits() -> None:
    short = {"_score": 60.0, "fields": {"image_id": ["x"]}}
    distances, _ = assemble_results([answer(short)], 1, 1, 64, None, "images")  # type: ignore[arg-type]
    assert distances.tolist() == [[4]]


def test_failed_shards_are_never_a_partial_answer() -> None:
    responses = [answer(hit("a", 0)), answer(hit("b", 1), failed=1)]
    with pytest.raises(ClusterError, match=r"1 of 2 shards of index 'images' .*disk on fire.*"):
        assemble_results(responses, 2, 1, 256, None, "images")  # type: ignore[arg-type]


def test_msearch_item_errors_are_sentences() -> None:
    unknown = {
        "error": {
            "root_cause": [{"type": "parsing_exception", "reason": "unknown query [hamming]"}],
            "type": "parsing_exception",
            "reason": "unknown query [hamming]",
        },
        "status": 400,
    }
    with pytest.raises(
        ClusterError, match="install or upgrade .*in mode two_stage with the painless scorer"
    ) as raised:
        assemble_results([unknown], 1, 1, 256, None, "images")  # type: ignore[arg-type]
    assert raised.value.kind == "plugin_missing" and "--" not in str(raised.value)
    other = {
        "error": {"root_cause": [{"reason": "[k] must be between 1 and 10000"}]},
        "status": 400,
    }
    with pytest.raises(ClusterError, match=r"answered 400: \[k\] must be between 1 and 10000"):
        assemble_results([other], 1, 1, 256, None, "images")  # type: ignore[arg-type]
    with pytest.raises(ClusterError, match="answered 1 of 2 searches"):
        assemble_results([answer()], 2, 1, 256, None, "images")  # type: ignore[arg-type]


# --- search and search_codes ---------------------------------------------------------------------


def test_search_reads_ids_and_paths_from_doc_values() -> None:
    es = StubES(lambda body: answer(hit("a1", 0, path="x.png"), hit(None, 7, path="y.png")))
    hits = ElasticHash(es, index="pics").search(Code.from_bits(BITS[0]), k=2)  # type: ignore[arg-type]
    assert hits == [Hit("a1", 256.0, 0, {"path": "x.png"}), Hit("", 249.0, 7, {"path": "y.png"})]
    sent = es.requests[0]
    assert sent.pop("index") == "pics"
    assert sent == queries.search_body(Code.from_bits(BITS[0]), k=2)


def test_search_with_source_reads_id_and_source() -> None:
    raw = {"_id": "a1", "_score": 250.0, "_source": {"path": "x.png", "hash": "00"}}
    es = StubES(lambda body: answer(raw))
    engine = ElasticHash(es)  # type: ignore[arg-type]
    hits = engine.search(Code.from_bits(BITS[0]), mode="long", source=True)
    assert hits == [Hit("a1", 250.0, 6, {"path": "x.png", "hash": "00"})]
    assert es.requests[0]["_source"] is True


def test_search_refuses_a_partial_answer() -> None:
    es = StubES(lambda body: answer(hit("a", 0), failed=1))
    with pytest.raises(ClusterError, match="1 of 2 shards .* incomplete"):
        ElasticHash(es).search(Code.from_bits(BITS[0]))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "form", [BITS, codes.pack_bits(BITS), codes.to_hex(BITS), [Code.from_bits(b) for b in BITS]]
)
def test_search_codes_batches_msearch_and_takes_every_form(form: Any) -> None:
    es = StubES(by_code)
    engine = ElasticHash(es, index="pics")  # type: ignore[arg-type]
    distances, ids = engine.search_codes(form, k=2, batch_size=2, max_distance=30)
    hexes = codes.to_hex(BITS)
    assert [len(r["searches"]) for r in es.requests] == [4, 4, 2]  # 5 searches in batches of 2
    bodies = [body for r in es.requests for body in r["searches"][1::2]]
    assert bodies == [
        queries.search_body(h, k=2, max_distance=30, docvalue_fields=["image_id"]) for h in hexes
    ]
    assert distances.tolist() == [[3, -1]] * 5
    assert ids.tolist() == [[f"id-{h[:8]}", None] for h in hexes]


def test_search_codes_matches_search_hit_for_hit() -> None:
    es = StubES(by_code)
    engine = ElasticHash(es)  # type: ignore[arg-type]
    distances, ids = engine.search_codes(BITS, k=1)
    for row, bits in enumerate(BITS):
        (found,) = engine.search(Code.from_bits(bits), k=1)
        assert (found.id, found.distance) == (ids[row, 0], distances[row, 0])


def test_search_codes_other_modes_and_bad_batch_size() -> None:
    es = StubES(lambda body: answer({"_score": 63.0, "fields": {"image_id": ["a"]}}))
    engine = ElasticHash(es)  # type: ignore[arg-type]
    distances, _ = engine.search_codes(BITS[:2], k=1, mode="short", radius=1)
    assert distances.tolist() == [[1], [1]]  # short mode: 64 - score
    body = es.requests[0]["searches"][1]
    assert body == queries.search_body(
        Code.from_bits(BITS[0]), k=1, mode="short", radius=1, docvalue_fields=["image_id"]
    )
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        engine.search_codes(BITS, batch_size=0)
    assert engine.search_codes([], k=3)[0].shape == (0, 3)


# --- the index's layout: asked once, refused before anything is sent -----------------------------


def test_layout_is_asked_once_per_index_and_engine() -> None:
    es = StubES(by_code)
    engine = ElasticHash(es, index="pics")  # type: ignore[arg-type]
    engine.search(Code.from_bits(BITS[0]))
    engine.search_codes(BITS[:2])
    engine.search(Code.from_bits(BITS[1]), mode="paper")
    assert es.caps_asked == [("pics", "hash,image_id,hash_mih,hash_r0,hash_f0")]
    engine.index = "other"
    engine.search(Code.from_bits(BITS[0]))
    assert [index for index, _ in es.caps_asked] == ["pics", "other"]


@pytest.mark.parametrize("caps", [V2_CAPS, V1_CAPS])
@pytest.mark.parametrize("mode", ["exact", "paper", "two_stage", "long", "short"])
def test_searching_an_earlier_layout_is_refused_with_the_reindex_command(
    caps: dict[str, Any], mode: queries.Mode
) -> None:
    es = StubES(by_code, caps)
    engine = ElasticHash(es, index="old-pics")  # type: ignore[arg-type]
    with pytest.raises(LayoutError) as raised:
        engine.search(Code.from_bits(BITS[0]), mode=mode)
    assert isinstance(raised.value, ClusterError)
    assert (raised.value.index, raised.value.layout) == ("old-pics", "earlier")
    message = str(raised.value)
    assert message.startswith("index 'old-pics' has an earlier ElasticHash layout")
    assert message.endswith("move it to the current layout by reindexing it into a new index")
    assert "\n" not in message
    with pytest.raises(LayoutError, match="by reindexing it into a new index"):
        engine.search_codes(BITS[:2])
    assert es.requests == []  # nothing searched


def test_a_hash_of_another_type_is_not_an_elastichash_index() -> None:
    es = StubES(by_code, {"hash": {"text": {"type": "text"}}})
    with pytest.raises(LayoutError) as raised:
        ElasticHash(es, index="notes").search(Code.from_bits(BITS[0]))  # type: ignore[arg-type]
    assert str(raised.value) == (
        "index 'notes' is not an ElasticHash index: its `hash` is a text field, not a "
        "hamming_code field"
    )
    assert raised.value.layout == "other" and es.requests == []


def test_an_index_name_over_old_and_new_indices_is_refused() -> None:
    mixed = {
        "hash": {"hamming_code": {"type": "hamming_code"}, "keyword": {"type": "keyword"}},
        "hash_mih": {"keyword": {"type": "keyword"}},
    }
    es = StubES(by_code, mixed)
    with pytest.raises(LayoutError, match="earlier ElasticHash layout"):
        ElasticHash(es, index="all-pics").search(Code.from_bits(BITS[0]))  # type: ignore[arg-type]


def test_without_a_visible_hash_the_search_is_left_to_the_node() -> None:
    """Field-level security may hide `hash` from field_caps: the node decides, in its words."""
    es = StubES(by_code, {})
    hits = ElasticHash(es).search(Code.from_bits(BITS[0]))  # type: ignore[arg-type]
    assert len(hits) == 1 and len(es.requests) == 1


def test_a_field_caps_refusal_leaves_the_answer_to_the_search() -> None:
    """A 403 or 404 from field_caps is not the caller's error: the search meets the reason."""
    from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
    from elasticsearch import AuthorizationException

    meta = ApiResponseMeta(403, "1.1", HttpHeaders(), 0.0, NodeConfig("http", "h", 9200))
    refused = AuthorizationException("forbidden", meta, {"error": {"reason": "forbidden"}})
    es = StubES(by_code, refused)
    engine = ElasticHash(es)  # type: ignore[arg-type]
    assert len(engine.search(Code.from_bits(BITS[0]))) == 1
    engine.search(Code.from_bits(BITS[0]))
    assert len(es.caps_asked) == 2  # not known: asked again next time
    assert len(es.requests) == 2


def test_painless_on_a_hamming_code_index_is_refused_before_sending() -> None:
    es = StubES(by_code)
    engine = ElasticHash(es, index="pics")  # type: ignore[arg-type]
    with pytest.raises(LayoutError) as raised:
        engine.search(Code.from_bits(BITS[0]), mode="two_stage", scorer="painless")
    assert str(raised.value) == (
        "index 'pics' keeps its codes in the hamming_code field `hash`, which Painless cannot "
        "read; only the plugin scorer searches it"
    )
    assert raised.value.layout == "hamming_code" and es.requests == []


def test_painless_searches_an_index_of_layout_v2() -> None:
    es = StubES(lambda body: answer(hit("a", 4)), V2_CAPS)
    engine = ElasticHash(es, index="old")  # type: ignore[arg-type]
    (found,) = engine.search(Code.from_bits(BITS[0]), mode="two_stage", scorer="painless")
    assert (found.id, found.distance) == ("a", 4)
    sent = es.requests[0]["query"]["script_score"]
    assert sent["script"]["lang"] == "painless"
    assert list(sent["query"]["bool"]["filter"][0]["terms"]) == ["hash_mih"]


@pytest.mark.parametrize(
    ("caps", "kind"),
    [
        (V3_CAPS, "hamming_code"),
        (V2_CAPS, "earlier"),
        (V1_CAPS, "earlier"),
        ({"hash_r0": {"long": {"type": "long"}}}, "earlier"),
        ({"hash": {"keyword": {"type": "keyword"}}}, "other"),
        ({}, "none"),
    ],
)
def test_layout_of_field_caps(caps: dict[str, Any], kind: str) -> None:
    assert Layout.of(caps).kind == kind


class StubIndices:
    def __init__(self, exists: bool) -> None:
        self._exists = exists
        self.created: list[dict[str, Any]] = []

    def exists(self, index: str) -> bool:
        return self._exists

    def create(self, index: str, body: dict[str, Any]) -> None:
        self.created.append(body)
        self._exists = True

    def refresh(self, index: str) -> None:
        pass

    def get(self, index: str) -> dict[str, Any]:
        mappings = queries.v2_mapping({"path": {"type": "keyword"}})
        settings = {"index": {"number_of_shards": "2", "number_of_replicas": "0"}}
        return {index: {"settings": settings, "mappings": mappings}}


class StubWriter(StubES):
    """A cluster that holds the index already (or not), with field capabilities `caps`."""

    def __init__(self, exists: bool, caps: Any = None) -> None:
        super().__init__(by_code, caps)
        self.indices = StubIndices(exists)

    def count(self, index: str) -> dict[str, int]:
        return {"count": 0}


@pytest.mark.parametrize("caps", [V2_CAPS, V1_CAPS, {}])
def test_ingest_into_an_index_of_another_layout_is_refused(
    caps: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("elastichash.client.send_codes", lambda *a: pytest.fail("sent"))
    es = StubWriter(exists=True, caps=caps)
    engine = ElasticHash(es, index="old")  # type: ignore[arg-type]
    expected = "by reindexing it into a new index" if caps else "index: it has no `hash` field$"
    with pytest.raises(LayoutError, match=expected):
        engine.index_codes(["a"], BITS[:1])
    with pytest.raises(LayoutError, match=expected):
        engine.index_images([("a", b"not read")], progress=False)
    assert es.indices.created == []


def test_ingest_into_a_new_index_asks_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[Any] = []
    monkeypatch.setattr("elastichash.client.send_codes", lambda *a: sent.append(a))
    es = StubWriter(exists=False, caps=V2_CAPS)  # field_caps would refuse: never asked
    ElasticHash(es, index="new").index_codes(["a"], BITS[:1])  # type: ignore[arg-type]
    (created,) = es.indices.created
    assert created["mappings"] == queries.mapping(PATH_FIELDS)
    assert es.caps_asked == [] and len(sent) == 1


def test_reindex_refuses_a_target_of_another_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("elastichash.client.copy_codes", lambda *a: pytest.fail("copied"))
    es = StubWriter(exists=True, caps=V2_CAPS)
    with pytest.raises(LayoutError) as raised:
        ElasticHash(es, index="taken").reindex_from("old", progress=False)  # type: ignore[arg-type]
    assert str(raised.value).startswith(
        "index 'taken' exists without the hamming_code field `hash` (it has an earlier "
        "ElasticHash layout: hash_mih and hash_r0..3, or hash_f0..3), so it cannot take"
    )
    assert str(raised.value).endswith("reindex into an index that does not exist yet")


def test_reindex_creates_layout_v3_with_the_old_index_s_own_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    copied: list[Any] = []
    monkeypatch.setattr("elastichash.client.copy_codes", lambda *a: copied.append(a))
    es = StubWriter(exists=False)
    ElasticHash(es, index="new").reindex_from("old", progress=False)  # type: ignore[arg-type]
    (created,) = es.indices.created
    assert created["mappings"] == queries.mapping(PATH_FIELDS)
    assert created["settings"] == {"number_of_shards": 2, "number_of_replicas": 0}
    assert copied[0][1:3] == ("old", "new")


# --- reindex: documents of an older layout ------------------------------------------------------


def old_document(doc_id: str, bits: np.ndarray, **fields: Any) -> dict[str, Any]:
    """A layout-v1 document: sub-codes in hash_f0..3, no hash_mih, no image_id."""
    code = Code.from_bits(bits)
    source = {
        "hash": code.hex,
        **{f"hash_f{i}": f"{int(v):04x}" for i, v in enumerate(code.subcodes[:4])},
        **{f"hash_r{i}": int(w) for i, w in enumerate(code.words)},
        **fields,
    }
    return {"_id": doc_id, "_source": source}


def test_stored_code_from_hash_or_words() -> None:
    code = Code.from_bits(BITS[1])
    assert _stored_code({"hash": code.hex.upper()}) == code.hex
    words = {f"hash_r{i}": int(w) for i, w in enumerate(code.words)}
    assert _stored_code(words) == code.hex
    assert _stored_code({"path": "x"}) is None


def test_copy_batch_rebuilds_code_fields_and_keeps_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(
        "elastichash.ingest.send_codes",
        lambda es, index, items, bits, report: sent.append((index, items, bits)),
    )
    hits = [
        old_document("a", BITS[0], path="a.png", group=2),
        {"_id": "b", "_source": {"path": "b.png"}},
        {"_id": "c", "_source": {"hash": "xyz"}},
        old_document("d", BITS[3]),
        # Layout v2: hash, hash_mih, hash_r0..3 and image_id; only `path` is the user's.
        {
            "_id": "e",
            "_source": {
                **queries.v2_code_fields(Code.from_bits(BITS[4])),
                "image_id": "e",
                "path": "e.png",
            },
        },
    ]
    report = IngestReport()
    _copy_batch(None, "new", hits, report)  # type: ignore[arg-type]
    ((index, items, bits),) = sent
    assert index == "new"
    assert items == [
        ("a", "a", {"path": "a.png", "group": 2}),
        ("d", "d", {}),
        ("e", "e", {"path": "e.png"}),
    ]
    np.testing.assert_array_equal(bits, BITS[[0, 3, 4]])
    assert set(report.failed) == {"b", "c"}
    assert "neither `hash` nor hash_r0/hash_r1/hash_r2/hash_r3" in report.failed["b"]
    assert "is not a code" in report.failed["c"]


def test_batches_cover_every_item_once_and_count_them() -> None:
    from tqdm import tqdm

    from elastichash.ingest import _batches

    bar = tqdm(total=7, file=io.StringIO())
    assert list(_batches(range(7), 3, bar)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert bar.n == 7
    assert list(_batches([], 3, tqdm(disable=True))) == []
