"""Reading images for the model: any common mode becomes 8-bit RGB, or a clear ImageError."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

ImageSource = str | os.PathLike | bytes | BinaryIO | Image.Image

#: File name suffixes taken when indexing a directory.
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm", ".jfif"}
)


def describe(source: ImageSource) -> str:
    """A name for `source` in messages: its path, or what kind of object it is."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    if isinstance(source, bytes):
        return f"<{len(source)} bytes>"
    return getattr(source, "name", None) or f"<{type(source).__name__}>"


def load_image(source: ImageSource, name: str | None = None) -> Image.Image:
    """Opens and fully decodes an image as 8-bit RGB, upright (EXIF orientation applied).

    Transparent pixels are composited on white. Raises ImageError naming the image when it is
    empty, not an image, truncated, or larger than Pillow's decompression-bomb limit.
    """
    name = name or describe(source)
    if isinstance(source, Image.Image):
        image = source
    else:
        if isinstance(source, bytes):
            if not source:
                raise ImageError(name, "the file is empty (0 bytes)")
            source = io.BytesIO(source)
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if not path.is_file():
                raise ImageError(name, "no such file")
            if path.stat().st_size == 0:
                raise ImageError(name, "the file is empty (0 bytes)")
        try:
            with warnings.catch_warnings():
                # A DecompressionBombWarning (between 1x and 2x the limit) is refused too.
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                image = Image.open(source)
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ImageError(name, f"refused as a possible decompression bomb ({error})") from None
        except UnidentifiedImageError:
            raise ImageError(name, "not an image Pillow can read") from None
        except OSError as error:
            # Pillow reports truncated and corrupt data as OSError.
            raise ImageError(name, f"corrupt or truncated image ({error})") from None
        except (SyntaxError, ValueError) as error:
            raise ImageError(name, f"corrupt image ({error})") from None
    try:
        return to_rgb(ImageOps.exif_transpose(image))
    except (OSError, ValueError) as error:
        raise ImageError(name, f"cannot convert to RGB ({error})") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """Any Pillow mode → 8-bit RGB; alpha on white, 16/32-bit grey scaled to 8 bits."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        if image.mode in ("I", "F") and values.max() <= 255:
            top = 255.0
        grey = np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(grey, mode="L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")
