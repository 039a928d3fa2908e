package org.elastichash.core;

import java.io.IOException;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SortedNumericDocValues;

/**
 * The code words of one segment's documents, read from numeric doc values (one field per 64-bit
 * word), and their Hamming distance to a query code. This is the kernel that both the
 * {@code hamming} script and the {@code hamming} query run.
 *
 * <p>Doc values are iterators: documents should be asked for in increasing order; asking for an
 * earlier document reopens them (correct, only slower). Nothing is allocated per document. A
 * multi-valued field contributes its smallest value.
 */
public final class SegmentCodes {

    /** What {@link #distance} returns for a document that lacks one of the words. */
    public static final int MISSING = -1;

    /** The most documents {@link #distances} compares in one call. */
    public static final int BLOCK = 1024;

    private final LeafReader reader;
    private final String[] fields;
    private final NumericDocValues[] words;
    /** Differing bits of the documents last compared: [word][index in the block]. */
    private long[][] xor;
    private boolean dense;
    private int lastDoc = -1;

    private SegmentCodes(LeafReader reader, String[] fields) throws IOException {
        this.reader = reader;
        this.fields = fields.clone();
        this.words = new NumericDocValues[fields.length];
        this.xor = new long[fields.length][1];
        open();
    }

    /**
     * Opens the words of {@code reader}'s documents; a field the segment lacks reads as missing, a
     * field that field-level security hides is refused ({@link HiddenFields}).
     */
    public static SegmentCodes open(LeafReader reader, String[] fields) throws IOException {
        HiddenFields.requireVisible(reader, HammingParameters.FIELDS, fields);
        return new SegmentCodes(reader, fields);
    }

    private void open() throws IOException {
        boolean allDense = true;
        for (int i = 0; i < fields.length; i++) {
            SortedNumericDocValues sorted = DocValues.getSortedNumeric(reader, fields[i]);
            NumericDocValues single = DocValues.unwrapSingleton(sorted);
            words[i] = single != null ? single : new SmallestValue(sorted);
            // Every document has a value: the bulk reads need no missing-value check.
            allDense &= single != null && single.cost() == reader.maxDoc();
        }
        dense = allDense;
        lastDoc = -1;
    }

    /** Number of words per code. */
    public int words() {
        return words.length;
    }

    /** The field that holds word {@code i}. */
    public String field(int i) {
        return fields[i];
    }

    /** Hamming distance of {@code doc}'s code to {@code query}, or {@link #MISSING}. */
    public int distance(int doc, long[] query) throws IOException {
        return distance(doc, query, Integer.MAX_VALUE);
    }

    /**
     * Hamming distance of {@code doc}'s code to {@code query} when it is at most {@code bound};
     * otherwise some value above {@code bound} (the remaining words are not read), or
     * {@link #MISSING} when a word the comparison needed is absent. After a result within the
     * bound, {@link #xorWord} holds the differing bits of each word.
     */
    public int distance(int doc, long[] query, int bound) throws IOException {
        if (doc < lastDoc) {
            open();
        }
        lastDoc = doc;
        int distance = 0;
        for (int i = 0; i < words.length; i++) {
            NumericDocValues values = words[i];
            if (values.advanceExact(doc) == false) {
                return MISSING;
            }
            long x = query[i] ^ values.longValue();
            xor[i][0] = x;
            distance += Long.bitCount(x);
            if (distance > bound) {
                return distance;
            }
        }
        return distance;
    }

    /**
     * Hamming distances of {@code n <= BLOCK} documents, ascending and after any document
     * compared before, into {@code out} ({@link #MISSING} for a document lacking a word). Where
     * every document of the segment has every word, the words are read a column at a time (on
     * Lucene 10 in bulk: several times faster than one document at a time).
     */
    public void distances(int[] docs, int n, long[] query, int[] out) throws IOException {
        if (n == 0) {
            return;
        }
        if (docs[0] < lastDoc) {
            open();
        }
        if (xor[0].length < BLOCK) {
            xor = new long[words.length][BLOCK];
        }
        if (dense == false) {
            for (int j = 0; j < n; j++) {
                out[j] = distance(docs[j], query, Integer.MAX_VALUE);
                for (int i = 0; i < words.length; i++) {
                    xor[i][j] = xor[i][0];
                }
            }
            return;
        }
        java.util.Arrays.fill(out, 0, n, 0);
        for (int i = 0; i < words.length; i++) {
            long[] column = xor[i];
            LuceneCompat.longValues(words[i], n, docs, column);
            long q = query[i];
            for (int j = 0; j < n; j++) {
                long x = q ^ column[j];
                column[j] = x;
                out[j] += Long.bitCount(x);
            }
        }
        lastDoc = docs[n - 1];
    }

    /** The differing bits of word {@code i} of the last document compared within its bound. */
    public long xorWord(int i) {
        return xor[i][0];
    }

    /**
     * The ring at which multi-index hashing first finds the last document compared: the smallest
     * Hamming distance between one of its first {@code positions} sub-codes and the query's, and
     * (low 8 bits) the first position at that distance, as {@code ring << 8 | position}.
     */
    public int discovery(int positions) {
        return discovery(0, positions);
    }

    /** {@link #discovery(int)} of the {@code j}-th document of the last {@link #distances} block. */
    public int discovery(int j, int positions) {
        int best = Integer.MAX_VALUE;
        for (int p = 0; p < positions; p++) {
            long word = xor[p / HammingCodes.SUBCODES_PER_WORD][j];
            int ring = Integer.bitCount(HammingCodes.subCodeOf(word, p % HammingCodes.SUBCODES_PER_WORD));
            int key = ring << 8 | p;
            if (key < best) {
                best = key;
            }
        }
        return best;
    }

    /** A multi-valued field read as its smallest value (doc values are sorted ascending). */
    private static final class SmallestValue extends NumericDocValues {
        private final SortedNumericDocValues values;

        SmallestValue(SortedNumericDocValues values) {
            this.values = values;
        }

        @Override
        public long longValue() throws IOException {
            return values.nextValue();
        }

        @Override
        public boolean advanceExact(int target) throws IOException {
            return values.advanceExact(target);
        }

        @Override
        public int docID() {
            return values.docID();
        }

        @Override
        public int nextDoc() throws IOException {
            return values.nextDoc();
        }

        @Override
        public int advance(int target) throws IOException {
            return values.advance(target);
        }

        @Override
        public long cost() {
            return values.cost();
        }
    }
}
