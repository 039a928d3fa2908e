package org.elastichash.core;

import java.util.Arrays;
import org.apache.lucene.util.FixedBitSet;

/**
 * A segment's codes grouped around pivots, so that an exact scan skips most of them without
 * missing one. Every code belongs to the group of its nearest pivot (pivots start as codes of the
 * segment picked at even strides, then move once to their group's majority code: one round of
 * k-medians); within a group the codes are sorted by their distance r to the pivot. For a query at distance d from a pivot, a code of its group lies at least |d - r|
 * away (triangle inequality), so with the k-th best distance b found so far only the codes with
 * r in [d - b, d + b] can enter: a contiguous run found by binary search. Groups are visited
 * nearest pivot first, so b shrinks early.
 *
 * <p>Why pivots and not the sub-code rings: codes of real images lie 30-60 bits from their
 * nearest neighbours, where the rings of multi-index hashing touch most postings; on one million
 * codes of that kind (ehbench's realistic data, in-process, one thread) a scan through the groups
 * compares 17 / 22 / 33 % of the codes at k = 10 / 100 / 1000 and takes 0.36 / 0.47 / 0.86 ms
 * against 0.75 / 0.93 / 2.0 ms for the plain scan. More groups compare fewer codes but cost more
 * per group (measured before the scan's block minimum: 1,024 groups 0.48 ms at k = 10, 2,048
 * 0.57, 4,096 0.92); a second k-medians round compared 1 % fewer codes.
 *
 * <p>Memory: a copy of the codes in group order, the document of each (4 bytes) and its
 * distance to its pivot (2 bytes), on top of the arrays in document order that random checks
 * read: {@link #bytesFor}. Building it compares every code with every pivot twice, about one
 * nanosecond per pair: 2.5 s per million codes with 1,024 pivots, on a background thread.
 */
final class PivotPartition {

    /** Segments with fewer codes are scanned whole: their scan costs less than a millisecond. */
    static final int MIN_CODES = 1 << 17;
    /** About this many codes per group (fewer pivots for smaller segments). */
    static final int CODES_PER_PIVOT = 1024;
    /** Groups at most; more would prune better and cost more to build. */
    static final int MAX_PIVOTS = 1024;
    /** Rounds of moving each pivot to its group's majority code and regrouping. */
    static final int REFINEMENTS = 1;

    /** The pivots, column-major: {@code pivots[w][g]} is word w of group g's pivot. */
    final long[][] pivots;
    /** The codes in group order, column-major. */
    final long[][] words;
    /** The document of each position. */
    final int[] docs;
    /** Each position's distance to its group's pivot, ascending within a group. */
    final char[] radius;
    /** Group g holds positions {@code [starts[g], starts[g + 1])}. */
    final int[] starts;
    /**
     * Where each radius begins, per group: group g's radii run from {@code lowest[g]}, and
     * {@code firsts[tables[g] + r - lowest[g]]} is its first position with radius r or more, for
     * every r up to its largest radius + 1. A lookup instead of a binary search (which took a
     * quarter of a query's time).
     */
    private final int[] lowest;
    private final int[] tables;
    private final int[] firsts;
    final long bytes;

    private PivotPartition(long[][] pivots, long[][] words, int[] docs, char[] radius, int[] starts) {
        this.pivots = pivots;
        this.words = words;
        this.docs = docs;
        this.radius = radius;
        this.starts = starts;
        int groups = starts.length - 1;
        this.lowest = new int[groups];
        this.tables = new int[groups + 1];
        for (int g = 0; g < groups; g++) {
            boolean empty = starts[g] == starts[g + 1];
            lowest[g] = empty ? 0 : radius[starts[g]];
            tables[g + 1] = tables[g] + (empty ? 0 : radius[starts[g + 1] - 1] - lowest[g] + 2);
        }
        this.firsts = new int[tables[groups]];
        for (int g = 0; g < groups; g++) {
            int position = starts[g];
            for (int r = lowest[g], t = tables[g]; t < tables[g + 1]; r++, t++) {
                while (position < starts[g + 1] && radius[position] < r) {
                    position++;
                }
                firsts[t] = position;
            }
        }
        this.bytes = bytesFor(docs.length, words.length) + (long) pivots.length * pivots[0].length * Long.BYTES
            + (long) (starts.length + lowest.length + tables.length + firsts.length) * Integer.BYTES;
    }

    int groups() {
        return starts.length - 1;
    }

    int codes() {
        return docs.length;
    }

    /** Bytes a partition of {@code codes} codes of {@code width} words holds, pivots aside. */
    static long bytesFor(int codes, int width) {
        return (long) codes * ((long) width * Long.BYTES + Integer.BYTES + Character.BYTES) + 256;
    }

    /** Bytes to reserve before building: {@link #bytesFor}, the largest pivot table and radius tables. */
    static long reserveFor(int codes, int width) {
        return bytesFor(codes, width) + (long) MAX_PIVOTS * (width * Long.BYTES + 4L * Integer.BYTES + ((long) width * Long.SIZE + 2) * Integer.BYTES);
    }

