"""A tiny untrained hashing model with the real metadata contract, for tests and try-outs.

It averages 4x4 pixel blocks of a 32x32 image and projects them on 256 fixed random
directions: images that look alike get near codes, but it knows nothing of semantics.
Needs the `onnx` package (the `test` extra).
"""

from __future__ import annotations

import json
import os

import numpy as np

from . import codes
from .model import FORMAT_VERSION

TINY_SIZE = 32


def tiny_metadata() -> dict[str, str]:
    return {
        "elastichash.format_version": FORMAT_VERSION,
        "input_size": str(TINY_SIZE),
        "resize": "stretch",
        "resize_size": str(TINY_SIZE),
        "mean": json.dumps([0.5, 0.5, 0.5]),
        "std": json.dumps([0.25, 0.25, 0.25]),
        "color_mode": "RGB",
        "bits": str(codes.CODE_BITS),
        "short_bits": str(codes.SHORT_BITS),
        "subcode_bits": str(codes.SUBCODE_BITS),
        "output": "logits",
        "model_version": "tiny-random-projection-1",
        "trained_on": "nothing (random projection, for tests)",
    }


def make_tiny_model(
    path: str | os.PathLike, seed: int = 0, metadata: dict[str, str] | None = None
) -> str:
    """Writes the tiny model to `path` and returns the path."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    features = 3 * (TINY_SIZE // 4) ** 2
    weights = (
        np.random.default_rng(seed).standard_normal((features, codes.CODE_BITS)).astype(np.float32)
    )
    graph = helper.make_graph(
        [
            helper.make_node(
                "AveragePool", ["image"], ["pooled"], kernel_shape=[4, 4], strides=[4, 4]
            ),
            helper.make_node("Flatten", ["pooled"], ["flat"], axis=1),
            helper.make_node("MatMul", ["flat", "projection"], ["logits"]),
        ],
        "tiny_hash",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, TINY_SIZE, TINY_SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", codes.CODE_BITS])],
        initializer=[numpy_helper.from_array(weights, "projection")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, tiny_metadata() if metadata is None else metadata)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return os.fspath(path)
