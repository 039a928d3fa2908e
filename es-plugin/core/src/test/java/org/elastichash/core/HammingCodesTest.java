package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class HammingCodesTest {

    @Test
    void parsesEdgeWords() {
        long[] words = HammingCodes.parseHex(
            "0000000000000000" + "ffffffffffffffff" + "8000000000000000" + "7fffffffffffffff", 4
        );
        assertArrayEquals(new long[] {0L, -1L, Long.MIN_VALUE, Long.MAX_VALUE}, words);
    }

    @Test
    void firstHexCharacterHoldsTheMostSignificantBits() {
        // Bit 0 of the code is the most significant bit of the first word.
        assertEquals(Long.MIN_VALUE, HammingCodes.parseHex("8000000000000000", 1)[0]);
        assertEquals(1L, HammingCodes.parseHex("0000000000000001", 1)[0]);
        assertEquals(0x0123456789abcdefL, HammingCodes.parseHex("0123456789ABCDEF", 1)[0]);
    }

    @Test
    void hexRoundTripsForRandomCodes() {
        Random random = new Random(42);
        for (int n = 0; n < 1000; n++) {
            long[] words = random.longs(1 + random.nextInt(6)).toArray();
            String hex = HammingCodes.toHex(words);
            assertEquals(words.length * 16, hex.length());
            assertArrayEquals(words, HammingCodes.parseHex(hex, words.length));
        }
    }

    @Test
    void rejectsWrongLengthAndNamesBothLengths() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> HammingCodes.parseHex("abc", 4));
        assertTrue(e.getMessage().contains("64 hex characters"), e.getMessage());
        assertTrue(e.getMessage().contains("got 3"), e.getMessage());
    }

    @Test
    void rejectsNonHexAndNamesThePosition() {
        IllegalArgumentException e = assertThrows(
            IllegalArgumentException.class,
            () -> HammingCodes.parseHex("000000000000000g", 1)
        );
        assertTrue(e.getMessage().contains("'g' at position 15"), e.getMessage());
        // Character.digit accepts non-ASCII digits; hex codes must not.
        assertThrows(IllegalArgumentException.class, () -> HammingCodes.parseHex("000000000000000\u0661", 1));
    }

    @Test
    void rejectsSignsAndPrefixes() {
        assertThrows(IllegalArgumentException.class, () -> HammingCodes.parseHex("-000000000000001", 1));
        assertThrows(IllegalArgumentException.class, () -> HammingCodes.parseHex("0x00000000000001", 1));
        assertThrows(IllegalArgumentException.class, () -> HammingCodes.parseHex(null, 1));
    }

    @Test
    void distanceOfEdgeWords() {
        assertEquals(0, HammingCodes.distance(0L, 0L));
        assertEquals(64, HammingCodes.distance(0L, -1L));
        assertEquals(1, HammingCodes.distance(0L, Long.MIN_VALUE));
        assertEquals(63, HammingCodes.distance(-1L, Long.MIN_VALUE));
        assertEquals(64, HammingCodes.distance(Long.MIN_VALUE, Long.MAX_VALUE));
        assertEquals(256, HammingCodes.distance(new long[] {0, 0, 0, 0}, new long[] {-1, -1, -1, -1}));
    }

    @Test
    void distanceMatchesBitByBitCount() {
        Random random = new Random(7);
        for (int n = 0; n < 1000; n++) {
            long[] a = random.longs(4).toArray();
            long[] b = random.longs(4).toArray();
            int expected = 0;
            for (int w = 0; w < 4; w++) {
                for (int bit = 0; bit < 64; bit++) {
                    if (((a[w] >>> bit) & 1L) != ((b[w] >>> bit) & 1L)) {
                        expected++;
                    }
                }
            }
            assertEquals(expected, HammingCodes.distance(a, b));
        }
    }

    @Test
    void distanceRejectsCodesOfDifferentLength() {
        assertThrows(IllegalArgumentException.class, () -> HammingCodes.distance(new long[2], new long[4]));
    }
}
