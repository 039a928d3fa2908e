"""Reading images for the model: any common mode becomes upright 8-bit RGB, or an ImageError.

A source is a path, the file's bytes, a binary file object, or a Pillow image. Multi-frame
files (GIF, TIFF) give their first frame. Hostile input is refused with a reason, never read
without bound: files that are not regular files (FIFOs, devices, symlink loops), files over
MAX_FILE_BYTES, and images over Pillow's decompression-bomb limit. Large JPEGs are decoded at
a reduced scale (`min_side`): resized to a model's input, within a grey level of a full decode.
"""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import warnings
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

#: Larger files are refused unread: Pillow's pixel limit (~89 MP) already bounds what can be
#: decoded, and reading a huge file whole only to refuse it would cost its size in memory.
MAX_FILE_BYTES = 256 * 1024 * 1024
#: JPEGs are decoded at 1/2, 1/4 or 1/8 scale while both sides stay at least this long: three
#: times the largest input a model here takes (341 px), the gap Pillow suggests for its own
#: reducing resize. A 40 MP photo then decodes at 1/4 scale, ~3x faster and in 1/16 the memory,
#: and resized to 32-341 px stays within 1 grey level of a full decode (tests/test_hostile.py).
DRAFT_MIN_SIDE = 1024

_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


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


def load_image(
    source: ImageSource, name: str | None = None, min_side: int | None = DRAFT_MIN_SIDE
) -> Image.Image:
    """Opens and fully decodes an image as 8-bit RGB, upright (EXIF orientation applied).

    Transparent pixels are composited on white; 16-bit grey is scaled to 8 bits. A JPEG at
    least twice `min_side` on both sides is decoded at 1/2, 1/4 or 1/8 scale, both sides
    staying at least `min_side` (None: always full size); so is a JPEG Pillow image not yet
    loaded (it is loaded in place). Raises ImageError naming the image
    (its path, or `name`) when the file is missing, not a regular file, unreadable, empty, over
    MAX_FILE_BYTES, not an image, truncated or corrupt, or has more pixels than Pillow's
    decompression-bomb limit (`PIL.Image.MAX_IMAGE_PIXELS`).
    """
    name = name or describe(source)
    with warnings.catch_warnings():
        # A DecompressionBombWarning (between 1x and 2x the limit) is refused as well.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        if isinstance(source, Image.Image):
            return _decoded(_reduce_on_decode(source, min_side), name)
        stream = _open_stream(source, name)
        try:
            opened = Image.open(stream)
        except _BOMB as error:
            raise ImageError(name, f"refused as a possible decompression bomb ({error})") from error
        except UnidentifiedImageError:
            reason = (
                "the file is empty (0 bytes)"
                if _is_empty(stream)
                else "not an image Pillow can read"
            )
            raise ImageError(name, reason) from None
        except (OSError, *_DECODE_ERRORS) as error:
            raise ImageError(name, f"corrupt image header ({error})") from error
        with opened:
            return _decoded(_reduce_on_decode(opened, min_side), name)


def _reduce_on_decode(image: Image.Image, min_side: int | None) -> Image.Image:
    """Asks a JPEG not yet decoded to decode at a reduced scale (libjpeg's DCT scaling: fewer
    pixels for free). Every path into the model goes through here, so that a photo indexed and
    the same photo searched decode alike, whatever form (path, bytes, Pillow image) each came in."""
    if min_side and image.format == "JPEG" and getattr(image, "tile", None):
        image.draft(image.mode, (min_side, min_side))
    return image


def read_file(
    path: str | os.PathLike, name: str | None = None, max_bytes: int = MAX_FILE_BYTES
) -> bytes:
    """The bytes of a regular file, or an ImageError saying why not.

    Never blocks or reads without bound: FIFOs, devices and directories are refused by their
    kind (checked on the opened file, so a swap after a check cannot fool it), symlink loops
    and broken symlinks by name, and files over `max_bytes` before they are read.
    """
    name = name or os.fspath(path)
    try:
        # O_NONBLOCK: opening a FIFO with no writer must not hang; regular files ignore it.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise ImageError(name, open_failure(path, error)) from error
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(name, f"not a regular file: {file_kind(info.st_mode)}")
        if info.st_size > max_bytes:
            raise ImageError(
                name, f"the file is {_mib(info.st_size)}, over the {_mib(max_bytes)} accepted"
            )
        data = _read_at_most(fd, max_bytes + 1)  # bounded even if the file grows meanwhile
    except OSError as error:
        raise ImageError(name, f"cannot read the file ({error.strerror or error})") from error
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise ImageError(name, f"the file grew over the {_mib(max_bytes)} accepted while read")
    if not data:
        raise ImageError(name, "the file is empty (0 bytes)")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    parts, size = [], 0
    while size < limit and (part := os.read(fd, min(limit - size, 1 << 24))):
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def open_failure(path: str | os.PathLike, error: OSError) -> str:
    """Why a file could not be opened or followed, in words (symlinks are named as such)."""
    if error.errno == errno.ELOOP:
        return "a symlink loop (too many levels of symbolic links)"
    if error.errno == errno.ENOENT:
        if os.path.islink(path):
            return f"a broken symlink (its target {os.readlink(path)!r} does not exist)"
        return "no such file"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied: this user may not read the file"
    if error.errno == errno.ENXIO:  # a Unix socket
        return "not a regular file: a socket"
    return f"cannot open the file ({error.strerror or error})"


def file_kind(mode: int) -> str:
    """What a file that is not a regular file is, from its st_mode: "a FIFO (named pipe)"..."""
    return next((kind for test, kind in _FILE_KINDS if test(mode)), "an unknown kind of file")


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MiB" if size >= 1024 * 1024 else f"{size} bytes"


def _open_stream(source: str | os.PathLike | bytes | BinaryIO, name: str) -> BinaryIO:
    if isinstance(source, str | os.PathLike):
        source = read_file(source, name)
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
        raise ImageError(name, f"refused as a possible decompression bomb ({error})") from error
    except OSError as error:  # Pillow reports truncated data as OSError
        raise ImageError(name, f"corrupt or truncated image ({error})") from error
    except _DECODE_ERRORS as error:
        raise ImageError(name, f"corrupt image ({error})") from error
    try:
        return to_rgb(ImageOps.exif_transpose(image))
    except (OSError, *_DECODE_ERRORS) as error:
        raise ImageError(name, f"cannot convert mode {image.mode} to RGB ({error})") from error


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
