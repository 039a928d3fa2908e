"""`elastichash-train fit`: the default recipe fitted to a folder, end to end, and its bad-input sentences."""

from __future__ import annotations

from elastichash.model import HashModel
from PIL import Image
from test_train_cmd import make_folder

from elastichash_train.cli import main
from elastichash_train.fit_cmd import MIN_FIT_IMAGES

SIZE = 32  # the tests' tiny input: fast on a CPU


def fit(argv: list[str], capsys) -> tuple[int, str]:
    code = main(["fit", *argv])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_fit_export_load_on_a_folder(tmp_path, capsys) -> None:
    # Nested folders, any layout: every image below FOLDER counts, labels are not read.
    folder = make_folder(tmp_path / "shots", {"a": 90, "b": 90, "c": 90, "d": 90})
    out = tmp_path / "shots.onnx"
    code, output = fit([str(folder), "--out", str(out), "--size", str(SIZE)], capsys)
    assert code == 0, output
    assert "fitting on 324 images, 36 held out" in output
    model = HashModel(str(out))
    assert model.spec.input_size == SIZE and "PCA + ITQ" in model.spec.trained_on
    images = sorted(folder.rglob("*.png"))[:4]
    bits = model.encode([Image.open(p).convert("RGB") for p in images])
    assert bits.shape == (4, 256) and 0 < bits.mean() < 1
    report = (tmp_path / "shots.onnx.md").read_text()
    assert "fitted model, long code (256 bit)" in report and "LSH 256 bit" in report
    # A rerun reads the cached features instead of computing them again.
    code, output = fit([str(folder), "--out", str(out), "--size", str(SIZE)], capsys)
    assert code == 0 and "features shots" not in output


def test_too_few_images_is_a_sentence(tmp_path, capsys) -> None:
    folder = make_folder(tmp_path / "few", {"a": 40})
    code, output = fit([str(folder), "--out", str(tmp_path / "m.onnx")], capsys)
    assert code == 2
    assert f"need at least {MIN_FIT_IMAGES}" in output and "use the default model" in output
    assert "Traceback" not in output


def test_missing_folder_and_bad_out_are_sentences(tmp_path, capsys) -> None:
    code, output = fit([str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.onnx")], capsys)
    assert code == 2 and "no such folder" in output
    code, output = fit([str(tmp_path), "--out", str(tmp_path / "m.pt")], capsys)
    assert code == 2 and "must end in .onnx" in output
