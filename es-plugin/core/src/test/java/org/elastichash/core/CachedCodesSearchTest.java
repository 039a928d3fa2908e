package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Random;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.util.FixedBitSet;
import org.junit.jupiter.api.Test;

/** Every search test of {@link HammingSearchTest} on the arrays of a {@link CodeCache}, and the cache's own rules. */
class CachedCodesSearchTest extends HammingSearchTest {

    private final CodeCache cache = new CodeCache(CodeCache.limit(Long.MAX_VALUE));

    @Override
    HammingSearch.Runtime runtime() {
        return new HammingSearch.Runtime(null, () -> {}, cache);
    }

    @Test
    void eachSegmentIsLoadedOnceAndReleasedWhenItCloses() throws IOException {
        Random random = new Random(11);
        long[][] codes = CodeIndex.clusteredCodes(9_000, 20, 0.1, random);
        CodeIndex index = CodeIndex.build(codes, 3, 3_000, i -> i % 5 == 0, random, layout());
        IndexSearcher searcher = new IndexSearcher(index.reader);
        for (int q = 0; q < 5; q++) {
            HammingSearch.search(searcher, HammingRequest.exact(CodeIndex.randomCodes(1, random)[0], layout(), 10), runtime());
        }
        assertEquals(3, cache.loads(), "three segments, each loaded once");
        assertEquals(3, cache.segments());
        // 4 words of 8 bytes a document, and a bit set of the documents with a code (some lack one).
        assertEquals(3 * (3_000L * 32 + new FixedBitSet(3_000).ramBytesUsed()), cache.bytes());
        index.close();
        assertEquals(0, cache.bytes(), "closed segments give their arrays back");
        assertEquals(0, cache.segments());
    }

    @Test
    void segmentsThatDoNotFitAreReadFromTheirColumnsWithTheSameAnswers() throws IOException {
        Random random = new Random(12);
        long[][] codes = CodeIndex.clusteredCodes(8_000, 20, 0.1, random);
        // Room for one 4,000-document segment of the two (a load reserves room for a bit set too,
        // and gives it back where every document has a code).
        CodeCache small = new CodeCache(CodeCache.limit(4_000L * 32 + FixedBitSet.bits2words(4_000) * 8L + 64));
        try (CodeIndex index = CodeIndex.build(codes, 3, 4_000, i -> false, random, layout())) {
            IndexSearcher searcher = new IndexSearcher(index.reader);
            for (int q = 0; q < 5; q++) {
                long[] query = CodeIndex.noisy(codes[random.nextInt(codes.length)], 0.1, random);
                HammingRequest request = HammingRequest.exact(query, layout(), 25);
                HammingResult cached = HammingSearch.search(searcher, request, new HammingSearch.Runtime(null, () -> {}, small));
                assertArrayEquals(CodeIndex.asPairs(HammingSearch.search(searcher, request)), CodeIndex.asPairs(cached));
                assertArrayEquals(index.nearest(query, 25, 256, i -> true), CodeIndex.asPairs(cached));
            }
            assertEquals(1, small.segments(), "the first segment fits, the second is read from its columns");
        }
        assertEquals(0, small.bytes());
    }

    @Test
    void oneDocumentsDistanceFromTheArraysEqualsTheColumns() throws IOException {
        Random random = new Random(13);
        long[][] codes = CodeIndex.randomCodes(2_000, random);
        try (CodeIndex index = CodeIndex.build(codes, 3, 2_000, i -> i % 3 == 0, random, layout())) {
            var leaf = index.reader.leaves().get(0).reader();
            SegmentCodes arrays = layout().open(leaf, cache);
            SegmentCodes columns = layout().open(leaf, null);
            assertTrue(arrays instanceof CachedCodes);
            long[] query = CodeIndex.randomCodes(1, random)[0];
            for (int doc = 0; doc < 2_000; doc++) {
                assertEquals(columns.distance(doc, query), arrays.distance(doc, query), "doc " + doc);
            }
            // The script's short mode reads the first word alone: its own arrays, not the whole code's.
            CodeLayout prefix = new CodeLayout.Column(CodeIndex.COLUMN, 1);
            SegmentCodes prefixArrays = prefix.open(leaf, cache);
            SegmentCodes prefixColumns = prefix.open(leaf, null);
            long[] word = {query[0]};
            for (int doc = 0; doc < 2_000; doc++) {
                assertEquals(prefixColumns.distance(doc, word), prefixArrays.distance(doc, word), "doc " + doc);
                assertEquals(columns.distance(doc, query), layout().open(leaf, cache).distance(doc, query), "doc " + doc);
            }
        }
    }
}
