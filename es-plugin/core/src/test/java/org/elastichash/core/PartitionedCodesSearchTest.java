package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermInSetQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.util.BytesRef;
import org.apache.lucene.util.FixedBitSet;
import org.junit.jupiter.api.Test;

/**
 * Every search test of {@link HammingSearchTest} with each segment's codes grouped around
 * pivots ({@link PivotPartition}), in small groups so that the test segments have many; and the
 * partition's own rules.
 */
class PartitionedCodesSearchTest extends HammingSearchTest {

    private final CodeCache cache = new CodeCache(CodeCache.limit(Long.MAX_VALUE), 1, 32, Runnable::run);

    @Override
    HammingSearch.Runtime runtime() {
        return new HammingSearch.Runtime(null, () -> {}, cache);
    }

    private static CachedCodes arrays(CodeIndex index, int segment, CodeCache cache) throws IOException {
        return (CachedCodes) CodeIndex.COLUMN_LAYOUT.open(index.reader.leaves().get(segment).reader(), cache);
    }

    @Test
    void everyCodeIsInItsNearestPivotsGroupSortedByDistance() throws IOException {
        Random random = new Random(21);
        long[][] codes = CodeIndex.clusteredCodes(5_000, 40, 0.15, random);
        try (CodeIndex index = CodeIndex.build(codes, 3, 5_000, i -> i % 7 == 0, random, layout())) {
            PivotPartition part = arrays(index, 0, cache).partition();
            assertNotNull(part);
            assertEquals((5_000 - 715) / 32, part.groups(), "a group per 32 codes (every 7th document has none)");
            boolean[] seen = new boolean[5_000];
            for (int g = 0; g < part.groups(); g++) {
                long[] pivot = new long[4];
                for (int w = 0; w < 4; w++) {
                    pivot[w] = part.pivots[w][g];
                }
                for (int i = part.starts[g]; i < part.starts[g + 1]; i++) {
                    long[] code = new long[4];
                    for (int w = 0; w < 4; w++) {
                        code[w] = part.words[w][i];
                    }
                    assertEquals(CodeIndex.distance(code, pivot), part.radius[i]);
                    assertTrue(i == part.starts[g] || part.radius[i - 1] <= part.radius[i]);
                    int[] toPivots = new int[part.groups()];
                    PivotPartition.pivotDistances(part.pivots, code, toPivots);
                    for (int other = 0; other < part.groups(); other++) {
                        assertTrue(toPivots[other] > part.radius[i] || (toPivots[other] == part.radius[i] && other >= g), "nearest pivot");
                    }
                    assertTrue(seen[part.docs[i]] == false);
                    seen[part.docs[i]] = true;
                }
            }
            // Every document with a code once, none without (every 7th has none).
            for (int doc = 0; doc < 5_000; doc++) {
                assertEquals(doc % 7 != 0, seen[doc], "doc " + doc);
            }
        }
    }

