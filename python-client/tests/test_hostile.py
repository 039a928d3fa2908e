"""The loader and the folder walk on hostile files (elastichash.testing.make_hostile_folder):
each bad file refused with its reason, each good one decoded, nothing read without bound."""

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elastichash.cli import _StopOnInterrupt
from elastichash.errors import ImageError
from elastichash.images import DRAFT_MIN_SIDE, load_image, read_file
from elastichash.ingest import ImageItem, IngestReport, _next_batch, find_images
from elastichash.model import HashModel
from elastichash.testing import LARGE_PHOTO_SIZE, HostileFolder, make_hostile_folder

# Root reads any file: drop the two capabilities that allow it, and a mode-000 file is as
# unreadable to root as to anyone else (util-linux's setpriv, in every Debian).
WITHOUT_ROOT_READ = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileFolder:
    return make_hostile_folder(tmp_path_factory.mktemp("hostile") / "photos")


def test_the_walk_lists_regular_image_files_and_names_what_it_cannot_follow(
    hostile: HostileFolder,
) -> None:
    skipped: dict[str, str] = {}
    found = find_images(hostile.root, skipped=skipped)
    regular_refused = [p for p in hostile.refused if p.is_file() and not p.is_symlink()]
    assert found == sorted([*hostile.good, *regular_refused, hostile.unreadable])
    unfollowable = {p for p in hostile.refused if p not in regular_refused}
    assert set(skipped) == {str(p) for p in unfollowable}
    for path in unfollowable:
        assert hostile.refused[path] in skipped[str(path)], (path, skipped[str(path)])
    # The folder symlinked into itself is walked once: nothing is found twice.
    assert len(set(found)) == len(found)
    assert not any("nested" in p.parts for p in found)


def test_the_walk_without_recursion_and_on_a_file(hostile: HostileFolder) -> None:
    found = find_images(hostile.root, recursive=False)
    assert hostile.root / "album.jpg" / "inside.png" not in found
    assert hostile.root / "one-pixel.png" in found
    with pytest.raises(FileNotFoundError, match="not a directory"):
        find_images(hostile.root / "one-pixel.png")


def test_every_refused_file_is_refused_with_its_reason(hostile: HostileFolder) -> None:
    for path, reason in hostile.refused.items():
        if path.name == "up":  # a folder: nothing to read
            continue
        with pytest.raises(ImageError) as caught:
            load_image(path)
        assert caught.value.name == str(path)
        assert reason in caught.value.reason, (path, caught.value.reason)


def test_every_good_file_becomes_rgb(hostile: HostileFolder) -> None:
    for path in hostile.good:
        image = load_image(path)
        assert image.mode == "RGB" and min(image.size) >= 1, path
    assert load_image(hostile.root / "one-pixel.png").getpixel((0, 0)) == (200, 30, 90)
    grey = np.asarray(load_image(hostile.root / "grey-16-bit.png"))
    assert grey[0, 0, 0] == 0 and grey[0, -1, 0] == 255  # 16 bits scaled, not clipped
    assert load_image(hostile.root / "animated.gif").getpixel((0, 0)) == (255, 0, 0)