    /**
     * Groups the codes of {@code words} (documents {@code [0, maxDoc)}, those without a code left
     * out where {@code present} says so), about {@code codesPerPivot} to a group.
     */
    static PivotPartition build(long[][] words, FixedBitSet present, int maxDoc, int codesPerPivot) {
        int width = words.length;
        int codes = present == null ? maxDoc : present.cardinality();
        int[] withCode = new int[codes];
        for (int doc = 0, i = 0; doc < maxDoc; doc++) {
            if (present == null || present.get(doc)) {
                withCode[i++] = doc;
            }
        }
        int groups = Math.max(1, Math.min(MAX_PIVOTS, codes / codesPerPivot));
        long[][] pivots = new long[width][groups];
        for (int g = 0; g < groups; g++) {
            int doc = withCode[(int) ((long) g * codes / groups)];
            for (int w = 0; w < width; w++) {
                pivots[w][g] = words[w][doc];
            }
        }
        int[] group = new int[codes];
        int[] distances = new int[groups];
        long[] code = new long[width];
        for (int round = 0; round <= REFINEMENTS; round++) {
            if (round > 0) {
                pivots = majorities(words, withCode, group, groups, pivots);
            }
            for (int i = 0; i < codes; i++) {
                int doc = withCode[i];
                for (int w = 0; w < width; w++) {
                    code[w] = words[w][doc];
                }
                pivotDistances(pivots, code, distances);
                group[i] = nearest(distances);
            }
        }
        // Sort keys: group, then distance to the pivot, then document (a code's distance is at
        // most 64 * 16 bits, so 11 bits; groups at most 1,024, so 11 bits).
        long[] keys = new long[codes];
        for (int i = 0; i < codes; i++) {
            int doc = withCode[i];
            int distance = 0;
            for (int w = 0; w < width; w++) {
                distance += Long.bitCount(words[w][doc] ^ pivots[w][group[i]]);
            }
            keys[i] = (long) group[i] << 43 | (long) distance << 32 | doc;
        }
        Arrays.sort(keys);
        long[][] grouped = new long[width][codes];
        int[] docs = new int[codes];
        char[] radius = new char[codes];
        int[] starts = new int[groups + 1];
        for (int i = 0; i < codes; i++) {
            int doc = (int) keys[i];
            docs[i] = doc;
            radius[i] = (char) ((keys[i] >>> 32) & 0x7FF);
            starts[(int) (keys[i] >>> 43) + 1]++;
            for (int w = 0; w < width; w++) {
                grouped[w][i] = words[w][doc];
            }
        }
        for (int g = 0; g < groups; g++) {
            starts[g + 1] += starts[g];
        }
        return new PivotPartition(pivots, grouped, docs, radius, starts);
    }

    /**
     * Each group's majority code (a bit is set where most of the group's codes set it): the code
     * nearest the group as a whole, a better pivot than the member it started from (k-medians in
     * Hamming space). An empty group keeps its pivot.
     */
    private static long[][] majorities(long[][] words, int[] withCode, int[] group, int groups, long[][] pivots) {
        int width = words.length;
        int[] counts = new int[groups * width * 64];
        int[] sizes = new int[groups];
        for (int i = 0; i < withCode.length; i++) {
            int g = group[i];
            sizes[g]++;
            for (int w = 0; w < width; w++) {
                long word = words[w][withCode[i]];
                int base = (g * width + w) * 64;
                while (word != 0) {
                    counts[base + Long.numberOfTrailingZeros(word)]++;
                    word &= word - 1;
                }
            }
        }
        long[][] next = new long[width][groups];
        for (int g = 0; g < groups; g++) {
            for (int w = 0; w < width; w++) {
                if (sizes[g] == 0) {
                    next[w][g] = pivots[w][g];
                    continue;
                }
                long word = 0;
                int base = (g * width + w) * 64;
                for (int b = 0; b < 64; b++) {
                    if (counts[base + b] * 2 > sizes[g]) {
                        word |= 1L << b;
                    }
                }
                next[w][g] = word;
            }
        }
        return next;
    }

    /** Distances of {@code code} to every pivot, into {@code out}: a unit-stride loop over the pivots. */
    static void pivotDistances(long[][] pivots, long[] code, int[] out) {
        int groups = out.length;
        if (pivots.length == 4) {
            long c0 = code[0], c1 = code[1], c2 = code[2], c3 = code[3];
            long[] p0 = pivots[0], p1 = pivots[1], p2 = pivots[2], p3 = pivots[3];
            for (int g = 0; g < groups; g++) {
                out[g] = Long.bitCount(c0 ^ p0[g]) + Long.bitCount(c1 ^ p1[g]) + Long.bitCount(c2 ^ p2[g]) + Long.bitCount(c3 ^ p3[g]);
            }
            return;
        }
        Arrays.fill(out, 0);
        for (int w = 0; w < pivots.length; w++) {
            long c = code[w];
            long[] p = pivots[w];
            for (int g = 0; g < groups; g++) {
                out[g] += Long.bitCount(c ^ p[g]);
            }
        }
    }

    /** The first index of the smallest value (values below 2^20, indices below 2^11): one minimum over value and index packed. */
    private static int nearest(int[] distances) {
        int min = Integer.MAX_VALUE;
        for (int g = 0; g < distances.length; g++) {
            min = Math.min(min, distances[g] << 11 | g);
        }
        return min & 0x7FF;
    }

    /**
     * The groups in order of their pivot's distance to {@code query} (a counting sort: distances
     * are small): distance in the high 32 bits, group in the low.
     */
    long[] groupsByDistance(long[] query) {
        int groups = groups();
        int[] distances = new int[groups];
        pivotDistances(pivots, query, distances);
        int[] counts = new int[pivots.length * Long.SIZE + 2];
        for (int d : distances) {
            counts[d + 1]++;
        }
        for (int d = 1; d < counts.length; d++) {
            counts[d] += counts[d - 1];
        }
        long[] order = new long[groups];
        for (int g = 0; g < groups; g++) {
            order[counts[distances[g]]++] = (long) distances[g] << 32 | g;
        }
        return order;
    }

    /** Group g's first position whose radius is at least {@code value} ({@code starts[g + 1]} if none). */
    int firstAtLeast(int g, int value) {
        if (value <= lowest[g]) {
            return starts[g];
        }
        int index = value - lowest[g];
        return index < tables[g + 1] - tables[g] ? firsts[tables[g] + index] : starts[g + 1];
    }
}
