"""Elasticsearch request bodies for ElasticHash, as plain dicts (no client needed).

The index layout (v3: docs/code-format.md), the documents' code field, the plugin's `hamming`
query (docs/hamming-query.md), the multi-index hashing terms filter and the `hamming` score
script. Every body here can be sent with the official client or pasted into Kibana's console
(`to_console`).

Layout v3 is one field: `hash`, of the plugin's type `hamming_code`. A document carries its
code once, as 64 hex characters, and the plugin derives what search needs (the sub-code terms,
the 64-bit words). Earlier layouts kept those derived fields in the documents: v2 the sub-code
terms in the keyword field `hash_mih` and the words in the long fields `hash_r0..3`, v1
sub-codes 0..3 in the keyword fields `hash_f0..3`. `elastichash reindex` moves either into
layout v3. Layout v2 is still written from one place, the `v2_` names (`v2_mapping`,
`v2_code_fields`, `v2_painless_script`), for tests and benchmarks of `reindex` and of the
paper's Painless baseline: Painless cannot read a hamming_code field.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from . import codes

# The hex code, in every layout; in layout v3 a field of the plugin's type FIELD_TYPE.
HEX_FIELD = "hash"
FIELD_TYPE = "hamming_code"
ID_FIELD = "image_id"
# Layout v2 (the hamming query before the field type): sub-code terms and 64-bit words.
MIH_FIELD = "hash_mih"
WORD_FIELDS = tuple(f"hash_r{i}" for i in range(codes.N_WORDS))
# Layout v1 (before the hamming query): the short code's sub-codes in four keyword fields.
LEGACY_SUBCODE_FIELDS = tuple(f"hash_f{i}" for i in range(codes.N_SUBCODES))
DEFAULT_RADIUS = 2
# Every field the library writes, in any layout, as opposed to the user's own.
CODE_FIELDS = frozenset({HEX_FIELD, MIH_FIELD, ID_FIELD, *WORD_FIELDS, *LEGACY_SUBCODE_FIELDS})
# What a search fetches by default: doc values only, no stored fields (`_source`, `_id`).
# Where an image was found: its first path, and the paths of identical copies (ingest).
PATH_FIELD = "path"
OTHER_PATHS_FIELD = "other_paths"
DOCVALUE_FIELDS = (ID_FIELD, PATH_FIELD)

Mode = Literal["exact", "paper", "two_stage", "long", "short"]
Scorer = Literal["plugin", "painless"]
MODES: tuple[str, ...] = ("exact", "paper", "two_stage", "long", "short")
QUERY_MODES: tuple[str, ...] = ("exact", "paper")  # the plugin's `hamming` query
SCRIPT_MODES: tuple[str, ...] = ("two_stage", "long", "short")  # a query + the hamming script
RADIUS_MODES: tuple[str, ...] = ("paper", "two_stage", "short")  # multi-index hashing filters
SCORERS: tuple[str, ...] = ("plugin", "painless")

# The same number as the plugin's `hamming` script on layout v2's long fields: 64 * fields -
# distance, 0 when a word is missing. Painless ships with every full Elasticsearch distribution
# and hosted cluster, but cannot read a hamming_code field: this is the paper's baseline on
# indices of layout v2 (`v2_mapping`).
PAINLESS_HAMMING = (
    "double score = 0; "
    "for (int i = 0; i < params.fields.size(); ++i) { "
    "def values = doc[params.fields.get(i)]; "
    "if (values.size() == 0) { return 0; } "
    "score += 64 - Long.bitCount(params.words.get(i) ^ values.value); "
    "} return score;"
)


CodeLike = codes.Code | str


def as_code(code: CodeLike) -> codes.Code:
    """A Code as is; a 64-character hex string as a Code (CodeError when it is not one)."""
    return code if isinstance(code, codes.Code) else codes.Code.from_hex(code)


def _with_extra(
    properties: dict[str, Any], extra_properties: dict[str, Any] | None
) -> dict[str, Any]:
    clash = CODE_FIELDS & set(extra_properties or {})
    if clash:
        raise ValueError(f"extra properties may not redefine ElasticHash fields: {sorted(clash)}")
    return {"properties": {**properties, **(extra_properties or {})}}


def mapping(extra_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index mapping (layout v3, docs/code-format.md), plus the user's own fields.

    `hash` is the plugin's `hamming_code` field: it takes the hex code and derives the sub-code
    terms and the words that search reads. `image_id` (the document id again) is read as a doc
    value, so that hits need no stored fields. `extra_properties` may not name these, nor the
    fields of the earlier layouts (`CODE_FIELDS`).
    """
    properties = {
        HEX_FIELD: {"type": FIELD_TYPE},
        ID_FIELD: {"type": "keyword", "index": False},
    }
    return _with_extra(properties, extra_properties)


