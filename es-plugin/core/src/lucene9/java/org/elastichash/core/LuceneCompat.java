package org.elastichash.core;

import java.io.IOException;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * The few Lucene APIs that differ between the Lucene majors the engines ship, for Lucene 9
 * (Elasticsearch 8.19). Its twin in {@code src/lucene10/java} (Elasticsearch 9, OpenSearch 3) has
 * the same members; the build compiles exactly one of them with the shared sources.
 */
final class LuceneCompat {

    private LuceneCompat() {}

    /**
     * The values of {@code docs[0..n)}, ascending, into {@code out}; every document must have one.
     * Lucene 9 has no bulk read: one document at a time.
     */
    static void longValues(NumericDocValues values, int n, int[] docs, long[] out) throws IOException {
        for (int j = 0; j < n; j++) {
            out[j] = values.advanceExact(docs[j]) ? values.longValue() : 0L;
        }
    }

    /** A weight whose scorers are made per segment ({@link #segmentScorer}); Lucene 9 asks for scorers. */
    abstract static class SegmentWeight extends Weight {

        SegmentWeight(Query query) {
            super(query);
        }

        /** The scorer of {@code leaf}, or null when no document of it matches. */
        abstract Scorer segmentScorer(LeafReaderContext leaf) throws IOException;

        @Override
        public final Scorer scorer(LeafReaderContext leaf) throws IOException {
            return segmentScorer(leaf);
        }
    }

    /** A scorer; Lucene 9's scorers hold their weight. */
    abstract static class WeightScorer extends Scorer {

        WeightScorer(Weight weight) {
            super(weight);
        }
    }
}
