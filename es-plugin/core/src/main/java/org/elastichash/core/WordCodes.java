package org.elastichash.core;

import java.io.IOException;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.index.SortedNumericDocValues;

/**
 * Codes as one numeric doc-values column per 64-bit word (a {@code hamming_code} field's hidden
 * columns, or the earlier layout's {@code long} fields), read on Lucene 10 a column at a time
 * in bulk. A multi-valued field contributes its smallest value.
 */
final class WordCodes extends SegmentCodes {
    private final LeafReader reader;
    private final String[] fields;
    private final String description;
    private final NumericDocValues[] words;
    private boolean dense;
    private int lastDoc = -1;
    /** Differing bits of the last single document at [word][0]; a block's words read in bulk otherwise. */
    private long[][] xor;

    /**
     * A field the segment lacks reads as missing ({@link CodeLayout#open} checks visibility).
     *
     * @param description the fields as messages name them
     */
    WordCodes(LeafReader reader, String[] fields, String description) throws IOException {
        super(fields.length);
        this.xor = new long[fields.length][1];
        this.reader = reader;
        this.fields = fields.clone();
        this.description = description;
        this.words = new NumericDocValues[fields.length];
        open();
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

    @Override
    public String describeFields() {
        return description;
    }

    @Override
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

    @Override
    public void distances(int[] docs, int n, long[] query, int[] out) throws IOException {
        if (n == 0) {
            return;
        }
        if (docs[0] < lastDoc) {
            open();
        }
        if (xor[0].length < BLOCK) {
            xor = new long[xor.length][BLOCK];
        }
        if (dense == false) {
            for (int j = 0; j < n; j++) {
                out[j] = distance(docs[j], query, Integer.MAX_VALUE);
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

    @Override
    public long xorWord(int i) {
        return xor[i][0];
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
