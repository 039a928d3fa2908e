from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from elastichash import codes
from elastichash.codes import Code, CodeError
from owned_messages import hex_error_pattern

bit_rows = arrays(np.uint8, st.tuples(st.integers(1, 5), st.just(256)), elements=st.integers(0, 1))
one_code = arrays(np.uint8, 256, elements=st.integers(0, 1))
int64s = st.integers(-(2**63), 2**63 - 1)
word_rows = arrays(np.int64, st.tuples(st.integers(1, 5), st.integers(1, 6)), elements=int64s)

LONG_MIN = -(2**63)
LONG_MAX = 2**63 - 1


def naive_hamming(a: list[int], b: list[int]) -> int:
    """Reference: XOR each pair of 64-bit two's-complement words, count the ones in binary."""
    return sum(bin((x ^ y) & (2**64 - 1)).count("1") for x, y in zip(a, b, strict=True))


def naive_hex(bits: np.ndarray) -> str:
    """Reference: bit 0 is the most significant bit of the first hex digit."""
    return "".join(f"{int(''.join(map(str, bits[i : i + 4])), 2):x}" for i in range(0, 256, 4))


# --- round trips ---------------------------------------------------------------------------


@given(bit_rows)
def test_hex_round_trip(bits: np.ndarray) -> None:
    hexes = codes.to_hex(bits)
    assert isinstance(hexes, list) and all(len(h) == 64 and h == h.lower() for h in hexes)
    assert hexes == [naive_hex(row) for row in bits]
    np.testing.assert_array_equal(codes.from_hex(hexes), bits)
    np.testing.assert_array_equal(codes.from_hex([h.upper() for h in hexes]), bits)


@given(one_code)
def test_single_code_in_single_code_out(bits: np.ndarray) -> None:
    text = codes.to_hex(bits)
    assert isinstance(text, str)
    np.testing.assert_array_equal(codes.from_hex(text), bits)
    assert codes.to_words(bits).shape == (4,)
    assert codes.to_subcodes(bits).shape == (16,)
    assert Code.from_bits(bits).hex == text


@given(bit_rows)
def test_words_round_trip(bits: np.ndarray) -> None:
    words = codes.to_words(bits)
    assert words.dtype == np.int64 and words.shape == (len(bits), 4)
    np.testing.assert_array_equal(codes.from_words(words), bits)
    np.testing.assert_array_equal(codes.from_words(words.view(np.uint64)), bits)
    for row, hex_code in zip(words, codes.to_hex(bits), strict=True):
        unsigned = [int(hex_code[i : i + 16], 16) for i in range(0, 64, 16)]
        assert [int(w) & (2**64 - 1) for w in row] == unsigned


@given(word_rows)
def test_words_to_bits_and_back(words: np.ndarray) -> None:
    np.testing.assert_array_equal(codes.to_words(codes.from_words(words)), words)


@given(bit_rows)
def test_subcodes_are_the_code_in_16_bit_pieces(bits: np.ndarray) -> None:
    subcodes = codes.to_subcodes(bits)
    assert subcodes.dtype == np.uint16 and subcodes.shape == (len(bits), 16)
    np.testing.assert_array_equal(codes.from_subcodes(subcodes), bits)
    for row, hex_code in zip(subcodes, codes.to_hex(bits), strict=True):
        assert [f"{int(s):04x}" for s in row] == [hex_code[i : i + 4] for i in range(0, 64, 4)]
    for row, code_bits in zip(subcodes, bits, strict=True):  # sub-code p = bits 16p..16p+15
        for position in (0, 3, 9, 15):
            piece = code_bits[16 * position : 16 * position + 16]
            assert int(row[position]) == int("".join(map(str, piece)), 2)


def test_subcodes_of_any_multiple_of_16_bits() -> None:
    assert codes.to_subcodes(np.ones((2, 3, 48), dtype=np.uint8)).shape == (2, 3, 3)
    short = codes.to_subcodes(np.ones(64, dtype=np.uint8))
    assert short.tolist() == [0xFFFF] * codes.N_SUBCODES


