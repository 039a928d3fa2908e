import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elastichash import codes, model
from elastichash.errors import ImageError, ModelError
from elastichash.model import REQUIRED_KEYS, HashModel, ModelSpec
from elastichash.testing import tiny_metadata
from flat_models import SIDE, build_flat_model, flat_metadata

RED = "f" * 16 + "0" * 48
BLUE = "0" * 32 + "f" * 32
WHITE = "f" * 48 + "0" * 16


def solid(colour: tuple[int, int, int], size: tuple[int, int] = (30, 20)) -> Image.Image:
    return Image.new("RGB", size, colour)


# --- encoding --------------------------------------------------------------------------------


def test_bits_follow_the_channels(flat_model_path: Path) -> None:
    model = HashModel(flat_model_path)
    images = [solid((255, 0, 0)), solid((0, 0, 255)), solid((255, 255, 255))]
    bits = model.encode(images)
    assert bits.dtype == np.uint8 and bits.shape == (3, 256)
    assert codes.to_hex(bits) == [RED, BLUE, WHITE]
    assert model.encode_hex(images, batch_size=2) == [RED, BLUE, WHITE]
    assert model.encode_one(images[0]).hex == RED


def test_every_source_kind(flat_model_path: Path, tmp_path: Path) -> None:
    model = HashModel(flat_model_path)
    buffer = io.BytesIO()
    solid((255, 0, 0)).save(buffer, "PNG")
    path = tmp_path / "red.png"
    path.write_bytes(buffer.getvalue())
    sources = [
        path,
        str(path),
        buffer.getvalue(),
        io.BytesIO(buffer.getvalue()),
        solid((255, 0, 0)),
    ]
    assert model.encode_hex(sources) == [RED] * 5
    rgba = Image.new("RGBA", (10, 10), (0, 0, 255, 0))  # fully transparent: white
    assert model.encode_hex([rgba]) == [WHITE]


def test_batching_does_not_change_codes(tiny_model_path: Path) -> None:
    model = HashModel(tiny_model_path)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)) for _ in range(5)]
    bits = model.encode(images, batch_size=2)
    assert bits.shape == (5, 256) and set(np.unique(bits)) <= {0, 1}
    np.testing.assert_array_equal(bits, model.encode(images[::-1], batch_size=5)[::-1])
    np.testing.assert_array_equal(bits, model.encode(iter(images), batch_size=1))
    assert len({bytes(row) for row in bits}) == 5


def test_fixed_batch_model_is_fed_one_at_a_time(tmp_path: Path) -> None:
    path = build_flat_model(tmp_path / "fixed.onnx", input_shape=(1, 3, SIDE, SIDE))
    model = HashModel(path)
    assert model.fixed_batch == 1
    images = [solid((255, 0, 0)), solid((0, 0, 255)), solid((255, 255, 255))]
    assert model.encode_hex(images, batch_size=2) == [RED, BLUE, WHITE]


def test_fixed_batch_larger_than_the_input_is_padded(tmp_path: Path) -> None:
    path = build_flat_model(tmp_path / "fixed4.onnx", input_shape=(4, 3, SIDE, SIDE))
    assert HashModel(path).encode_hex([solid((0, 0, 255))] * 5) == [BLUE] * 5


def test_empty_input_and_bad_arguments(flat_model_path: Path) -> None:
    model = HashModel(flat_model_path)
    assert model.encode([]).shape == (0, 256)
    assert model.encode_hex([]) == []
    with pytest.raises(TypeError, match="encode_one"):
        model.encode("red.png")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        model.encode([solid((0, 0, 0))], batch_size=0)


def test_bad_image_is_named(flat_model_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.jpg"
    path.write_text("nope")
    with pytest.raises(ImageError, match="broken.jpg: not an image"):
        HashModel(flat_model_path).encode([solid((0, 0, 0)), path])


# --- preprocessing ---------------------------------------------------------------------------


def test_preprocess_shape_and_normalisation(tiny_model_path: Path) -> None:
    model = HashModel(tiny_model_path)
    array = model.preprocess(solid((128, 128, 128), (100, 50)))
    assert array.shape == (3, 32, 32) and array.dtype == np.float32
    np.testing.assert_allclose(array, (128 / 255 - 0.5) / 0.25, atol=1e-6)
    with pytest.raises(ValueError, match="RGB"):
        model.preprocess(Image.new("L", (4, 4)))


def test_centre_crop_takes_the_middle(tmp_path: Path) -> None:
    metadata = flat_metadata(resize="shorter_side_then_center_crop", resize_size=str(SIDE))
    model = HashModel(build_flat_model(tmp_path / "crop.onnx", metadata=metadata))
    image = np.zeros((50, 150, 3), dtype=np.uint8)  # thirds: red | green | blue
    image[:, :50, 0] = image[:, 50:100, 1] = image[:, 100:, 2] = 255
    array = model.preprocess(Image.fromarray(image))
    assert array.shape == (3, SIDE, SIDE)
    inner = array[:, :, 1:-1]  # the outer columns blend with the neighbouring thirds
    np.testing.assert_allclose(inner[1], 1.0)  # only the green third is left
    np.testing.assert_allclose(inner[[0, 2]], -1.0)
    stretched = HashModel(build_flat_model(tmp_path / "stretch.onnx")).preprocess(
        Image.fromarray(image)
    )
    assert stretched[0, :, 0].min() == 1.0 and stretched[2, :, -1].min() == 1.0  # all thirds kept


def test_spec_preprocesses_without_a_session(tiny_model_path: Path) -> None:
    # model-export trains on ModelSpec.preprocess; the loaded model must feed the same arrays.
    model = HashModel(tiny_model_path)
    spec = ModelSpec.from_metadata(tiny_metadata())
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (h, 40, 3), dtype=np.uint8)) for h in (20, 70)]
    batch = spec.preprocess_batch(images)
    assert batch.shape == (2, 3, 32, 32) and batch.dtype == np.float32
    for image, array in zip(images, batch, strict=True):
        np.testing.assert_array_equal(model.preprocess(image), array)
    assert spec.preprocess_batch([]).shape == (0, 3, 32, 32)


