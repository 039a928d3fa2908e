"""The benchmark's smoke mode: every system answers, and the exact ones are exact."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conftest import ES_URL

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from ehbench.run import main  # noqa: E402


def test_benchmark_smoke(tmp_path: Path) -> None:
    assert main(["--smoke", "--es-url", ES_URL, "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "smoke.json").read_text())
    by_system = {(r["system"], r["k"]): r for r in result["results"]}
    for k in (10, 100):
        for exact in ("long_native", "dense_vector_flat", "faiss_flat"):
            assert by_system[(exact, k)]["recall"] == 1.0, exact
        assert by_system[("two_stage_native", k)]["recall"] >= 0.99
        assert by_system[("two_stage_native", k)]["candidates_mean"] > k
        assert by_system[("paper_lookup_native", k)]["recall"] == by_system[("two_stage_native", k)]["recall"]
        assert by_system[("faiss_multihash", k)]["recall"] >= 0.99
    assert "| (a) ElasticHash two-stage, native scorer |" in (tmp_path / "smoke.md").read_text()