@given(bit_rows)
def test_short_code_is_word_r0(bits: np.ndarray) -> None:
    words = codes.to_words(bits)
    subcodes = codes.to_subcodes(bits)[:, : codes.N_SUBCODES].astype(np.uint64)
    joined = (
        (subcodes[:, 0] << 48) | (subcodes[:, 1] << 32) | (subcodes[:, 2] << 16) | subcodes[:, 3]
    )
    np.testing.assert_array_equal(joined.view(np.int64), words[:, 0])


@given(bit_rows)
def test_pack_round_trip(bits: np.ndarray) -> None:
    packed = codes.pack_bits(bits)
    assert packed.shape == (len(bits), 32)
    np.testing.assert_array_equal(codes.unpack_bits(packed), bits)
    np.testing.assert_array_equal(codes.unpack_bits(packed[0].tobytes()), bits[0])


def test_lengths_come_from_shapes() -> None:
    bits = np.zeros((2, 3, 128), dtype=np.uint8)
    bits[..., 0] = 1
    assert codes.to_words(bits).shape == (2, 3, 2)
    assert codes.pack_bits(bits).shape == (2, 3, 16)
    assert codes.to_hex(bits[0]) == ["8" + "0" * 31] * 3
    np.testing.assert_array_equal(codes.from_hex("8" + "0" * 31, n_bits=128), bits[0, 0])


# --- the bit order and signed words --------------------------------------------------------


def test_bit_order_is_most_significant_first() -> None:
    bits = np.zeros(256, dtype=np.uint8)
    bits[0] = 1  # bit 0: the most significant bit of word 0 and of sub-code 0
    assert codes.to_hex(bits) == "8" + "0" * 63
    assert codes.to_words(bits)[0] == LONG_MIN
    assert codes.to_subcodes(bits)[0] == 0x8000
    bits[0], bits[255] = 0, 1
    assert codes.to_words(bits)[3] == 1
    bits[255], bits[63] = 0, 1
    assert codes.to_words(bits)[0] == 1 and codes.to_subcodes(bits)[3] == 1
    bits[63], bits[255] = 0, 1  # the last bit: the least significant of sub-code 15
    assert codes.to_subcodes(bits).tolist() == [0] * 15 + [1]


@pytest.mark.parametrize(
    ("word_hex", "value"),
    [
        ("0" * 16, 0),
        ("f" * 16, -1),
        ("8" + "0" * 15, LONG_MIN),
        ("7" + "f" * 15, LONG_MAX),
        ("0" * 15 + "1", 1),
        ("f" * 15 + "e", -2),
    ],
)
def test_signed_words_match_java_longs(word_hex: str, value: int) -> None:
    code = Code.from_hex(word_hex * 4)
    assert code.words.tolist() == [value] * 4
    np.testing.assert_array_equal(codes.from_words(code.words), code.bits)
    np.testing.assert_array_equal(codes.from_words([value] * 4), code.bits)
    assert Code.from_words(code.words) == code


def test_outputs_become_bits_by_sign() -> None:
    outputs = np.array([[-1.0, 0.0, 0.5, -0.0, 1e-30] + [0.0] * 251])
    bits = codes.bits_from_outputs(outputs)
    assert bits.dtype == np.uint8 and bits.shape == (1, 256)
    assert bits[0, :5].tolist() == [0, 0, 1, 0, 1]
    assert codes.bits_from_outputs(np.ones(256, dtype=np.float32)).shape == (256,)
    with pytest.raises(CodeError, match="NaN"):
        codes.bits_from_outputs(np.full((1, 256), np.nan))
    with pytest.raises(CodeError, match="real numbers"):
        codes.bits_from_outputs(np.array([["a"]]))


