import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from elastichash import codes
from elastichash.codes import Code, CodeError

bit_rows = arrays(np.uint8, st.tuples(st.integers(1, 5), st.just(256)), elements=st.integers(0, 1))


@given(bit_rows)
def test_hex_round_trip(bits: np.ndarray) -> None:
    hexes = codes.to_hex(bits)
    assert all(len(h) == 64 for h in hexes)
    np.testing.assert_array_equal(codes.from_hex(hexes), bits)


@given(bit_rows)
def test_words_round_trip(bits: np.ndarray) -> None:
    words = codes.to_words(bits)
    assert words.dtype == np.int64 and words.shape == (len(bits), 4)
    np.testing.assert_array_equal(codes.from_words(words), bits)


@given(bit_rows)
def test_subcodes_are_the_first_64_bits(bits: np.ndarray) -> None:
    subcodes = codes.to_subcodes(bits)
    assert subcodes.dtype == np.uint16 and subcodes.shape == (len(bits), 4)
    np.testing.assert_array_equal(codes.from_subcodes(subcodes), bits[:, :64])


@given(bit_rows)
def test_pack_round_trip(bits: np.ndarray) -> None:
    np.testing.assert_array_equal(codes.unpack(codes.pack(bits)), bits)


def test_bit_order_is_most_significant_first() -> None:
    bits = np.zeros((1, 256), dtype=np.uint8)
    bits[0, 0] = 1  # bit 0: the most significant bit of word 0 and of sub-code 0
    assert codes.to_hex(bits)[0] == "8" + "0" * 63
    assert codes.to_words(bits)[0, 0] == np.iinfo(np.int64).min
    assert codes.to_subcodes(bits)[0, 0] == 0x8000
    bits[0, 0], bits[0, 255] = 0, 1
    assert codes.to_words(bits)[0, 3] == 1


@pytest.mark.parametrize(
    ("word_hex", "value"),
    [("0" * 16, 0), ("f" * 16, -1), ("8" + "0" * 15, -(2**63)), ("7" + "f" * 15, 2**63 - 1)],
)
def test_signed_words_match_java_longs(word_hex: str, value: int) -> None:
    code = Code.from_hex(word_hex * 4)
    assert list(code.words) == [value] * 4
    np.testing.assert_array_equal(codes.from_words(code.words[None, :]), code.bits[None, :])


def test_outputs_become_bits_by_sign() -> None:
    outputs = np.array([[-1.0, 0.0, 0.5] + [0.0] * 253])
    assert list(codes.bits_from_outputs(outputs)[0, :3]) == [0, 0, 1]
    with pytest.raises(CodeError, match="shape"):
        codes.bits_from_outputs(np.zeros((1, 255)))


@pytest.mark.parametrize(
    ("bad", "message"),
    [("0" * 63, "64 hex characters .* got 63"), ("0" * 65, "got 65"), ("g" + "0" * 63, "not hex: character 'g'")],
)
def test_bad_hex_is_named(bad: str, message: str) -> None:
    with pytest.raises(CodeError, match=message):
        Code.from_hex(bad)


@pytest.mark.parametrize(("radius", "count"), [(0, 1), (1, 17), (2, 137), (3, 697)])
def test_subcode_neighbours(radius: int, count: int) -> None:
    value = 0xBEEF
    neighbours = codes.subcode_neighbours(value, radius)
    assert len(neighbours) == count == len(set(neighbours.tolist()))
    distances = [bin(int(n) ^ value).count("1") for n in neighbours]
    assert distances == sorted(distances) and max(distances) == radius
    assert neighbours[0] == value


def test_subcode_neighbours_rejects_out_of_range() -> None:
    with pytest.raises(CodeError):
        codes.subcode_neighbours(1 << 16)
    with pytest.raises(CodeError):
        codes.subcode_neighbours(0, -1)


@given(bit_rows, arrays(np.uint8, 256, elements=st.integers(0, 1)))
def test_hamming_matches_bit_count(bits: np.ndarray, query: np.ndarray) -> None:
    expected = (bits != query).sum(axis=1)
    got = codes.hamming(codes.to_words(query)[0], codes.to_words(bits))
    np.testing.assert_array_equal(got, expected)


def test_hamming_of_edge_words() -> None:
    words = np.array([[0, -1, np.iinfo(np.int64).min, np.iinfo(np.int64).max]], dtype=np.int64)
    assert codes.hamming(np.zeros(4, dtype=np.int64), words)[0] == 0 + 64 + 1 + 63
    with pytest.raises(CodeError, match="differ in length"):
        codes.hamming(np.zeros(2, dtype=np.int64), words)


def test_code_distance() -> None:
    a = Code.from_hex("0" * 64)
    b = Code.from_hex("f" + "0" * 62 + "1")
    assert a.distance(b) == 5
