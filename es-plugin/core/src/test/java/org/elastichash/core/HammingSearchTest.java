package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntPredicate;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The search against brute force, on random and clustered codes, over several segments. */
class HammingSearchTest {

    private final int LABELS = 5;
    private final int NO_LIMIT = 256;
    private static ExecutorService executor;

    @BeforeAll
    static void startExecutor() {
        executor = Executors.newFixedThreadPool(2);
    }

    @AfterAll
    static void stopExecutor() {
        executor.shutdown();
    }

    /** The layout the codes are indexed in; {@link WordFieldsSearchTest} runs every test on the earlier one. */
    CodeLayout layout() {
        return CodeIndex.COLUMN_LAYOUT;
    }

    /** How the searches run; {@link CachedCodesSearchTest} runs every test on the code cache's rows. */
    HammingSearch.Runtime runtime() {
        return HammingSearch.Runtime.DEFAULT;
    }

    private HammingResult search(IndexSearcher searcher, HammingRequest request) throws IOException {
        return HammingSearch.search(searcher, request, runtime());
    }

    private CodeIndex build(long[][] codes, int labelCount, int segmentSize, IntPredicate bare, Random random) throws IOException {
        return CodeIndex.build(codes, labelCount, segmentSize, bare, random, layout());
    }

    private HammingRequest request(long[] query, int k, int maxDistance, HammingRequest.Mode mode, int radius, Query filter) {
        return new HammingRequest(query, layout(), k, maxDistance, mode, radius, filter);
    }

    private HammingResult exact(IndexSearcher searcher, long[] query, int k) throws IOException {
        return search(searcher, HammingRequest.exact(query, layout(), k));
    }

    private void assertNearest(CodeIndex index, IndexSearcher searcher, long[] query, int k) throws IOException {
        HammingResult result = exact(searcher, query, k);
        assertArrayEquals(index.nearest(query, k, NO_LIMIT, i -> true), CodeIndex.asPairs(result), "k=" + k);
    }

