"""`make demo`: index sample images into a local node, then search by example.

The images are 1,000 Fashion-MNIST test pictures (100 per class, from the Debian package
dataset-fashion-mnist, installed when missing) written as PNG files under build/demo/. The
queries are pictures from the training split, which are not in the index: a good answer shows
images of the query's class at small Hamming distances.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from elastichash import Code, ElasticHash, ElasticHashError, ModelMismatchError, connect
from PIL import Image

DATASET = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
ROOT = Path(__file__).resolve().parent.parent
INDEX = "demo-images"


def ensure_dataset() -> None:
    if (DATASET / "t10k-images-idx3-ubyte.gz").is_file():
        return
    if shutil.which("apt-get") is None:
        sys.exit(f"the demo needs Fashion-MNIST in {DATASET} (Debian package dataset-fashion-mnist)")
    print("installing the Debian package dataset-fashion-mnist", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"], check=True, stdout=subprocess.DEVNULL)


def read_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    with gzip.open(DATASET / f"{split}-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(DATASET / f"{split}-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), np.uint8, offset=8)
    return images, labels


def write_images(folder: Path, per_class: int) -> int:
    images, labels = read_split("t10k")
    written = 0
    for label, name in enumerate(CLASSES):
        (folder / name).mkdir(parents=True, exist_ok=True)
        for row in np.flatnonzero(labels == label)[:per_class]:
            path = folder / name / f"{row:05d}.png"
            if not path.exists():
                Image.fromarray(images[row], "L").save(path)
            written += 1
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--es-url", default="http://127.0.0.1:9200")
    parser.add_argument("--per-class", type=int, default=100)
    args = parser.parse_args()

    ensure_dataset()
    folder = ROOT / "build" / "demo" / "images"
    count = write_images(folder, args.per_class)
    print(f"{count} sample images in {folder.relative_to(ROOT)}/<class>/", flush=True)

    engine = ElasticHash(connect(args.es_url), index=INDEX)
    try:
        started = time.perf_counter()
        try:
            report = engine.index_directory(folder)
        except ModelMismatchError:
            # The demo's own index, written by an earlier default model (say, before an upgrade):
            # its codes are not comparable with this model's, so it is made again.
            print(f"index '{INDEX}' holds codes of another model; making it again with this one", flush=True)
            engine.es.indices.delete(index=INDEX)
            engine = ElasticHash(engine.es, index=INDEX)
            report = engine.index_directory(folder)
        print(f"{report.summary()} ({time.perf_counter() - started:.1f} s) into index '{INDEX}' at {args.es_url}")

        train_images, train_labels = read_split("train")
        queries_dir = ROOT / "build" / "demo" / "queries"
        queries_dir.mkdir(parents=True, exist_ok=True)
        for label in (8, 7, 3):  # a bag, a sneaker, a dress from the training split
            row = int(np.flatnonzero(train_labels == label)[0])
            query = queries_dir / f"{CLASSES[label]}-{row}.png"
            Image.fromarray(train_images[row], "L").save(query)
            started = time.perf_counter()
            hits = engine.search(query, k=5)
            elapsed = (time.perf_counter() - started) * 1000
            print(f"\nquery {query.relative_to(ROOT)} ({CLASSES[label]}), {elapsed:.0f} ms with encoding:")
            for rank, hit in enumerate(hits, 1):
                print(f"  {rank}. distance {hit.distance:>3}  {Path(hit.source['path']).relative_to(ROOT)}")
        # A broader check than three examples: 10 unseen training images per class.
        rows = [int(r) for label in range(10) for r in np.flatnonzero(train_labels == label)[1:11]]
        model = engine.model
        codes = model.encode([Image.fromarray(train_images[r], "L") for r in rows])
        correct = 0
        for row, bits in zip(rows, codes, strict=True):
            hits = engine.search(Code.from_bits(bits), k=5)
            correct += sum(Path(h.source["path"]).parent.name == CLASSES[train_labels[row]] for h in hits)
        print(f"\nprecision@5 over {len(rows)} unseen query images (10 per class): {correct / (5 * len(rows)):.2f}")
        print("\nThe same from the command line:")
        print(f"  .venv/bin/elastichash --index {INDEX} search {query.relative_to(ROOT)} -k 5")
        print(f"  .venv/bin/elastichash --index {INDEX} console {query.relative_to(ROOT)}   # for Kibana")
    except ElasticHashError as error:
        print(f"demo: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
