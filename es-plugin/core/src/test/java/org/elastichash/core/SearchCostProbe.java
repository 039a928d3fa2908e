package org.elastichash.core;

import java.nio.file.Path;
import java.util.Random;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.store.FSDirectory;

/**
 * Measures the search's costs on an on-disk index, to set the constants of its cost model:
 * {@code java -cp ... org.elastichash.core.SearchCostProbe DIR N CLUSTERS FLIP}. Not a test.
 */
public final class SearchCostProbe {
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int n = Integer.parseInt(args[1]);
        int clusters = Integer.parseInt(args[2]);
        double flip = Double.parseDouble(args[3]);
        Random random = new Random(42);
        long[][] codes = clusters == 0 ? CodeIndex.randomCodes(n, random) : CodeIndex.clusteredCodes(n, clusters, flip, random);
        CodeIndex.writeOnce(dir, codes);
        try (FSDirectory directory = FSDirectory.open(dir); DirectoryReader reader = DirectoryReader.open(directory)) {
            int threads = Integer.parseInt(System.getProperty("threads", "1"));
            java.util.concurrent.ExecutorService pool = threads > 1 ? java.util.concurrent.Executors.newFixedThreadPool(threads) : null;
            IndexSearcher searcher = pool == null ? new IndexSearcher(reader) : new IndexSearcher(reader, pool);
            for (int k : new int[] {10, 100, 1000}) {
                for (int round = 0; round < 3; round++) {
                    long took = 0;
                    HammingResult last = null;
                    int queries = 200;
                    Random qr = new Random(round);
                    for (int q = 0; q < queries; q++) {
                        long[] query = CodeIndex.noisy(codes[qr.nextInt(n)], flip, qr);
                        long start = System.nanoTime();
                        last = HammingSearch.search(searcher, HammingRequest.exact(query, CodeIndex.COLUMN_LAYOUT, k));
                        took += System.nanoTime() - start;
                    }
                    System.out.printf("k=%d mean %.3f ms  (%s)%n", k, took / 1e6 / queries, last.stats());
                }
            }
            if (pool != null) {
                pool.shutdown();
            }
        }
    }
}
