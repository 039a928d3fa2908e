package org.elastichash.core;

import org.apache.lucene.util.Bits;
import org.apache.lucene.util.FixedBitSet;

/**
 * Codes read from a segment's arrays in the {@link CodeCache}: one plain {@code long[]} per word.
 * A scan streams them in a loop without branches that the JIT compiles to vector popcounts; a
 * candidate check loads one word from each array, the loads in parallel.
 */
final class CachedCodes extends SegmentCodes {
    private final long[][] words;
    private final FixedBitSet present;
    private final String description;
    /** The query and documents of the last comparison, from which {@link #xorOf} recomputes. */
    private long[] lastQuery;
    private int[] lastDocs;
    private int lastDoc;

    CachedCodes(CodeCache.Words cached, String description) {
        super(cached.width());
        this.words = cached.words();
        this.present = cached.present();
        this.description = description;
    }

    @Override
    public String describeFields() {
        return description;
    }

    private boolean has(int doc) {
        return present == null || present.get(doc);
    }

    @Override
    public int distance(int doc, long[] query, int bound) {
        if (has(doc) == false) {
            return MISSING;
        }
        lastQuery = query;
        lastDoc = doc;
        int distance = 0;
        for (int i = 0; i < words.length; i++) {
            distance += Long.bitCount(query[i] ^ words[i][doc]);
            if (distance > bound) {
                return distance;
            }
        }
        return distance;
    }

    @Override
    public void distances(int[] docs, int n, long[] query, int[] out) {
        lastQuery = query;
        lastDocs = docs;
        for (int j = 0; j < n; j++) {
            int doc = docs[j];
            int distance = 0;
            for (int i = 0; i < words.length; i++) {
                distance += Long.bitCount(query[i] ^ words[i][doc]);
            }
            out[j] = has(doc) ? distance : MISSING;
        }
    }

    /**
     * Scans documents {@code [from, to)}: each live one with a code within {@code top}'s bound
     * (and first found by multi-index hashing at ring {@code fromRing} or later, when above 0)
     * is offered to {@code top} as {@code docBase + doc}. Compares {@link #BLOCK} documents at a
     * time and calls {@code checkCancelled} every {@code blocksPerCheck} blocks. Returns the
     * documents compared.
     */
    long scan(int from, int to, Bits live, long[] query, int positions, int fromRing, TopK top, int maxDistance, int docBase,
        int blocksPerCheck, Runnable checkCancelled) {
        lastQuery = query;
        int[] distances = new int[BLOCK];
        int bound = top.bound(maxDistance);
        int blocks = 0;
        for (int start = from; start < to; start += BLOCK) {
            if (blocks++ % blocksPerCheck == 0) {
                checkCancelled.run();
            }
            int n = Math.min(BLOCK, to - start);
            blockDistances(start, n, query, distances);
            // The few documents within the bound: their other checks stay out of the loop above.
            for (int j = 0; j < n; j++) {
                if (distances[j] <= bound && offerable(start + j, live, positions, fromRing)) {
                    top.offer(distances[j], docBase + start + j);
                    bound = top.bound(maxDistance);
                }
            }
        }
        return to - from;
    }

    /** Distances of documents {@code [start, start + n)}: unit-stride loops over the word arrays. */
    private void blockDistances(int start, int n, long[] query, int[] out) {
        if (words.length == 4) {
            // The default 256 bits, the four words at once.
            long q0 = query[0], q1 = query[1], q2 = query[2], q3 = query[3];
            long[] w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3];
            for (int j = 0; j < n; j++) {
                int doc = start + j;
                out[j] = Long.bitCount(q0 ^ w0[doc]) + Long.bitCount(q1 ^ w1[doc]) + Long.bitCount(q2 ^ w2[doc]) + Long.bitCount(q3 ^ w3[doc]);
            }
            return;
        }
        java.util.Arrays.fill(out, 0, n, 0);
        for (int i = 0; i < words.length; i++) {
            long q = query[i];
            long[] w = words[i];
            for (int j = 0; j < n; j++) {
                out[j] += Long.bitCount(q ^ w[start + j]);
            }
        }
    }

    private boolean offerable(int doc, Bits live, int positions, int fromRing) {
        if ((live != null && live.get(doc) == false) || has(doc) == false) {
            return false;
        }
        lastDoc = doc;
        return fromRing == 0 || (discovery(positions) >>> 8) >= fromRing;
    }

    @Override
    long xorOf(int i, int j) {
        int doc = j < 0 ? lastDoc : lastDocs[j];
        return lastQuery[i] ^ words[i][doc];
    }
}
