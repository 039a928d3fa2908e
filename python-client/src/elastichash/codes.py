"""Binary codes: bits, hex, 64-bit words, 16-bit sub-codes, Hamming distances.

One code, one order (docs/code-format.md): a code is 256 bits; bit 0 is the most significant
bit of the first byte. Its hex form (64 characters) names it everywhere. The *long code* is
the four 64-bit words r0..r3 (bits 0-63, ..., 192-255), stored in Elasticsearch as signed
int64; the *short code* is bits 0-63, split into the four 16-bit sub-codes f0..f3.

Batch functions take and return numpy arrays with one code per row. No Elasticsearch here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

CODE_BITS = 256
WORD_BITS = 64
SHORT_BITS = 64
SUBCODE_BITS = 16
N_WORDS = CODE_BITS // WORD_BITS
N_SUBCODES = SHORT_BITS // SUBCODE_BITS
HEX_CHARS = CODE_BITS // 4


class CodeError(ValueError):
    """A code that does not have the expected form; the message says what is wrong."""


def _as_bit_rows(bits: np.ndarray, n_bits: int = CODE_BITS) -> np.ndarray:
    array = np.asarray(bits)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2 or array.shape[1] != n_bits:
        raise CodeError(f"expected bits of shape (n, {n_bits}), got {np.asarray(bits).shape}")
    if array.dtype != np.uint8:
        if not np.isin(array, (0, 1)).all():
            raise CodeError("bits must be 0 or 1")
        array = array.astype(np.uint8)
    return array


def bits_from_outputs(outputs: np.ndarray) -> np.ndarray:
    """Model outputs (n, 256) real values → bits (n, 256) uint8: 1 where the output is > 0."""
    outputs = np.asarray(outputs)
    if outputs.ndim != 2 or outputs.shape[1] != CODE_BITS:
        raise CodeError(f"model outputs must have shape (n, {CODE_BITS}), got {outputs.shape}")
    return (outputs > 0).astype(np.uint8)


def pack(bits: np.ndarray) -> np.ndarray:
    """Bits (n, 256) → bytes (n, 32) uint8, most significant bit first."""
    return np.packbits(_as_bit_rows(bits), axis=1, bitorder="big")


def unpack(packed: np.ndarray) -> np.ndarray:
    """Bytes (n, 32) uint8 → bits (n, 256) uint8."""
    return np.unpackbits(np.atleast_2d(np.asarray(packed, dtype=np.uint8)), axis=1, bitorder="big")


def to_hex(bits: np.ndarray) -> list[str]:
    """Bits (n, 256) → n lowercase hex strings of 64 characters."""
    return [row.tobytes().hex() for row in pack(bits)]


def from_hex(codes: str | list[str]) -> np.ndarray:
    """Hex strings (one, or a list) → bits (n, 256) uint8."""
    if isinstance(codes, str):
        codes = [codes]
    rows = []
    for i, code in enumerate(codes):
        if not isinstance(code, str):
            raise CodeError(f"code #{i} must be a hex string, got {type(code).__name__}")
        if len(code) != HEX_CHARS:
            raise CodeError(f"code must be {HEX_CHARS} hex characters ({CODE_BITS} bits), got {len(code)}")
        try:
            rows.append(bytes.fromhex(code))
        except ValueError:
            bad = next(c for c in code if c not in "0123456789abcdefABCDEF")
            raise CodeError(f"code is not hex: character {bad!r} in {code!r}") from None
    return unpack(np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), CODE_BITS // 8))


def to_words(bits: np.ndarray) -> np.ndarray:
    """Bits (n, 256) → the long code as (n, 4) signed int64 words, as Elasticsearch stores them."""
    return pack(bits).view(">u8").astype(np.uint64).view(np.int64)


def from_words(words: np.ndarray) -> np.ndarray:
    """(n, 4) int64 words (signed or not) → bits (n, 256) uint8."""
    words = np.atleast_2d(np.asarray(words))
    if words.shape[1] != N_WORDS:
        raise CodeError(f"expected {N_WORDS} words per code, got {words.shape[1]}")
    return unpack(words.astype(np.int64).view(np.uint64).astype(">u8").view(np.uint8))


def to_subcodes(bits: np.ndarray) -> np.ndarray:
    """Bits (n, 256) → the short code as (n, 4) uint16 sub-codes f0..f3."""
    return pack(bits)[:, : SHORT_BITS // 8].copy().view(">u2").astype(np.uint16)


def from_subcodes(subcodes: np.ndarray) -> np.ndarray:
    """(n, 4) 16-bit sub-codes → the short code's bits (n, 64) uint8."""
    subcodes = np.atleast_2d(np.asarray(subcodes)).astype(">u2")
    if subcodes.shape[1] != N_SUBCODES:
        raise CodeError(f"expected {N_SUBCODES} sub-codes per code, got {subcodes.shape[1]}")
    return unpack(subcodes.view(np.uint8))


