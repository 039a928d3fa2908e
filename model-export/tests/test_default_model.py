"""The bundled default model (python-client/src/elastichash/models/default.onnx)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from elastichash.model import REQUIRED_KEYS, ModelSpec

DEFAULT = Path(__file__).resolve().parents[2] / "python-client" / "src" / "elastichash" / "models" / "default.onnx"
REQUIRED = REQUIRED_KEYS  # the contract in docs/model-format.md, as the client enforces it

pytestmark = pytest.mark.skipif(not DEFAULT.is_file(), reason="no default model yet (make model)")


def test_default_model_metadata_is_complete_and_small() -> None:
    model = onnx.load(str(DEFAULT), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    assert set(REQUIRED) <= set(props)
    assert props["elastichash.format_version"] == "1"
    assert (props["bits"], props["short_bits"], props["subcode_bits"]) == ("256", "64", "16")
    assert props["resize"] in ("stretch", "shorter_side_then_center_crop")
    assert DEFAULT.stat().st_size <= 25_000_000
    # ModelSpec.metadata() is the one writer: it must reproduce the bundled file's props exactly.
    assert ModelSpec.from_metadata(props).metadata() == props


def test_default_model_runs_in_the_client() -> None:
    from elastichash.model import HashModel
    from PIL import Image

    model = HashModel(DEFAULT)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)) for _ in range(3)]
    bits = model.encode(images)
    assert bits.shape == (3, 256) and set(np.unique(bits)) <= {0, 1}
    assert len({row.tobytes() for row in bits}) > 1


def test_make_model_would_write_the_bundled_metadata() -> None:
    # `make model` builds its spec in cli.py; a change there without a re-export shows up here.
    from elastichash_train.backbone import DEFAULT_INPUT_SIZE
    from elastichash_train.cli import MODEL_VERSION, TRAINED_ON
    from elastichash_train.export import model_metadata, model_spec

    model = onnx.load(str(DEFAULT), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    from elastichash.fitting import FEATURES_OUTPUT

    expected = model_metadata(model_spec(DEFAULT_INPUT_SIZE, MODEL_VERSION, TRAINED_ON))
    # `make model` writes the head onto the backbone's graph (`fitting.write_model`), which names
    # the backbone's features as the second output.
    assert expected | {"features_output": FEATURES_OUTPUT} == props
