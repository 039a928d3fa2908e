"""The benchmark's smoke mode: every system answers, and the exact ones are exact.

Checks the machinery only (answers, recall, the report's parts), never a time. On OpenSearch the
dense_vector systems (e) are not run (it has no dense_vector) and the Painless ones are.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from elastichash.engines import Client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from ehbench.run import main  # noqa: E402

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
    exact = ["eh_exact", "long_native", "faiss_flat"]
    exact += ["dense_vector_flat"] if smoke[0]["vectors"] else []
    exact += ["long_painless", "paper_long_painless"] if smoke[0]["painless"] else []
    for k in KS:
        for system in exact:
            assert rows[(system, k)]["recall"] == 1.0, (system, k)
            assert rows[(system, k)]["hits_mean"] == k, (system, k)
        assert rows[("eh_exact", k)]["queries"] == smoke[0]["queries"]


def test_paper_forms_share_one_candidate_set(smoke: tuple[dict[str, Any], str]) -> None:
    rows = _rows(smoke[0])
    for k in KS:
        paper = rows[("eh_paper", k)]
        assert paper["recall"] == rows[("two_stage_native", k)]["recall"] == rows[("paper_lookup_native", k)]["recall"]
        assert paper["candidates_mean"] == rows[("two_stage_native", k)]["candidates_mean"] > k
        assert rows[("faiss_multihash", k)]["recall"] >= 0.99
        if smoke[0]["painless"]:  # the paper's own Painless forms: the same candidates
            assert rows[("paper_painless", k)]["recall"] == paper["recall"]
            assert rows[("two_stage_painless", k)]["recall"] == paper["recall"]
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
    assert set(ingest) == ({"elastichash", "hnsw", "flat"} if smoke[0]["vectors"] else {"elastichash"})
    assert all(entry["docs_per_s"] > 0 and entry["bytes"] > 0 for entry in ingest.values())
    if smoke[0]["engine"] != "Elasticsearch":
        pytest.skip(f"{smoke[0]['engine']} has no _disk_usage API: no per-field sizes to check")
    vectors = {kind: ingest[kind]["fields"]["vec"]["knn_vectors_in_bytes"] for kind in ("hnsw", "flat")}
    assert vectors["flat"] >= smoke[0]["n"] * 32  # the raw bit vectors
    assert vectors["hnsw"] > vectors["flat"]  # plus the graph
    assert ingest["elastichash"]["fields"]["hash_mih"]["total_in_bytes"] > 0


def test_report_and_cleanup(es: Client, smoke: tuple[dict[str, Any], str]) -> None:
    table = smoke[1]
    for part in ("### Targets", "### Ingest", "### k = 10", "### k = 100", "`max_distance`", "search_codes"):
        assert part in table, part
    assert "| (a) ElasticHash `hamming` query, exact |" in table
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
