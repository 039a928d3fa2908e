import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from elastichash.errors import ImageError
from elastichash.images import load_image


def gradient(size: tuple[int, int] = (40, 30)) -> Image.Image:
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    rgb = np.stack([np.tile(x, (size[1], 1))] * 3, axis=-1)
    rgb[..., 1] = 255 - rgb[..., 1]
    return Image.fromarray(rgb, "RGB")


@pytest.mark.parametrize("mode", ["RGB", "L", "LA", "P", "RGBA", "CMYK", "I;16", "I", "1", "F"])
def test_every_mode_becomes_rgb(mode: str, tmp_path: Path) -> None:
    image = gradient().convert(mode) if mode not in ("I;16",) else gradient().convert("L").convert("I;16")
    suffix = ".tiff" if mode in ("CMYK", "I;16", "I", "F") else ".png"
    path = tmp_path / f"image{suffix}"
    image.save(path)
    loaded = load_image(path)
    assert loaded.mode == "RGB" and loaded.size == (40, 30)


def test_sixteen_bit_grey_keeps_its_range(tmp_path: Path) -> None:
    values = np.array([[0, 65535]], dtype=np.uint16)
    path = tmp_path / "grey16.png"
    Image.fromarray(values).save(path)  # Pillow picks mode I;16 for uint16
    pixels = np.asarray(load_image(path))
    assert pixels[0, 0, 0] == 0 and pixels[0, 1, 0] == 255


def test_transparency_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(path)
    assert np.asarray(load_image(path)).min() == 255
    palette = Image.new("P", (4, 4), 0)
    palette.info["transparency"] = 0
    palette.save(tmp_path / "p.png", transparency=0)
    assert np.asarray(load_image(tmp_path / "p.png")).min() == 255


def test_exif_orientation_is_applied(tmp_path: Path) -> None:
    image = gradient((40, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif)
    assert load_image(path).size == (30, 40)


def test_bytes_and_file_objects(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    gradient().save(buffer, "PNG")
    assert load_image(buffer.getvalue()).size == (40, 30)
    buffer.seek(0)
    assert load_image(buffer).size == (40, 30)


def test_truncated_jpeg_is_refused_by_name(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    gradient((200, 200)).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    with pytest.raises(ImageError, match="cut.jpg: corrupt or truncated"):
        load_image(path)


def test_text_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageError, match="notes.png: not an image"):
        load_image(path)


def test_empty_file_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "empty.jpg"
    path.touch()
    with pytest.raises(ImageError, match="empty.jpg: the file is empty"):
        load_image(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")


@pytest.mark.parametrize("limit", [1000, 2000])  # over 2x the limit: error; 1x-2x: warning
def test_decompression_bomb_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    path = tmp_path / "bomb.png"
    Image.new("RGB", (50, 50)).save(path)  # 2,500 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", limit)
    with pytest.raises(ImageError, match="bomb.png: refused as a possible decompression bomb"):
        load_image(path)