# --- errors say what is wrong and what was expected -----------------------------------------


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("0" * 63, r"^code must be 64 hex characters \(256 bits\), got 63$"),
        ("0" * 65, "got 65"),
        ("", "got 0"),
        ("g" + "0" * 63, "not hex: character 'g' at position 0"),
        ("0" * 62 + " 0", "not hex: character ' ' at position 62"),
        (1234, "must be a hex string, got int"),
    ],
)
def test_bad_hex_is_named(bad: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        Code.from_hex(bad)
    with pytest.raises(CodeError, match=message.replace("^code", "^code #0")):
        codes.from_hex([bad])


def test_code_error_is_a_value_error_and_an_elastichash_error() -> None:
    from elastichash import ElasticHashError

    assert issubclass(CodeError, ValueError) and issubclass(CodeError, ElasticHashError)


def test_code_normalises_case() -> None:
    assert Code("ABCDEF" + "0" * 58).hex == "abcdef" + "0" * 58
    assert Code.from_hex("A" * 64) == Code.from_hex("a" * 64)
    assert str(Code("0" * 64)) == "0" * 64


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: codes.to_words(np.zeros((1, 100), dtype=np.uint8)), "multiple of 64 .* got 100"),
        (lambda: codes.pack_bits(np.zeros((1, 12), dtype=np.uint8)), "multiple of 8 .* got 12"),
        (lambda: codes.pack_bits(np.full((1, 8), 2)), "bits must be 0 or 1, got 2"),
        (lambda: codes.pack_bits(np.zeros((1, 8), dtype=float)), "integers 0 or 1"),
        (lambda: codes.to_subcodes(np.zeros(40, dtype=np.uint8)), "multiple of 16 .* got 40"),
        (lambda: codes.from_subcodes([70000, 0, 0, 0]), r"\[0, 65535\]"),
        (lambda: codes.from_words(np.zeros(4, dtype=float)), "64-bit integers"),
        (lambda: codes.from_hex("00", n_bits=12), "multiple of 8"),
        (lambda: Code.from_bits(np.zeros((2, 256), dtype=np.uint8)), "one code is 256 bits"),
        (lambda: codes.to_words(np.uint8(1)), "scalar"),
    ],
)
def test_bad_shapes_and_values_are_named(call: Callable[[], object], message: str) -> None:
    with pytest.raises(CodeError, match=message):
        call()


# --- sub-code neighbours ---------------------------------------------------------------------


@pytest.mark.parametrize(("radius", "count"), [(0, 1), (1, 17), (2, 137), (3, 697)])
@pytest.mark.parametrize("value", [0, 0xBEEF, 0xFFFF, 0x8001])
def test_subcode_neighbours(radius: int, count: int, value: int) -> None:
    neighbours = codes.subcode_neighbours(value, radius)
    assert neighbours.dtype == np.uint16
    assert len(neighbours) == count == len(set(neighbours.tolist()))
    keys = [(bin(int(n) ^ value).count("1"), int(n)) for n in neighbours]
    assert keys == sorted(keys)  # by distance, then by value
    assert keys[0] == (0, value) and keys[-1][0] == radius
    brute = (
        [v for v in range(1 << 16) if bin(v ^ value).count("1") <= radius] if radius < 2 else None
    )
    if brute is not None:
        assert sorted(neighbours.tolist()) == brute


def test_subcode_neighbours_default_radius_is_2() -> None:
    assert len(codes.subcode_neighbours(0x1234)) == 137


def test_subcode_neighbours_of_narrow_subcodes() -> None:
    assert codes.subcode_neighbours(0b101, 1, n_bits=3).tolist() == [0b101, 0b001, 0b100, 0b111]


def test_subcode_neighbours_rejects_out_of_range() -> None:
    with pytest.raises(CodeError, match=r"sub-code must be in \[0, 65535\], got 65536"):
        codes.subcode_neighbours(1 << 16)
    with pytest.raises(CodeError, match="radius must be in"):
        codes.subcode_neighbours(0, -1)
    with pytest.raises(CodeError, match="width"):
        codes.subcode_neighbours(0, 1, n_bits=17)


# --- batches in any form ---------------------------------------------------------------------


@given(bit_rows)
def test_bit_rows_takes_every_form_of_a_batch(bits: np.ndarray) -> None:
    hexes = codes.to_hex(bits)
    for form in (bits, codes.pack_bits(bits), hexes, [h.upper() for h in hexes]):
        np.testing.assert_array_equal(codes.bit_rows(form), bits)
    np.testing.assert_array_equal(codes.bit_rows([Code(h) for h in hexes]), bits)
    np.testing.assert_array_equal(codes.bit_rows(hexes[0]), bits[:1])  # one code: a batch of one
    np.testing.assert_array_equal(codes.bit_rows(codes.pack_bits(bits[0])), bits[:1])


