"""`make demo`: index sample codes into a local node and answer one two-stage search.

The sample is 20,000 synthetic 256-bit codes in 200 groups (a centre plus per-bit noise, the
way codes of similar images cluster). The query is a new noisy member of one group; a good
answer is made of that group's members at small Hamming distances.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from elasticsearch import Elasticsearch, helpers

INDEX = "elastichash-demo-codes"
SUBCODE_FIELDS = [f"hash_f{i}" for i in range(4)]
WORD_FIELDS = [f"hash_r{i}" for i in range(4)]


def noisy(centres: np.ndarray, flip: float, rng: np.random.Generator) -> np.ndarray:
    """Copies of 256-bit codes (as bits) with each bit flipped with probability `flip`."""
    return centres ^ (rng.random(centres.shape) < flip)


def words(bits: np.ndarray) -> np.ndarray:
    """(n, 256) bits → (n, 4) signed int64 words, bit 0 = most significant bit of word 0."""
    return np.packbits(bits.astype(np.uint8), axis=1).view(">u8").astype(np.uint64).view(np.int64)


def subcodes(bits: np.ndarray) -> np.ndarray:
    """(n, 256) bits → (n, 4) 16-bit sub-codes of the first 64 bits."""
    return np.packbits(bits[:, :64].astype(np.uint8), axis=1).view(">u2").astype(np.uint16)


def neighbours16(value: int) -> list[str]:
    """All 16-bit values within Hamming distance 2 of `value`, as 4-hex-digit terms."""
    masks = [0] + [1 << i for i in range(16)] + [(1 << i) | (1 << j) for i in range(16) for j in range(i + 1, 16)]
    return [f"{value ^ m:04x}" for m in masks]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--per-group", type=int, default=100)
    args = parser.parse_args()

    es = Elasticsearch(args.es_url, request_timeout=60)
    rng = np.random.default_rng(2021)
    centres = rng.random((args.groups, 256)) < 0.5
    group = np.repeat(np.arange(args.groups), args.per_group)
    bits = noisy(centres[group], 0.04, rng)
    w, f = words(bits), subcodes(bits)

    es.indices.delete(index=INDEX, ignore_unavailable=True)
    es.indices.create(
        index=INDEX,
        settings={"number_of_shards": 1, "number_of_replicas": 0},
        mappings={
            "properties": {
                "group": {"type": "integer"},
                **{name: {"type": "keyword"} for name in SUBCODE_FIELDS},
                **{name: {"type": "long"} for name in WORD_FIELDS},
            }
        },
    )
    started = time.perf_counter()
    docs = (
        {
            "_index": INDEX,
            "_id": str(i),
            "group": int(group[i]),
            **{name: f"{int(f[i, k]):04x}" for k, name in enumerate(SUBCODE_FIELDS)},
            **{name: int(w[i, k]) for k, name in enumerate(WORD_FIELDS)},
        }
        for i in range(len(bits))
    )
    indexed, _ = helpers.bulk(es, docs, chunk_size=2000)
    es.indices.refresh(index=INDEX)
    print(f"indexed {indexed} codes in {time.perf_counter() - started:.1f} s into '{INDEX}' at {args.es_url}")

    target = 17
    query_bits = noisy(centres[[target]], 0.04, rng)
    qw, qf = words(query_bits)[0], subcodes(query_bits)[0]
    code_hex = "".join(f"{int(x) & (2**64 - 1):016x}" for x in qw)
    body = {
        "size": 10,
        "_source": ["group"],
        "query": {
            "script_score": {
                # Stage 1: multi-index hashing, every sub-code within distance 2.
                "query": {
                    "bool": {
                        "should": [
                            {"terms": {name: neighbours16(int(qf[k]))}} for k, name in enumerate(SUBCODE_FIELDS)
                        ],
                        "minimum_should_match": 1,
                    }
                },
                # Stage 2: re-rank the candidates on all 256 bits with the plugin's native scorer.
                "script": {"lang": "elastichash", "source": "hamming", "params": {"code": code_hex}},
            }
        },
    }
    response = es.search(index=INDEX, **body)
    hits = response["hits"]["hits"]
    print(f"\nquery: a new code from group {target}: {code_hex}")
    total, took = response["hits"]["total"]["value"], response["took"]
    print(f"{total} candidates from stage 1, top 10 after re-ranking ({took} ms):")
    print(f"{'rank':>4}  {'id':>6}  {'distance':>8}  group")
    for rank, hit in enumerate(hits, 1):
        print(f"{rank:>4}  {hit['_id']:>6}  {256 - int(hit['_score']):>8}  {hit['_source']['group']}")
    precision = sum(hit["_source"]["group"] == target for hit in hits) / max(len(hits), 1)
    print(f"precision@10: {precision:.2f}")
    should = body["query"]["script_score"]["query"]["bool"]["should"]
    terms = sum(len(clause["terms"][name]) for clause, name in zip(should, SUBCODE_FIELDS, strict=True))
    print(f"\nThe same search in Kibana Dev Tools ({terms} sub-code terms, abbreviated here):")
    short = json.loads(json.dumps(body))
    for clause in short["query"]["script_score"]["query"]["bool"]["should"]:
        for name, values in clause["terms"].items():
            clause["terms"][name] = values[:3] + ["..."]
    print(f"GET {INDEX}/_search\n{json.dumps(short, indent=2)}")
    return 0 if precision >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
