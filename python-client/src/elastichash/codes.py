"""Binary codes: bits, hex, 64-bit words, 16-bit sub-codes, Hamming distances.

One code, one order (docs/code-format.md): a code is 256 bits; bit 0 is the most significant
bit of the first byte. Its hex form (64 lowercase characters) names it everywhere. The *long
code* is the four 64-bit words r0..r3 (bits 0-63, ..., 192-255), stored in Elasticsearch as
signed int64 (the two's complement reading of each big-endian word). The code's sixteen 16-bit
*sub-codes* are bits 0-15, 16-31, ..., 240-255 (positions 0..15); the *short code* is bits 0-63,
that is sub-codes 0..3 (the paper's four multi-index hashing tables).

Functions take numpy arrays with the code along the last axis and any batch shape in front:
`(n, 256)` bits for a batch, `(256,)` for one code. Lengths come from the input's shape (any
multiple of 8 bits for bytes and hex, of 64 bits for words); the constants below are the
defaults of ElasticHash's layout. No Elasticsearch here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import overload

import numpy as np

from .errors import ElasticHashError

CODE_BITS = 256  # the long code
SHORT_BITS = 64  # the short code: the first 64 bits of the long code
SUBCODE_BITS = 16  # one multi-index hashing sub-code
WORD_BITS = 64  # one Elasticsearch `long`
N_WORDS = CODE_BITS // WORD_BITS
N_SUBCODES = SHORT_BITS // SUBCODE_BITS  # 4: the short code's sub-codes (positions 0..3)
CODE_SUBCODES = CODE_BITS // SUBCODE_BITS  # 16: the whole code's sub-codes (the field's terms)
PACKED_BYTES = CODE_BITS // 8
HEX_CHARS = CODE_BITS // 4

_HEX = re.compile(r"[0-9a-fA-F]*")
_BYTE_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)


class CodeError(ElasticHashError, ValueError):
    """A code that does not have the expected form; the message says what is wrong."""


def _last_axis(array: np.ndarray, what: str, multiple: int) -> int:
    if array.ndim == 0:
        raise CodeError(f"{what} must be an array with the code along the last axis, got a scalar")
    length = array.shape[-1]
    if length == 0 or length % multiple:
        raise CodeError(
            f"{what} must have a positive multiple of {multiple} per code, "
            f"got {length} (shape {array.shape})"
        )
    return length


def _as_bits(bits: np.ndarray | Sequence[int], multiple: int = 8) -> np.ndarray:
    array = np.asarray(bits)
    _last_axis(array, "bits", multiple)
    if array.dtype.kind not in "biu":
        raise CodeError(f"bits must be integers 0 or 1, got dtype {array.dtype}")
    if array.dtype != np.uint8 or array.max(initial=0) > 1:
        bad = (array != 0) & (array != 1)
        if bad.any():
            raise CodeError(f"bits must be 0 or 1, got {array[bad].flat[0]}")
        array = array.astype(np.uint8)
    return array


def bits_from_outputs(outputs: np.ndarray | Sequence[float]) -> np.ndarray:
    """Model outputs (..., m) real values → bits (..., m) uint8: 1 where the output is > 0."""
    array = np.asarray(outputs)
    if array.dtype.kind not in "biuf":
        raise CodeError(f"model outputs must be real numbers, got dtype {array.dtype}")
    _last_axis(array, "model outputs", 1)
    if array.dtype.kind == "f" and np.isnan(array).any():
        raise CodeError("model outputs contain NaN; the model or its input is broken")
    return (array > 0).astype(np.uint8)


def pack_bits(bits: np.ndarray | Sequence[int]) -> np.ndarray:
    """Bits (..., m) → bytes (..., m/8) uint8, bit 0 the most significant bit of byte 0."""
    return np.packbits(_as_bits(bits), axis=-1, bitorder="big")


def unpack_bits(packed: np.ndarray | Sequence[int] | bytes) -> np.ndarray:
    """Bytes (..., b) uint8 → bits (..., 8b) uint8."""
    if isinstance(packed, bytes):
        packed = np.frombuffer(packed, dtype=np.uint8)
    array = np.asarray(packed)
    if array.dtype != np.uint8:
        if array.dtype.kind not in "iu" or array.min(initial=0) < 0 or array.max(initial=0) > 255:
            raise CodeError(f"packed codes must be bytes (uint8), got dtype {array.dtype}")
        array = array.astype(np.uint8)
    _last_axis(array, "packed code", 1)
    return np.unpackbits(array, axis=-1, bitorder="big")


@overload
def to_hex(bits: np.ndarray) -> str | list[str]: ...
@overload
def to_hex(bits: Sequence[int]) -> str: ...
def to_hex(bits: np.ndarray | Sequence[int]) -> str | list[str]:
    """Bits (m,) → one lowercase hex string of m/4 characters; bits (n, m) → a list of n."""
    packed = pack_bits(bits)
    if packed.ndim == 1:
        return packed.tobytes().hex()
    if packed.ndim != 2:
        raise CodeError(f"to_hex takes one code (m,) or a batch (n, m), got shape {packed.shape}")
    return [row.tobytes().hex() for row in packed]


def _check_hex(code: object, n_bits: int, label: str) -> str:
    if not isinstance(code, str):
        raise CodeError(f"{label} must be a hex string, got {type(code).__name__}")
    chars = n_bits // 4
    if len(code) != chars:
        raise CodeError(f"{label} must be {chars} hex characters ({n_bits} bits), got {len(code)}")
    if not _HEX.fullmatch(code):
        position, bad = next(
            (i, c) for i, c in enumerate(code) if c not in "0123456789abcdefABCDEF"
        )
        raise CodeError(f"{label} is not hex: character {bad!r} at position {position}")
    return code


def from_hex(codes: str | Sequence[str], n_bits: int = CODE_BITS) -> np.ndarray:
    """One hex string → bits (n_bits,); a sequence of n → bits (n, n_bits). Upper case is fine."""
    if n_bits <= 0 or n_bits % 8:
        raise CodeError(f"n_bits must be a positive multiple of 8, got {n_bits}")
    if isinstance(codes, str):
        return unpack_bits(bytes.fromhex(_check_hex(codes, n_bits, "code")))
    checked = [_check_hex(code, n_bits, f"code #{i}") for i, code in enumerate(codes)]
    if not checked:
        return np.zeros((0, n_bits), dtype=np.uint8)
    packed = np.frombuffer(bytes.fromhex("".join(checked)), dtype=np.uint8)
    return unpack_bits(packed.reshape(len(checked), n_bits // 8))


def to_words(bits: np.ndarray | Sequence[int]) -> np.ndarray:
    """Bits (..., 64w) → (..., w) signed int64 words, as Elasticsearch `long` fields hold them."""
    packed = np.ascontiguousarray(np.packbits(_as_bits(bits, WORD_BITS), axis=-1, bitorder="big"))
    return packed.view(">u8").astype(np.uint64).view(np.int64)


def from_words(words: np.ndarray | Sequence[int]) -> np.ndarray:
    """(..., w) 64-bit words, signed (as stored) or unsigned → bits (..., 64w) uint8."""
    array = np.asarray(words)
    if array.dtype.kind == "u":
        unsigned = array.astype(np.uint64)
    elif array.dtype.kind in "bi":
        unsigned = array.astype(np.int64).view(np.uint64)
    else:
        raise CodeError(f"words must be 64-bit integers, got dtype {array.dtype}")
    _last_axis(unsigned, "words", 1)
    return np.unpackbits(np.ascontiguousarray(unsigned.astype(">u8")).view(np.uint8), axis=-1)


def to_subcodes(bits: np.ndarray | Sequence[int]) -> np.ndarray:
    """Bits (..., 16s) → their s sub-codes (..., s) uint16: bits 0-15, 16-31, ... in order.

    A 256-bit code has 16 (positions 0..15); its short code is the first 4, `[..., :N_SUBCODES]`.
    """
    array = _as_bits(bits, SUBCODE_BITS)
    return np.ascontiguousarray(pack_bits(array)).view(">u2").astype(np.uint16)


def from_subcodes(subcodes: np.ndarray | Sequence[int]) -> np.ndarray:
    """(..., s) 16-bit sub-codes → their bits (..., 16s) uint8 (s = 4: the short code)."""
    array = np.asarray(subcodes)
    if array.dtype.kind not in "iu" or array.min(initial=0) < 0 or array.max(initial=0) > 0xFFFF:
        raise CodeError(f"sub-codes must be integers in [0, 65535], got dtype {array.dtype}")
    _last_axis(array, "sub-codes", 1)
    return np.unpackbits(np.ascontiguousarray(array.astype(">u2")).view(np.uint8), axis=-1)


@cache
def _masks(n_bits: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Every n-bit XOR mask with at most `radius` bits set, and its popcount, by popcount."""
    values = np.arange(1 << n_bits, dtype=np.uint32)
    counts = popcount(values)
    keep = counts <= radius
    masks, counts = values[keep], counts[keep]
    order = np.lexsort((masks, counts))
    masks, counts = masks[order], counts[order]
    masks.setflags(write=False)
    counts.setflags(write=False)
    return masks, counts


