"""ElasticHash: semantic image similarity search in Elasticsearch with deep hashing.

The straight path: image → `HashModel.encode` → `Code` → document (`queries.code_fields`)
→ two-stage search (`queries.search_body`) → hits. `ElasticHash` ties it to one index.

`codes`, `images`, `model` and `queries` need no Elasticsearch; the names that talk to a
cluster (`ElasticHash`, `Hit`, `connect`, `IngestReport`) import the client on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .codes import Code, CodeError
from .errors import (
    ClusterError,
    ElasticHashError,
    ImageError,
    LayoutError,
    ModelError,
    ModelMismatchError,
    PartialResultError,
)
from .model import HashModel, ModelIdentity, ModelSpec

if TYPE_CHECKING:
    from .client import ElasticHash, Hit
    from .engines import connect
    from .ingest import IngestReport

__version__ = "0.1.0"

_LAZY = {"ElasticHash": "client", "Hit": "client", "connect": "engines", "IngestReport": "ingest"}

__all__ = [
    "ClusterError",
    "Code",
    "CodeError",
    "ElasticHash",
    "ElasticHashError",
    "HashModel",
    "Hit",
    "ImageError",
    "IngestReport",
    "LayoutError",
    "ModelError",
    "ModelIdentity",
    "ModelMismatchError",
    "ModelSpec",
    "PartialResultError",
    "connect",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])
