"""The benchmarks' cached data files, written so that a reader never sees half a file and two
processes drawing the same sample at once (the engines' test suites, two benchmarks) do not
trip over one temporary name: each writes its own, then renames it into place."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np


def _temporary(path: Path) -> Path:
    # The suffix stays last: np.savez adds ".npz" to a name without it.
    return path.with_name(f"{path.stem}.{os.getpid()}.tmp{path.suffix}")


def save_arrays(path: Path, **arrays: np.ndarray) -> None:
    """`np.savez` of `arrays` to `path` (an .npz), in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    np.savez(temporary, **arrays)
    temporary.replace(path)


def save_pickle(path: Path, value: Any) -> None:
    """`value` pickled to `path`, in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _temporary(path)
    with temporary.open("wb") as stream:
        pickle.dump(value, stream)
    temporary.replace(path)