def subcode_neighbours(value: int, radius: int = 2, n_bits: int = SUBCODE_BITS) -> np.ndarray:
    """All n-bit values within Hamming distance `radius` of `value`, as uint16.

    Sorted by distance, then by value; the first is `value` itself. For 16 bits, radius 0..3
    gives 1, 17, 137 and 697 values. The XOR masks are computed once per (n_bits, radius).
    """
    if not 1 <= n_bits <= SUBCODE_BITS:
        raise CodeError(f"sub-code width must be 1..{SUBCODE_BITS} bits, got {n_bits}")
    if not 0 <= int(value) < (1 << n_bits):
        raise CodeError(f"sub-code must be in [0, {(1 << n_bits) - 1}], got {value}")
    if not 0 <= radius <= n_bits:
        raise CodeError(f"radius must be in [0, {n_bits}], got {radius}")
    masks, counts = _masks(n_bits, radius)
    neighbours = (masks ^ np.uint32(value)).astype(np.uint16)
    return neighbours[np.lexsort((neighbours, counts))]


def _popcount_bytes(values: np.ndarray) -> np.ndarray:
    """Set bits per element by a byte lookup table (numpy < 2.0 has no bitwise_count)."""
    as_bytes = np.ascontiguousarray(values)[..., None].view(np.uint8)
    return _BYTE_POPCOUNT[as_bytes].sum(axis=-1, dtype=np.int64)


