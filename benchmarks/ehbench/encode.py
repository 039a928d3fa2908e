"""Images per second through the model alone (decoded images in memory): the default model
against its int8 copy, in the same run.

    python -m ehbench.encode [--images 256] [--rounds 3] [--folder DIR]

Each round encodes the same preprocessed images (batches of 32) with both models on 1 thread
and on every core, the two models in alternating order, and prints images/s and the ratio
int8 / fp32; then the minimum and median ratio over the rounds, and how many of the int8
model's bits agree with the default model's. Without `--folder`: the photo-like JPEGs of
`ehbench.ingest` (made once into build/ingest-photos/).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np
from elastichash import HashModel
from elastichash.images import load_image
from elastichash.ingest import find_images

from .ingest import photo_folder

BATCH = 32


def images_per_second(model: HashModel, arrays: list[np.ndarray]) -> float:
    started = time.perf_counter()
    for start in range(0, len(arrays), BATCH):
        model.outputs_of_arrays(arrays[start : start + BATCH])
    return len(arrays) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=256, help="images to encode (default: 256)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--folder", type=Path, help="encode these images instead of made ones")
    args = parser.parse_args()
    folder = args.folder or photo_folder(Path(__file__).resolve().parents[2] / "build" / "ingest-photos", args.images)
    paths = find_images(folder)[: args.images]
    fp32 = HashModel("default")
    arrays = [fp32.preprocess(load_image(path)) for path in paths]
    cores = os.cpu_count() or 1
    models = {
        threads: {name: HashModel(name, threads=threads) for name in ("default", "int8")} for threads in (1, cores)
    }
    for pair in models.values():
        for model in pair.values():
            model.outputs_of_arrays(arrays[:BATCH])  # warm-up: onnxruntime plans the graph on the first run
    bits = {name: models[cores][name].outputs_of_arrays(arrays) > 0 for name in ("default", "int8")}
    print(f"{len(arrays)} images from {folder}, {cores} cores; {fp32.spec.input_size} px, batches of {BATCH}")
    ratios: dict[int, list[float]] = {threads: [] for threads in models}
    for round_ in range(1, args.rounds + 1):
        cells = [f"round {round_}"]
        for threads, pair in models.items():
            names = ("default", "int8") if round_ % 2 else ("int8", "default")
            speed = {name: images_per_second(pair[name], arrays) for name in names}
            ratios[threads].append(speed["int8"] / speed["default"])
            cells.append(
                f"{threads} thread{'s' * (threads > 1)}: fp32 {speed['default']:.0f} img/s, int8 "
                f"{speed['int8']:.0f} img/s, {ratios[threads][-1]:.2f}x"
            )
        print("  ".join(cells), flush=True)
    for threads, values in ratios.items():
        print(
            f"ratio int8 / fp32 on {threads} thread{'s' * (threads > 1)}: min {min(values):.2f}x, "
            f"median {statistics.median(values):.2f}x"
        )
    agree = float((bits["default"] == bits["int8"]).mean())
    distance = float((bits["default"] != bits["int8"]).sum(axis=1).mean())
    print(f"bits agreeing with the default model's: {100 * agree:.1f}% (mean Hamming distance {distance:.1f})")


if __name__ == "__main__":
    main()
