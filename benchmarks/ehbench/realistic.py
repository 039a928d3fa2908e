"""Synthetic images like real ones: a generative model fitted in the default model's feature space,
so that every synthetic image has both a float vector and a code, spread as real images' are.

    python -m ehbench.realistic [--n 1000000] [--components 128] [--report]

1. **Real images at hand**, encoded once with the default model keeping the backbone's features
   (`HashModel.outputs_and_features`): Fashion-MNIST's 10k test images, Open Clip Art's PNGs, Tux
   Paint's stamps, Oxygen's 256-px icons and the desktop wallpapers of Debian packages (`make
   bench-images` installs them; each must be there). Cached in build/bench-data/real/.
2. **The generator**, one per real collection, sampled in proportion to their sizes
   (`DomainGenerator`): features L2-normalised (the backbone's similarity is their cosine) and
   centred; PCA to `DIMS` directions, a Gaussian mixture (`COMPONENTS` components, full
   covariances; scikit-learn) over the projections, and the rest of each vector as Gaussian
   noise with the residual's per-dimension variance. A sample is decoded back to 1,280
   dimensions; its code is the default model's own head applied to it (`fitting.LinearHead`
   read from the model), as for a real image. Real collections also hold near-copies (an icon in
   two sizes, a clip-art recoloured), which no smooth density draws: where real images' cosine to
   their nearest other image exceeds what the density draws (its 95th percentile), that excess
   share of samples is moved towards another sample until their cosine is a real near-copy's.
3. **The fit report** (`--report`): the same number of synthetic as real images, side by side:
   the median Hamming distance of each code to its 1st, 10th and 100th nearest other code, the
   median cosine similarity of each vector to its 1st, 10th and 100th nearest other vector, and
   the share of ones per bit (quantiles). Tolerance: Hamming medians within 3 bits, cosine
   medians within 0.02, per-bit share quantiles within 0.05.
4. **Samples** of N (`--n`), cached as build/bench-data/realistic-N.npz (packed codes; float
   vectors too up to `MAX_VECTORS`, float16), so a rerun reuses them.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from elastichash import codes
from elastichash.fitting import LinearHead
from elastichash.images import load_image
from elastichash.ingest import find_images
from elastichash.model import HashModel
from tqdm import tqdm

from .files import save_arrays, save_pickle

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "build" / "bench-data"
DIMS = 128
COMPONENTS = 128
MAX_VECTORS = 1_000_000  # float vectors kept up to this N (1280 float16: 2.5 GB at 1M)
NEIGHBOURS = (1, 10, 100)
CHUNK = 20_000
TOLERANCE = {"hamming": 3.0, "cosine": 0.02, "bit_share": 0.05}

FASHION_TEST = Path("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")
FOLDERS = {
    "openclipart": Path("/usr/share/openclipart/png"),
    "tuxpaint-stamps": Path("/usr/share/tuxpaint/stamps"),
    "oxygen-icons": Path("/usr/share/icons/oxygen/base/256x256"),
    "wallpapers": Path("/usr/share/backgrounds"),
}


# --- 1. real images ---------------------------------------------------------------------------


def fashion_images(path: Path = FASHION_TEST) -> Iterator[np.ndarray]:
    """Fashion-MNIST's IDX images as (28, 28) uint8 arrays."""
    with gzip.open(path, "rb") as stream:
        data = stream.read()
    count, rows, cols = (int.from_bytes(data[i : i + 4], "big") for i in (4, 8, 12))
    yield from np.frombuffer(data, np.uint8, offset=16).reshape(count, rows, cols)


@dataclass
class RealSet:
    name: str
    features: np.ndarray  # (n, 1280) float32
    bits: np.ndarray  # (n, 256) uint8: the default model's codes


def encode_real(model: HashModel, name: str, images: Iterator, total: int, batch: int = 64) -> RealSet:
    """Features and codes of `images` (paths or arrays); unreadable files are left out."""
    from PIL import Image

    features, outputs, arrays = [], [], []

    def flush() -> None:
        out, feat = model.outputs_and_features(arrays)
        outputs.append(out)
        features.append(feat)
        arrays.clear()

    for image in tqdm(images, total=total, desc=f"encoding {name}", unit="img"):
        try:
            picture = Image.fromarray(image).convert("RGB") if isinstance(image, np.ndarray) else load_image(image)
        except Exception:  # noqa: BLE001 (a real collection has a few files Pillow refuses: left out)
            continue
        arrays.append(model.preprocess(picture))
        if len(arrays) == batch:
            flush()
    if arrays:
        flush()
    return RealSet(name, np.concatenate(features), codes.bits_from_outputs(np.concatenate(outputs)))


