package org.elastichash.core;

import java.io.IOException;
import org.apache.lucene.index.LeafReader;

/**
 * The codes of one segment's documents and their Hamming distance to a query code: the kernel
 * that both the {@code hamming} script and the {@code hamming} query run. A {@link CodeLayout}
 * opens it.
 *
 * <p>Documents should be asked for in increasing order; asking for an earlier document reopens
 * the doc values (correct, only slower). Nothing is allocated per document.
 */
public abstract sealed class SegmentCodes permits WordCodes, CachedCodes {

    /** What {@link #distance} returns for a document that has no code. */
    public static final int MISSING = -1;

    /** The most documents {@link #distances} compares in one call. */
    public static final int BLOCK = 1024;

    private final int words;

    SegmentCodes(int words) {
        this.words = words;
    }

    /** The earlier layout's codes: one {@code long} doc-values field per word. */
    public static SegmentCodes open(LeafReader reader, String[] fields) throws IOException {
        return new CodeLayout.WordFields(fields, "").open(reader, null);
    }

    /** Number of words per code. */
    public final int words() {
        return words;
    }

    /** The fields read, for messages: {@code [hash]} or {@code [hash_r0, ...]}. */
    public abstract String describeFields();

    /** Hamming distance of {@code doc}'s code to {@code query}, or {@link #MISSING}. */
    public final int distance(int doc, long[] query) throws IOException {
        return distance(doc, query, Integer.MAX_VALUE);
    }

    /**
     * Hamming distance of {@code doc}'s code to {@code query} when it is at most {@code bound};
     * otherwise some value above {@code bound} (the remaining words are not read), or
     * {@link #MISSING} when the document has no code. After a result within the bound,
     * {@link #xorWord} holds the differing bits of each word.
     */
    public abstract int distance(int doc, long[] query, int bound) throws IOException;

    /**
     * Hamming distances of {@code n <= BLOCK} documents, ascending and after any document
     * compared before, into {@code out} ({@link #MISSING} for a document without a code).
     */
    public abstract void distances(int[] docs, int n, long[] query, int[] out) throws IOException;

    /** The differing bits of word {@code i} of the last document {@link #distance} compared within its bound. */
    public abstract long xorWord(int i);

    /**
     * The ring at which multi-index hashing first finds the last document compared: the smallest
     * Hamming distance between one of its first {@code positions} sub-codes and the query's, and
     * (low 8 bits) the first position at that distance, as {@code ring << 8 | position}.
     */
    public int discovery(int positions) {
        int best = Integer.MAX_VALUE;
        for (int p = 0; p < positions; p++) {
            long word = xorWord(p / HammingCodes.SUBCODES_PER_WORD);
            int ring = Integer.bitCount(HammingCodes.subCodeOf(word, p % HammingCodes.SUBCODES_PER_WORD));
            int key = ring << 8 | p;
            if (key < best) {
                best = key;
            }
        }
        return best;
    }
}
