"""Quality end to end, through a real node: on the labelled domains the default model never saw
(model-export's `unseen_domains`), each image queries all the others and mAP@10 is taken on the
hits the node returns; then a near-duplicate check: edited copies of images (cropped, brighter,
JPEG at quality 40) each query the index, and recall@1 counts how often the original comes first.

Systems, on the same images: the exact `hamming` query on the default model's codes, and
Elasticsearch's own float-vector search on the same model's 1,280 backbone features (cosine):
exact (`flat`), `bbq_hnsw` and `int8_hnsw` (num_candidates 100). The codes' in-memory mAP@10
(`elastichash.ranking`, what `make -C model-export evaluate` reports) is printed beside the
node's, as a check of the whole path.

    python -m ehbench.quality --es-url URL [--copies 100] [--out results/quality.md]

Images are encoded once and cached in build/bench-data/quality/; the indices are kept
(`ehbench-quality-*`) and reused when they hold the same images.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import elastichash
import numpy as np
from elastichash import HashModel, codes, engines, ranking
from elastichash.engines import Client
from PIL import Image, ImageEnhance
from tqdm import tqdm

from .files import save_arrays
from .systems import float_vector

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "model-export" / "src"))

from elastichash_train.data import DataError  # noqa: E402
from elastichash_train.domains import unseen_domains  # noqa: E402
from elastichash_train.metrics import average_precision_at  # noqa: E402

CACHE = ROOT / "build" / "bench-data" / "quality"
K = 10
NUM_CANDIDATES = 100
BATCH = 64
VECTOR_FIELDS = {"float exact (flat)": "vec_flat", "bbq_hnsw": "vec_bbq", "int8_hnsw": "vec_int8"}
SYSTEMS = ("codes, exact `hamming` query", *VECTOR_FIELDS)


def encode(model: HashModel, images: Iterable[Image.Image], total: int, desc: str) -> tuple[np.ndarray, np.ndarray]:
    """(bits (n, 256), features (n, d)) of the images, in batches."""
    outputs, features, batch = [], [], []
    for image in tqdm(images, total=total, desc=desc, unit="img"):
        batch.append(model.preprocess(image))
        if len(batch) == BATCH:
            out, feat = model.outputs_and_features(batch)
            outputs.append(out)
            features.append(feat)
            batch = []
    if batch:
        out, feat = model.outputs_and_features(batch)
        outputs.append(out)
        features.append(feat)
    return codes.bits_from_outputs(np.concatenate(outputs)), np.concatenate(features).astype(np.float32)


def edited(image: Image.Image) -> Image.Image:
    """A near-copy as people make them: cropped to 85 %, 15 % brighter, saved as JPEG quality 40."""
    width, height = image.size
    dx, dy = int(width * 0.075), int(height * 0.075)
    cropped = image.crop((dx, dy, width - dx, height - dy)).resize((width, height))
    brighter = ImageEnhance.Brightness(cropped).enhance(1.15)
    out = io.BytesIO()
    brighter.convert("RGB").save(out, "JPEG", quality=40)
    return Image.open(io.BytesIO(out.getvalue())).convert("RGB")


def domain_data(model: HashModel, domain: Any, copies: int) -> dict[str, np.ndarray]:
    """Codes, features and labels of a domain's images and of edited copies of some (cached)."""
    path = CACHE / f"{domain.name}-{copies}-{model.identity.sha256[:12]}.npz"
    if path.is_file():
        with np.load(path) as stored:
            return dict(stored)
    bits, features = encode(model, domain.images(), len(domain), f"encoding {domain.name}")
    originals = np.sort(np.random.default_rng(0).choice(len(domain), min(copies, len(domain)), replace=False))
    copy_bits, copy_features = encode(
        model, (edited(domain.image(int(i))) for i in originals), len(originals), f"edited copies of {domain.name}"
    )
    data = {
        "bits": bits,
        "features": features.astype(np.float16),
        "labels": np.asarray(domain.labels),
        "originals": originals,
        "copy_bits": copy_bits,
        "copy_features": copy_features.astype(np.float16),
    }
    save_arrays(path, **data)
    return data


