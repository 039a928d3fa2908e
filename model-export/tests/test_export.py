from __future__ import annotations

import dataclasses

import numpy as np
import onnx
import pytest
import torch
from conftest import TINY_SIZE
from elastichash.errors import ModelError
from elastichash.model import HashModel, ModelSpec

from elastichash_train.backbone import Backbone, freeze
from elastichash_train.export import (
    HashingNetwork,
    export_onnx,
    model_metadata,
    model_spec,
    parity,
    with_permutation,
)
from elastichash_train.head import HashHead

SPEC = model_spec(TINY_SIZE, "tiny-test", "nothing")


@pytest.fixture(scope="module")
def tiny_network() -> tuple[HashingNetwork, HashHead, np.ndarray]:
    torch.manual_seed(0)
    head = HashHead(hidden=64).eval()
    with torch.no_grad():  # give the BatchNorm non-trivial statistics
        head.mlp[1].running_mean.normal_()
        head.mlp[1].running_var.uniform_(0.5, 2.0)
    permutation = np.random.default_rng(0).permutation(256)
    network = HashingNetwork(freeze(Backbone(TINY_SIZE)), with_permutation(head, permutation))
    return network, head, permutation


def test_permutation_is_folded_into_the_head(tiny_network) -> None:
    network, head, permutation = tiny_network
    features = torch.randn(5, 1280)
    with torch.no_grad():
        assert torch.allclose(network.head(features), head(features)[:, permutation], atol=1e-5)


def test_export_follows_the_contract_and_matches_pytorch(tiny_network, tiny_fmnist, tmp_path) -> None:
    network, _, _ = tiny_network
    path = export_onnx(network, tmp_path / "tiny.onnx", SPEC)

    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props == SPEC.metadata() == model_metadata(SPEC)
    assert model.graph.input[0].name == props["input_name"] == "image"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][1:] == [256]

    # The client reads back the very spec the features were computed and trained with.
    assert HashModel(path).spec == SPEC
    images = list(tiny_fmnist.images(range(48)))
    assert parity(path, network, images) >= 0.999


def test_metadata_names_the_graph_input_and_round_trips() -> None:
    crop = model_spec(32, "x", "y", resize="shorter_side_then_center_crop", resize_size=40)
    assert ModelSpec.from_metadata(model_metadata(crop)) == crop
    bare = dataclasses.replace(crop, input_name=None)
    assert model_metadata(bare)["input_name"] == "image"


def test_a_spec_that_breaks_the_contract_is_refused_before_export(tiny_network, tmp_path) -> None:
    network, _, _ = tiny_network
    bad = model_spec(32, "x", "", resize="shorter_side_then_center_crop", resize_size=20)
    with pytest.raises(ModelError, match="trained_on is empty; resize_size=20 is smaller than input_size=32"):
        export_onnx(network, tmp_path / "bad.onnx", bad)
    assert not list(tmp_path.iterdir())