# --- metadata --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", REQUIRED_KEYS)
def test_missing_metadata_is_named(key: str, tmp_path: Path) -> None:
    metadata = flat_metadata()
    del metadata[key]
    path = build_flat_model(tmp_path / "broken.onnx", metadata=metadata)
    with pytest.raises(ModelError, match=f"broken.onnx: metadata lacks {key} .*model-format.md"):
        HashModel(path)


def test_every_problem_is_named_at_once() -> None:
    metadata = {**flat_metadata(mean="[1, 2]", resize="squash"), "std": "[0.5, 0, 0.5]"}
    del metadata["bits"], metadata["trained_on"]
    with pytest.raises(ModelError) as caught:
        ModelSpec.from_metadata(metadata, source="m.onnx")
    message = str(caught.value)
    assert message.startswith("m.onnx: metadata lacks bits, trained_on; ")
    for part in (
        "mean='[1, 2]' must be a JSON list of 3",
        "resize='squash', expected one of",
        "std=",
    ):
        assert part in message


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("input_size", "big", "input_size='big' is not an integer"),
        ("input_size", "0", "must be a positive integer"),
        ("resize_size", "-3", "must be a positive integer"),
        ("mean", json.dumps([0.5, 0.5]), "mean=.* 3 finite numbers"),
        ("mean", '{"r": 1}', "3 finite numbers"),
        ("mean", "[0.5, 0.5, NaN]", "3 finite numbers"),
        ("mean", '[0.5, 0.5, "0.5"]', "3 finite numbers"),
        ("std", "[0.5, 0.5, 0]", "positive numbers"),
        ("std", "not json", "3 finite numbers"),
        ("resize", "squash", "resize='squash', expected one of 'shorter_side_then_center_crop'"),
        ("color_mode", "BGR", "color_mode='BGR', expected one of 'RGB'"),
        ("output", "probabilities", "output='probabilities'"),
        ("bits", "128", "code layout bits/short_bits/subcode_bits = 128/64/16, .* 256/64/16"),
        ("subcode_bits", "8", "code layout"),
        ("elastichash.format_version", "99", "format_version='99'.* version '1'"),
        ("model_version", " ", "model_version is empty"),
    ],
)
def test_invalid_metadata_is_named(key: str, value: str, message: str) -> None:
    with pytest.raises(ModelError, match=message):
        ModelSpec.from_metadata({**flat_metadata(), key: value})


def test_crop_needs_resize_size_at_least_input_size() -> None:
    metadata = flat_metadata(
        resize="shorter_side_then_center_crop", input_size="224", resize_size="200"
    )
    with pytest.raises(ModelError, match="resize_size=200 is smaller than input_size=224"):
        ModelSpec.from_metadata(metadata)
    assert ModelSpec.from_metadata({**metadata, "resize": "stretch"}).resize_size == 200


def test_spec_round_trips_through_metadata() -> None:
    spec = ModelSpec.from_metadata({**tiny_metadata(), "input_name": "image"})
    assert spec.mean == (0.5, 0.5, 0.5) and spec.input_name == "image"
    assert ModelSpec.from_metadata(spec.metadata()) == spec
    assert ModelSpec.from_metadata({**spec.metadata(), "extra.key": "ignored"}) == spec


# --- the graph against its metadata ----------------------------------------------------------


