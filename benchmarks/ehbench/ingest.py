"""Images per second of a folder ingest, end to end: the stages overlapped against one after the other.

    python -m ehbench.ingest --es-url URL [--images N] [--folder DIR] [--rounds 3]

Without `--folder` it indexes N photo-like JPEGs of 1,024 x 768 px (smooth colour fields and
grain, the size the Debian wallpapers are resized to), made once into build/ingest-photos/.
Each round indexes the folder twice into fresh indices, once with `threads=1` (decode, encode
and send one after the other) and once with the default pipeline, in alternating order, and
prints images/s, the process's CPU use (user + system over wall time, 200 % = both cores of a
2-core machine) and the ratio of the two, then the minimum and median ratio over the rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from pathlib import Path

import numpy as np
from elastichash import ElasticHash, HashModel, connect
from elastichash.ingest import DEFAULT_THREADS, IngestReport, find_images, ingest, items_from_paths
from elastichash.testing import large_photo
from tqdm import tqdm

PHOTO_SIZE = (1024, 768)


def photo_folder(folder: Path, n: int) -> Path:
    """n distinct photo-like JPEGs in `folder`, made once (kept for the next run)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in tqdm(range(n), desc="making photos", leave=False):
        path = folder / f"photo-{i:05d}.jpg"
        if not path.exists():
            large_photo(rng, PHOTO_SIZE).save(path, quality=88)
    return folder


def one_run(es, model: HashModel, paths: list[Path], threads: int) -> dict[str, float]:  # noqa: ANN001
    index = f"ehbench-ingest-{uuid.uuid4().hex[:8]}"
    engine = ElasticHash(es, index=index, model=model)
    engine.create_index()
    report = IngestReport(total=len(paths))
    cpu, wall = os.times(), time.perf_counter()
    ingest(es, index, model, items_from_paths(paths, report), report, progress=False, threads=threads)
    seconds = time.perf_counter() - wall
    used = os.times()
    es.indices.delete(index=index)
    if report.indexed != len(paths):
        raise SystemExit(f"indexed {report.indexed} of {len(paths)}: {report.summary()}")
    busy = (used.user - cpu.user) + (used.system - cpu.system)
    return {"images_per_s": len(paths) / seconds, "cpu_percent": 100 * busy / seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--images", type=int, default=400, help="photos to make (default: 400)")
    parser.add_argument("--folder", type=Path, help="index these images instead of made ones")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of both runs (default: 3)")
    parser.add_argument("--model", help="ONNX model (default: the bundled one)")
    args = parser.parse_args()
    folder = args.folder or photo_folder(Path(__file__).resolve().parents[2] / "build" / "ingest-photos", args.images)
    paths = find_images(folder)[: args.images] if args.folder is None else find_images(folder)
    es = connect(args.es_url)
    model = HashModel(args.model)
    ingest(es, "ehbench-ingest-warm", model, items_from_paths(paths[:8], IngestReport()), progress=False)
    es.indices.delete(index="ehbench-ingest-warm")
    print(f"{len(paths)} images from {folder}, {os.cpu_count()} cores, pipeline threads {DEFAULT_THREADS}")
    print(f"{'round':>5}  {'one after the other':>22}  {'overlapped':>22}  ratio")
    ratios = []
    for round_ in range(1, args.rounds + 1):
        order = (1, DEFAULT_THREADS) if round_ % 2 else (DEFAULT_THREADS, 1)
        runs = {threads: one_run(es, model, paths, threads) for threads in order}
        before, after = runs[1], runs[DEFAULT_THREADS]
        ratio = after["images_per_s"] / before["images_per_s"]
        ratios.append(ratio)
        print(
            f"{round_:>5}  {before['images_per_s']:>7.1f} img/s {before['cpu_percent']:>5.0f} % CPU  "
            f"{after['images_per_s']:>7.1f} img/s {after['cpu_percent']:>5.0f} % CPU  {ratio:.2f}x",
            flush=True,
        )
    print(f"ratio overlapped / one after the other: min {min(ratios):.2f}x, median {statistics.median(ratios):.2f}x")


if __name__ == "__main__":
    main()
