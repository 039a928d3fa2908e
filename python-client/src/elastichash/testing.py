"""Test material: a tiny hashing model, a folder of shapes, a folder of hostile image files, and
helpers for tests and benchmarks against a node (per-call time-outs, waiting for health, reading
an error answer) that the library itself never needs.

The tiny untrained hashing model has the real metadata contract, for tests and try-outs. It
averages 4x4 pixel blocks of a 32x32 image and projects them on 256 fixed random directions:
images that look alike get near codes, but it knows nothing of semantics. Needs the `onnx`
package (the `test` extra). `make_hostile_folder` writes files an ingest must survive.
"""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from elasticsearch import Elasticsearch
from PIL import Image, ImageChops

from . import codes
from .engines import Client, failure
from .model import ModelSpec

TINY_SIZE = 32


def tiny_metadata(
    size: int = TINY_SIZE,
    std: float = 0.25,
    model_version: str = "tiny-random-projection-1",
    trained_on: str = "nothing (random projection, for tests)",
) -> dict[str, str]:
    """The metadata of a test model: `size` x `size` stretched input, mean 0.5, the code layout."""
    return ModelSpec(
        input_size=size,
        resize="stretch",
        resize_size=size,
        mean=(0.5, 0.5, 0.5),
        std=(std, std, std),
        bits=codes.CODE_BITS,
        short_bits=codes.SHORT_BITS,
        subcode_bits=codes.SUBCODE_BITS,
        model_version=model_version,
        trained_on=trained_on,
    ).metadata()


