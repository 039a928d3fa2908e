package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SubCodesTest {

    @Test
    void subCodesFollowTheBitOrderOfTheHexForm() {
        long[] words = HammingCodes.parseHex("0123456789abcdef".repeat(4), 4);
        int[] subCodes = HammingCodes.subCodes(words);
        assertEquals(16, subCodes.length);
        for (int w = 0; w < 4; w++) {
            assertArrayEquals(new int[] {0x0123, 0x4567, 0x89ab, 0xcdef}, java.util.Arrays.copyOfRange(subCodes, 4 * w, 4 * w + 4));
        }
    }

    @Test
    void termsArePositionThenFourHexDigits() {
        assertEquals("00123", HammingCodes.subCodeTerm(0, 0x0123));
        assertEquals("fcdef", HammingCodes.subCodeTerm(15, 0xcdef));
        assertEquals("a0000", HammingCodes.subCodeTerm(10, 0));
        assertEquals("10ffff", HammingCodes.subCodeTerm(16, 0xffff));
    }

    @Test
    void ringsPartitionAllSubCodesByDistance() {
        int total = 0;
        Set<Integer> seen = new HashSet<>();
        int[] sizes = {1, 16, 120, 560, 1820, 4368, 8008, 11440, 12870};
        for (int r = 0; r <= 16; r++) {
            int[] ring = SubCodeNeighbours.ring(0xbeef, r);
            assertEquals(SubCodeNeighbours.ringSize(r), ring.length);
            if (r < sizes.length) {
                assertEquals(sizes[r], ring.length);
            }
            for (int value : ring) {
                assertEquals(r, Integer.bitCount(value ^ 0xbeef));
                seen.add(value);
            }
            total += ring.length;
        }
        assertEquals(1 << 16, total);
        assertEquals(1 << 16, seen.size());
    }
}
