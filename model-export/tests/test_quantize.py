"""`elastichash-train quantize`: the int8 copy keeps the client's contract, names itself, and
leaves the head (everything after the backbone's features) in float32."""

from __future__ import annotations

import numpy as np
import onnx
from elastichash.fitting import pca_itq_head, write_model
from elastichash.model import HashModel
from elastichash.testing import make_shapes_folder, make_tiny_model

from elastichash_train.cli import main
from elastichash_train.quantize import head_nodes


def fitted_tiny(tmp_path) -> HashModel:
    base = HashModel(make_tiny_model(tmp_path / "tiny.onnx", with_features=True))
    arrays = [np.random.default_rng(i).normal(size=(3, 32, 32)).astype(np.float32) for i in range(300)]
    _, features = base.outputs_and_features(arrays)
    path = write_model(base.path, "features", pca_itq_head(features), base.spec, tmp_path / "fitted.onnx")
    return HashModel(path)


def test_head_nodes_are_everything_after_the_features(tmp_path) -> None:
    model = fitted_tiny(tmp_path)
    names = head_nodes(model.path, "features")
    ops = {node.name: node.op_type for node in onnx.load(str(model.path)).graph.node}
    assert sorted(ops[name] for name in names) == ["Div", "Gemm", "Max", "ReduceL2", "Sub"]


def test_quantize_writes_a_model_the_client_loads(tmp_path, capsys) -> None:
    model = fitted_tiny(tmp_path)
    folder = make_shapes_folder(tmp_path / "calibration", {"a": 10, "b": 10})
    out = tmp_path / "int8.onnx"
    status = main(["quantize", "--model", str(model.path), "--out", str(out), "--calibration", str(folder)])
    output = capsys.readouterr().out
    assert status == 0 and "its bits agree with fitted.onnx's" in output
    int8 = HashModel(out)
    assert int8.spec.model_version == "tiny-random-projection-1-int8" and "quantised to int8" in int8.spec.trained_on
    assert int8.has_features
    images = sorted(folder.rglob("*.png"))[:8]
    assert (int8.encode(images) == model.encode(images)).mean() > 0.9
