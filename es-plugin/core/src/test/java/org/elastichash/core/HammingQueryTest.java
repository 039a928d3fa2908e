package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Executor;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.ScoreDoc;
import org.apache.lucene.search.TopDocs;
import org.junit.jupiter.api.Test;

/** The Lucene query every engine returns: hits, scores, explanations and the scan threads it is lent. */
class HammingQueryTest {

    private static HammingRequest exact(long[] query, int k) {
        return HammingRequest.exact(query, CodeIndex.COLUMN_LAYOUT, k);
    }

    /** (distance, doc) pairs of a search's hits, as CodeIndex.nearest gives them. */
    private static long[] pairs(TopDocs top) {
        long[] pairs = new long[top.scoreDocs.length];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = (long) (256 - (int) top.scoreDocs[i].score) << 32 | top.scoreDocs[i].doc;
        }
        return pairs;
    }

    @Test
    void aSearcherReturnsTheExactNearestScoredBitsMinusDistance() throws IOException {
        Random random = new Random(5);
        try (CodeIndex index = CodeIndex.build(CodeIndex.clusteredCodes(6_000, 40, 0.05, random), 1, 2_500, i -> i % 50 == 0, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 10; q++) {
                long[] query = CodeIndex.noisy(index.codes[random.nextInt(index.codes.length)], 0.05, random);
                for (int k : new int[] {1, 10, 100}) {
                    TopDocs top = searcher.search(new HammingQuery(exact(query, k)), k);
                    long[] expected = index.nearest(query, k, 256, i -> i % 50 != 0);
                    // Lucene sorts equal scores by document, as the search keeps ties: the same order.
                    assertArrayEquals(expected, pairs(top), "k=" + k);
                }
            }
        }
    }

    @Test
    void explanationsSayHowTheHitWasFound() throws IOException {
        Random random = new Random(6);
        try (CodeIndex index = CodeIndex.build(CodeIndex.randomCodes(500, random), 1, 500, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            HammingQuery query = new HammingQuery(exact(index.codes[42], 3));
            ScoreDoc best = searcher.search(query, 3).scoreDocs[0];
            assertEquals(42, best.doc);
            Explanation hit = searcher.explain(query, 42);
            assertTrue(hit.isMatch());
            assertEquals(256f, hit.getValue().floatValue());
            assertTrue(hit.getDescription().startsWith("hamming: 256 bits - distance 0 (exact search: "), hit.getDescription());
            int farthest = 0;
            for (int i = 0; i < index.codes.length; i++) {
                if (CodeIndex.distance(index.codes[42], index.codes[i]) > CodeIndex.distance(index.codes[42], index.codes[farthest])) {
                    farthest = i;
                }
            }
            Explanation miss = searcher.explain(query, farthest);
            assertFalse(miss.isMatch());
            assertEquals("not among the 3 nearest codes of this shard", miss.getDescription());
        }
    }

    @Test
    void theEngineChoosesTheScanThreadsPerSearcher() throws IOException {
        Random random = new Random(7);
        try (CodeIndex index = CodeIndex.build(CodeIndex.randomCodes(3_000, random), 1, 3_000, i -> false, random)) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            List<IndexSearcher> asked = new ArrayList<>();
            Executor inline = Runnable::run;
            HammingQuery query = new HammingQuery(exact(index.codes[1], 5), s -> {
                asked.add(s);
                return new HammingSearch.Runtime(inline, () -> {}, null);
            });
            TopDocs top = searcher.search(query, 5);
            assertEquals(1, top.scoreDocs[0].doc);
            assertEquals(List.of(searcher), asked);
            assertEquals(query, new HammingQuery(exact(index.codes[1], 5)), "equal requests, equal queries: the threads are no part of it");
            assertNotEquals(query, new HammingQuery(exact(index.codes[2], 5)));
        }
    }
}