def v2_mapping(extra_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The mapping of the earlier layout v2, written by hand without the field type.

    The sub-code terms `hash_mih` are searched (no doc values), the words `hash_r0..3` read as
    doc values (no points index), and the hex code `hash` lives in `_source` only. For tests
    and benchmarks of `reindex` and of the Painless scorer; the library writes layout v3.
    """
    properties: dict[str, Any] = {
        HEX_FIELD: {"type": "keyword", "index": False, "doc_values": False},
        MIH_FIELD: {"type": "keyword", "doc_values": False},
        **{field: {"type": "long", "index": False} for field in WORD_FIELDS},
        ID_FIELD: {"type": "keyword", "index": False},
    }
    return _with_extra(properties, extra_properties)


def index_settings(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Index settings: primary shards and replicas."""
    if shards < 1 or replicas < 0:
        raise ValueError(f"need shards >= 1 and replicas >= 0, got {shards} and {replicas}")
    return {"number_of_shards": shards, "number_of_replicas": replicas}


def index_body(
    shards: int = 1,
    replicas: int = 0,
    extra_properties: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The body of `PUT <index>`: settings and mapping, with `meta` as the mapping's `_meta`
    (what the index records of itself: `index_meta`)."""
    mappings = mapping(extra_properties)
    if meta:
        mappings["_meta"] = meta
    return {"settings": index_settings(shards, replicas), "mappings": mappings}


def subcode_terms(
    subcodes: np.ndarray | Sequence[int], positions: np.ndarray | Sequence[int] | None = None
) -> list[Any]:
    """Sub-codes (..., s) → their terms, as nested lists of the same shape.

    A term is the sub-code's position in one hex digit and its value in four lowercase hex
    digits (`"%x%04x" % (position, value)`): sub-code 0x4567 at position 1 is `"14567"`. The
    `hamming_code` field's `term`/`terms` queries take this text, as layout v2's `hash_mih`
    held it. `positions` (broadcast against `subcodes`) defaults to 0, 1, ... along the last axis.
    """
    values = np.asarray(subcodes)
    if values.dtype.kind not in "iu" or values.min(initial=0) < 0 or values.max(initial=0) > 0xFFFF:
        raise codes.CodeError(f"sub-codes must be integers in [0, 65535], got {values.dtype}")
    where = np.arange(values.shape[-1]) if positions is None else np.asarray(positions)
    if where.min(initial=0) < 0 or where.max(initial=0) >= codes.CODE_SUBCODES:
        raise codes.CodeError(f"sub-code positions must be 0..{codes.CODE_SUBCODES - 1}")
    keyed = (where.astype(np.uint32) << 16) | values.astype(np.uint32)
    text = np.ascontiguousarray(keyed.astype(">u4")).tobytes().hex()  # 8 digits: "000" + term
    return (
        np.array([text[i + 3 : i + 8] for i in range(0, len(text), 8)])
        .reshape(keyed.shape)
        .tolist()
    )


def code_fields_batch(batch: np.ndarray | Sequence[str]) -> list[dict[str, Any]]:
    """The code field `{"hash": hex}` of many documents (any form `codes.bit_rows` takes)."""
    return [{HEX_FIELD: hex_code} for hex_code in codes.to_hex(codes.bit_rows(batch))]


def code_fields(code: CodeLike) -> dict[str, Any]:
    """One document's code field: `{"hash": "<64 hex characters>"}` (layout v3)."""
    return {HEX_FIELD: as_code(code).hex}


def v2_code_fields_batch(batch: np.ndarray | Sequence[str]) -> list[dict[str, Any]]:
    """Layout v2's code fields of many documents: `hash` hex, `hash_mih` terms, `hash_r0..3`."""
    bits = codes.bit_rows(batch)
    terms = subcode_terms(codes.to_subcodes(bits))
    words = codes.to_words(bits).tolist()
    return [
        {
            HEX_FIELD: hex_code,
            MIH_FIELD: row_terms,
            **dict(zip(WORD_FIELDS, row_words, strict=True)),
        }
        for hex_code, row_terms, row_words in zip(codes.to_hex(bits), terms, words, strict=True)
    ]


def v2_code_fields(code: CodeLike) -> dict[str, Any]:
    """One layout-v2 document's code fields: `hash` hex, `hash_mih` (16 terms), `hash_r0..3`."""
    return v2_code_fields_batch([as_code(code).hex])[0]


def neighbour_terms(
    code: CodeLike, radius: int = DEFAULT_RADIUS, positions: Sequence[int] | None = None
) -> list[str]:
    """The terms (`subcode_terms`) of every sub-code within `radius` of the code's, at `positions`.

    Positions default to 0..3, the short code: 137 terms each at radius 2.
    """
    code = as_code(code)
    positions = range(codes.N_SUBCODES) if positions is None else positions
    subcodes = code.subcodes
    return [
        term
        for position in positions
        for term in subcode_terms(
            codes.subcode_neighbours(int(subcodes[position]), radius), positions=position
        )
    ]


def mih_filter(
    code: CodeLike, radius: int = DEFAULT_RADIUS, *, field: str = HEX_FIELD
) -> dict[str, Any]:
    """Multi-index hashing: documents with some short-code sub-code within `radius` of the query's.

    One `terms` query on `field` (the hamming_code field `hash`; layout v2's `hash_mih` reads
    the same terms) with the neighbour terms of positions 0..3 (4 x 137 at radius 2), any of
    them enough: every document within 64-bit distance 4r + 3 is found.
    """
    return {"terms": {field: neighbour_terms(code, radius)}}


def hamming_script(
    code: CodeLike, *, short: bool = False, scorer: Scorer = "plugin", field: str = HEX_FIELD
) -> dict[str, Any]:
    """A score script: 256 - the Hamming distance to the code (`short`: 64 - the distance of the
    short code, the first 64 bits).

    `plugin` is the elastichash plugin's `hamming` script (its public API) on the hamming_code
    `field`; a 16-character code compares the short code. `painless` computes the same score
    on layout v2's long fields `hash_r0..3` (Painless cannot read a hamming_code field). A
    document lacking the code scores 0 in both.
    """
    code = as_code(code)
    if scorer == "plugin":
        hex_code = code.hex[: codes.SHORT_BITS // 4] if short else code.hex
        return {
            "lang": "elastichash",
            "source": "hamming",
            "params": {"code": hex_code, "field": field},
        }
    if scorer == "painless":
        return v2_painless_script(code, short=short)
    raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")


def v2_painless_script(code: CodeLike, *, short: bool = False) -> dict[str, Any]:
    """The Painless score script on layout v2's long fields: the paper's baseline.

    Scores 64 * fields - distance over `hash_r0..3` (`short`: `hash_r0` only), as the plugin's
    script does on the hamming_code field.
    """
    fields = WORD_FIELDS[:1] if short else WORD_FIELDS
    words = as_code(code).words[: len(fields)]
    return {
        "lang": "painless",
        "source": PAINLESS_HAMMING,
        "params": {"words": [int(w) for w in words], "fields": list(fields)},
    }


def max_score(mode: Mode) -> int:
    """The score of distance 0 in `mode`: 64 bits when ranking by the short code, else 256."""
    return codes.SHORT_BITS if mode == "short" else codes.CODE_BITS


def _check_filter(filter: dict[str, Any] | None) -> None:  # noqa: A002
    if filter is not None and not isinstance(filter, dict):
        raise ValueError(
            f"filter must be an Elasticsearch query object, got {type(filter).__name__}"
        )


def _int_or_none(value: int | None) -> int | None:
    """numpy integers as Python ints, so that any JSON encoder takes the body."""
    return None if value is None else int(value)


def _check_range(name: str, value: int | None, low: int, high: int) -> None:
    if value is not None and not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


def hamming_query(
    code: CodeLike,
    k: int = 10,
    max_distance: int | None = None,
    filter: dict[str, Any] | None = None,  # noqa: A002 - the Elasticsearch word
    mode: Literal["exact", "paper"] = "exact",
    radius: int | None = None,
    *,
    field: str = HEX_FIELD,
) -> dict[str, Any]:
    """The plugin's `hamming` query (docs/hamming-query.md) on the hamming_code `field`;
    parameters left at their defaults are left out, so the console text stays short:
    `{"hamming": {"field": "hash", "code": "...", "k": 10}}`.

    `exact`: the true k nearest; `paper`: the paper's two stages, candidates whose sub-codes
    0..3 lie within `radius` (default 2) of the query's. `max_distance`: only documents within
    it. `filter`: any query; only documents matching it are candidates.
    """
    if mode not in QUERY_MODES:
        raise ValueError(f"the hamming query's mode must be one of {QUERY_MODES}, got {mode!r}")
    k, max_distance, radius = int(k), _int_or_none(max_distance), _int_or_none(radius)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _check_range("max_distance", max_distance, 0, codes.CODE_BITS)
    _check_range("radius", radius, 0, codes.SUBCODE_BITS)
    if radius is not None and mode != "paper":
        raise ValueError("radius applies to the paper mode only, not to exact")
    _check_filter(filter)
    params: dict[str, Any] = {"field": field, "code": as_code(code).hex, "k": k}
    optional = {
        "mode": None if mode == "exact" else mode,
        "radius": radius,
        "max_distance": max_distance,
        "filter": filter,
    }
    params.update({name: value for name, value in optional.items() if value is not None})
    return {"hamming": params}


def _script_query(
    code: codes.Code,
    mode: Mode,
    scorer: Scorer,
    filter: dict[str, Any] | None,  # noqa: A002
    radius: int,
    max_distance: int | None,
) -> dict[str, Any]:
    # The Painless scorer reads layout v2, whose sub-code terms are in `hash_mih`.
    terms_field = MIH_FIELD if scorer == "painless" else HEX_FIELD
    clauses = [] if mode == "long" else [mih_filter(code, radius, field=terms_field)]
    if filter is not None:
        clauses.append(filter)
    candidates = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
    script = hamming_script(code, short=mode == "short", scorer=scorer)
    scored: dict[str, Any] = {"query": candidates, "script": script}
    if max_distance is not None:
        scored["min_score"] = max_score(mode) - max_distance
    return {"script_score": scored}


def fetch_options(
    source: bool | list[str] | dict[str, Any] = False,
    docvalue_fields: Sequence[str] = DOCVALUE_FIELDS,
) -> dict[str, Any]:
    """What a search returns per hit.

    False: only `docvalue_fields` (by default `image_id`, the hit's id, and `path`), no stored
    fields at all, which a large search would spend most of its time loading. True: `_id` and
    `_source` (what was sent: `hash`, `image_id` and the user's fields). A list or dict: `_id`
    and that `_source` filter. Names that the index does not map are left out of the hits, not
    an error.
    """
    if source is False:
        return {
            "_source": False,
            "stored_fields": "_none_",
            "docvalue_fields": list(docvalue_fields),
        }
    return {"_source": source}


def search_body(
    code: CodeLike,
    *,
    k: int = 10,
    mode: Mode = "exact",
    scorer: Scorer = "plugin",
    filter: dict[str, Any] | None = None,  # noqa: A002 - the Elasticsearch word
    radius: int | None = None,
    source: bool | list[str] | dict[str, Any] = False,
    max_distance: int | None = None,
    docvalue_fields: Sequence[str] = DOCVALUE_FIELDS,
) -> dict[str, Any]:
    """A complete `_search` body for the k nearest documents to `code`.

    - exact (default), paper: the plugin's `hamming` query (`hamming_query`);
    - two_stage: a terms filter on sub-codes 0..3 within `radius` (default 2), re-ranked on the
      256-bit code by the `hamming` script;
    - long: every document ranked on the 256-bit code by the script (brute force);
    - short: the two_stage filter's documents ranked on the 64-bit short code.
    `scorer`: the script modes' script, `plugin` on the hamming_code field `hash` (layout v3),
    or `painless`, which needs no plugin but reads only layout v2 (`hash_mih`, `hash_r0..3`).
    `filter` is any Elasticsearch query the hits must match; `max_distance` keeps hits within
    that Hamming distance (in the mode's bits). paper, two_stage and short return fewer than k
    hits when fewer documents pass the sub-code filter, and every mode when fewer lie within
    `max_distance`. Hit score = `max_score(mode)` - Hamming distance. `source`: `fetch_options`.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")
    k, max_distance, radius = int(k), _int_or_none(max_distance), _int_or_none(radius)
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    _check_filter(filter)
    if radius is not None and mode not in RADIUS_MODES:
        raise ValueError(f"radius applies to the modes {RADIUS_MODES} only, not to {mode}")
    code = as_code(code)
    if mode in QUERY_MODES:
        if scorer != "plugin":
            raise ValueError(
                f"scorer {scorer!r} applies to the script modes {SCRIPT_MODES} only: the {mode} "
                "mode is the plugin's hamming query (mode two_stage searches without it)"
            )
        query = hamming_query(code, k, max_distance, filter, mode, radius)  # type: ignore[arg-type]
    else:
        _check_range("max_distance", max_distance, 0, max_score(mode))
        radius = DEFAULT_RADIUS if radius is None else radius
        query = _script_query(code, mode, scorer, filter, radius, max_distance)
    return {"size": k, "query": query, **fetch_options(source, docvalue_fields)}


def to_console(
    index: str, body: dict[str, Any] | None, endpoint: str = "_search", method: str = "GET"
) -> str:
    """The request as Kibana Dev Tools console text: `GET <index>/_search` and the JSON body."""
    target = f"{index}/{endpoint}" if endpoint else index
    text = f"{method} {target}\n"
    return text if body is None else text + json.dumps(body, indent=2) + "\n"