def real_sets(model: HashModel, cache: Path = DATA / "real") -> list[RealSet]:
    """Every real collection, encoded once (cached per collection and model). All must be
    installed: a generator fitted on some of them would draw other data under the same name."""
    missing = [str(path) for path in (FASHION_TEST, *FOLDERS.values()) if not path.exists()]
    if missing:
        raise SystemExit(
            f"the real images this data is fitted on are not installed ({', '.join(missing)}): "
            "make bench-images installs them (Debian packages)"
        )
    tag = model.identity.sha256[:12]
    sources: dict[str, tuple[Callable[[], Iterator], int]] = {"fashion-mnist-test": (fashion_images, 10_000)}
    for name, folder in FOLDERS.items():
        paths = find_images(folder)
        sources[name] = (lambda paths=paths: iter(paths), len(paths))
    sets = []
    for name, (images, total) in sources.items():
        path = cache / f"{name}-{tag}.npz"
        if not path.is_file():
            real = encode_real(model, name, images(), total)
            save_arrays(path, features=real.features.astype(np.float16), bits=real.bits)
        with np.load(path) as stored:
            sets.append(RealSet(name, stored["features"].astype(np.float32), stored["bits"]))
    return sets


# --- 2. the generator -------------------------------------------------------------------------


def read_head(model: HashModel) -> LinearHead:
    """The default model's head, read from its ONNX initializers (`fitting.write_model` names)."""
    import onnx
    from onnx import numpy_helper

    weights = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(model.path)).graph.initializer}
    return LinearHead(weights["head.feature_mean"], weights["head.weight"], weights["head.bias"])


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@dataclass
class Generator:
    """A Gaussian mixture over the PCA projections of unit features, plus residual noise."""

    mean: np.ndarray  # (d,) mean unit feature
    basis: np.ndarray  # (d, DIMS) PCA directions
    residual_std: np.ndarray  # (d,) per-dimension std of what PCA leaves out
    mixture: object  # sklearn GaussianMixture over the DIMS projections
    copy_share: float = 0.0  # share of samples made near-copies of another
    copy_cosines: np.ndarray = field(default_factory=lambda: np.ones(0))  # those nearest cosines

    @classmethod
    def fit(cls, features: np.ndarray, dims: int = DIMS, components: int = COMPONENTS, seed: int = 0) -> Generator:
        from sklearn.mixture import GaussianMixture

        x = unit(features.astype(np.float64))
        mean = x.mean(axis=0)
        centred = x - mean
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        basis = vt[:dims].T
        projected = centred @ basis
        residual = centred - projected @ basis.T
        mixture = GaussianMixture(components, covariance_type="full", reg_covar=1e-6, random_state=seed)
        mixture.fit(projected)
        smooth = cls(mean, basis, residual.std(axis=0), mixture)
        # Near-copies: nearest-image cosines above what the smooth density itself draws (its
        # 95th percentile), in the share by which the real images exceed it there.
        real = nearest_cosines(x.astype(np.float32))
        drawn = nearest_cosines(smooth.sample(len(x), seed=seed + 7))
        above = float(np.quantile(drawn, 0.95))
        smooth.copy_share = max(0.0, float(np.mean(real > above)) - float(np.mean(drawn > above)))
        smooth.copy_cosines = real[real > above]
        return smooth

    def sample(self, n: int, seed: int) -> np.ndarray:
        """(n, d) float32 synthetic features (unit length, as the model's head sees them)."""
        rng = np.random.default_rng(seed)
        weights = self.mixture.weights_  # type: ignore[attr-defined]
        counts = rng.multinomial(n, weights / weights.sum())
        factors = self._factors()
        means = self.mixture.means_  # type: ignore[attr-defined]
        parts = [
            means[k] + rng.standard_normal((count, len(means[k]))) @ factors[k].T
            for k, count in enumerate(counts)
            if count
        ]
        z = np.concatenate(parts)[rng.permutation(n)]
        noise = rng.standard_normal((n, len(self.mean)), dtype=np.float32) * self.residual_std.astype(np.float32)
        basis = self.basis.astype(np.float32)
        noise -= (noise @ basis) @ basis.T  # only outside the PCA directions
        x = unit(self.mean + z @ self.basis.T + noise)
        copies = round(self.copy_share * n) if n > 1 and len(self.copy_cosines) else 0
        if copies:
            # Sample i made a near-copy of sample j: moved along the line to j until its cosine
            # with j is a real near-copy's. For unit s and t with cosine c, the point s + u(t - s)
            # has cosine (1 - ua) / sqrt(1 - 2ua + 2u²a) with s, a = 1 - c, falling in u: bisection
            # on that scalar instead of on the 1,280-dimensional vectors.
            targets = rng.choice(n, copies, replace=False)
            sources = (targets + rng.integers(1, n, copies)) % n
            wanted = rng.choice(self.copy_cosines, copies)
            a = 1.0 - np.einsum("ij,ij->i", x[sources], x[targets])
            low, high = np.zeros(copies), np.ones(copies)
            for _ in range(30):
                u = (low + high) / 2
                close = (1 - u * a) / np.sqrt(np.maximum(1 - 2 * u * a + 2 * u * u * a, 1e-300)) >= wanted
                low, high = np.where(close, u, low), np.where(close, high, u)
            x[targets] = unit(x[sources] + low[:, None] * (x[targets] - x[sources]))
        return x.astype(np.float32)

    def _factors(self) -> list[np.ndarray]:
        """Each component's Cholesky factor, computed once (not pickled with the fit)."""
        if getattr(self, "_cholesky", None) is None:
            self._cholesky = [np.linalg.cholesky(c) for c in self.mixture.covariances_]  # type: ignore[attr-defined]
        return self._cholesky


