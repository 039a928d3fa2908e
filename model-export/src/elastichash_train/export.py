"""The deployable model: backbone + head with the bit order folded in, as one ONNX graph.

The file follows docs/model-format.md: input `image` (n, 3, S, S) float32, output `logits`
(n, 256) in the final bit order, dynamic batch, and the metadata_props the client's
`ModelSpec.from_metadata` requires.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .backbone import Backbone, freeze
from .head import HashHead
from .preprocess import Preprocessing

FORMAT_VERSION = "1"
SHORT_BITS = 64
SUBCODE_BITS = 16
INPUT_NAME = "image"
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


def model_metadata(
    preprocessing: Preprocessing, model_version: str, trained_on: str, bits: int = 256
) -> dict[str, str]:
    """metadata_props per docs/model-format.md (all values strings)."""
    return {
        "elastichash.format_version": FORMAT_VERSION,
        **preprocessing.metadata(),
        "bits": str(bits),
        "short_bits": str(SHORT_BITS),
        "subcode_bits": str(SUBCODE_BITS),
        "output": OUTPUT_NAME,
        "model_version": model_version,
        "trained_on": trained_on,
        "input_name": INPUT_NAME,
    }


def export_onnx(network: HashingNetwork, path: str | os.PathLike, metadata: dict[str, str]) -> Path:
    """Writes `network` as ONNX (opset 17, dynamic batch) with `metadata` as metadata_props."""
    import onnx
    from onnx import helper

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    network = freeze(network)
    size = int(metadata["input_size"])
    tmp = path.with_name(path.name + ".tmp")
    torch.onnx.export(
        network,
        (torch.zeros(2, 3, size, size),),
        str(tmp),
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        dynamic_axes={INPUT_NAME: {0: "n"}, OUTPUT_NAME: {0: "n"}},
        opset_version=17,
        dynamo=False,
    )
    model = onnx.load(str(tmp))
    helper.set_model_props(model, metadata)
    model.doc_string = "ElasticHash hashing model: sign(output) = 256-bit code, short code = first 64 bits."
    onnx.checker.check_model(model)
    onnx.save(model, str(tmp))
    os.replace(tmp, path)
    return path


@torch.no_grad()
def torch_outputs(network: HashingNetwork, batch: np.ndarray) -> np.ndarray:
    network.eval()
    return network(torch.from_numpy(batch)).numpy()


def parity(path: str | os.PathLike, network: HashingNetwork, images: Sequence[Image.Image]) -> float:
    """Fraction of code bits on which onnxruntime (via the client) and PyTorch agree, over `images`.

    The ONNX side runs through `elastichash.model.HashModel` — the client's own preprocessing
    and runtime — and the PyTorch side gets this package's preprocessing of the same images.
    """
    from elastichash.model import HashModel

    client = HashModel(path)
    spec = client.spec
    preprocessing = Preprocessing(spec.input_size, spec.resize, spec.resize_size, spec.mean, spec.std)
    onnx_bits = client.outputs(list(images)) > 0
    torch_bits = torch_outputs(network, preprocessing.batch(images)) > 0
    return float((onnx_bits == torch_bits).mean())
