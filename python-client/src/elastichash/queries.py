"""Elasticsearch request bodies for ElasticHash, as plain dicts (no client needed).

Every body here can be sent with the official client or pasted into Kibana's console
(`to_console`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from . import codes

SUBCODE_FIELDS = tuple(f"hash_f{i}" for i in range(codes.N_SUBCODES))
WORD_FIELDS = tuple(f"hash_r{i}" for i in range(codes.N_WORDS))
HEX_FIELD = "hash"
DEFAULT_RADIUS = 2
SOURCE_WITHOUT_CODE_FIELDS: dict[str, list[str]] = {"excludes": ["hash_f*", "hash_r*"]}

Mode = Literal["two_stage", "long", "short"]
Scorer = Literal["plugin", "painless"]
MODES: tuple[str, ...] = ("two_stage", "long", "short")
SCORERS: tuple[str, ...] = ("plugin", "painless")

# The same number as the plugin's `hamming` script: 64 * fields - distance, 0 when a word is
# missing. Painless ships with every full Elasticsearch distribution and hosted cluster.
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


def mapping(extra_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index mapping: sub-codes as keywords, code words as longs, the hex code for display.

    Each field keeps only the structure its stage reads, which cuts the index by about a third:
    sub-codes are searched as terms (no doc values), words are read as doc values by the
    scorer (no points index), the hex code `hash` lives in `_source` only (not searchable;
    search by code with the sub-code fields or the scorer). `extra_properties` are the
    user's own fields; they may not redefine these.
    """
    properties: dict[str, Any] = {
        HEX_FIELD: {"type": "keyword", "index": False, "doc_values": False},
        **{field: {"type": "keyword", "doc_values": False} for field in SUBCODE_FIELDS},
        **{field: {"type": "long", "index": False} for field in WORD_FIELDS},
    }
    clash = set(properties) & set(extra_properties or {})
    if clash:
        raise ValueError(f"extra properties may not redefine ElasticHash fields: {sorted(clash)}")
    properties.update(extra_properties or {})
    return {"properties": properties}


def index_settings(shards: int = 1, replicas: int = 0) -> dict[str, Any]:
    """Index settings: primary shards and replicas."""
    if shards < 1 or replicas < 0:
        raise ValueError(f"need shards >= 1 and replicas >= 0, got {shards} and {replicas}")
    return {"number_of_shards": shards, "number_of_replicas": replicas}


def index_body(
    shards: int = 1, replicas: int = 0, extra_properties: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body of `PUT <index>`: settings and mapping."""
    return {"settings": index_settings(shards, replicas), "mappings": mapping(extra_properties)}


def subcode_term(value: int) -> str:
    """A 16-bit sub-code as its keyword term: 4 lowercase hex digits."""
    return f"{int(value):04x}"


def code_fields(code: CodeLike) -> dict[str, Any]:
    """The ElasticHash fields of one document: `hash`, `hash_f0..3` terms, `hash_r0..3` longs."""
    code = as_code(code)
    return {
        HEX_FIELD: code.hex,
        **{field: subcode_term(v) for field, v in zip(SUBCODE_FIELDS, code.subcodes, strict=True)},
        **{field: int(w) for field, w in zip(WORD_FIELDS, code.words, strict=True)},
    }


def mih_filter(code: CodeLike, radius: int = DEFAULT_RADIUS) -> dict[str, Any]:
    """Multi-index hashing: documents with some sub-code within `radius` of the query's.

    One `terms` query per sub-code field (137 terms each at radius 2), any of them enough.
    With radius r per sub-code, every document within 64-bit distance 4r + 3 is found.
    """
    code = as_code(code)
    return {
        "bool": {
            "should": [
                {
                    "terms": {
                        field: [
                            subcode_term(v) for v in codes.subcode_neighbours(int(value), radius)
                        ]
                    }
                }
                for field, value in zip(SUBCODE_FIELDS, code.subcodes, strict=True)
            ],
            "minimum_should_match": 1,
        }
    }


def hamming_script(
    code: CodeLike, fields: Sequence[str] = WORD_FIELDS, scorer: Scorer = "plugin"
) -> dict[str, Any]:
    """A score script: 64 * len(fields) - Hamming distance over the code's first len(fields) words.

    `plugin` is the elastichash plugin's `hamming` script (its public API); `painless` computes
    the same score on any cluster with Painless. A document lacking a field scores 0 in both.
    """
    code = as_code(code)
    if not 1 <= len(fields) <= codes.N_WORDS:
        raise ValueError(f"fields must name 1 to {codes.N_WORDS} long fields, got {len(fields)}")
    words = code.words[: len(fields)]
    if scorer == "plugin":
        return {
            "lang": "elastichash",
            "source": "hamming",
            "params": {"code": code.hex[: len(fields) * 16], "fields": list(fields)},
        }
    if scorer == "painless":
        return {
            "lang": "painless",
            "source": PAINLESS_HAMMING,
            "params": {"words": [int(w) for w in words], "fields": list(fields)},
        }
    raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")


def max_score(mode: Mode) -> int:
    """The score of distance 0 in `mode`: 64 bits when ranking by the short code, else 256."""
    return codes.SHORT_BITS if mode == "short" else codes.CODE_BITS


def search_body(
    code: CodeLike,
    k: int = 10,
    mode: Mode = "two_stage",
    scorer: Scorer = "plugin",
    filter: dict[str, Any] | None = None,  # noqa: A002 - the Elasticsearch word
    radius: int = DEFAULT_RADIUS,
    source: bool | list[str] | dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A complete `_search` body.

    - two_stage: multi-index hashing candidates, re-ranked on the 256-bit code;
    - long: every document ranked on the 256-bit code (brute force);
    - short: multi-index hashing candidates ranked on the 64-bit short code (`hash_r0`).
    `filter` is any Elasticsearch query; documents must match it in every mode (bool filter).
    Two-stage and short searches return fewer than k hits when fewer documents pass the filter.
    `source` defaults to the stored document without its sub-code and word fields.
    Hit score = `max_score(mode)` - Hamming distance.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if scorer not in SCORERS:
        raise ValueError(f"scorer must be one of {SCORERS}, got {scorer!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if filter is not None and not isinstance(filter, dict):
        raise ValueError(
            f"filter must be an Elasticsearch query object, got {type(filter).__name__}"
        )
    code = as_code(code)
    clauses = [] if mode == "long" else [mih_filter(code, radius)]
    if filter is not None:
        clauses.append(filter)
    candidates = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
    fields = WORD_FIELDS[:1] if mode == "short" else WORD_FIELDS
    return {
        "size": k,
        "_source": _source_without_code_fields() if source is None else source,
        "query": {
            "script_score": {"query": candidates, "script": hamming_script(code, fields, scorer)}
        },
    }


def _source_without_code_fields() -> dict[str, list[str]]:
    return {key: list(value) for key, value in SOURCE_WITHOUT_CODE_FIELDS.items()}


def to_console(
    index: str, body: dict[str, Any] | None, endpoint: str = "_search", method: str = "GET"
) -> str:
    """The request as Kibana Dev Tools console text: `GET <index>/_search` and the JSON body."""
    target = f"{index}/{endpoint}" if endpoint else index
    text = f"{method} {target}\n"
    return text if body is None else text + json.dumps(body, indent=2) + "\n"
