import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elastichash.errors import ModelError
from elastichash.model import REQUIRED_KEYS, HashModel, ModelSpec
from elastichash.testing import make_tiny_model, tiny_metadata


def test_encodes_images_to_256_bits(tiny_model_path: Path) -> None:
    model = HashModel(tiny_model_path)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)) for _ in range(5)]
    bits = model.encode(images, batch_size=2)
    assert bits.shape == (5, 256) and set(np.unique(bits)) <= {0, 1}
    again = model.encode(images[::-1], batch_size=5)[::-1]
    np.testing.assert_array_equal(bits, again)  # batching does not change a code
    assert len({bytes(row) for row in bits}) == 5


def test_preprocess_shape_and_normalisation(tiny_model_path: Path) -> None:
    model = HashModel(tiny_model_path)
    array = model.preprocess(Image.new("RGB", (100, 50), (128, 128, 128)))
    assert array.shape == (3, 32, 32) and array.dtype == np.float32
    np.testing.assert_allclose(array, (128 / 255 - 0.5) / 0.25, atol=1e-6)


def test_center_crop_policy() -> None:
    metadata = {**tiny_metadata(), "resize": "shorter_side_then_center_crop", "resize_size": "40"}
    spec = ModelSpec.from_metadata(metadata)
    assert spec.resize == "shorter_side_then_center_crop" and spec.resize_size == 40


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_metadata_is_named(key: str, tmp_path: Path) -> None:
    metadata = tiny_metadata()
    del metadata[key]
    path = make_tiny_model(tmp_path / "broken.onnx", metadata=metadata)
    with pytest.raises(ModelError, match=f"lacks {key}"):
        HashModel(path)


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("input_size", "big", "not an integer"),
        ("mean", json.dumps([0.5, 0.5]), "3 numbers"),
        ("resize", "squash", "resize="),
        ("bits", "128", "code layout"),
        ("elastichash.format_version", "99", "format version"),
    ],
)
def test_invalid_metadata_is_named(key: str, value: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        ModelSpec.from_metadata({**tiny_metadata(), key: value})


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="no such model file"):
        HashModel(tmp_path / "none.onnx")


def test_not_an_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_text("junk")
    with pytest.raises(ModelError, match="onnxruntime cannot load it"):
        HashModel(path)
