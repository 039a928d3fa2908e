"""The bundled int8 model gives the same codes on x86 CPUs without VNNI as on others.

onnxruntime's int8 kernels there add pairs of products in 16 bits, which saturate; HashModel
asks for exact products where `int8_products_saturate()` says so. QEMU's user-mode emulator
(Debian's qemu-user, which `make python-test` installs) runs a second Python under its Haswell
CPU model (AVX2, no VNNI): the child encodes the same arrays through HashModel and through a
plain onnxruntime session, and its numpy reports the CPU features the child saw.
"""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
import sys

import numpy as np
import pytest

from elastichash import HashModel
from elastichash.testing import large_photo

CHILD = """
import json, sys
import numpy as np, onnxruntime as ort
from numpy._core._multiarray_umath import __cpu_features__ as cpu
from elastichash import HashModel
from elastichash.model import int8_products_saturate
arrays = np.load(sys.argv[1])
model = HashModel("int8")
plain = ort.InferenceSession(str(model.path), providers=["CPUExecutionProvider"])
(raw,) = plain.run([model.output_name], {model.input_name: arrays})
print(json.dumps({
    "avx2": bool(cpu["AVX2"]), "vnni": bool(cpu["AVX512VNNI"]),
    "saturate": int8_products_saturate(),
    "model": np.packbits(model.outputs_of_arrays(arrays) > 0, axis=1).tolist(),
    "plain": np.packbits(raw > 0, axis=1).tolist(),
}))
"""

pytestmark = pytest.mark.skipif(
    sys.platform != "linux" or platform.machine() != "x86_64",
    reason="emulates an x86 CPU with qemu-x86_64, which needs an x86-64 Linux host",
)


def bits(packed: list[list[int]]) -> np.ndarray:
    return np.unpackbits(np.asarray(packed, dtype=np.uint8), axis=1)


def test_the_int8_models_codes_on_a_cpu_without_vnni_are_this_cpus(tmp_path):
    qemu = shutil.which("qemu-x86_64")
    assert qemu, "qemu-x86_64 is missing: make python-test installs it (apt-get install qemu-user)"
    model = HashModel("int8")
    rng = np.random.default_rng(0)
    photos = [large_photo(rng, (320, 240)) for _ in range(4)]
    arrays = model.spec.preprocess_batch(photos)
    np.save(tmp_path / "arrays.npy", arrays)
    here = model.outputs_of_arrays(arrays) > 0

    run = subprocess.run(
        [qemu, "-cpu", "Haswell", sys.executable, "-c", CHILD, str(tmp_path / "arrays.npy")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    child = json.loads(run.stdout)
    assert (child["avx2"], child["vnni"], child["saturate"]) == (True, False, True)
    # Without the exact products the emulated CPU's codes are far from this one's (22-27 bits
    # of 256 on these photos when measured): the photos do reach the saturating sums.
    assert (bits(child["plain"]) != here).sum(axis=1).min() >= 8
    assert (bits(child["model"]) == here).all()
