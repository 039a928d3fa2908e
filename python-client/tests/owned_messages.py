"""The sentences a rule's owner gives, for the tests of the layers that pass them on: the sentence
is asserted word for word once, in the owner's tests (`test_codes.py` for a code's hex,
`test_images.py` for an image), and the other layers check that they hand on exactly what the
owner says."""

from __future__ import annotations

import re

from elastichash import codes
from elastichash.codes import CodeError
from elastichash.errors import ImageError
from elastichash.images import load_image


def hex_error(text: object) -> str:
    """What `codes.from_hex` says of `text`: one code, or a list of them (the message then
    names the bad one's place)."""
    try:
        codes.from_hex(text)  # type: ignore[arg-type]
    except CodeError as error:
        return str(error)
    raise AssertionError(f"{text!r} is a valid code")


def hex_error_pattern(text: object) -> str:
    """`hex_error` as a pattern for `pytest.raises(match=...)`: the whole message, nothing else."""
    return f"^{re.escape(hex_error(text))}$"


def image_error(data: bytes, name: str) -> str:
    """What `images.load_image` says of `data` as an image called `name`."""
    try:
        load_image(data, name=name)
    except ImageError as error:
        return str(error)
    raise AssertionError(f"{name} is a valid image")
