"""Reading images for the model: any common mode becomes upright 8-bit RGB, or an ImageError.

A source is a path, the file's bytes, a binary file object, or a Pillow image. Multi-frame
files (GIF, TIFF) give their first frame.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image

#: File name suffixes taken when indexing a directory.
IMAGE_SUFFIXES = frozenset(
    {
        ".jpg",
        ".jpeg",
        ".jfif",
        ".png",
        ".gif",
        ".bmp",
        ".tif",
        ".tiff",
        ".webp",
        ".ppm",
        ".pgm",
        ".pbm",
    }
)

# What Pillow's decoders raise on damaged data (besides OSError), per its fuzzing notes.
_DECODE_ERRORS = (SyntaxError, ValueError, TypeError, IndexError, KeyError, EOFError, struct.error)
_DEEP_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def describe(source: ImageSource) -> str:
    """A name for `source` in messages: its path, or what kind of object it is."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    name = getattr(source, "name", None) if not isinstance(source, Image.Image) else None
    if isinstance(name, str):
        return name
    filename = getattr(source, "filename", None)
    return filename if isinstance(filename, str) and filename else f"<{type(source).__name__}>"


def load_image(source: ImageSource, name: str | None = None) -> Image.Image:
    """Opens and fully decodes an image as 8-bit RGB, upright (EXIF orientation applied).

    Transparent pixels are composited on white; 16-bit grey is scaled to 8 bits. Raises
    ImageError naming the image (its path, or `name`) when the file is missing, empty, not an
    image, truncated or corrupt, or has more pixels than Pillow's decompression-bomb limit
    (`PIL.Image.MAX_IMAGE_PIXELS`).
    """
    name = name or describe(source)
    with warnings.catch_warnings():
        # A DecompressionBombWarning (between 1x and 2x the limit) is refused as well.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if isinstance(source, Image.Image):
            return _decoded(source, name)
        stream = _open_stream(source, name)
        try:
            opened = Image.open(stream)
        except _BOMB as error:
            raise ImageError(name, f"refused as a possible decompression bomb ({error})") from None
        except UnidentifiedImageError:
            reason = (
                "the file is empty (0 bytes)"
                if _is_empty(stream)
                else "not an image Pillow can read"
            )
            raise ImageError(name, reason) from None
        except (OSError, *_DECODE_ERRORS) as error:
            raise ImageError(name, f"corrupt image header ({error})") from None
        with opened:
            return _decoded(opened, name)


def _open_stream(source: str | os.PathLike | bytes | BinaryIO, name: str) -> BinaryIO:
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise ImageError(name, "no such file")
        if not path.is_file():
            raise ImageError(name, "not a regular file")
        try:
            source = path.read_bytes()
        except OSError as error:
            raise ImageError(name, f"cannot read the file ({error.strerror or error})") from None
    if isinstance(source, bytes):
        if not source:
            raise ImageError(name, "the file is empty (0 bytes)")
        return io.BytesIO(source)
    return source


def _is_empty(stream: BinaryIO) -> bool:
    try:
        stream.seek(0, io.SEEK_END)
        return stream.tell() == 0
    except (OSError, AttributeError, ValueError):
        return False


def _decoded(image: Image.Image, name: str) -> Image.Image:
    try:
        image.load()
    except _BOMB as error:
        raise ImageError(name, f"refused as a possible decompression bomb ({error})") from None
    except OSError as error:  # Pillow reports truncated data as OSError
        raise ImageError(name, f"corrupt or truncated image ({error})") from None
    except _DECODE_ERRORS as error:
        raise ImageError(name, f"corrupt image ({error})") from None
    try:
        return to_rgb(ImageOps.exif_transpose(image))
    except (OSError, *_DECODE_ERRORS) as error:
        raise ImageError(name, f"cannot convert mode {image.mode} to RGB ({error})") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode → a new 8-bit RGB image.

    Alpha (RGBA, LA, P with transparency) is composited on white. Deep grey (I;16*, I, F) is
    read as 16-bit (0-65535 → 0-255) unless every value is at most 255, which is read as 8-bit.
    """
    if image.mode in _DEEP_MODES:
        values = np.asarray(image, dtype=np.float64)
        top = (
            255.0 if not image.mode.startswith("I;16") and values.max(initial=0) <= 255 else 65535.0
        )
        grey = np.clip(values * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey).convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in _ALPHA_MODES:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