def test_bit_rows_rejects_other_shapes() -> None:
    assert codes.bit_rows([]).shape == (0, 256)
    with pytest.raises(CodeError, match=r"\(n, 256\) bits, \(n, 32\) packed bytes .* \(2, 64\)"):
        codes.bit_rows(np.zeros((2, 64), dtype=np.uint8))
    with pytest.raises(CodeError, match="bits must be 0 or 1, got 7"):
        codes.bit_rows(np.full((1, 256), 7))
    with pytest.raises(CodeError, match=hex_error_pattern(["abc"])):
        codes.bit_rows(["abc"])


# --- popcount and Hamming distance ------------------------------------------------------------


@given(one_code, bit_rows)
def test_hamming_matches_bit_count(query: np.ndarray, bits: np.ndarray) -> None:
    got = codes.hamming_distance(codes.to_words(query), codes.to_words(bits))
    np.testing.assert_array_equal(got, (bits != query).sum(axis=1))


@given(word_rows, st.data())
def test_hamming_matches_naive_python(a: np.ndarray, data: st.DataObject) -> None:
    b = data.draw(arrays(np.int64, a.shape, elements=int64s))
    got = codes.hamming_distance(a, b)
    assert got.tolist() == [
        naive_hamming(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)
    ]
    table = codes.hamming_distance(a[:, None, :], b[None, :, :])
    assert table.shape == (len(a), len(b))
    assert table[-1, 0] == naive_hamming(a[-1].tolist(), b[0].tolist())


@given(bit_rows, bit_rows)
def test_hamming_table_matches_words(a: np.ndarray, b: np.ndarray) -> None:
    table = codes.hamming_table(a, b)
    assert table.shape == (len(a), len(b)) and table.dtype == np.int32
    words = codes.hamming_distance(codes.to_words(a)[:, None, :], codes.to_words(b)[None, :, :])
    np.testing.assert_array_equal(table, words)


def test_hamming_table_any_width_and_bad_input() -> None:
    db = np.array([[0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=np.uint8)
    assert codes.hamming_table(db[:1], db).tolist() == [[0, 1, 0, 4]]
    wide = np.ones((2, 4096), dtype=np.uint8)
    wide[1, ::2] = 0
    assert codes.hamming_table(wide, wide).tolist() == [[0, 2048], [2048, 0]]
    with pytest.raises(CodeError, match="differ in length: 4 and 3 bits"):
        codes.hamming_table(db, db[:, :3])
    with pytest.raises(CodeError, match="two bit matrices"):
        codes.hamming_table(db[0], db)
    with pytest.raises(CodeError, match="must be 0 or 1"):
        codes.hamming_table(db * 2, db)


@given(arrays(np.int64, st.integers(0, 20), elements=int64s))
def test_popcount_fallback_matches_numpy(words: np.ndarray) -> None:
    expected = [bin(w & (2**64 - 1)).count("1") for w in words.tolist()]
    assert codes.popcount(words).tolist() == expected
    assert codes._popcount_bytes(words.view(np.uint64)).tolist() == expected


def test_popcount_without_bitwise_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(np, "bitwise_count", raising=False)
    words = np.array([0, -1, LONG_MIN, LONG_MAX, 0x0F0F], dtype=np.int64)
    assert codes.popcount(words).tolist() == [0, 64, 1, 63, 8]
    assert codes.hamming_distance(np.zeros(5, dtype=np.int64), words) == 136


def test_hamming_of_edge_words() -> None:
    words = np.array([[0, -1, LONG_MIN, LONG_MAX]], dtype=np.int64)
    assert codes.hamming_distance(np.zeros(4, dtype=np.int64), words).tolist() == [0 + 64 + 1 + 63]
    assert codes.hamming_distance(np.full(4, -1, dtype=np.int64), words).tolist() == [
        64 + 0 + 63 + 1
    ]
    assert codes.hamming_distance(words.view(np.uint64), words).tolist() == [0]
    with pytest.raises(CodeError, match="differ in length: 2 and 4 words"):
        codes.hamming_distance(np.zeros(2, dtype=np.int64), words)


def test_code_distance() -> None:
    a = Code.from_hex("0" * 64)
    b = Code.from_hex("f" + "0" * 62 + "1")
    assert a.distance(b) == 5 and b.distance(a) == 5 and a.distance(a) == 0