def test_a_large_jpeg_is_decoded_at_reduced_scale_as_the_model_sees_it_alike(
    hostile: HostileFolder, tiny_model_path: Path
) -> None:
    path = hostile.root / "photo-40mp.jpg"
    with Image.open(path) as header:
        assert header.size == LARGE_PHOTO_SIZE
    full, draft = load_image(path, min_side=None), load_image(path)
    assert full.size == LARGE_PHOTO_SIZE
    # 1/4 scale: the largest that keeps both sides at least DRAFT_MIN_SIDE.
    assert draft.size == (LARGE_PHOTO_SIZE[0] // 4, LARGE_PHOTO_SIZE[1] // 4)
    assert min(draft.size) >= DRAFT_MIN_SIDE > min(draft.size) // 2
    for side in (32, 224, 341):  # the tiny model's input, and a real model's
        a, b = (
            np.asarray(image.resize((side, side), Image.Resampling.BILINEAR), dtype=np.int16)
            for image in (full, draft)
        )
        assert np.abs(a - b).max() <= 2, side  # within 2 grey levels of 255
    model = HashModel(tiny_model_path)
    bits = model.encode([full, draft])
    assert (bits[0] != bits[1]).sum() <= 2


def test_a_large_jpeg_decodes_alike_from_a_path_bytes_a_file_or_a_pillow_image(
    hostile: HostileFolder, tiny_model_path: Path
) -> None:
    """Indexed from its path, searched as an upload (bytes) or a Pillow image: the model must
    see the same pixels, or the photo would not find itself at distance 0."""
    path = hostile.root / "photo-40mp.jpg"
    model = HashModel(tiny_model_path)
    expected = model.preprocess(load_image(path))
    with path.open("rb") as handle, Image.open(path) as lazy:
        for source in (path.read_bytes(), handle, lazy):
            np.testing.assert_array_equal(model.preprocess(load_image(source)), expected)
    assert not np.array_equal(model.preprocess(load_image(path, min_side=None)), expected)


def test_small_jpegs_and_other_formats_decode_at_full_size(tmp_path: Path) -> None:
    path = tmp_path / "just-under.jpg"
    Image.new("RGB", (2 * DRAFT_MIN_SIDE - 1, 2 * DRAFT_MIN_SIDE + 500)).save(path)
    assert load_image(path).size == (2 * DRAFT_MIN_SIDE - 1, 2 * DRAFT_MIN_SIDE + 500)
    png = tmp_path / "large.png"
    Image.new("RGB", (4 * DRAFT_MIN_SIDE, 2 * DRAFT_MIN_SIDE)).save(png)
    assert load_image(png).size == (4 * DRAFT_MIN_SIDE, 2 * DRAFT_MIN_SIDE)


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="needs util-linux's setpriv")
def test_an_unreadable_file_is_named(hostile: HostileFolder) -> None:
    script = (
        "import sys\n"
        "from elastichash.images import load_image\n"
        "from elastichash.errors import ImageError\n"
        "try:\n"
        "    load_image(sys.argv[1])\n"
        "except ImageError as error:\n"
        "    print(error)\n"
    )
    prefix = WITHOUT_ROOT_READ if os.geteuid() == 0 else []
    result = subprocess.run(
        [*prefix, sys.executable, "-c", script, str(hostile.unreadable)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == (
        f"{hostile.unreadable}: permission denied: this user may not read the file"
    ), result.stderr


def test_read_file_refuses_over_the_limit_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.jpg"
    path.write_bytes(b"\xff" * 2048)
    assert len(read_file(path, max_bytes=2048)) == 2048
    with pytest.raises(ImageError, match="big.jpg: the file is 2048 bytes, over the 1000 bytes"):
        read_file(path, max_bytes=1000)


def test_read_file_does_not_block_on_a_fifo(tmp_path: Path) -> None:
    # A FIFO named like an image, with no writer: opening it for reading would block forever
    # without O_NONBLOCK. The test's own timeout is the subprocess's.
    fifo = tmp_path / "stream.png"
    os.mkfifo(fifo)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from elastichash.images import read_file; read_file({str(fifo)!r})",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "not a regular file: a FIFO (named pipe)" in result.stderr


def test_batches_end_at_the_byte_limit_or_the_count() -> None:
    items = [ImageItem(name=str(i), data=b"x" * size) for i, size in enumerate([40, 40, 40, 5])]
    batches = []
    iterator = iter(items)
    while batch := _next_batch(iterator, 3, max_bytes=70):
        batches.append([item.name for item in batch])
    assert batches == [["0", "1"], ["2", "3"]]
    iterator = iter(items)
    assert [item.name for item in _next_batch(iterator, 3, max_bytes=None)] == ["0", "1", "2"]
    one = iter([ImageItem(name="huge", data=b"x" * 500), *items])
    assert [item.name for item in _next_batch(one, 3, max_bytes=70)] == ["huge"]


def test_the_interruption_sentence_says_what_is_there_and_what_to_do() -> None:
    report = IngestReport(indexed=30, already_indexed=40, total=100)
    assert report.interruption() == (
        "indexed 30 of 100 files (40 already there); run the same command again to index the rest"
    )
    report.failed["x.jpg"] = "empty"
    assert report.interruption(batch_in_flight=True) == (
        "indexed 30 of 100 files (40 already there, 1 refused; the batch in flight may be partly "
        "indexed); run the same command again to index the rest"
    )
    assert report.summary().startswith("100 files: indexed 30, already indexed 40, failed 1\n")


def interrupt() -> None:
    os.kill(os.getpid(), signal.SIGINT)
    for _ in range(100):  # the handler runs between bytecodes, on the main thread
        pass


def test_first_ctrl_c_asks_to_stop_the_second_stops_at_once() -> None:
    before = signal.getsignal(signal.SIGINT)
    with _StopOnInterrupt() as stop:
        with pytest.raises(KeyboardInterrupt):  # not yet ingesting: Ctrl-C as usual
            interrupt()
        stop.armed = True
        assert not stop()
        interrupt()
        assert stop()  # asked to stop: no exception, the batch in hand goes on
        with pytest.raises(KeyboardInterrupt):
            interrupt()
        stop.armed = False
        interrupt()  # stopping already, on the way out: ignored
    assert signal.getsignal(signal.SIGINT) is before
