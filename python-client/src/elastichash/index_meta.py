"""What an index records about itself in its mapping's `_meta`: the model that wrote its codes.

Codes of two models are not comparable, and nothing in a code says which model made it. So
the library writes `{"elastichash": {"model": ModelIdentity.as_dict()}}` into the mapping's
`_meta` when it creates an index for a model, and compares it with the model in hand before it
indexes images or searches by an image. An index that records no model (made before this, or
filled with precomputed codes) takes the model of its first image ingest ("adopts" it).

Reading `_meta` needs the `view_index_metadata` privilege and writing it `manage`: a user
without them is neither checked nor recorded (the cluster's privileges are the user's choice).
"""

from __future__ import annotations

from typing import Any

from . import engines
from .engines import Client
from .errors import ModelMismatchError
from .model import ModelIdentity

META_KEY = "elastichash"
MODEL_KEY = "model"


def meta(identity: ModelIdentity | None) -> dict[str, Any]:
    """The `_meta` of a new index that records `identity` (empty for None)."""
    return {META_KEY: {MODEL_KEY: identity.as_dict()}} if identity is not None else {}


def recorded_models(es: Client, index: str) -> dict[str, ModelIdentity | None] | None:
    """The model each concrete index behind `index` records (None: records none); None when
    the mappings cannot be read (no such index, not allowed)."""
    try:
        answer = es.indices.get_mapping(index=index)
    except Exception as error:
        found = engines.failure(error)
        if found is None or found.kind != "answer":
            raise
        return None
    return {
        name: ModelIdentity.from_dict(
            (body.get("mappings", {}).get("_meta") or {}).get(META_KEY, {}).get(MODEL_KEY)
        )
        for name, body in answer.items()
    }


def record_model(es: Client, index: str, identity: ModelIdentity) -> bool:
    """Writes `identity` into the `_meta` of `index` (one concrete index), keeping what else
    its `_meta` holds (an update replaces `_meta` whole); False when not allowed."""
    try:
        mappings = es.indices.get_mapping(index=index)[index].get("mappings", {})
        current = dict(mappings.get("_meta") or {})
        ours = dict(current.get(META_KEY) or {})
        ours[MODEL_KEY] = identity.as_dict()
        es.indices.put_mapping(index=index, body={"_meta": {**current, META_KEY: ours}})
    except Exception as error:
        found = engines.failure(error)
        if found is None or found.kind != "answer":
            raise
        return False
    return True


def mismatch(index: str, recorded: ModelIdentity, given: ModelIdentity) -> ModelMismatchError:
    """The refusal for an index that records another model than the one in hand."""
    return ModelMismatchError(
        f"index '{index}' holds codes of the model {recorded.describe()}, not of the model in "
        f"hand {given.describe()}: codes of two models are not comparable; index with this "
        "model into a new index, or use the model that wrote this one",
        index,
        recorded,
        given,
    )
