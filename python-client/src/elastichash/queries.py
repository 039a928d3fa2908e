"""Elasticsearch request bodies for ElasticHash, as plain dicts (no client needed).

Every body here can be sent with the official client or pasted into Kibana's console
(`to_console`).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from . import codes

SUBCODE_FIELDS = tuple(f"hash_f{i}" for i in range(codes.N_SUBCODES))
WORD_FIELDS = tuple(f"hash_r{i}" for i in range(codes.N_WORDS))
HEX_FIELD = "hash"
DEFAULT_RADIUS = 2
SOURCE_WITHOUT_CODE_FIELDS = {"excludes": ["hash_f*", "hash_r*"]}

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


def mapping(extra_properties: dict[str, Any] | None = None) -> dict[str, Any]:
    """The index mapping: sub-codes as keywords, code words as longs, the hex code for display.

    Each field keeps only the structure its stage reads, which cuts the index by about a third:
    sub-codes are searched as terms (no doc values), words are read as doc values by the
    scorer (no points index), the hex code lives in `_source` only.
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
    return {"number_of_shards": shards, "number_of_replicas": replicas}


def subcode_term(value: int) -> str:
    """A 16-bit sub-code as its keyword term: 4 lowercase hex digits."""
    return f"{int(value):04x}"


def code_fields(code: codes.Code) -> dict[str, Any]:
    """The ElasticHash fields of one document."""
    return {
        HEX_FIELD: code.hex,
        **{field: subcode_term(v) for field, v in zip(SUBCODE_FIELDS, code.subcodes, strict=True)},
        **{field: int(w) for field, w in zip(WORD_FIELDS, code.words, strict=True)},
    }


def mih_filter(code: codes.Code, radius: int = DEFAULT_RADIUS) -> dict[str, Any]:
    """Multi-index hashing: documents with some sub-code within `radius` of the query's.

    With radius r per sub-code, every document within 64-bit distance 4r + 3 is found.
    """
    return {
        "bool": {
            "should": [
                {"terms": {field: [subcode_term(v) for v in codes.subcode_neighbours(int(value), radius)]}}
                for field, value in zip(SUBCODE_FIELDS, code.subcodes, strict=True)
            ],
            "minimum_should_match": 1,
        }
    }


def hamming_script(code: codes.Code, fields: tuple[str, ...] = WORD_FIELDS, scorer: Scorer = "plugin") -> dict:
    """A score script: 64 * len(fields) - Hamming distance over the code's first words."""
    words = code.words[: len(fields)]
    if scorer == "plugin":
        code_hex = "".join(f"{int(w) & 0xFFFF_FFFF_FFFF_FFFF:016x}" for w in words)
        return {"lang": "elastichash", "source": "hamming", "params": {"code": code_hex, "fields": list(fields)}}
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
    code: codes.Code,
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
    - short: multi-index hashing candidates ranked on the 64-bit short code.
    `filter` is any Elasticsearch query; documents must match it in every mode.
    Two-stage and short searches return fewer than k hits when fewer documents pass the filter.
    `source` defaults to the stored document without its sub-code and word fields.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    clauses = [] if mode == "long" else [mih_filter(code, radius)]
    if filter is not None:
        clauses.append(filter)
    candidates = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
    fields = WORD_FIELDS[:1] if mode == "short" else WORD_FIELDS
    return {
        "size": k,
        "_source": SOURCE_WITHOUT_CODE_FIELDS if source is None else source,
        "query": {"script_score": {"query": candidates, "script": hamming_script(code, fields, scorer)}},
    }


def to_console(index: str, body: dict[str, Any], endpoint: str = "_search", method: str = "GET") -> str:
    """The request as Kibana Dev Tools console text."""
    return f"{method} {index}/{endpoint}\n{json.dumps(body, indent=2)}\n"
