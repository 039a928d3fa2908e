package org.elastichash.core;

import java.io.IOException;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.ScorerSupplier;
import org.apache.lucene.search.Weight;

/**
 * The few Lucene APIs that differ between the Lucene majors the engines ship, for Lucene 10
 * (Elasticsearch 9, OpenSearch 3). Its twin in {@code src/lucene9/java} (Elasticsearch 8.19) has
 * the same members; the build compiles exactly one of them with the shared sources.
 */
final class LuceneCompat {

    private LuceneCompat() {}

    /**
     * The values of {@code docs[0..n)}, ascending, into {@code out}; every document must have one.
     * Lucene 10's bulk read decodes a block at a time: what makes a scan fast.
     */
    static void longValues(NumericDocValues values, int n, int[] docs, long[] out) throws IOException {
        values.longValues(n, docs, out, 0L);
    }

    /** A weight whose scorers are made per segment ({@link #segmentScorer}); Lucene 10 asks for suppliers. */
    abstract static class SegmentWeight extends Weight {

        SegmentWeight(Query query) {
            super(query);
        }

        /** The scorer of {@code leaf}, or null when no document of it matches. */
        abstract Scorer segmentScorer(LeafReaderContext leaf) throws IOException;

        @Override
        public final ScorerSupplier scorerSupplier(LeafReaderContext leaf) throws IOException {
            Scorer scorer = segmentScorer(leaf);
            return scorer == null ? null : new DefaultScorerSupplier(scorer);
        }
    }

    /** A scorer; Lucene 10's scorers no longer hold their weight. */
    abstract static class WeightScorer extends Scorer {

        WeightScorer(Weight weight) {
            super();
        }
    }
}