@dataclass
class DomainGenerator:
    """One `Generator` per real collection (`components` each, or one per 50 images of a smaller
    one), sampled in proportion to the collections' sizes: a clip-art and a photo are not drawn
    from one blurred density."""

    parts: list[tuple[str, int, Generator]]  # name, real images, its generator

    @classmethod
    def fit(cls, sets: list[RealSet], dims: int = DIMS, components: int = COMPONENTS, seed: int = 0) -> DomainGenerator:
        return cls(
            [
                (
                    s.name,
                    len(s.features),
                    Generator.fit(s.features, dims, max(1, min(components, len(s.features) // 50)), seed),
                )
                for s in sets
            ]
        )

    def sample(self, n: int, seed: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        sizes = np.array([size for _, size, _ in self.parts], dtype=np.float64)
        counts = rng.multinomial(n, sizes / sizes.sum())
        x = np.concatenate(
            [
                part.sample(int(count), seed=seed * 31 + i)
                for i, ((_, _, part), count) in enumerate(zip(self.parts, counts, strict=True))
                if count
            ]
        )
        return x[rng.permutation(n)]


def nearest_cosines(vectors: np.ndarray) -> np.ndarray:
    """Each unit vector's cosine similarity to its nearest other vector (Faiss, exact)."""
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    similarity, _ = index.search(vectors, 2)
    return similarity[:, 1]


# --- 3. the fit report ------------------------------------------------------------------------


def neighbour_profile(bits: np.ndarray, features: np.ndarray, sample: int = 2000, seed: int = 0) -> dict[str, float]:
    """Median Hamming distance to the 1st/10th/100th nearest other code, median cosine to the
    1st/10th/100th nearest other vector (over `sample` query rows), and per-bit share quantiles."""
    import faiss

    rng = np.random.default_rng(seed)
    rows = rng.choice(len(bits), min(sample, len(bits)), replace=False)
    packed = codes.pack_bits(bits).view(np.uint8).reshape(len(bits), -1)
    index = faiss.IndexBinaryFlat(bits.shape[1])
    index.add(np.ascontiguousarray(packed))
    k = max(NEIGHBOURS) + 1  # the row itself comes first
    distances, _ = index.search(np.ascontiguousarray(packed[rows]), k)
    vectors = np.ascontiguousarray(unit(features).astype(np.float32))
    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    similarity, _ = flat.search(vectors[rows], k)
    share = bits.mean(axis=0)
    ranks = [r for r in NEIGHBOURS if r < len(bits)]
    profile = {f"hamming@{r}": float(np.median(distances[:, r])) for r in ranks}
    profile |= {f"cosine@{r}": float(np.median(similarity[:, r])) for r in ranks}
    profile |= {f"bit_share_q{int(q * 100):02d}": float(np.quantile(share, q)) for q in (0.05, 0.25, 0.5, 0.75, 0.95)}
    return profile


def within_tolerance(real: dict[str, float], synthetic: dict[str, float]) -> dict[str, bool]:
    """Per profile entry: whether the synthetic value lies within TOLERANCE of the real one."""
    result = {}
    for key, value in real.items():
        kind = "hamming" if key.startswith("hamming") else "cosine" if key.startswith("cosine") else "bit_share"
        result[key] = abs(synthetic[key] - value) <= TOLERANCE[kind]
    return result


def report_table(rows: list[tuple[str, dict[str, float], dict[str, float]]]) -> str:
    keys = list(rows[0][1])
    lines = [
        "| set | " + " | ".join(keys) + " |",
        "|---|" + "---|" * len(keys),
    ]
    for name, real, synthetic in rows:
        ok = within_tolerance(real, synthetic)
        lines.append(f"| {name}, real | " + " | ".join(f"{real[k]:.3g}" for k in keys) + " |")
        lines.append(
            f"| {name}, synthetic | " + " | ".join(f"{synthetic[k]:.3g}{'' if ok[k] else ' ✗'}" for k in keys) + " |"
        )
    return "\n".join(lines)


# --- 4. cached samples ------------------------------------------------------------------------


def generator_key(model: HashModel, dims: int, components: int, seed: int) -> str:
    return hashlib.sha1(f"{model.identity.sha256}-{dims}-{components}-{seed}".encode()).hexdigest()[:12]


def fitted_generator(
    model: HashModel, dims: int = DIMS, components: int = COMPONENTS, seed: int = 0
) -> DomainGenerator:
    """The generator fitted on every real collection here, made once and kept (pickled)."""
    import pickle

    path = DATA / f"generator-{generator_key(model, dims, components, seed)}.pickle"
    if path.is_file():
        with path.open("rb") as stream:
            return pickle.load(stream)  # noqa: S301 (our own cache file)
    generator = DomainGenerator.fit(real_sets(model), dims, components, seed)
    save_pickle(path, generator)
    return generator


def realistic(
    n: int,
    *,
    model: HashModel | None = None,
    dims: int = DIMS,
    components: int = COMPONENTS,
    seed: int = 0,
    vectors: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """N synthetic images: packed codes (n, 32) uint8 and, with `vectors` up to MAX_VECTORS,
    float16 vectors; made once and cached. Another `seed` draws other images (queries)."""
    model = model or HashModel()
    # The key names the fitted distribution, not one draw from it: a sample cached by an earlier
    # sampler of the same distribution stays valid.
    key = generator_key(model, dims, components, seed)
    keep_vectors = vectors and n <= MAX_VECTORS
    path = DATA / f"realistic-{n}-{'v' if keep_vectors else 'c'}-{key}.npz"
    if not path.is_file():
        generator = fitted_generator(model, dims, components, seed)
        head = read_head(model)
        packed: list[np.ndarray] = []
        floats: list[np.ndarray] = []
        for start in tqdm(range(0, n, CHUNK), desc=f"sampling {n:,}", unit="chunk"):
            x = generator.sample(min(CHUNK, n - start), seed=seed * 1_000_003 + start)
            packed.append(codes.pack_bits(head.bits(x)).view(np.uint8).reshape(len(x), -1))
            if keep_vectors:
                floats.append(x.astype(np.float16))
        arrays = {"codes": np.concatenate(packed)} | ({"vectors": np.concatenate(floats)} if floats else {})
        save_arrays(path, **arrays)
    with np.load(path) as stored:
        return stored["codes"], stored.get("vectors")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=0, help="sample N synthetic images (cached)")
    parser.add_argument("--components", type=int, default=COMPONENTS)
    parser.add_argument("--dims", type=int, default=DIMS)
    parser.add_argument("--report", action="store_true", help="the fit report: real against synthetic")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    model = HashModel()
    if args.report:
        started = time.perf_counter()
        sets = real_sets(model)
        pooled = RealSet("all real", np.concatenate([s.features for s in sets]), np.concatenate([s.bits for s in sets]))
        head = read_head(model)
        generator = DomainGenerator.fit(sets, args.dims, args.components, args.seed)
        fake = generator.sample(len(pooled.features), seed=args.seed + 1)
        rows = [
            (f"all real ({len(pooled.features):,})", neighbour_profile(pooled.bits, pooled.features),
             neighbour_profile(head.bits(fake), fake))
        ]  # fmt: skip
        for real, (_, _, part) in zip(sets, generator.parts, strict=True):
            if len(real.features) > max(NEIGHBOURS):
                fake = part.sample(len(real.features), seed=args.seed + 1)
                rows.append((f"{real.name} ({len(real.features):,})", neighbour_profile(real.bits, real.features),
                             neighbour_profile(head.bits(fake), fake)))  # fmt: skip
        print(
            f"Generator: per real collection, PCA to {args.dims} directions of its images' unit features, "
            f"a Gaussian mixture of {args.components} components (full covariances), residual noise, near-copies; "
            f"(fewer for a set under {50 * args.components:,} images: one per 50); synthetic rows: that many "
            "samples of the generator of that set; 'all real': of all of them, in proportion to the sets' sizes, "
            "as the samples of `--n` "
            f"({time.perf_counter() - started:.0f} s). ✗: outside the tolerance {TOLERANCE}.\n"
        )
        print(report_table(rows))
    if args.n:
        packed, vectors = realistic(args.n, model=model, dims=args.dims, components=args.components, seed=args.seed)
        print(f"{len(packed):,} synthetic codes" + (f" and vectors {vectors.shape}" if vectors is not None else ""))


if __name__ == "__main__":
    # Run from the module's own name, not __main__: the generator it pickles must name its classes
    # so that `python -m ehbench` and the other benchmarks can load it.
    from ehbench.realistic import main as realistic_main

    realistic_main()
