import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elastichash.errors import ImageError
from elastichash.images import describe, load_image, to_rgb

SIZE = (40, 30)


def gradient(size: tuple[int, int] = SIZE) -> Image.Image:
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    rgb = np.stack([np.tile(x, (size[1], 1))] * 3, axis=-1)
    rgb[..., 1] = 255 - rgb[..., 1]
    return Image.fromarray(rgb)


def encoded(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


# (mode, file format): every mode the loader must read, through the formats that store it.
CASES = [
    ("RGB", "PNG"),
    ("RGB", "JPEG"),
    ("RGB", "TIFF"),
    ("L", "PNG"),
    ("L", "JPEG"),
    ("LA", "PNG"),
    ("P", "PNG"),
    ("P", "GIF"),
    ("RGBA", "PNG"),
    ("RGBA", "TIFF"),
    ("CMYK", "JPEG"),
    ("CMYK", "TIFF"),
    ("I;16", "PNG"),
    ("I;16", "TIFF"),
    ("I", "TIFF"),
    ("F", "TIFF"),
    ("1", "PNG"),
]


def grey_ramp(mode: str) -> Image.Image:
    """A left-to-right ramp, black to white, in a grey mode at that mode's full range."""
    ramp = np.tile(np.linspace(0, 1, SIZE[0]), (SIZE[1], 1))
    if mode == "I;16":
        return Image.fromarray((ramp * 65535).round().astype(np.uint16))
    if mode == "I":
        return Image.fromarray((ramp * 65535).round().astype(np.int32))
    if mode == "F":
        return Image.fromarray((ramp * 255).astype(np.float32))
    return Image.fromarray((ramp * 255).round().astype(np.uint8)).convert(mode)


@pytest.mark.parametrize(("mode", "fmt"), CASES)
def test_every_mode_becomes_rgb(mode: str, fmt: str, tmp_path: Path) -> None:
    source = gradient()
    grey_modes = ("L", "I;16", "I", "F")
    image = grey_ramp(mode) if mode in grey_modes else source.convert(mode)
    assert image.mode == mode
    path = tmp_path / f"image.{fmt.lower()}"
    image.save(path, fmt)
    with Image.open(path) as stored:
        if mode not in ("I;16",):  # Pillow may store 16-bit grey as I;16 or I
            assert stored.mode == mode
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == SIZE
    grey = np.asarray(loaded, dtype=np.int16).mean(axis=-1)
    if mode in grey_modes:  # grey stays grey: the same black-to-white ramp
        assert grey[0, 0] < 10 and grey[0, -1] > 245
    if mode == "RGB" and fmt == "PNG":
        np.testing.assert_array_equal(np.asarray(loaded), np.asarray(source))


def test_sixteen_bit_grey_keeps_its_range(tmp_path: Path) -> None:
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)
    with Image.open(path) as stored:
        assert stored.mode == "I;16"
    assert np.asarray(load_image(path))[0, :, 0].tolist() == [0, 128, 255]


def test_thirty_two_bit_grey_in_8_bit_range_is_not_stretched() -> None:
    image = Image.fromarray(np.array([[0, 100, 255]], dtype=np.int32))
    assert image.mode == "I"
    assert np.asarray(to_rgb(image))[0, :, 0].tolist() == [0, 100, 255]


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_alpha_is_composited_on_white(mode: str, tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    image = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    image.putpixel((0, 0), (0, 0, 0, 255))
    image.convert(mode).save(path)
    pixels = np.asarray(load_image(path))
    assert pixels[0, 0].tolist() == [0, 0, 0]
    assert pixels[1:].min() == 255


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_transparency_is_composited_on_white(fmt: str, tmp_path: Path) -> None:
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 200, 0, 0] + [0] * 762)
    palette.putpixel((0, 0), 1)
    path = tmp_path / f"p.{fmt.lower()}"
    palette.save(path, fmt, transparency=0)
    pixels = np.asarray(load_image(path))
    assert pixels[0, 0].tolist() == [200, 0, 0]
    assert pixels[1:].min() == 255


def test_first_frame_of_an_animation(tmp_path: Path) -> None:
    frames = [Image.new("RGB", (8, 8), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert tuple(np.asarray(load_image(path))[0, 0]) == (255, 0, 0)


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = gradient((40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    with Image.open(path) as stored:
        assert stored.size == (40, 30)
    loaded = load_image(path)
    assert loaded.size == (30, 40)
    grey = np.asarray(loaded, dtype=np.int16)[..., 0]
    assert grey[0, 0] < 20 and grey[-1, 0] > 235  # the left edge (dark) is now the top


def test_paths_bytes_file_objects_and_pillow_images(tmp_path: Path) -> None:
    data = encoded(gradient(), "PNG")
    path = tmp_path / "g.png"
    path.write_bytes(data)
    expected = np.asarray(gradient())
    with Image.open(path) as lazy:
        for source in (path, str(path), data, io.BytesIO(data), lazy, gradient()):
            np.testing.assert_array_equal(np.asarray(load_image(source)), expected)
    with path.open("rb") as handle:
        assert load_image(handle).size == SIZE
        assert not handle.closed  # the caller's file stays the caller's


def test_names_in_messages(tmp_path: Path) -> None:
    assert describe(tmp_path / "a.png") == str(tmp_path / "a.png")
    assert describe(b"abc") == "<3 bytes>"
    assert describe(io.BytesIO()) == "<BytesIO>"
    with pytest.raises(ImageError, match="^upload-7: not an image"):
        load_image(b"hello", name="upload-7")
    path = tmp_path / "text.png"
    path.write_text("not an image")
    with path.open("rb") as handle, pytest.raises(ImageError, match=f"^{path}: not an image"):
        load_image(handle)


def test_truncated_jpeg_is_refused_by_name(tmp_path: Path) -> None:
    data = encoded(gradient((200, 200)), "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.jpg: corrupt or truncated") as caught:
        load_image(path)
    assert caught.value.name == str(path) and "truncated" in caught.value.reason


def test_truncated_png_and_lazy_pillow_image(tmp_path: Path) -> None:
    data = encoded(gradient((200, 200)), "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="cut.png: corrupt"):
        load_image(path)
    with Image.open(path) as lazy, pytest.raises(ImageError, match="cut.png: corrupt"):
        load_image(lazy)


def test_text_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="notes.png: not an image Pillow can read"):
        load_image(path)


def test_empty_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageError, match="empty.jpg: the file is empty"):
        load_image(path)
    with pytest.raises(ImageError, match="the file is empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="the file is empty"):
        load_image(io.BytesIO())


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="nope.png: no such file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(tmp_path)


@pytest.mark.parametrize("limit", [1000, 2000])  # over 2x the limit: error; 1x-2x: warning
def test_decompression_bomb_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    path = tmp_path / "bomb.png"
    Image.new("RGB", (50, 50)).save(path)  # 2,500 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(ImageError, match="bomb.png: refused as a possible decompression bomb"):
        load_image(path)


def test_images_under_the_limit_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fine.png"
    Image.new("RGB", (50, 50)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2500)
    assert load_image(path).size == (50, 50)
