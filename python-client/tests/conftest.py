from pathlib import Path

import pytest

from elastichash.testing import make_tiny_model


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(make_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx"))