def build_index(es: Client, name: str, data: dict[str, np.ndarray]) -> None:
    """One index per domain: the code, the label, the features in three dense_vector fields."""
    fingerprint = f"{len(data['bits'])}-{codes.to_hex(data['bits'][0])}"
    if es.indices.exists(index=name):
        meta = es.indices.get_mapping(index=name)[name]["mappings"].get("_meta", {})
        if meta.get("fingerprint") == fingerprint:
            return
        es.indices.delete(index=name)
    dims = data["features"].shape[1]

    def vector(kind: str) -> dict[str, Any]:
        return {"type": "dense_vector", "dims": dims, "similarity": "cosine", "index_options": {"type": kind}}

    es.indices.create(
        index=name,
        body={
            "settings": {"number_of_shards": 1, "number_of_replicas": 0},
            "mappings": {
                "_meta": {"fingerprint": fingerprint},
                "properties": {
                    "hash": {"type": "hamming_code"},
                    "label": {"type": "integer"},
                    "vec_flat": vector("flat"),
                    "vec_bbq": vector("bbq_hnsw"),
                    "vec_int8": vector("int8_hnsw"),
                },
            },
        },
    )
    hexes = codes.to_hex(data["bits"])
    features = data["features"].astype(np.float32)

    def actions() -> Iterable[dict[str, Any]]:
        for i, (hex_code, label) in enumerate(zip(hexes, data["labels"], strict=True)):
            vector_ = float_vector(features[i])
            yield {
                "_index": name,
                "_id": str(i),
                "hash": hex_code,
                "label": int(label),
                **{field: vector_ for field in VECTOR_FIELDS.values()},
            }

    engines.helpers_of(es).bulk(es, actions(), chunk_size=200)
    es.indices.forcemerge(index=name, max_num_segments=1)
    es.indices.refresh(index=name)


def bodies(system: str, hex_code: str, vector: np.ndarray, k: int, exclude: str | None) -> dict[str, Any]:
    """The search a user of each system sends, leaving out the query's own document."""
    not_self = {"bool": {"must_not": [{"ids": {"values": [exclude]}}]}} if exclude is not None else None
    common = {"size": k, "_source": False, "track_total_hits": False}
    if system == SYSTEMS[0]:
        query: dict[str, Any] = {"field": "hash", "code": hex_code, "k": k}
        if not_self:
            query["filter"] = not_self
        return {**common, "query": {"hamming": query}}
    knn: dict[str, Any] = {
        "field": VECTOR_FIELDS[system],
        "query_vector": float_vector(vector),
        "k": k,
        "num_candidates": max(NUM_CANDIDATES, k),
    }
    if not_self:
        knn["filter"] = not_self
    return {**common, "knn": knn}


def run_searches(es: Client, index: str, searches: list[dict[str, Any]], k: int) -> tuple[np.ndarray, list[float]]:
    """Ranked document numbers (n, k), -1 where fewer came back, and each search's `took` (ms)."""
    found = np.full((len(searches), k), -1, dtype=np.int64)
    took: list[float] = []
    for start in range(0, len(searches), 50):
        batch = searches[start : start + 50]
        answer = es.msearch(index=index, body=[part for body in batch for part in ({}, body)])
        for row, response in enumerate(answer["responses"], start):
            if "error" in response:
                raise SystemExit(f"{index}: a search failed: {response['error']}")
            took.append(response["took"])
            ids = [int(hit["_id"]) for hit in response["hits"]["hits"][:k]]
            found[row, : len(ids)] = ids
    return found, took