def popcount(values: np.ndarray | Sequence[int]) -> np.ndarray:
    """Set bits of each integer (any shape; int64 read as its 64-bit two's complement)."""
    array = np.asarray(values)
    if array.dtype.kind == "i":
        array = array.view(np.dtype(f"u{array.dtype.itemsize}"))
    elif array.dtype.kind != "u":
        raise CodeError(f"popcount takes integers, got dtype {array.dtype}")
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(array).astype(np.int64)
    return _popcount_bytes(array)


def hamming_distance(a_words: np.ndarray, b_words: np.ndarray) -> np.ndarray:
    """Hamming distances between codes given as 64-bit words (..., w), summed over the words.

    The leading shapes broadcast: one code (w,) against a batch (n, w) gives (n,); two batches
    (n, w) give n pairwise distances; `a[:, None]` against `b` gives the (n, m) table.
    """
    a, b = np.asarray(a_words), np.asarray(b_words)
    for name, array in (("a_words", a), ("b_words", b)):
        if array.dtype.kind not in "iu":
            raise CodeError(f"{name} must be 64-bit integer words, got dtype {array.dtype}")
        _last_axis(array, name, 1)
    if a.shape[-1] != b.shape[-1]:
        raise CodeError(f"codes differ in length: {a.shape[-1]} and {b.shape[-1]} words")
    as_words = [x.astype(np.uint64) if x.dtype.kind == "u" else x.astype(np.int64) for x in (a, b)]
    xor = np.bitwise_xor(*(x.view(np.uint64) for x in as_words))
    return popcount(xor).sum(axis=-1)


