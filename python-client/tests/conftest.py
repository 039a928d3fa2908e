import os
from pathlib import Path

import pytest
from hypothesis import settings

from elastichash.testing import make_tiny_model
from flat_models import build_flat_model

# Property-based tests draw the same examples on every run, so `make test` is deterministic;
# HYPOTHESIS_PROFILE=explore draws new ones (a failure prints its example: make it a named test).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """elastichash.testing's tiny random-projection model (the one integration tests use)."""
    return Path(make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx"))


@pytest.fixture(scope="session")
def flat_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model whose bits spell the image's channels: see channel_weights."""
    return build_flat_model(tmp_path_factory.mktemp("model") / "flat.onnx")