    @Test
    void aPartitionBuiltInTheBackgroundIsUsedOnceReadyWithTheSameAnswersAndCounted() throws IOException {
        Random random = new Random(22);
        long[][] codes = CodeIndex.clusteredCodes(6_000, 30, 0.12, random);
        List<Runnable> pending = new ArrayList<>();
        CodeCache later = new CodeCache(CodeCache.limit(Long.MAX_VALUE), 1_000, 32, pending::add);
        HammingSearch.Runtime runtime = new HammingSearch.Runtime(null, () -> {}, later);
        try (CodeIndex index = CodeIndex.build(codes, 3, 3_000, i -> false, random, layout())) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            long[] query = CodeIndex.noisy(codes[17], 0.12, random);
            HammingRequest request = HammingRequest.exact(query, layout(), 20);
            HammingResult before = HammingSearch.search(searcher, request, runtime);
            assertEquals(1, pending.size(), "the builds run one after the other, in one task of the pool");
            assertNull(arrays(index, 0, later).partition(), "not built yet: scans read the arrays in document order");
            assertEquals(2 * 3_000L * 32, later.bytes());
            pending.forEach(Runnable::run);
            assertNotNull(arrays(index, 0, later).partition());
            long partitions = arrays(index, 0, later).partition().bytes + arrays(index, 1, later).partition().bytes;
            assertEquals(2 * 3_000L * 32 + partitions, later.bytes(), "the partitions are counted");
            assertTrue(partitions >= 2 * PivotPartition.bytesFor(3_000, 4));
            HammingResult after = HammingSearch.search(searcher, request, runtime);
            assertArrayEquals(CodeIndex.asPairs(before), CodeIndex.asPairs(after));
            assertArrayEquals(index.nearest(query, 20, 256, i -> true), CodeIndex.asPairs(after));
            assertTrue(after.stats().candidates() < before.stats().candidates(), before.stats() + " then " + after.stats());
            assertEquals(0, before.stats().segmentsGrouped());
            assertEquals(2, after.stats().segmentsGrouped());
            assertTrue(after.stats().toString().endsWith("2 of 2 segments scanned (2 through pivot groups)"), after.stats().toString());
        }
        assertEquals(0, later.bytes(), "closed segments give their partitions back");
    }

    @Test
    void aPartitionThatDoesNotFitIsNotBuiltAndTheSearchStaysExact() throws IOException {
        Random random = new Random(23);
        long[][] codes = CodeIndex.clusteredCodes(4_000, 30, 0.12, random);
        // Room for the arrays in document order, not for the partition on top.
        CodeCache tight = new CodeCache(CodeCache.limit(4_000L * 32 + FixedBitSet.bits2words(4_000) * 8L + 64), 1, 32, Runnable::run);
        try (CodeIndex index = CodeIndex.build(codes, 3, 4_000, i -> false, random, layout())) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            long[] query = CodeIndex.noisy(codes[5], 0.12, random);
            HammingResult result = HammingSearch.search(searcher, HammingRequest.exact(query, layout(), 15), new HammingSearch.Runtime(null, () -> {}, tight));
            assertArrayEquals(index.nearest(query, 15, 256, i -> true), CodeIndex.asPairs(result));
            assertNull(arrays(index, 0, tight).partition());
            assertEquals(4_000L * 32, tight.bytes());
        }
    }

    /** Codes that differ only in their lowest {@code bits} bits. */
    private static long[][] fewBits(int n, int bits, Random random) {
        long[][] codes = new long[n][4];
        for (long[] code : codes) {
            code[0] = random.nextLong() & ((1L << bits) - 1);
        }
        return codes;
    }

    @Test
    void randomSegmentsDeletesAndBoundsEqualBruteForce() throws IOException {
        Random random = new Random(24);
        for (int round = 0; round < 9; round++) {
            int n = 500 + random.nextInt(4_000);
            long[][] codes = switch (round % 3) {
                case 0 -> CodeIndex.randomCodes(n, random);
                case 1 -> CodeIndex.clusteredCodes(n, 1 + random.nextInt(50), 0.05 + random.nextDouble() * 0.2, random);
                default -> fewBits(n, 14, random); // small distances, many ties at every bound and radius
            };
            CodeCache small = new CodeCache(CodeCache.limit(Long.MAX_VALUE), 1, 1 + random.nextInt(100), Runnable::run);
            try (CodeIndex index = CodeIndex.build(codes, 3, 200 + random.nextInt(n), i -> i % 11 == 0, random, layout())) {
                index.delete(random.nextInt(n), random.nextInt(n), random.nextInt(n));
                IndexSearcher searcher = new IndexSearcher(index.reader);
                for (int q = 0; q < 8; q++) {
                    long[] query = round % 3 == 2 ? fewBits(1, 14, random)[0]
                        : random.nextBoolean() ? CodeIndex.randomCodes(1, random)[0] : CodeIndex.noisy(codes[random.nextInt(n)], 0.1, random);
                    int k = 1 + random.nextInt(60);
                    int maxDistance = random.nextInt(4) == 0 ? (round % 3 == 2 ? 3 + random.nextInt(6) : 60 + random.nextInt(60)) : -1;
                    HammingRequest request = new HammingRequest(query, layout(), k, maxDistance, HammingRequest.Mode.EXACT, 2, null);
                    HammingResult result = HammingSearch.search(searcher, request, new HammingSearch.Runtime(null, () -> {}, small));
                    assertArrayEquals(index.nearest(query, k, maxDistance < 0 ? 256 : maxDistance, i -> i % 11 != 0), CodeIndex.asPairs(result),
                        "round " + round + " query " + q + " k " + k + " max " + maxDistance);
                }
            }
        }
    }

    @Test
    void codesOfEveryWidthEqualBruteForceInTheArraysAndThroughTheGroups() throws IOException {
        Random random = new Random(25);
        for (int width : new int[] {1, 2, 3, 5, 8, 16}) {
            int n = 3_000;
            long[][] codes = new long[n][];
            for (int i = 0; i < n; i++) {
                codes[i] = random.longs(width).toArray();
                if (i % 3 == 1) {
                    codes[i] = CodeIndex.noisy(codes[i - 1], 0.05, random); // near neighbours for the rings
                }
            }
            CodeLayout layout = new CodeLayout.Column(CodeIndex.COLUMN, width);
            try (CodeIndex index = CodeIndex.build(codes, 3, 1_000, i -> i % 7 == 0, random, layout)) {
                IndexSearcher searcher = new IndexSearcher(index.reader);
                // Every segment grouped (1,000 codes, 100 a group), and none grouped.
                for (int minCodes : new int[] {1, Integer.MAX_VALUE}) {
                    CodeCache cache = new CodeCache(CodeCache.limit(Long.MAX_VALUE), minCodes, 100, Runnable::run);
                    for (int q = 0; q < 6; q++) {
                        long[] query = q % 2 == 0 ? random.longs(width).toArray() : CodeIndex.noisy(codes[random.nextInt(n)], 0.05, random);
                        int k = 1 + random.nextInt(40);
                        HammingRequest request = HammingRequest.exact(query, layout, k);
                        HammingResult result = HammingSearch.search(searcher, request, new HammingSearch.Runtime(null, () -> {}, cache));
                        assertArrayEquals(index.nearest(query, k, 64 * width, i -> i % 7 != 0), CodeIndex.asPairs(result),
                            width + " words, query " + q + ", groups from " + minCodes);
                    }
                    assertEquals(3, cache.segments(), "the arrays were read");
                }
            }
        }
    }

    @Test
    void aFilterOfManyDocumentsScansThroughTheGroupsAndOneOfFewChecksEachOfThem() throws IOException {
        Random random = new Random(26);
        long[][] codes = CodeIndex.clusteredCodes(6_000, 40, 0.15, random);
        try (CodeIndex index = CodeIndex.build(codes, 4, 3_000, i -> i % 13 == 0, random, layout())) {
            index.delete(3, 4_000);
            IndexSearcher searcher = new IndexSearcher(index.reader);
            List<BytesRef> few = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                few.add(new BytesRef(Integer.toString(i * 150))); // 20 a segment: under 3,000 / 32
            }
            for (int q = 0; q < 6; q++) {
                long[] query = CodeIndex.noisy(codes[random.nextInt(codes.length)], 0.15, random);
                int label = q % 4;
                Query many = new TermQuery(new Term(CodeIndex.LABEL, Integer.toString(label)));
                HammingResult grouped = HammingSearch.search(searcher,
                    new HammingRequest(query, layout(), 30, -1, HammingRequest.Mode.EXACT, 2, many), runtime());
                assertArrayEquals(index.nearest(query, 30, 256, i -> index.labels[i] == label && i % 13 != 0), CodeIndex.asPairs(grouped));
                assertEquals(2, grouped.stats().segmentsGrouped(), grouped.stats().toString());
                HammingResult oneByOne = HammingSearch.search(searcher,
                    new HammingRequest(query, layout(), 30, -1, HammingRequest.Mode.EXACT, 2, new TermInSetQuery("id", few)), runtime());
                assertArrayEquals(index.nearest(query, 30, 256, i -> i % 150 == 0 && i < 6_000 && i % 13 != 0), CodeIndex.asPairs(oneByOne));
                assertEquals(0, oneByOne.stats().segmentsGrouped(), oneByOne.stats().toString());
            }
        }
    }
}
