"""The benchmark's smoke mode: every system answers, and the exact ones are exact.

Checks the machinery only (answers, recall, candidates, the report's parts), never a time. On
OpenSearch the dense_vector systems (e) are not run (it has no dense_vector) and the Painless ones
are. ElasticHash's systems search layout v3 (the hamming_code field), the Painless ones and
`eh_exact_v2` layout v2; the v2 index exists only where a system on it runs.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from elastichash import codes, engines, queries
from elastichash.engines import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from ehbench import cache, data, indices, load, measure  # noqa: E402
from ehbench.run import line_up, main, parse  # noqa: E402

KS = (10, 100)


@pytest.fixture(scope="module")
def smoke(es: Client, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    out = tmp_path_factory.mktemp("bench")
    assert main(["--smoke", "--es-url", es_url, "--out", str(out)]) == 0
    return json.loads((out / "smoke.json").read_text()), (out / "smoke.md").read_text()


def _rows(result: dict[str, Any]) -> dict[tuple[str, int | None], dict[str, Any]]:
    return {(r["system"], r["k"]): r for r in result["results"]}


def test_exact_systems_are_exact(smoke: tuple[dict[str, Any], str]) -> None:
    rows = _rows(smoke[0])
    exact = ["eh_exact", "eh_exact_v2", "long_native", "faiss_flat"]
    exact += ["dense_vector_flat"] if smoke[0]["vectors"] else []
    exact += ["long_painless", "paper_long_painless"] if smoke[0]["painless"] else []
    for k in KS:
        for system in exact:
            assert rows[(system, k)]["recall"] == 1.0, (system, k)
            assert rows[(system, k)]["hits_mean"] == k, (system, k)
        assert rows[("eh_exact", k)]["queries"] == smoke[0]["queries"]


def test_paper_forms_share_one_candidate_set(smoke: tuple[dict[str, Any], str]) -> None:
    rows = _rows(smoke[0])
    # The same first stage in every form: inline terms or the paper's terms lookup, on the
    # hamming_code field `hash` (v3) or, for the Painless forms, on `hash_mih` (v2).
    forms = ["two_stage_native", "paper_lookup_native"]
    forms += ["paper_painless", "two_stage_painless"] if smoke[0]["painless"] else []
    for k in KS:
        paper = rows[("eh_paper", k)]
        assert paper["candidates_mean"] > k
        for form in forms:
            assert rows[(form, k)]["candidates_mean"] == paper["candidates_mean"], (form, k)
            assert rows[(form, k)]["recall"] == paper["recall"], (form, k)
        assert rows[("faiss_multihash", k)]["recall"] >= 0.99
        if smoke[0]["vectors"]:
            assert 0 < rows[("dense_vector_hnsw_100", k)]["recall"] <= 1


def test_max_distance_returns_the_whole_set(smoke: tuple[dict[str, Any], str]) -> None:
    within = _rows(smoke[0])[("eh_max_distance", None)]
    assert within["true_hits_mean"] > 10  # clusters of 200: the set is not trivially empty
    assert within["recall"] == 1.0 and within["min_recall"] == 1.0
    assert within["outside"] == 0
    assert within["hits_mean"] == within["true_hits_mean"]


def test_batch_search_and_profile(smoke: tuple[dict[str, Any], str]) -> None:
    result = smoke[0]
    assert {k: v["equal_to_faiss"] for k, v in result["batch_exact"].items()} == {str(k): True for k in KS}
    for k in KS:
        (description,) = result["profile"][str(k)]
        assert f"k={k}" in description and "radius" in description and "candidates compared" in description


def test_ingest_figures(smoke: tuple[dict[str, Any], str]) -> None:
    ingest = smoke[0]["ingest"]
    kinds = {"elastichash", "elastichash_v2"} | ({"hnsw", "flat"} if smoke[0]["vectors"] else set())
    assert set(ingest) == kinds
    assert all(entry["docs_per_s"] > 0 and entry["bytes"] > 0 for entry in ingest.values())
    assert ingest["elastichash"]["layout"].startswith("layout v3")
    assert ingest["elastichash_v2"]["layout"].startswith("layout v2")
    # v3 documents carry the code once, v2 documents hex, 16 terms and 4 words in `_source`.
    assert ingest["elastichash"]["bytes"] < ingest["elastichash_v2"]["bytes"]
    if smoke[0]["engine"] != "Elasticsearch":
        pytest.skip(f"{smoke[0]['engine']} has no _disk_usage API: no per-field sizes to check")
    vectors = {kind: ingest[kind]["fields"]["vec"]["knn_vectors_in_bytes"] for kind in ("hnsw", "flat")}
    assert vectors["flat"] >= smoke[0]["n"] * 32  # the raw bit vectors
    assert vectors["hnsw"] > vectors["flat"]  # plus the graph
    # The hamming_code field's Lucene fields: `hash` its sub-code terms, `hash#0..3` its words
    # (8 bytes per document each, at least).
    v3 = ingest["elastichash"]["fields"]
    assert v3["hash"]["inverted_index_in_bytes"] > 0
    for word in range(4):
        assert v3[f"hash#{word}"]["doc_values_in_bytes"] >= smoke[0]["n"] * 8, word
    assert not {"hash_mih", "hash_r0"} & set(v3)
    v2 = ingest["elastichash_v2"]["fields"]
    assert v2["hash_mih"]["inverted_index_in_bytes"] > 0
    assert all(v2[f"hash_r{word}"]["doc_values_in_bytes"] >= smoke[0]["n"] * 8 for word in range(4))
    assert "hash#0" not in v2


def test_report_and_cleanup(es: Client, smoke: tuple[dict[str, Any], str]) -> None:
    table = smoke[1]
    for part in ("### Ingest", "### k = 10", "### k = 100", "`max_distance`", "search_codes"):
        assert part in table, part
    assert "| (a) ElasticHash `hamming` query, exact |" in table
    assert "| (a) `hamming` query, exact, on layout v2 (`hash_mih`, `hash_r0..3`) |" in table
    assert "| elastichash | layout v3: the hamming_code field `hash` |" in table
    assert "| elastichash_v2 | layout v2: keyword `hash_mih`, long `hash_r0..3` |" in table
    if smoke[0]["engine"] == "Elasticsearch":
        assert "the fields `_disk_usage` listed: " in table and "`hash#0` " in table
    assert f"{smoke[0]['engine']} {smoke[0]['es_version']}" in table
    assert "× vs long_native" in table
    assert ("× vs HNSW num_candidates=100" in table) == smoke[0]["vectors"]
    assert ("| (d) long-only brute force, Painless |" in table) == smoke[0]["painless"]
    # Where the paper's Painless setup (b) ran, every system is set against it.
    assert ("× vs (b) |" in table) == ("### Against the paper's setup (b)" in table) == smoke[0]["painless"]
    assert not es.indices.get(index="bench-*-clustered-20000-1s,bench-neighbours-*-smoke")  # deleted


def test_floor_rows_return_k_hits_and_the_report_sets_them_against_b(smoke: tuple[dict[str, Any], str]) -> None:
    result, table = smoke
    rows = _rows(result)
    for k in KS:
        assert rows[("floor_match_all", k)]["hits_mean"] == k
        # The ids floor fetches the true k nearest: the same hits as the exact query.
        assert rows[("floor_ids", k)]["recall"] == 1.0 and rows[("floor_ids", k)]["hits_mean"] == k
        assert rows[("floor_ids", k)]["took_p50_ms"] is not None
    if result["painless"]:
        assert "### The floor: the same k hits, the same response, no search work" in table
        assert "best × vs (b) any query could reach" in table


def _tiny_dataset() -> tuple[data.Dataset, measure.Truth]:
    dataset = data.clustered(500, 5, 5, 0.04)
    return dataset, measure.Truth.compute(dataset, 10, 24)


@pytest.mark.parametrize("painless", [True, False])
def test_skipping_every_system_on_layout_v2_leaves_its_index_out(painless: bool) -> None:
    dataset, truth = _tiny_dataset()

    def kinds(*skip: str) -> set[str | None]:
        args = parse(["--smoke", "--skip", *skip])
        return {s.index_kind for s in line_up(args, dataset, truth, painless, "neighbours", vectors=False)}

    assert indices.ELASTICHASH_V2 in kinds()
    assert indices.ELASTICHASH_V2 not in kinds(indices.ELASTICHASH_V2)  # an index kind as a pattern
    by_name = ("eh_exact_v2", "paper_painless", "two_stage_painless", "*long_painless")
    assert indices.ELASTICHASH_V2 not in kinds(*by_name)
    assert (indices.ELASTICHASH_V2 in kinds("eh_exact_v2")) == painless  # Painless reads layout v2


def test_reuse_takes_only_the_same_codes_in_the_same_layout(es: Client) -> None:
    dataset, _ = _tiny_dataset()
    other = data.clustered(500, 5, 5, 0.08).database  # --flip 0.08: as many codes, other ones
    index = "ehbench-reuse-check-v2"
    try:
        indices.create(es, index, indices.ELASTICHASH_V2, 1)
        indices.load(es, index, indices.ELASTICHASH_V2, dataset.database)
        assert indices.holds(es, index, indices.ELASTICHASH_V2, dataset.database)
        assert not indices.holds(es, index, indices.ELASTICHASH, dataset.database)  # a v2 index is not v3
        assert not indices.holds(es, index, indices.ELASTICHASH_V2, other)
        # What was loaded is layout v2 as earlier clients wrote it: the terms in `hash_mih`, the
        # words in `hash_r0..3`; the hamming query without `field` reads them.
        code = codes.to_hex(codes.unpack_bits(dataset.database[:1]))[0]
        assert es.count(index=index, body={"query": queries.mih_filter(code, field=queries.MIH_FIELD)})["count"] >= 1
        hamming = queries.hamming_query(code, k=1)["hamming"]
        del hamming["field"]
        hit = es.search(index=index, body={"query": {"hamming": hamming}})["hits"]["hits"][0]
        assert (hit["_id"], hit["_score"]) == ("0", 256.0)
        assert np.array_equal(codes.from_hex([hit["_source"]["hash"]]), codes.unpack_bits(dataset.database[:1]))
    finally:
        es.indices.delete(index=index, ignore_unavailable=True)


def test_the_cache_and_load_benchmarks_run_on_the_smoke_indices(
    es: Client, es_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    if engines.product(es) == "opensearch":
        pytest.skip("the code cache benchmark compares with dense_vector HNSW, which OpenSearch lacks")
    # The smoke run's two indices it needs, kept (--reuse) for it, deleted afterwards.
    assert main(["--smoke", "--reuse", "--ingest-only", "--es-url", es_url, "--skip", "elastichash_v2", "flat"]) == 0
    names = indices.IndexNames("clustered-20000-1s")
    try:
        before = cache.breaker_limit(es)
        # Groups around pivots from 1,000 codes, so that the smoke index has them.
        options = ["--n", "20000", "--queries", "20", "--warmup", "2", "--rounds", "1", "--k", "10"]
        cache.main(["--es-url", es_url, *options, "--partition-min-codes", "1000"])
        printed = capsys.readouterr().out
        assert "round 1 k=10: columns" in printed and "k=10 columns / cache: min" in printed, printed
        assert "k=10 HNSW nc=100 / partition: min" in printed and "; built in" in printed, printed
        assert es.cluster.get_settings()["transient"].get("elastichash") is None, "the partition setting is put back"
        assert cache.breaker_limit(es) == before, "the breaker's limit is put back"
        # Concurrent clients, each a process of its own, both systems, both kinds of query.
        load.main(["--es-url", es_url, *options[:4], "--clients", "2", "--seconds", "0.5", "--rounds", "1"])
        printed = capsys.readouterr().out
        for kind in ("near", "far"):
            for system in ("exact", "HNSW nc=100"):
                line = next(x for x in printed.splitlines() if x.startswith(f"round 1 {kind:4s} {system} "))
                assert "errors 0" in line and float(re.search(r"(\d+) q/s", line)[1]) > 0, line
            assert f"{kind}: exact / HNSW q/s: min" in printed, printed
    finally:
        for kind in (indices.ELASTICHASH, indices.HNSW):
            es.indices.delete(index=names.of(kind), ignore_unavailable=True)


def test_the_quality_benchmark_agrees_with_the_in_memory_ranking(
    es: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engines.product(es) == "opensearch":
        pytest.skip("the quality benchmark compares with dense_vector, which OpenSearch lacks")
    from ehbench import quality
    from elastichash import HashModel
    from elastichash.testing import make_shapes_folder
    from elastichash_train.data import load_image_folder  # on sys.path through ehbench.quality

    monkeypatch.setattr(quality, "CACHE", tmp_path / "cache")
    folder = make_shapes_folder(tmp_path / "shapes", {"bar": 12, "ring": 12, "cross": 12})
    domain = load_image_folder(folder, name="it-shapes")
    data = quality.domain_data(HashModel(), domain, copies=6)
    name = "ehbench-quality-it-shapes"
    try:
        quality.build_index(es, name, data)
        result = quality.measure_domain(es, name, data)
    finally:
        es.indices.delete(index=name, ignore_unavailable=True)
    assert set(result) == {*quality.SYSTEMS, "codes in memory", "float features in memory"}
    # Through the node as in memory (ties at the 10th place may fall either way).
    codes_node, codes_memory = result[quality.SYSTEMS[0]]["map10"], result["codes in memory"]["map10"]
    assert abs(codes_node - codes_memory) < 5, (codes_node, codes_memory)
    assert abs(result["float exact (flat)"]["map10"] - result["float features in memory"]["map10"]) < 1
    assert all(0 <= result[system]["recall1_copies"] <= 1 for system in quality.SYSTEMS)