def test_input_name_picks_among_several_inputs(tmp_path: Path) -> None:
    path = build_flat_model(tmp_path / "two.onnx", second_input=True)
    with pytest.raises(ModelError, match="2 inputs \\(image, scale\\) .* no input_name"):
        HashModel(path)
    named = build_flat_model(
        tmp_path / "named.onnx", flat_metadata(input_name="image"), second_input=True
    )
    assert HashModel(named).input_name == "image"
    wrong = build_flat_model(tmp_path / "wrong.onnx", flat_metadata(input_name="pixels"))
    with pytest.raises(ModelError, match="input_name='pixels', but the model's inputs are image"):
        HashModel(wrong)


def test_input_shape_must_match_input_size(tmp_path: Path) -> None:
    path = build_flat_model(tmp_path / "big.onnx", metadata=flat_metadata(input_size="16"))
    with pytest.raises(ModelError, match=r"expected tensor\(float\) \(n, 3, 16, 16\)"):
        HashModel(path)


def test_output_width_must_match_bits(tmp_path: Path) -> None:
    path = build_flat_model(
        tmp_path / "narrow.onnx", weights=np.zeros((3 * SIDE * SIDE, 128), np.float32)
    )
    with pytest.raises(ModelError, match=r"shape \['n', 128\]; expected \(n, 256\)"):
        HashModel(path)


def test_output_shape_checked_at_run_time_too(
    flat_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded = HashModel(flat_model_path)

    class NarrowSession:
        def run(self, names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
            return [np.zeros((len(feeds["image"]), 128), np.float32)]

    monkeypatch.setattr(loaded, "session", NarrowSession())
    with pytest.raises(ModelError, match=r"outputs of shape \(1, 128\) for 1 images"):
        loaded.encode([solid((0, 0, 0))])


# --- files -----------------------------------------------------------------------------------


def test_no_default_model_yet(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(model, "default_model_path", lambda: tmp_path / "default.onnx")
    with pytest.raises(ModelError, match="no default model is bundled .* pass the path of a model"):
        HashModel()


def test_default_model_is_used_when_bundled(
    monkeypatch: pytest.MonkeyPatch, flat_model_path: Path
) -> None:
    monkeypatch.setattr(model, "default_model_path", lambda: flat_model_path)
    assert HashModel().path == flat_model_path


def test_default_model_path_is_package_data() -> None:
    path = model.default_model_path()
    assert path.name == "default.onnx" and path.parent.name == "models"
    assert path.parent.parent == Path(model.__file__).parent


def test_missing_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="none.onnx: no such model file"):
        HashModel(tmp_path / "none.onnx")
    with pytest.raises(
        ModelError, match=r"int9: no such model file \(bundled models: default, int8\)"
    ):
        HashModel("int9")


def test_the_int8_copy_is_bundled_by_name() -> None:
    path = model.bundled_model_path("int8")
    if not path.is_file():
        pytest.skip("no int8 model bundled")
    int8 = HashModel("int8")
    assert int8.path == path and int8.spec.model_version.endswith("-int8")
    assert int8.has_features  # a head can be fitted on it too
    assert int8.identity != HashModel("default").identity  # its codes differ: an index takes one


def test_a_device_that_is_not_there_is_one_sentence(flat_model_path: Path) -> None:
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA: the refusal cannot be seen here")
    with pytest.raises(ModelError, match="device cuda: this onnxruntime has no CUDA support"):
        HashModel(flat_model_path, device="cuda")
    with pytest.raises(ValueError, match="device must be one of cpu, cuda, got 'tpu'"):
        HashModel(flat_model_path, device="tpu")
    assert HashModel(flat_model_path, device="cpu").device == "cpu"


def test_not_an_onnx_file(tmp_path: Path) -> None:
    path = tmp_path / "junk.onnx"
    path.write_text("junk")
    with pytest.raises(ModelError, match="junk.onnx: onnxruntime cannot load it"):
        HashModel(path)


def test_threads_and_repr(flat_model_path: Path) -> None:
    loaded = HashModel(flat_model_path, threads=1)
    assert "flat-test-1" in repr(loaded)


def test_identity_is_the_file_s_digest_and_reads_back(
    tiny_model_path: Path, tmp_path: Path
) -> None:
    import hashlib

    identity = HashModel(tiny_model_path).identity
    assert identity.sha256 == hashlib.sha256(tiny_model_path.read_bytes()).hexdigest()
    assert (identity.model_version, identity.bits, identity.file) == (
        "tiny-random-projection-1",
        256,
        tiny_model_path.name,
    )
    assert model.ModelIdentity.from_dict(identity.as_dict()) == identity
    assert identity.describe() == (
        f"'tiny-random-projection-1' ({tiny_model_path.name}, sha256 {identity.sha256[:12]})"
    )
    # A record damaged by hand reads as no record rather than failing.
    for damaged in (None, "x", {}, {"sha256": 5}, ["sha256"]):
        assert model.ModelIdentity.from_dict(damaged) is None
    copy = tmp_path / "elsewhere.onnx"
    copy.write_bytes(tiny_model_path.read_bytes())
    assert HashModel(copy).identity.sha256 == identity.sha256