def make_tiny_model(
    path: str | os.PathLike,
    seed: int = 0,
    metadata: dict[str, str] | None = None,
    with_features: bool = False,
) -> str:
    """Writes the tiny model to `path` and returns the path.

    `with_features`: the model averages 2x2 blocks instead (768 "backbone features") and
    exposes them as its second output `features`, as the default model does, so that a head
    can be fitted on it (`elastichash.fitting`).
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    block = 2 if with_features else 4
    features = 3 * (TINY_SIZE // block) ** 2
    weights = (
        np.random.default_rng(seed).standard_normal((features, codes.CODE_BITS)).astype(np.float32)
    )
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", codes.CODE_BITS])]
    nodes = [
        helper.make_node(
            "AveragePool", ["image"], ["pooled"], kernel_shape=[block] * 2, strides=[block] * 2
        ),
        helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
        helper.make_node("MatMul", ["flat", "projection"], ["logits"]),
    ]
    if with_features:
        nodes.append(helper.make_node("Identity", ["flat"], ["features"]))
        outputs.append(
            helper.make_tensor_value_info("features", TensorProto.FLOAT, ["n", features])
        )
        metadata = {
            **(tiny_metadata() if metadata is None else metadata),
            "features_output": "features",
        }
    graph = helper.make_graph(
        nodes,
        "tiny_hash",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, TINY_SIZE, TINY_SIZE])],
        outputs,
        initializer=[numpy_helper.from_array(weights, "projection")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, tiny_metadata() if metadata is None else metadata)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return os.fspath(path)


def make_shapes_folder(root: str | os.PathLike, classes: dict[str, int], seed: int = 0) -> Path:
    """A folder per class of 48x48 PNGs that a backbone tells apart: a red square, a green
    disc, a blue bar, a yellow cross, ... on noise, each at a random place."""
    from PIL import ImageDraw

    rng = np.random.default_rng(seed)
    shapes = ["square", "disc", "bar", "cross"]
    colours = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (200, 200, 30)]
    for c, (name, count) in enumerate(classes.items()):
        folder = Path(root) / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(count):
            noise = rng.integers(0, 60, (48, 48, 3), dtype=np.uint8)
            image = Image.fromarray(noise + 150)
            draw = ImageDraw.Draw(image)
            x, y = (int(v) for v in rng.integers(4, 20, 2))
            box = (x, y, x + 22, y + 22)
            shape, colour = shapes[c % 4], colours[c % 4]
            if shape == "square":
                draw.rectangle(box, fill=colour)
            elif shape == "disc":
                draw.ellipse(box, fill=colour)
            elif shape == "bar":
                draw.rectangle((x, y + 8, x + 22, y + 14), fill=colour)
            else:
                draw.line((x, y, x + 22, y + 22), fill=colour, width=5)
                draw.line((x, y + 22, x + 22, y), fill=colour, width=5)
            image.save(folder / f"{i:02d}.png")
    return Path(root)


# --- a folder of hostile image files ---------------------------------------------------------

#: The size of the hostile folder's large photo: 39.9 megapixels, as a 40 MP camera writes.
LARGE_PHOTO_SIZE = (7296, 5472)


@dataclass(frozen=True)
class HostileFolder:
    """A folder of image files that an ingest must survive, and what it must say of each.

    `good`: files that must be indexed. `refused`: path → a phrase the reason must contain.
    `unreadable` is a valid image its owner cannot read (mode 000); only a reader that is not
    root sees it so (root reads any file), so it is listed apart from both.
    """

    root: Path
    good: list[Path]
    refused: dict[Path, str]
    unreadable: Path


def make_hostile_folder(root: str | os.PathLike) -> HostileFolder:
    """Writes the hostile folder under `root` (created; its folders readable by all users)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    good: list[Path] = []
    refused: dict[Path, str] = {}

    def keep(name: str, image: Image.Image, **options: object) -> Path:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, **options)
        good.append(path)
        return path

    def refuse(name: str, reason: str, data: bytes | None = None) -> Path:
        path = root / name
        if data is not None:
            path.write_bytes(data)
        refused[path] = reason
        return path

    rng = np.random.default_rng(7)
    for i in range(3):
        keep(f"ordinary-{i}.jpg", Image.fromarray(rng.integers(0, 256, (48, 64, 3), np.uint8)))
    keep("one-pixel.png", Image.new("RGB", (1, 1), (200, 30, 90)))
    ramp = np.tile(np.linspace(0, 65535, 64), (40, 1)).astype(np.uint16)
    keep("grey-16-bit.png", Image.fromarray(ramp))
    frames = [Image.new("RGB", (32, 24), colour) for colour in ((255, 0, 0), (0, 255, 0))]
    keep("animated.gif", frames[0], save_all=True, append_images=frames[1:], duration=100)
    keep("cmyk.jpg", Image.fromarray(rng.integers(0, 256, (40, 40, 3), np.uint8)).convert("CMYK"))
    keep("album.jpg/inside.png", Image.new("RGB", (20, 20), (0, 90, 0)))  # a folder named .jpg
    keep("photo-40mp.jpg", large_photo(rng), quality=85)

    refuse("bomb.png", "decompression bomb", png_declaring(20_000, 30_000))
    jpeg, png = io.BytesIO(), io.BytesIO()
    photo = Image.fromarray(rng.integers(0, 256, (120, 160, 3), np.uint8))
    photo.save(jpeg, "JPEG")
    photo.save(png, "PNG")
    refuse("truncated.jpg", "truncated", jpeg.getvalue()[: len(jpeg.getvalue()) // 2])
    refuse("truncated.png", "corrupt", png.getvalue()[: len(png.getvalue()) // 2])
    refuse("empty.jpg", "empty (0 bytes)", b"")
    refuse("notes.png", "not an image", b"a shopping list, not a picture\n")
    huge = refuse("huge.jpg", "over the 256 MiB accepted", b"")
    os.truncate(huge, 300 * 1024 * 1024)  # sparse: no disk used, but 300 MiB to read
    os.symlink("loop-b.jpg", refuse("loop-a.jpg", "symlink loop"))
    os.symlink("loop-a.jpg", refuse("loop-b.jpg", "symlink loop"))
    os.symlink("gone.jpg", refuse("broken.jpg", "broken symlink"))
    os.mkfifo(refuse("pipe.jpg", "FIFO"))
    os.symlink("/dev/zero", refuse("zeros.jpg", "character device"))  # never ends when read
    (root / "nested").mkdir()
    os.symlink("..", refuse("nested/up", "walked once"))  # a folder loop

    unreadable = root / "unreadable.jpg"
    photo.save(unreadable, "JPEG")
    unreadable.chmod(0)
    for folder in (root, root / "nested", root / "album.jpg"):
        folder.chmod(0o755)
    return HostileFolder(root, sorted(good), refused, unreadable)


def large_photo(rng: np.random.Generator, size: tuple[int, int] = LARGE_PHOTO_SIZE) -> Image.Image:
    """A photo-like image (smooth shapes, grain) of `size`, made in ~2 s: a few random colours
    blown up smoothly, plus a tile of grain, so that JPEG has real detail to keep."""
    width, height = size
    colours = rng.integers(0, 216, (12, 16, 3), dtype=np.uint8)
    smooth = Image.fromarray(colours).resize(size, Image.Resampling.BILINEAR)
    tile = Image.fromarray(rng.integers(0, 40, (456, 608, 3), dtype=np.uint8))
    grain = Image.new("RGB", size)
    for top in range(0, height, tile.height):
        for left in range(0, width, tile.width):
            grain.paste(tile, (left, top))
    return ImageChops.add(smooth, grain)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG file whose header declares width x height RGB pixels (a decompression bomb's
    shape): one row of data follows, so only a reader that trusts the header allocates."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = zlib.compress(b"\0" + b"\0" * 3 * min(width, 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", row) + chunk(b"IEND", b"")


# --- for tests and benchmarks against a node: what the library itself never needs ---------


def with_timeout(client: Client, seconds: float) -> Client:
    """The client with a longer time-out per request (a force-merge takes its time)."""
    if isinstance(client, Elasticsearch):
        return client.options(request_timeout=seconds)
    from opensearchpy import OpenSearch

    return OpenSearch(client.transport.hosts, **{**client.transport.kwargs, "timeout": seconds})


def wait_for_health(client: Client, seconds: float = 30, **conditions: Any) -> dict[str, Any]:
    """`cluster.health` with `wait_for_*` conditions, waiting up to about `seconds`.

    The server's own `timeout` cannot be passed: opensearch-py takes a `timeout` argument for
    its request time-out. So the server's default wait (30 s) is repeated until the conditions
    hold or the time is up; the last answer says which (`timed_out`).
    """
    deadline = time.monotonic() + seconds
    while True:
        health = dict(client.cluster.health(**conditions))
        if not health.get("timed_out") or time.monotonic() >= deadline:
            return health


def error_answer(error: BaseException) -> tuple[int | str | None, Any]:
    """(HTTP status, body) of a client's error answer, for tests that check what was refused."""
    found = failure(error)
    if found is None or found.kind not in ("answer", "auth"):
        raise TypeError(f"not an error answer of a client: {error!r}")
    return found.status, found.body
