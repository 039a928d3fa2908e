"""ONNX models for the tests, built with onnx.helper."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from elastichash.testing import tiny_metadata

SIDE = 8  # input side of the flat models below
FEATURES = 3 * SIDE * SIDE


def flat_metadata(**changes: str) -> dict[str, str]:
    """The full metadata contract for a SIDE x SIDE model; `changes` replace keys."""
    metadata = tiny_metadata(SIDE, std=0.5, model_version="flat-test-1", trained_on="nothing")
    metadata.update(changes)
    return metadata


def channel_weights() -> np.ndarray:
    """(192, 256): outputs 0-63 = R pixels, 64-127 = G, 128-191 = B, 192-255 = -R (NCHW)."""
    weights = np.zeros((FEATURES, 256), dtype=np.float32)
    weights[np.arange(192), np.arange(192)] = 1.0
    weights[np.arange(64), np.arange(192, 256)] = -1.0
    return weights


def build_flat_model(
    path: str | os.PathLike,
    metadata: dict[str, str] | None = None,
    weights: np.ndarray | None = None,
    input_shape: Sequence[int | str] = ("n", 3, SIDE, SIDE),
    output_shape: Sequence[int | str] | None = None,
    second_input: bool = False,
) -> Path:
    """An ONNX model `image` (n, 3, S, S) float → Flatten → MatMul → `logits` (n, 256)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = channel_weights() if weights is None else weights
    nodes = [helper.make_node("Flatten", ["image"], ["flat"], axis=1)]
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, list(input_shape))]
    if second_input:
        nodes.append(helper.make_node("Mul", ["flat", "scale"], ["scaled"]))
        inputs.append(helper.make_tensor_value_info("scale", TensorProto.FLOAT, [1]))
    nodes.append(
        helper.make_node("MatMul", ["scaled" if second_input else "flat", "w"], ["logits"])
    )
    out_shape = list(output_shape) if output_shape else [input_shape[0], weights.shape[1]]
    graph = helper.make_graph(
        nodes,
        "flat_hash",
        inputs,
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_shape)],
        initializer=[numpy_helper.from_array(weights, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, flat_metadata() if metadata is None else metadata)
    onnx.checker.check_model(model)
    onnx.save(model, os.fspath(path))
    return Path(path)
