package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.lucene.search.IndexSearcher;
import org.junit.jupiter.api.Test;

/** What a search holds and how it stops: the memory bound against multi-slice scans, and cancellation. */
class HammingSearchLimitsTest {

    /** The engine's signal that a search must stop (Elasticsearch throws its own such exceptions). */
    private static final class Stop extends RuntimeException {
        Stop() {
            super("stopped");
        }
    }

    @Test
    void theMemoryBoundCoversEverySliceOfAMultiSliceScan() throws IOException {
        Random random = new Random(11);
        // Random codes: every segment is scanned. 3 segments of 5,000 in slices of 1,024: 15 slices.
        try (CodeIndex index = CodeIndex.build(CodeIndex.randomCodes(15_000, random), 1, 5_000, i -> false, random)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                IndexSearcher searcher = new IndexSearcher(index.reader);
                int k = 100;
                long[] query = CodeIndex.randomCodes(1, random)[0];
                HammingRequest request = HammingRequest.exact(query, index.layout, k);
                HammingResult result = HammingSearch.search(searcher, request, new HammingSearch.Runtime(pool, () -> {}, null), 1_024);
                assertArrayEquals(index.nearest(query, k, 256, i -> true), CodeIndex.asPairs(result));
                assertEquals(3, result.stats().segmentsScanned());
                assertEquals(15, result.stats().scanSlices());
                // Held at once: the search's k best, their sorted copy for the merge, every slice's
                // k best, the postings buffer with its documents and distances.
                long held = (2 + result.stats().scanSlices()) * TopK.bytesFor(k) + 4096L * (Long.BYTES + 2 * Integer.BYTES);
                long bound = HammingSearch.bytesNeeded(request, index.reader.leaves(), 1_024);
                assertTrue(bound >= held, bound + " < " + held);
                assertTrue(HammingSearch.bytesNeeded(request, index.reader.leaves()) < bound, "fewer, larger slices by default");
            } finally {
                pool.shutdown();
            }
        }
    }

    @Test
    void aCancelledSearchStopsWithinItsNextUnitOfWorkOnEveryThread() throws IOException {
        Random random = new Random(12);
        try (CodeIndex index = CodeIndex.build(CodeIndex.randomCodes(60_000, random), 1, 60_000, i -> false, random)) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                IndexSearcher searcher = new IndexSearcher(index.reader);
                long[] query = CodeIndex.randomCodes(1, random)[0];
                HammingRequest request = HammingRequest.exact(query, index.layout, 10);
                AtomicInteger checks = new AtomicInteger();
                HammingSearch.Runtime stopAtOnce = new HammingSearch.Runtime(pool, () -> {
                    checks.incrementAndGet();
                    throw new Stop();
                }, null);
                assertThrows(Stop.class, () -> HammingSearch.search(searcher, request, stopAtOnce, 4_096));
                // Each of the 15 slices stops at its first check: none runs to its end.
                assertTrue(checks.get() <= 15 + 1, "checks: " + checks.get());

                AtomicInteger counted = new AtomicInteger();
                HammingSearch.Runtime counting = new HammingSearch.Runtime(pool, counted::incrementAndGet, null);
                HammingResult whole = HammingSearch.search(searcher, request, counting, 4_096);
                assertArrayEquals(index.nearest(query, 10, 256, i -> true), CodeIndex.asPairs(whole));
                // A 60,000-document scan in blocks of 1,024 is checked every 16 blocks of each slice.
                assertTrue(counted.get() >= 15, "checks: " + counted.get());
            } finally {
                pool.shutdown();
            }
        }
    }
}