def measure_domain(es: Client, name: str, data: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    labels = data["labels"]
    hexes = codes.to_hex(data["bits"])
    copy_hexes = codes.to_hex(data["copy_bits"])
    features = data["features"].astype(np.float32)
    copy_features = data["copy_features"].astype(np.float32)
    result: dict[str, dict[str, float]] = {}
    for system in SYSTEMS:
        searches = [bodies(system, hexes[i], features[i], K, str(i)) for i in range(len(labels))]
        started = time.perf_counter()
        found, took = run_searches(es, name, searches, K)
        seconds = time.perf_counter() - started
        relevant = (found >= 0) & (labels[np.maximum(found, 0)] == labels[:, None])
        copies = [bodies(system, copy_hexes[j], copy_features[j], 1, None) for j in range(len(data["originals"]))]
        top, _ = run_searches(es, name, copies, 1)
        result[system] = {
            "map10": 100 * float(average_precision_at(relevant, [K])[K].mean()),
            "recall1_copies": float((top[:, 0] == data["originals"]).mean()),
            "took_p50": statistics.median(took),
            "queries_per_s": len(searches) / seconds,
        }
    # The same codes and features ranked in memory: what model-export's evaluation reports.
    ids = np.arange(len(labels))
    for system, ranked in (
        ("codes in memory", ranking.hamming_search(data["bits"], data["bits"], K, ids)),
        ("float features in memory", ranking.cosine_search(features, features, K, ids)),
    ):
        relevant = labels[ranked] == labels[:, None]
        result[system] = {"map10": 100 * float(average_precision_at(relevant, [K])[K].mean())}
    return result


def table(results: dict[str, dict[str, dict[str, float]]], sizes: dict[str, int], copies: int) -> str:
    names = list(results)
    head = "| system | " + " | ".join(f"{n} ({sizes[n]:,})" for n in names) + " |"
    lines = [
        f"mAP@10, each image querying the {'/'.join(f'{sizes[n] - 1:,}' for n in names)} others (%); recall@1 of "
        f"{copies} edited copies per domain; node `took` p50 (ms).",
        "",
        head,
        "|---|" + "---|" * len(names),
    ]
    for system in (*SYSTEMS, "codes in memory", "float features in memory"):
        cells = []
        for name in names:
            row = results[name][system]
            cell = f"{row['map10']:.2f}"
            if "recall1_copies" in row:
                cell += f" · {row['recall1_copies']:.2f} · {row['took_p50']:.0f} ms"
            cells.append(cell)
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, domains: Callable[[], list[Any]] = unseen_domains) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--copies", type=int, default=100, help="edited copies per domain (default 100)")
    parser.add_argument("--out", type=Path, help="also write the table to this file")
    args = parser.parse_args(argv)
    es = elastichash.connect(args.es_url, request_timeout=600)
    if engines.product(es) != "elasticsearch":
        raise SystemExit("the float-vector systems are Elasticsearch's dense_vector: run this on Elasticsearch")
    model = HashModel()
    results, sizes = {}, {}
    try:
        chosen = domains()
    except DataError as error:
        raise SystemExit(
            f"{error}: the evaluation images are missing (make -C model-export setup installs them)"
        ) from error
    for domain in chosen:
        data = domain_data(model, domain, args.copies)
        name = f"ehbench-quality-{domain.name}"
        build_index(es, name, data)
        results[domain.name] = measure_domain(es, name, data)
        sizes[domain.name] = len(data["labels"])
        print(
            f"{domain.name}: " + ", ".join(f"{s} {r['map10']:.2f}" for s, r in results[domain.name].items()), flush=True
        )
    text = table(results, sizes, args.copies)
    versions = sorted({node["version"] for node in es.nodes.info()["nodes"].values()})
    header = (
        f"Quality through a node: {time.strftime('%Y-%m-%d')}, Elasticsearch {', '.join(versions)}, "
        f"the default model ({model.spec.model_version}); `python -m ehbench.quality`.\n\n"
    )
    print("\n" + header + text)
    if args.out:
        args.out.write_text(header + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
