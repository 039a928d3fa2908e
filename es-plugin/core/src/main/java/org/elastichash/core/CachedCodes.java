package org.elastichash.core;

import java.util.concurrent.atomic.AtomicInteger;
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
    private final PivotPartition partition;
    private final String description;
    /** The query and document of the last single comparison, from which {@link #xorWord} recomputes. */
    private long[] lastQuery;
    private int lastDoc;

    CachedCodes(CodeCache.Words cached, String description) {
        super(cached.width());
        this.words = cached.words();
        this.present = cached.present();
        this.partition = cached.partition();
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

    /** As {@link SegmentCodes#distances}, for any {@code n}: nothing here is sized by {@link #BLOCK}. */
    @Override
    public void distances(int[] docs, int n, long[] query, int[] out) {
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
     * is offered to {@code top} as {@code docBase + doc}. Compares {@link #BLOCK} documents at a
     * time and calls {@code checkCancelled} every {@code blocksPerCheck} blocks. Returns the
     * documents compared.
     */
    long scan(int from, int to, Bits live, long[] query, TopK top, int maxDistance, int docBase,
        int blocksPerCheck, Runnable checkCancelled) {
        int[] distances = new int[BLOCK];
        int bound = top.bound(maxDistance);
        int blocks = 0;
        for (int start = from; start < to; start += BLOCK) {
            if (blocks++ % blocksPerCheck == 0) {
                checkCancelled.run();
            }
            int n = Math.min(BLOCK, to - start);
            if (blockDistances(words, start, n, query, distances) > bound) {
                continue;
            }
            // The few documents within the bound: their other checks stay out of the loop above.
            for (int j = 0; j < n; j++) {
                if (distances[j] <= bound && offerable(start + j, live)) {
                    top.offer(distances[j], docBase + start + j);
                    bound = top.bound(maxDistance);
                }
            }
        }
        return to - from;
    }

    /** The segment's codes grouped around pivots, or null while there is none. */
    PivotPartition partition() {
        return partition;
    }

    /**
     * What the slices of one scan through a partition share: the next group to take (in order of
     * pivot distance) and the smallest bound any slice has reached (each slice's k-th distance is
     * at least the search's), so that the slices prune for each other.
     */
    static final class SharedScan {
        final AtomicInteger bound = new AtomicInteger(Integer.MAX_VALUE);
        final AtomicInteger next = new AtomicInteger();
    }

    /**
     * Scans the segment through its {@link #partition}: the slice takes the next group not yet
     * taken by a slice of the same scan, nearest pivot first, until none is left (a slice that
     * starts late takes fewer: no slice waits for another), and of each group only the codes the
     * triangle inequality cannot rule out. Documents are offered as in {@link #scan}, those of
     * {@code accept} only where it is not null (a filter's). Returns the codes compared.
     */
    long scanPartition(Bits live, Bits accept, long[] query, TopK top, SharedScan shared, int maxDistance, int docBase,
        Runnable checkCancelled) {
        PivotPartition part = partition;
        long[] order = part.groupsByDistance(query);
        int[] distances = new int[BLOCK];
        long compared = 0;
        long nextCheck = 0;
        for (int i = shared.next.getAndIncrement(); i < order.length; i = shared.next.getAndIncrement()) {
            if (compared >= nextCheck) {
                checkCancelled.run();
                nextCheck = compared + (long) BLOCK * 16;
            }
            int group = (int) order[i];
            int pivotDistance = (int) (order[i] >>> 32);
            int bound = Math.min(top.bound(maxDistance), shared.bound.get());
            int from = part.firstAtLeast(group, pivotDistance - bound);
            int to = part.firstAtLeast(group, pivotDistance + bound + 1);
            for (int start = from; start < to; start += BLOCK) {
                int n = Math.min(BLOCK, to - start);
                compared += n;
                if (blockDistances(part.words, start, n, query, distances) > bound) {
                    continue;
                }
                for (int j = 0; j < n; j++) {
                    int doc = part.docs[start + j];
                    if (distances[j] <= bound && (live == null || live.get(doc)) && (accept == null || accept.get(doc))) {
                        top.offer(distances[j], docBase + doc);
                        bound = Math.min(top.bound(maxDistance), bound);
                    }
                }
            }
            if (top.full()) {
                int reached = top.bound(maxDistance);
                if (reached < shared.bound.get()) {
                    shared.bound.accumulateAndGet(reached, Math::min); // written seldom: the slices read it after every group
                }
            }
        }
        return compared;
    }

    /**
     * Distances of positions {@code [start, start + n)} of {@code words}: unit-stride loops over
     * the word arrays. Returns the smallest, so that a block with nothing within the bound (most
     * blocks, once k codes are found) skips the loop that checks each distance: a minimum is
     * a vector reduction, a compare-and-branch per code is not (measured: it doubled the scan's time).
     */
    private static int blockDistances(long[][] words, int start, int n, long[] query, int[] out) {
        int min = Integer.MAX_VALUE;
        if (words.length == 4) {
            // The default 256 bits, the four words at once.
            long q0 = query[0], q1 = query[1], q2 = query[2], q3 = query[3];
            long[] w0 = words[0], w1 = words[1], w2 = words[2], w3 = words[3];
            for (int j = 0; j < n; j++) {
                int doc = start + j;
                int distance = Long.bitCount(q0 ^ w0[doc]) + Long.bitCount(q1 ^ w1[doc]) + Long.bitCount(q2 ^ w2[doc])
                    + Long.bitCount(q3 ^ w3[doc]);
                out[j] = distance;
                min = Math.min(min, distance);
            }
            return min;
        }
        java.util.Arrays.fill(out, 0, n, 0);
        for (int i = 0; i < words.length; i++) {
            long q = query[i];
            long[] w = words[i];
            for (int j = 0; j < n; j++) {
                out[j] += Long.bitCount(q ^ w[start + j]);
            }
        }
        for (int j = 0; j < n; j++) {
            min = Math.min(min, out[j]);
        }
        return min;
    }

    private boolean offerable(int doc, Bits live) {
        return (live == null || live.get(doc)) && has(doc);
    }

    @Override
    public long xorWord(int i) {
        return lastQuery[i] ^ words[i][lastDoc];
    }
}
