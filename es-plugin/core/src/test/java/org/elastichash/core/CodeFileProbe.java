package org.elastichash.core;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.FSDirectory;

/**
 * The exact search in-process on codes from a file, as a node runs it from its code cache with
 * the pivot groups: {@code java -cp ... org.elastichash.core.CodeFileProbe DIR CODES QUERIES},
 * where CODES and QUERIES hold 256-bit codes as four big-endian longs each (ehbench writes them
 * from its data sets). Builds a one-segment index in DIR once, then prints the mean time per
 * query and the codes compared, at k = 10, 100 and 1000, on one thread and on two, then the cost
 * of a candidate check. {@code -DminCodes=2147483647}: no groups. Not a test.
 */
public final class CodeFileProbe {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        long[][] codes = read(Path.of(args[1]));
        long[][] queries = read(Path.of(args[2]));
        CodeIndex.writeOnce(dir, codes);
        int rounds = Integer.getInteger("rounds", 3);
        try (FSDirectory directory = FSDirectory.open(dir); DirectoryReader reader = DirectoryReader.open(directory)) {
            CodeCache cache = new CodeCache(CodeCache.limit(Long.MAX_VALUE), Integer.getInteger("minCodes", PivotPartition.MIN_CODES), PivotPartition.CODES_PER_PIVOT, Runnable::run);
            ExecutorService pool = Executors.newFixedThreadPool(2);
            for (int threads : new int[] {1, 2}) {
                IndexSearcher searcher = threads == 1 ? new IndexSearcher(reader) : new IndexSearcher(reader, pool);
                HammingSearch.Runtime runtime = new HammingSearch.Runtime(threads == 1 ? Runnable::run : pool, () -> {}, cache);
                for (int k : new int[] {10, 100, 1000}) {
                    for (int round = 0; round < rounds; round++) {
                        long took = 0;
                        long compared = 0;
                        for (long[] query : queries) {
                            long start = System.nanoTime();
                            HammingResult result = HammingSearch.search(searcher, HammingRequest.exact(query, CodeIndex.COLUMN_LAYOUT, k), runtime);
                            took += System.nanoTime() - start;
                            compared += result.stats().candidates();
                        }
                        System.out.printf("threads %d k=%d: %.3f ms a query, %d codes compared%n", threads, k,
                            took / 1e6 / queries.length, compared / queries.length);
                    }
                }
            }
            pool.shutdown();
            // Candidate checks as the rings make them: buffers of 4,096 random documents in order.
            SegmentCodes arrays = CodeIndex.COLUMN_LAYOUT.open(reader.leaves().get(0).reader(), cache);
            java.util.Random random = new java.util.Random(1);
            int maxDoc = reader.maxDoc();
            for (int round = 0; round < rounds; round++) {
                long sink = 0;
                long took = 0;
                int checks = 0;
                for (long[] query : queries) {
                    int[] docs = random.ints(4096, 0, maxDoc).sorted().toArray();
                    long start = System.nanoTime();
                    for (int doc : docs) {
                        int distance = arrays.distance(doc, query, 60);
                        sink += distance <= 60 ? arrays.discovery(16) : distance;
                    }
                    took += System.nanoTime() - start;
                    checks += docs.length;
                }
                long batchTook = 0;
                int[] distances = new int[4096];
                for (long[] query : queries) {
                    int[] docs = random.ints(4096, 0, maxDoc).sorted().toArray();
                    long start = System.nanoTime();
                    arrays.distances(docs, docs.length, query, distances);
                    for (int i = 0; i < docs.length; i++) {
                        sink += distances[i] <= 60 && arrays.distance(docs[i], query, 60) <= 60 ? arrays.discovery(16) : distances[i];
                    }
                    batchTook += System.nanoTime() - start;
                }
                System.out.printf("candidate check: %.1f ns one at a time, %.1f ns batched (%d)%n",
                    took / (double) checks, batchTook / (double) checks, sink & 1);
            }
        }
    }

    private static long[][] read(Path file) throws IOException {
        int n = (int) (Files.size(file) / 32);
        long[][] codes = new long[n][4];
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20))) {
            for (long[] code : codes) {
                for (int w = 0; w < 4; w++) {
                    code[w] = in.readLong();
                }
            }
        }
        return codes;
    }
}
