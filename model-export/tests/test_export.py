from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from conftest import TINY_SIZE

from elastichash_train.backbone import Backbone, freeze
from elastichash_train.export import HashingNetwork, export_onnx, model_metadata, parity, with_permutation
from elastichash_train.head import HashHead
from elastichash_train.preprocess import Preprocessing

PREPROCESSING = Preprocessing(TINY_SIZE, "stretch", TINY_SIZE)


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
    metadata = model_metadata(PREPROCESSING, "tiny-test", "nothing")
    path = export_onnx(network, tmp_path / "tiny.onnx", metadata)

    model = onnx.load(str(path))
    props = {p.key: p.value for p in model.metadata_props}
    assert props == metadata
    assert model.graph.input[0].name == "image"
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param  # dynamic batch
    assert [d.dim_value for d in model.graph.output[0].type.tensor_type.shape.dim][1:] == [256]

    from elastichash.model import HashModel

    client = HashModel(path)
    assert (client.spec.input_size, client.spec.resize) == (TINY_SIZE, "stretch")
    images = list(tiny_fmnist.images(range(48)))
    assert parity(path, network, images) >= 0.999
    # The client's preprocessing is ours, value for value.
    ours = PREPROCESSING(images[0])
    assert np.array_equal(client.preprocess(images[0]), ours)


def test_preprocessing_matches_the_client_for_crops() -> None:
    from elastichash.model import HashModel, ModelSpec
    from PIL import Image

    image = Image.fromarray(np.random.default_rng(0).integers(0, 256, (50, 80, 3), dtype=np.uint8))
    ours = Preprocessing(32, "shorter_side_then_center_crop", 40)
    spec = ModelSpec.from_metadata(model_metadata(ours, "x", "y"))
    client = HashModel.__new__(HashModel)  # only its preprocessing, no session needed
    client.spec = spec
    assert np.array_equal(client.preprocess(image), ours(image))
