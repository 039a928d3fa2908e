"""Images per second of a folder ingest, end to end: the stages overlapped against one after the other.

    python -m ehbench.ingest --es-url URL [--images N] [--folder DIR] [--rounds 3] [--int8]

Without `--folder` it indexes N photo-like JPEGs of 1,024 x 768 px (smooth colour fields and
grain, the size the Debian wallpapers are resized to), made once into build/ingest-photos/.
Each round indexes the folder into fresh indices, once with `threads=1` (decode, encode and
send one after the other) and once with the default pipeline (and with `--int8` once more
with the pipeline and the bundled int8 model), each setup first in turn, and prints images/s,
the process's CPU use (user + system over wall time, 200 % = both cores of a 2-core machine)
and the ratios to the first, then the minimum and median ratios over the rounds.
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
    parser.add_argument("--int8", action="store_true", help="a third run: overlapped, with the bundled int8 model")
    args = parser.parse_args()
    folder = args.folder or photo_folder(Path(__file__).resolve().parents[2] / "build" / "ingest-photos", args.images)
    paths = find_images(folder)[: args.images] if args.folder is None else find_images(folder)
    es = connect(args.es_url)
    model = HashModel(args.model)
    setups = [("one after the other", model, 1), ("overlapped", model, DEFAULT_THREADS)]
    if args.int8:
        setups.append(("overlapped, int8", HashModel("int8"), DEFAULT_THREADS))
    for _, warm_model, _ in setups:
        ingest(es, "ehbench-ingest-warm", warm_model, items_from_paths(paths[:8], IngestReport()), progress=False)
        es.indices.delete(index="ehbench-ingest-warm")
    print(f"{len(paths)} images from {folder}, {os.cpu_count()} cores, pipeline threads {DEFAULT_THREADS}")
    print("  ".join([f"{'round':>5}"] + [f"{name:>24}" for name, _, _ in setups] + ["ratios to the first"]))
    ratios: dict[str, list[float]] = {name: [] for name, _, _ in setups[1:]}
    for round_ in range(1, args.rounds + 1):
        shift = (round_ - 1) % len(setups)  # each setup runs first in turn: no order favours one
        order = setups[shift:] + setups[:shift]
        runs = {name: one_run(es, run_model, paths, threads) for name, run_model, threads in order}
        first = runs[setups[0][0]]["images_per_s"]
        cells = [f"{round_:>5}"]
        for name, _, _ in setups:
            cells.append(f"{runs[name]['images_per_s']:>7.1f} img/s {runs[name]['cpu_percent']:>5.0f} % CPU")
        for name in ratios:
            ratios[name].append(runs[name]["images_per_s"] / first)
        cells.append(", ".join(f"{values[-1]:.2f}x" for values in ratios.values()))
        print("  ".join(cells), flush=True)
    for name, values in ratios.items():
        print(f"ratio {name} / one after the other: min {min(values):.2f}x, median {statistics.median(values):.2f}x")


if __name__ == "__main__":
    main()
