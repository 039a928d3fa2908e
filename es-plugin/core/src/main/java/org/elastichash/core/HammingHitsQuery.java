package org.elastichash.core;

import java.io.IOException;
import java.util.Arrays;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.search.Explanation;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.apache.lucene.search.ScoreMode;
import org.apache.lucene.search.Scorer;
import org.apache.lucene.search.Weight;

/**
 * The documents a {@link HammingQuery} found on one shard, each scored {@code bits - distance}.
 * Its description (shown by the profile API) and every hit's explanation say how they were
 * found: the radius reached, the candidates compared, the segments scanned.
 */
final class HammingHitsQuery extends Query {

    private final HammingResult result;
    private final HammingRequest request;
    private final Object readerIdentity;

    HammingHitsQuery(HammingResult result, HammingRequest request, IndexReader reader) {
        this.result = result;
        this.request = request;
        this.readerIdentity = reader.getContext().id();
    }

    private float scoreAt(int index) {
        return request.bits() - result.distances()[index];
    }

    @Override
    public Weight createWeight(IndexSearcher searcher, ScoreMode scoreMode, float boost) {
        if (searcher.getIndexReader().getContext().id() != readerIdentity) {
            throw new IllegalStateException("the hamming query's hits belong to another index reader");
        }
        return new LuceneCompat.SegmentWeight(this) {
            @Override
            Scorer segmentScorer(LeafReaderContext leaf) {
                int from = lowerBound(leaf.docBase);
                int to = lowerBound(leaf.docBase + leaf.reader().maxDoc());
                return from == to ? null : new HitsScorer(this, leaf.docBase, from, to, boost);
            }

            @Override
            public Explanation explain(LeafReaderContext leaf, int doc) {
                int index = Arrays.binarySearch(result.docs(), leaf.docBase + doc);
                if (index < 0) {
                    return Explanation.noMatch("not among the " + result.size() + " nearest codes of this shard");
                }
                int distance = result.distances()[index];
                return Explanation.match(
                    scoreAt(index) * boost,
                    "hamming: "
                        + request.bits()
                        + " bits - distance "
                        + distance
                        + " ("
                        + request.mode().name().toLowerCase(java.util.Locale.ROOT)
                        + " search: "
                        + result.stats()
                        + ")"
                );
            }

            @Override
            public boolean isCacheable(LeafReaderContext leaf) {
                return true;
            }
        };
    }

    /** The first index whose document is at least {@code doc}. */
    private int lowerBound(int doc) {
        int index = Arrays.binarySearch(result.docs(), doc);
        return index >= 0 ? index : -index - 1;
    }

    /** Walks the hits of one segment: {@code result.docs()[from..to)}. */
    private final class HitsScorer extends LuceneCompat.WeightScorer {
        private final int docBase;
        private final int from;
        private final int to;
        private final float boost;
        /** The best score of the segment's hits: an upper bound for any range of them. */
        private final float maxScore;
        private int index;

        HitsScorer(Weight weight, int docBase, int from, int to, float boost) {
            super(weight);
            this.docBase = docBase;
            this.from = from;
            this.to = to;
            this.boost = boost;
            this.index = from - 1;
            float max = 0;
            for (int i = from; i < to; i++) {
                max = Math.max(max, scoreAt(i));
            }
            this.maxScore = max * boost;
        }

        @Override
        public int docID() {
            if (index < from) {
                return -1;
            }
            return index >= to ? DocIdSetIterator.NO_MORE_DOCS : result.docs()[index] - docBase;
        }

        @Override
        public float score() {
            return scoreAt(index) * boost;
        }

        /** Constant time: the segment's best score, computed once (as Lucene's DocAndScoreQuery does). */
        @Override
        public float getMaxScore(int upTo) {
            return maxScore;
        }

        @Override
        public DocIdSetIterator iterator() {
            return new DocIdSetIterator() {
                @Override
                public int docID() {
                    return HitsScorer.this.docID();
                }

                @Override
                public int nextDoc() {
                    index++;
                    return docID();
                }

                @Override
                public int advance(int target) {
                    index = Math.max(index + 1, lowerBound(docBase + target));
                    return docID();
                }

                @Override
                public long cost() {
                    return to - from;
                }
            };
        }
    }

    @Override
    public void visit(QueryVisitor visitor) {
        visitor.visitLeaf(this);
    }

    @Override
    public String toString(String field) {
        return request + " → " + result.size() + " hits (" + result.stats() + ")";
    }

    @Override
    public boolean equals(Object other) {
        return sameClassAs(other)
            && readerIdentity == ((HammingHitsQuery) other).readerIdentity
            && request.equals(((HammingHitsQuery) other).request);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * classHash() + request.hashCode()) + System.identityHashCode(readerIdentity);
    }
}
