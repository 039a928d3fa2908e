from __future__ import annotations

import numpy as np
import pytest
import torch

from elastichash_train.data import DataError, LabelledImages, load_fashion_mnist

TINY_SIZE = 32  # input side for the tiny models of the tests: fast on a CPU


@pytest.fixture(scope="session", autouse=True)
def _threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def tiny_fmnist() -> LabelledImages:
    """96 Fashion-MNIST training images (the Debian package), or a synthetic stand-in without it."""
    try:
        data = load_fashion_mnist("train")
        rng = np.random.default_rng(0)
        return data.subset(rng.choice(len(data), 96, replace=False), name="tiny-fmnist")
    except DataError:
        rng = np.random.default_rng(0)
        labels = np.repeat(np.arange(4), 24)
        arrays = np.zeros((len(labels), 28, 28), dtype=np.uint8)
        for i, label in enumerate(labels):  # a class is a bright bar at one of four places
            arrays[i, 4 + 5 * label : 8 + 5 * label, 4:24] = 200
            arrays[i] = np.clip(arrays[i] + rng.integers(0, 40, (28, 28)), 0, 255)
        return LabelledImages("synthetic", labels, ("a", "b", "c", "d"), arrays=arrays)