@cache
def _masks_by_distance(n_bits: int, radius: int) -> np.ndarray:
    """Every n-bit XOR mask with at most `radius` bits set, by popcount then value."""
    values = np.arange(1 << n_bits, dtype=np.uint32)
    counts = np.bitwise_count(values) if hasattr(np, "bitwise_count") else _popcount_u32(values)
    keep = counts <= radius
    order = np.lexsort((values[keep], counts[keep]))
    masks = values[keep][order]
    masks.setflags(write=False)
    return masks


def subcode_neighbours(value: int, radius: int = 2, n_bits: int = SUBCODE_BITS) -> np.ndarray:
    """All n-bit values within Hamming distance `radius` of `value`, nearest first.

    For 16 bits and radius 2 that is 1 + 16 + 120 = 137 values.
    """
    if not 0 <= value < (1 << n_bits):
        raise CodeError(f"sub-code must be in [0, {1 << n_bits}), got {value}")
    if not 0 <= radius <= n_bits:
        raise CodeError(f"radius must be in [0, {n_bits}], got {radius}")
    return (_masks_by_distance(n_bits, radius) ^ np.uint32(value)).astype(np.uint32)


def _popcount_u32(values: np.ndarray) -> np.ndarray:
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    as_bytes = values.astype("<u4").view(np.uint8).reshape(-1, 4)
    return table[as_bytes].sum(axis=1)


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits of each 64-bit word (any shape, int64 or uint64)."""
    as_unsigned = np.asarray(words).astype(np.int64).view(np.uint64)
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(as_unsigned).astype(np.int64)
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)
    return table[as_unsigned[..., None].view(np.uint8)].sum(axis=-1)


def hamming(query_words: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Hamming distance of one code (w,) to each of (n, w) codes, all as 64-bit words."""
    query_words = np.asarray(query_words, dtype=np.int64)
    words = np.atleast_2d(np.asarray(words, dtype=np.int64))
    if words.shape[1] != query_words.shape[-1]:
        raise CodeError(f"codes differ in length: {query_words.shape[-1]} and {words.shape[1]} words")
    return popcount(np.bitwise_xor(words, query_words)).sum(axis=1)


@dataclass(frozen=True)
class Code:
    """One 256-bit code, with every form it takes in ElasticHash."""

    hex: str

    @classmethod
    def from_hex(cls, code: str) -> Code:
        from_hex(code)  # validates
        return cls(code.lower())

    @classmethod
    def from_bits(cls, bits: np.ndarray) -> Code:
        return cls(to_hex(bits)[0])

    @property
    def bits(self) -> np.ndarray:
        return from_hex(self.hex)[0]

    @property
    def words(self) -> np.ndarray:
        """The long code: 4 signed int64 words."""
        return to_words(self.bits)[0]

    @property
    def subcodes(self) -> np.ndarray:
        """The short code: 4 uint16 sub-codes."""
        return to_subcodes(self.bits)[0]

    def distance(self, other: Code) -> int:
        return int(hamming(self.words, other.words[None, :])[0])
