package org.elastichash.core;

import java.util.Arrays;
import java.util.Random;

/**
 * Measures the code cache's arrays in document order (one per word), as the search uses them: a
 * candidate check (a buffer of postings: random documents of a large segment, in document order,
 * each compared on its whole code and, within the bound, asked where the rings first find it) and
 * a scan of every code; each beside the same work on one array with a code's words side by side,
 * the alternative layout (one cache line per check, but a scan the JIT does not vectorize).
 * {@code java -cp ... org.elastichash.core.CandidateCheckProbe [N] [BUFFER] [BOUND]}. Not a test.
 */
public final class CandidateCheckProbe {
    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 1 << 20;
        int buffer = args.length > 1 ? Integer.parseInt(args[1]) : 4096;
        int bound = args.length > 2 ? Integer.parseInt(args[2]) : 60;
        Random random = new Random(42);
        long[][] columns = new long[4][n];
        long[] sideBySide = new long[4 * n];
        for (int doc = 0; doc < n; doc++) {
            for (int w = 0; w < 4; w++) {
                columns[w][doc] = sideBySide[doc * 4 + w] = random.nextLong();
            }
        }
        CachedCodes codes = new CachedCodes(new CodeCache.Words(columns, null, 32L * n), "probe");
        long[] query = {random.nextLong(), random.nextLong(), random.nextLong(), random.nextLong()};
        int rounds = 400;
        int[][] batches = new int[rounds][];
        for (int r = 0; r < rounds; r++) {
            int[] docs = new int[buffer];
            for (int i = 0; i < buffer; i++) {
                docs[i] = random.nextInt(n);
            }
            Arrays.sort(docs);
            batches[r] = docs;
        }
        for (int repeat = 0; repeat < 5; repeat++) {
            long sink = 0;
            long started = System.nanoTime();
            for (int[] docs : batches) {
                for (int doc : docs) {
                    int distance = codes.distance(doc, query, bound);
                    if (distance <= bound) {
                        sink += codes.discovery(16);
                    }
                    sink += distance;
                }
            }
            double check = (System.nanoTime() - started) / (double) (rounds * buffer);
            started = System.nanoTime();
            for (int[] docs : batches) {
                for (int doc : docs) {
                    int at = doc * 4;
                    int distance = 0;
                    for (int w = 0; w < 4 && distance <= bound; w++) {
                        distance += Long.bitCount(query[w] ^ sideBySide[at + w]);
                    }
                    sink += distance;
                }
            }
            double sideCheck = (System.nanoTime() - started) / (double) (rounds * buffer);
            started = System.nanoTime();
            for (int round = 0; round < 10; round++) {
                sink += codes.scan(0, n, null, query, new TopK(10), Integer.MAX_VALUE, 0, 16, () -> {});
            }
            double scan = (System.nanoTime() - started) / (10.0 * n);
            started = System.nanoTime();
            for (int round = 0; round < 10; round++) {
                long q0 = query[0], q1 = query[1], q2 = query[2], q3 = query[3];
                int min = Integer.MAX_VALUE;
                for (int at = 0; at < 4 * n; at += 4) {
                    min = Math.min(min, Long.bitCount(q0 ^ sideBySide[at]) + Long.bitCount(q1 ^ sideBySide[at + 1])
                        + Long.bitCount(q2 ^ sideBySide[at + 2]) + Long.bitCount(q3 ^ sideBySide[at + 3]));
                }
                sink += min;
            }
            double sideScan = (System.nanoTime() - started) / (10.0 * n);
            System.out.printf("candidate check %.1f ns (words side by side %.1f); scan %.2f ns a code (side by side %.2f) (%d)%n",
                check, sideCheck, scan, sideScan, sink & 1);
        }
    }
}