    @Test
    void clusteredCodesAreFoundByHashingAndEqualBruteForce() throws IOException {
        Random random = new Random(1);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(30_000, 150, 0.04, random), LABELS, 12_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            assertEquals(3, index.reader.leaves().size());
            for (int q = 0; q < 40; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.04, random);
                for (int k : new int[] {1, 10, 100}) {
                    assertNearest(index, searcher, query, k);
                }
            }
        }
    }

    @Test
    void largeSegmentsOfManySmallClustersAreSearchedByHashingAlone() throws IOException {
        Random random = new Random(11);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(150_000, 15_000, 0.02, random), LABELS, 150_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.02, random);
                // Tight clusters of 10: the 3 nearest lie within distance 31, so rings 0 and 1 certify them.
                HammingResult result = exact(searcher, query, 3);
                assertArrayEquals(index.nearest(query, 3, NO_LIMIT, i -> true), CodeIndex.asPairs(result));
                assertEquals(0, result.stats().segmentsScanned(), result.stats().toString());
                assertTrue(result.stats().radius() <= 1, "rings 0 and 1 are enough: " + result.stats());
                assertTrue(result.stats().candidates() < 2_000, "hashing should look at a few clusters: " + result.stats());
            }
        }
    }

    @Test
    void aKLargerThanTheQuerysClusterScansWithoutTheRingThatCannotEndTheSearch() throws IOException {
        Random random = new Random(12);
        // Clusters of about 100 codes within distance ~20 of each other: ring 0 finds the query's
        // cluster, under half of k = 1000; ring 1 could not find the rest within distance 31, so
        // the search goes from ring 0 straight to the scan, and must still equal brute force.
        try (CodeIndex index = build(CodeIndex.clusteredCodes(160_000, 1_600, 0.04, random), LABELS, 160_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader, executor);
            for (int q = 0; q < 4; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.04, random);
                HammingResult result = exact(searcher, query, 1000);
                assertArrayEquals(index.nearest(query, 1000, NO_LIMIT, i -> true), CodeIndex.asPairs(result));
                assertEquals(0, result.stats().radius(), result.stats().toString());
                assertEquals(1, result.stats().segmentsScanned(), result.stats().toString());
            }
        }
    }

    @Test
    void laterRingsLookUpOnlyThePositionsThatCanHoldADocumentWithinTheBound() throws IOException {
        Random random = new Random(13);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(60_000, 6_000, 0.02, random), LABELS, 60_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.02, random);
                HammingResult result = search(searcher, request(query, 10_000, 20, HammingRequest.Mode.EXACT, 2, null));
                assertArrayEquals(index.nearest(query, 10_000, 20, i -> true), CodeIndex.asPairs(result));
                // Within 20 a document has at most 20 - 16 = 4 sub-codes at distance 2 or more: ring 1
                // needs only the first 5 positions (16 values each), after ring 0's 16 lookups (and
                // the 16 before it that read their document frequencies: is ring 0 worth reading?).
                assertEquals(1, result.stats().radius(), result.stats().toString());
                assertEquals(16 + 16 + 5 * 16, result.stats().termLookups(), result.stats().toString());
            }
            // Plain k: the bound is the k-th distance found, and the rings shrink with it alike.
            for (int q = 0; q < 20; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.03, random);
                for (int k : new int[] {1, 5, 30}) {
                    assertNearest(index, searcher, query, k);
                }
            }
        }
    }

    @Test
    void crowdedSubCodesOfTheQuerySendItStraightToTheScan() throws IOException {
        Random random = new Random(14);
        // The first half of every code is zero (bits a domain never sets): the query's first 8
        // sub-codes hold every document, so ring 0 alone would read 8 postings per document.
        long[][] codes = CodeIndex.randomCodes(40_000, random);
        for (long[] code : codes) {
            code[0] = 0;
            code[1] = 0;
        }
        try (CodeIndex index = build(codes, LABELS, 40_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 3; q++) {
                long[] query = codes[random.nextInt(codes.length)].clone();
                query[3] ^= 0xFFL;
                HammingResult result = exact(searcher, query, 10);
                assertArrayEquals(index.nearest(query, 10, NO_LIMIT, i -> true), CodeIndex.asPairs(result));
                assertEquals(-1, result.stats().radius(), "no ring read: " + result.stats());
                assertEquals(1, result.stats().segmentsScanned(), result.stats().toString());
            }
        }
    }

    @Test
    void uniformlyRandomCodesAreScannedAndEqualBruteForce() throws IOException {
        Random random = new Random(2);
        try (CodeIndex index = build(CodeIndex.randomCodes(20_000, random), LABELS, 7_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader, executor);
            for (int q = 0; q < 20; q++) {
                long[] query = CodeIndex.randomCodes(1, random)[0];
                for (int k : new int[] {1, 10, 250}) {
                    assertNearest(index, searcher, query, k);
                }
            }
            HammingResult result = exact(searcher, CodeIndex.randomCodes(1, random)[0], 10);
            assertTrue(result.stats().segmentsScanned() > 0, "hashing cannot prune random codes: " + result.stats());
        }
    }

    @Test
    void queriesInTheIndexFindThemselvesFirst() throws IOException {
        Random random = new Random(3);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(10_000, 40, 0.05, random), LABELS, 10_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int id : new int[] {0, 17, 5_000, 9_999}) {
                HammingResult result = exact(searcher, index.codes[id], 1);
                long[] expected = index.nearest(index.codes[id], 1, NO_LIMIT, i -> true);
                assertArrayEquals(expected, CodeIndex.asPairs(result));
                assertEquals(0, result.distances()[0]);
            }
        }
    }

    @Test
    void tiesAtTheKthDistanceGoToTheLowestDocuments() throws IOException {
        Random random = new Random(4);
        long[] base = CodeIndex.randomCodes(1, random)[0];
        long[][] codes = new long[9_000][];
        for (int i = 0; i < codes.length; i++) {
            codes[i] = base.clone();
            codes[i][i % 4] ^= 1L << (i % 3); // only 12 distinct codes at distance 1 from base
        }
        try (CodeIndex index = build(codes, LABELS, 5_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            HammingResult result = exact(searcher, base, 25);
            assertArrayEquals(index.nearest(base, 25, NO_LIMIT, i -> true), CodeIndex.asPairs(result));
            assertArrayEquals(java.util.stream.IntStream.range(0, 25).toArray(), result.docs());
        }
    }

    @Test
    void filtersRestrictTheCandidatesAndStillGiveK() throws IOException {
        Random random = new Random(5);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(20_000, 80, 0.04, random), LABELS, 9_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader, executor);
            for (int q = 0; q < 20; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.04, random);
                int label = q % LABELS;
                Query filter = new TermQuery(new Term(CodeIndex.LABEL, Integer.toString(label)));
                IntPredicate accept = i -> index.labels[i] == label;
                for (int k : new int[] {5, 300}) {
                    HammingResult result = search(searcher, request(query, k, -1, HammingRequest.Mode.EXACT, 2, filter));
                    assertArrayEquals(index.nearest(query, k, NO_LIMIT, accept), CodeIndex.asPairs(result));
                    assertEquals(k, result.size());
                }
            }
        }
    }

    @Test
    void deletedDocumentsAreNeverReturned() throws IOException {
        Random random = new Random(6);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(12_000, 30, 0.04, random), LABELS, 6_000, i -> false, random)) {
            long[] query = index.codes[100];
            IndexSearcher before = new IndexSearcher(index.reader);
            int[] nearest = exact(before, query, 50).docs();
            index.delete(nearest);
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int k : new int[] {1, 50, 500}) {
                assertNearest(index, searcher, query, k);
            }
        }
    }

    @Test
    void documentsWithoutCodesAreSkippedAndSegmentsWithoutTermsAreScanned() throws IOException {
        Random random = new Random(7);
        // Every 7th document lacks the code fields; the last segment (ids >= 10,000) has none at all.
        try (CodeIndex index = build(CodeIndex.clusteredCodes(15_000, 50, 0.04, random), LABELS, 5_000, i -> i % 7 == 0 || i >= 10_000, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            IntPredicate hasCode = i -> i % 7 != 0 && i < 10_000;
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(10_000)], 0.04, random);
                HammingResult result = exact(searcher, query, 40);
                assertArrayEquals(index.nearest(query, 40, NO_LIMIT, hasCode), CodeIndex.asPairs(result));
            }
        }
    }

    @Test
    void maxDistanceReturnsEveryDocumentWithinIt() throws IOException {
        Random random = new Random(8);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(20_000, 60, 0.03, random), LABELS, 8_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader, executor);
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.03, random);
                for (int maxDistance : new int[] {0, 12, 20, 40}) {
                    HammingResult result = search(searcher, request(query, 10_000, maxDistance, HammingRequest.Mode.EXACT, 2, null));
                    assertArrayEquals(index.nearest(query, 10_000, maxDistance, i -> true), CodeIndex.asPairs(result), "max_distance " + maxDistance);
                }
            }
        }
    }

    @Test
    void paperModeRanksExactlyTheFixedRadiusCandidates() throws IOException {
        Random random = new Random(9);
        try (CodeIndex index = build(CodeIndex.clusteredCodes(20_000, 60, 0.06, random), LABELS, 8_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.06, random);
                for (int radius : new int[] {0, 2}) {
                    IntPredicate candidate = i -> {
                        for (int p = 0; p < 4; p++) {
                            if (Integer.bitCount(HammingCodes.subCode(query, p) ^ HammingCodes.subCode(index.codes[i], p)) <= radius) {
                                return true;
                            }
                        }
                        return false;
                    };
                    HammingResult result = search(searcher, request(query, 1000, -1, HammingRequest.Mode.PAPER, radius, null));
                    assertArrayEquals(index.nearest(query, 1000, NO_LIMIT, candidate), CodeIndex.asPairs(result), "radius " + radius);
                    assertEquals(radius, result.stats().radius());
                }
            }
        }
    }

    @Test
    void emptyIndexAndFilterMatchingNothingGiveNothing() throws IOException {
        Random random = new Random(10);
        try (CodeIndex index = build(CodeIndex.randomCodes(100, random), LABELS, 100, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            Query nothing = new TermQuery(new Term(CodeIndex.LABEL, "no-such-label"));
            HammingResult result = search(searcher, request(index.codes[0], 10, -1, HammingRequest.Mode.EXACT, 2, nothing));
            assertEquals(0, result.size());
            index.delete(java.util.stream.IntStream.range(0, 100).toArray());
            assertEquals(0, exact(new IndexSearcher(index.reader), index.codes[0], 10).size());
        }
    }

    @Test
    void requestsNameTheParameterThatIsWrong() {
        long[] code = new long[4];
        assertTrue(assertThrows(IllegalArgumentException.class, () -> request(code, 0, -1, HammingRequest.Mode.EXACT, 2, null)).getMessage().startsWith("[k]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> request(code, 1, 257, HammingRequest.Mode.EXACT, 2, null)).getMessage().startsWith("[max_distance]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> request(code, 1, -1, HammingRequest.Mode.PAPER, 17, null)).getMessage().startsWith("[radius]"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new HammingRequest(new long[3], layout(), 1, -1, HammingRequest.Mode.EXACT, 2, null)).getMessage().startsWith("[code]"));
    }
}
