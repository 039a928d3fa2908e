from pathlib import Path

import pytest

from elastichash.testing import make_tiny_model
from flat_models import build_flat_model


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """elastichash.testing's tiny random-projection model (the one integration tests use)."""
    return Path(make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx"))


@pytest.fixture(scope="session")
def flat_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose bits spell the image's channels: see channel_weights."""
    return build_flat_model(tmp_path_factory.mktemp("model") / "flat.onnx")