def hamming_table(
    a_bits: np.ndarray | Sequence[Sequence[int]], b_bits: np.ndarray | Sequence[Sequence[int]]
) -> np.ndarray:
    """(q, n) int32 Hamming distances between every row of bits (q, m) and every row of (n, m).

    Any width m (a 16-bit sub-code slice as well as a whole code). With 0/1 mapped to -1/+1 the
    distance is (m - a·b) / 2, so the whole table is one matrix product: far faster than words
    and popcounts for a query batch against a large database, and exact while m < 2**24.
    """
    a, b = _as_bits(a_bits, 1), _as_bits(b_bits, 1)
    if a.ndim != 2 or b.ndim != 2:
        raise CodeError(
            "hamming_table takes two bit matrices (q, m) and (n, m), "
            f"got shapes {a.shape} and {b.shape}"
        )
    if a.shape[1] != b.shape[1]:
        raise CodeError(f"codes differ in length: {a.shape[1]} and {b.shape[1]} bits")
    signed_a = a.astype(np.float32) * 2.0 - 1.0
    signed_b = b.astype(np.float32) * 2.0 - 1.0
    return np.rint((a.shape[1] - signed_a @ signed_b.T) / 2.0).astype(np.int32)


def bit_rows(batch: np.ndarray | Sequence[str] | Sequence[Code] | str | Code) -> np.ndarray:
    """A batch of 256-bit codes in any form → bits (n, 256) uint8.

    Takes (n, 256) bits, (n, 32) packed bytes (as `pack_bits` gives), a sequence of hex strings
    or of `Code`s; one code in any of these forms is a batch of one.
    """
    if isinstance(batch, str | Code):
        batch = [batch]
    if not isinstance(batch, np.ndarray) and all(isinstance(c, str | Code) for c in batch):
        return from_hex([str(c) for c in batch])
    array = np.asarray(batch)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim == 2 and array.shape[1] == CODE_BITS:
        return _as_bits(array)
    if array.ndim == 2 and array.shape[1] == PACKED_BYTES:
        return unpack_bits(array)
    raise CodeError(
        f"codes must be (n, {CODE_BITS}) bits, (n, {PACKED_BYTES}) packed bytes or hex strings, "
        f"got shape {array.shape}"
    )


@dataclass(frozen=True)
class Code:
    """One 256-bit code, with every form it takes in ElasticHash; `hex` is kept lowercase."""

    hex: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "hex", _check_hex(self.hex, CODE_BITS, "code").lower())

    @classmethod
    def from_hex(cls, code: str) -> Code:
        return cls(code)

    @classmethod
    def from_bits(cls, bits: np.ndarray | Sequence[int]) -> Code:
        array = np.asarray(bits)
        if array.shape != (CODE_BITS,):
            raise CodeError(f"one code is {CODE_BITS} bits, got shape {array.shape}")
        return cls(pack_bits(array).tobytes().hex())

    @classmethod
    def from_words(cls, words: np.ndarray | Sequence[int]) -> Code:
        array = np.asarray(words)
        if array.shape != (N_WORDS,):
            raise CodeError(f"one code is {N_WORDS} words, got shape {array.shape}")
        return cls.from_bits(from_words(array))

    @property
    def bits(self) -> np.ndarray:
        """(256,) uint8."""
        return from_hex(self.hex)

    @property
    def words(self) -> np.ndarray:
        """The long code: (4,) signed int64 words r0..r3."""
        return to_words(self.bits)

    @property
    def subcodes(self) -> np.ndarray:
        """(16,) uint16 sub-codes at positions 0..15; the short code is the first 4."""
        return to_subcodes(self.bits)

    def distance(self, other: Code) -> int:
        """Hamming distance over all 256 bits."""
        return int(hamming_distance(self.words, other.words))

    def __str__(self) -> str:
        return self.hex
