"""`elastichash-train train`: a tiny folder end to end, resuming, and every bad-input sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from elastichash.model import HashModel
from elastichash.testing import make_shapes_folder
from PIL import Image

from elastichash_train.backbone import Backbone
from elastichash_train.centres import hash_centres, nt_xent
from elastichash_train.cli import main
from elastichash_train.data import LabelledImages
from elastichash_train.export import model_spec
from elastichash_train.finetune import CHECKPOINT, FinetuneConfig, Inputs, finetune
from elastichash_train.sources import scan_labelled, stratified_split
from elastichash_train.tail import PrefixCache, prefix_shape

SIZE = 32
LAST_BLOCK = 15  # only the last block and the head convolution train: fast


def make_folder(root: Path, classes: dict[str, int], seed: int = 0) -> Path:
    """Synthetic classes a backbone tells apart (the client's test material)."""
    return make_shapes_folder(root, classes, seed)


def train(argv: list[str], capsys) -> tuple[int, str]:
    code = main(["train", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_train_export_load_on_a_tiny_folder(tmp_path, capsys) -> None:
    folder = make_folder(tmp_path / "shapes", {"square": 10, "disc": 10, "bar": 10})
    (folder / "disc" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    out = tmp_path / "shapes.onnx"
    argv = [str(folder), "--out", str(out), "--epochs", "1", "--size", str(SIZE), "--batch-size", "8"]
    code, output = train([*argv, "--train-from-block", str(LAST_BLOCK), "--holdout", "0.2"], capsys)
    assert code == 0, output
    assert "skipping 1 unreadable image file(s)" in output and "disc/broken.png" in output
    assert "24 training images, 6 held out (3 classes)" in output

    model = HashModel(out)  # the client loads it: the contract holds
    assert model.spec.input_size == SIZE
    assert model.spec.resize == "shorter_side_then_center_crop"
    assert "shapes" in model.spec.trained_on and "fine-tuned from block 15" in model.spec.trained_on
    bits = model.encode([Image.open(p) for p in sorted(folder.glob("*/0*.png"))])
    assert bits.shape == (30, 256)
    assert len({row.tobytes() for row in bits}) > 1  # not one code for everything

    table = out.with_name(out.name + ".md").read_text()
    assert "Held out: 6 queries against 24 training images" in table
    assert "two-stage" in table and "mAP@10" in table
    assert (tmp_path / "shapes.train" / CHECKPOINT).is_file()
    # The frozen features are cached by content: the same images (renamed) are not computed again.
    cache = PrefixCache(tmp_path / "shapes.train" / "cache", model.spec, LAST_BLOCK)
    chunks = sorted(cache.folder("plain").glob("chunk-*.npz"))
    renamed = folder / "square" / "renamed.png"
    (folder / "square" / "00.png").rename(renamed)
    messages: list[str] = []
    again = LabelledImages("again", np.zeros(1, np.int64), ("square",), paths=(renamed,))
    maps = cache.maps(again, log=messages.append)
    assert maps.shape[0] == 1 and not messages and sorted(cache.folder("plain").glob("chunk-*.npz")) == chunks


def test_resume_continues_where_the_checkpoint_left_off(tmp_path) -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 16)
    shape = prefix_shape(SIZE, LAST_BLOCK)
    maps = {v: rng.normal(0, 1, (len(labels), *shape)).astype(np.float16) for v in ("plain", "mirror")}
    maps["plain"][:, :8] += labels[:, None, None, None].astype(np.float16)  # something to learn
    config = FinetuneConfig(size=SIZE, first_block=LAST_BLOCK, epochs=2, batch_size=16, hidden=32)
    inputs = Inputs(config, maps=maps)

    straight = finetune(config, inputs, labels, tmp_path / "a", "same images", log=None)

    class Interrupt(Exception):
        pass

    def stop_after_first_epoch(message: str) -> None:
        if message.startswith("epoch 1/2"):
            raise Interrupt  # like Ctrl-C right after the first checkpoint was written

    with pytest.raises(Interrupt):
        finetune(config, inputs, labels, tmp_path / "b", "same images", log=stop_after_first_epoch)
    assert torch.load(tmp_path / "b" / CHECKPOINT, weights_only=False)["epoch"] == 1

    messages: list[str] = []
    resumed = finetune(config, inputs, labels, tmp_path / "b", "same images", resume=True, log=messages.append)
    assert messages[0].endswith("1 of 2 epochs done")
    assert [h["epoch"] for h in resumed.history] == [1, 2]
    for done, again in zip(straight.history, resumed.history, strict=True):
        assert again == pytest.approx(done)
    for (name, a), b in zip(straight.trainee.state_dict().items(), resumed.trainee.state_dict().values(), strict=True):
        assert torch.equal(a, b), name  # the same model as without the interruption

    with pytest.raises(ValueError, match="made from other images"):
        finetune(config, inputs, labels, tmp_path / "b", "other images", resume=True, log=None)
    with pytest.raises(ValueError, match=r"made with other settings \(epochs\)"):
        other = FinetuneConfig(size=SIZE, first_block=LAST_BLOCK, epochs=3, batch_size=16, hidden=32)
        finetune(other, inputs, labels, tmp_path / "b", "same images", resume=True, log=None)


@pytest.mark.parametrize(
    ("layout", "extra", "sentence"),
    [
        (None, [], "no such folder"),
        ({}, [], "is empty: expected images"),
        ({"cat": 3, "dog": 0}, [], "class folder {root}/dog has no images"),
        ({"cat": 5}, [], "has only one class (cat): a labelled model needs at least two classes"),
        ({"cat": 5, "dog": 1}, [], "class dog has 1 image: too few for a held-out split"),
        ({"cat": 3, "dog": 3}, ["--holdout", "1.5"], "--holdout must be between 0 and 1"),
        ({"cat": 3, "dog": 3}, ["--train-from-block", "16"], "--train-from-block must be 0..15"),
        ({"cat": 3, "dog": 3}, ["--resume", "--device", "cuda"], "--device cuda: PyTorch sees no GPU here"),
    ],
)
def test_bad_input_gets_one_sentence_and_exit_2(tmp_path, capsys, layout, extra, sentence) -> None:
    root = tmp_path / "photos"
    if layout is not None:
        root.mkdir()
        make_folder(root, layout)
    if "--device" in extra and torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, output = train([str(root), "--out", str(tmp_path / "m.onnx"), *extra], capsys)
    assert code == 2
    assert sentence.format(root=root) in output
    assert output.count("\n") == 1 and "Traceback" not in output  # one sentence, no stack trace


def test_images_without_class_folders_point_to_unlabelled(tmp_path, capsys) -> None:
    root = tmp_path / "loose"
    make_folder(tmp_path / "tmp", {"a": 3})
    root.mkdir()
    for p in (tmp_path / "tmp" / "a").iterdir():
        p.rename(root / p.name)
    code, output = train([str(root), "--out", str(tmp_path / "m.onnx")], capsys)
    assert code == 2 and "holds images but no class subfolders" in output and "--unlabelled" in output
    code, output = train([str(root), "--unlabelled", "--out", str(tmp_path / "m.onnx")], capsys)
    assert code == 2 and "has 3 readable image(s); training needs at least 8" in output


def test_a_class_of_only_unreadable_files_is_refused_and_others_are_named(tmp_path) -> None:
    root = make_folder(tmp_path / "photos", {"cat": 4, "dog": 4})
    (root / "cat" / "truncated.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut off")
    warnings: list[str] = []
    data = scan_labelled(root, warn=warnings.append)
    assert len(data) == 8 and warnings == [f"warning: skipping 1 unreadable image file(s) in {root}: cat/truncated.jpg"]
    for p in (root / "dog").iterdir():
        p.write_bytes(b"junk")
    with pytest.raises(ValueError, match=f"class folder {root}/dog has no readable images"):
        scan_labelled(root, warn=warnings.append)


def test_the_held_out_split_is_stratified() -> None:
    labels = np.repeat(np.arange(4), [10, 20, 40, 2])
    held = stratified_split(labels, 0.25, seed=0)
    assert np.bincount(labels[held]).tolist() == [2, 5, 10, 1]
    assert not np.array_equal(held, stratified_split(labels, 0.25, seed=1))


def test_hash_centres_are_far_apart_and_balanced() -> None:
    centres = hash_centres(10, 256).numpy()
    distance = (centres[:, None, :] != centres[None, :, :]).sum(axis=2)
    off_diagonal = distance[~np.eye(10, dtype=bool)]
    assert off_diagonal.min() >= 128  # Hadamard rows: half the bits differ (or all, for a negation)
    balance = np.abs(centres.mean(axis=0))  # 0: a bit splits the classes in half; 1: the same for all
    assert (balance == 1).sum() <= 4 and balance.mean() < 0.3
    many = hash_centres(600, 256).numpy()  # beyond the 512 Hadamard rows: random centres, still distinct
    assert len({row.tobytes() for row in many}) == 600


def test_contrastive_loss_prefers_matching_views() -> None:
    a = torch.randn(16, 256)
    matched = nt_xent(a, a + 0.1 * torch.randn(16, 256))
    shuffled = nt_xent(a, a[torch.randperm(16)] + 0.1 * torch.randn(16, 256))
    assert float(matched) < 0.5 * float(shuffled)


def test_the_whole_network_path_trains_every_layer_on_images(tmp_path) -> None:
    """What a GPU runs (--device cuda), here on the CPU with a few images: the stem learns too."""
    root = make_folder(tmp_path / "shapes", {"square": 4, "disc": 4})
    data = scan_labelled(root)
    config = FinetuneConfig(size=SIZE, first_block=0, whole_network=True, epochs=1, batch_size=4, hidden=16)
    inputs = Inputs(config, data=data, spec=model_spec(SIZE, "t", "t"))
    result = finetune(config, inputs, data.labels, tmp_path / "ckpt", "x", log=None)
    stem = result.trainee.backbone.net._conv_stem.weight
    assert stem.requires_grad and not torch.equal(stem, Backbone(SIZE).net._conv_stem.weight)
