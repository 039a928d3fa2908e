"""The deployable model: backbone + head with the bit order folded in, as one ONNX graph.

The file follows docs/model-format.md: input `image` (n, 3, S, S) float32, output `logits`
(n, 256) in the final bit order, dynamic batch, and as metadata_props the client's
`ModelSpec.metadata()`, the one writer of the contract that `ModelSpec.from_metadata` reads.
"""

from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from elastichash import codes
from elastichash.model import ModelSpec
from PIL import Image
from torch import nn

from .backbone import LITE_MEAN, LITE_STD, Backbone, freeze
from .data import LabelledImages
from .features import INPUT_NAME, export_frozen
from .head import HashHead

OUTPUT_NAME = "logits"


class HashingNetwork(nn.Module):
    """Image batch → 256 real outputs whose signs are the code bits."""

    def __init__(self, backbone: Backbone, head: HashHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(images))


def with_permutation(head: HashHead, permutation: np.ndarray | None) -> HashHead:
    """A copy of `head` whose outputs come in `permutation` order (new bit i = old bit permutation[i])."""
    head = copy.deepcopy(head).eval()
    if permutation is not None:
        if sorted(np.asarray(permutation).tolist()) != list(range(head.bits)):
            raise ValueError(f"not a permutation of 0..{head.bits - 1}")
        head.permute_outputs(torch.as_tensor(np.asarray(permutation)))
    return head


def model_spec(
    input_size: int, model_version: str, trained_on: str, resize: str = "stretch", resize_size: int | None = None
) -> ModelSpec:
    """The client's spec of a model made here: the backbone's normalisation and the client's code layout."""
    return ModelSpec(
        input_size=input_size,
        resize=resize,
        resize_size=resize_size or input_size,
        mean=LITE_MEAN,
        std=LITE_STD,
        bits=codes.CODE_BITS,
        short_bits=codes.SHORT_BITS,
        subcode_bits=codes.SUBCODE_BITS,
        model_version=model_version,
        trained_on=trained_on,
        input_name=INPUT_NAME,
        output=OUTPUT_NAME,
    )


def model_metadata(spec: ModelSpec) -> dict[str, str]:
    """metadata_props per docs/model-format.md: `spec.metadata()`, naming the graph's input and output
    as `export_onnx` writes them, checked by the client's reader (a ModelError names every problem)."""
    metadata = dataclasses.replace(spec, input_name=INPUT_NAME, output=OUTPUT_NAME).metadata()
    ModelSpec.from_metadata(metadata, source="export")
    return metadata


def export_onnx(network: HashingNetwork, path: str | os.PathLike, spec: ModelSpec) -> Path:
    """Writes `network` as ONNX (opset 17, dynamic batch) with `model_metadata(spec)` as metadata_props."""
    import onnx
    from onnx import helper

    metadata = model_metadata(spec)  # before the export: a bad spec fails fast
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = export_frozen(freeze(network), path.with_name(path.name + ".graph"), spec.input_size, OUTPUT_NAME)
    model = onnx.load(str(tmp))
    helper.set_model_props(model, metadata)
    model.doc_string = "ElasticHash hashing model: sign(output) = 256-bit code, short code = first 64 bits."
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    os.replace(tmp, path)  # the graph file becomes the model, metadata added: atomic as the export
    return path


@torch.no_grad()
def torch_outputs(network: HashingNetwork, batch: np.ndarray) -> np.ndarray:
    network.eval()
    return network(torch.from_numpy(batch)).numpy()


def parity(path: str | os.PathLike, network: HashingNetwork, images: Sequence[Image.Image]) -> float:
    """Fraction of code bits on which onnxruntime (via the client) and PyTorch agree, over `images`.

    The ONNX side runs through `elastichash.model.HashModel`, the client's runtime; the PyTorch
    side gets the same images through the same `ModelSpec.preprocess`, read back from the file.
    """
    from elastichash.model import HashModel

    client = HashModel(path)
    onnx_bits = client.outputs(list(images)) > 0
    torch_bits = torch_outputs(network, client.spec.preprocess_batch(images)) > 0
    return float((onnx_bits == torch_bits).mean())


PARITY_IMAGES = 256
PARITY_TARGET = 0.999  # share of bits both runtimes must agree on, or the model is not delivered


def logged_parity(
    path: str | os.PathLike, network: HashingNetwork, data: LabelledImages, seed: int, log: Callable[[str], None]
) -> float:
    """`parity` over up to PARITY_IMAGES images of `data` (a seeded sample), logged; the caller
    delivers the model only when it reaches PARITY_TARGET."""
    sample = np.random.default_rng(seed).choice(len(data), min(PARITY_IMAGES, len(data)), replace=False)
    agreement = parity(path, network, list(data.images(sample)))
    log(f"parity: onnxruntime and PyTorch agree on {100 * agreement:.3f}% of bits over {len(sample)} images")
    return agreement
