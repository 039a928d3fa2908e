package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class TopKTest {

    @Test
    void keepsTheKSmallestPairsWhateverTheOrder() {
        Random random = new Random(3);
        for (int round = 0; round < 200; round++) {
            int k = 1 + random.nextInt(50);
            int n = random.nextInt(300);
            long[] all = new long[n];
            TopK top = new TopK(k);
            for (int i = 0; i < n; i++) {
                int distance = random.nextInt(20);
                int doc = random.nextInt(1 << 30);
                all[i] = (long) distance << 32 | doc;
                top.offer(distance, doc);
            }
            Arrays.sort(all);
            long[] expected = Arrays.copyOf(all, Math.min(k, n));
            assertArrayEquals(expected, top.sorted());
            assertEquals(n >= k, top.full());
        }
    }

    @Test
    void boundIsTheWorstDistanceOnceFull() {
        TopK top = new TopK(2);
        assertEquals(40, top.bound(40));
        top.offer(7, 1);
        assertFalse(top.full());
        top.offer(3, 2);
        assertTrue(top.full());
        assertEquals(7, top.bound(40));
        assertEquals(5, top.bound(5));
        top.offer(7, 0); // same distance, lower document: replaces (7, 1)
        assertEquals(0, TopK.docOf(top.sorted()[1]));
        top.offer(7, 9); // same distance, higher document: refused
        assertEquals(0, TopK.docOf(top.sorted()[1]));
    }

    @Test
    void countsThePairsHeldWithinADistance() {
        TopK top = new TopK(3);
        assertEquals(0, top.countWithin(100));
        for (int distance : new int[] {9, 4, 31, 2}) {
            top.offer(distance, distance); // 31 is pushed out by 2
        }
        assertEquals(0, top.countWithin(1));
        assertEquals(2, top.countWithin(4));
        assertEquals(3, top.countWithin(9));
        assertEquals(3, top.countWithin(31));
    }

    @Test
    void documentNumbersAboveTwoToThe31AreNotNeededButLargeOnesOrderCorrectly() {
        TopK top = new TopK(1);
        top.offer(1, Integer.MAX_VALUE);
        top.offer(1, 5);
        assertEquals(5, TopK.docOf(top.sorted()[0]));
    }
}
