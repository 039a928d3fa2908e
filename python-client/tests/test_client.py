"""The client's search paths without a cluster: request bodies sent, answers read, errors."""

import io
from typing import Any

import numpy as np
import pytest

from elastichash import ClusterError, Code, codes, queries
from elastichash.client import ElasticHash, Hit, assemble_results
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


class StubES:
    """Answers searches from a function of the request body; records every request."""

    def __init__(self, respond: Any) -> None:
        self.respond = respond
        self.requests: list[dict[str, Any]] = []

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
        ClusterError, match="install or upgrade .*--mode two_stage --scorer painless"
    ):
        assemble_results([unknown], 1, 1, 256, None, "images")  # type: ignore[arg-type]
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
    assert es.requests[0]["_source"] == {"excludes": ["hash_mih", "hash_r*"]}


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
        queries.search_body(h, 2, max_distance=30, docvalue_fields=["image_id"]) for h in hexes
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
        Code.from_bits(BITS[0]), 1, "short", radius=1, docvalue_fields=["image_id"]
    )
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        engine.search_codes(BITS, batch_size=0)
    assert engine.search_codes([], k=3)[0].shape == (0, 3)


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
    ]
    report = IngestReport()
    _copy_batch(None, "new", hits, report)  # type: ignore[arg-type]
    ((index, items, bits),) = sent
    assert index == "new"
    assert items == [("a", "a", {"path": "a.png", "group": 2}), ("d", "d", {})]
    np.testing.assert_array_equal(bits, BITS[[0, 3]])
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
