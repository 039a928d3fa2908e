package org.elastichash.core;

import java.io.IOException;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.search.DocIdSetIterator;
import org.apache.lucene.util.FixedBitSet;

/**
 * The codes of {@code hamming_code} fields kept in the heap, per segment: one plain array per
 * 64-bit word, a document's word at its document number. A scan through the doc-value columns
 * costs 5-6 ns a code on one core; over these arrays about 0.8 ns, a loop without branches at
 * memory speed (a random check costs one cache miss per word, the four loads in parallel).
 * Large segments are also grouped around pivots ({@link PivotPartition}), so a scan skips most
 * codes.
 * A segment's arrays are loaded on its first search, once, and dropped when the segment closes
 * (merged away, index deleted or closed).
 *
 * <p>Memory is taken from a {@link Budget} (the engines give a circuit breaker of its own, so it
 * shows in the node's breaker stats and is bounded by its limit). A segment whose arrays do not
 * fit is read from its columns: the same answers, only slower. Nothing is evicted to make room,
 * so a working set larger than the budget does not reload segments on every search.
 *
 * <p>A segment's arrays hold 8 bytes per word per document (32 MB per million 256-bit codes) and
 * a bit per document when some document has no code.
 */
public final class CodeCache {

    /** The name of the circuit breaker that counts a node's arrays (engines register it). */
    public static final String BREAKER = "elastichash_codes";

    /** The breaker's limit unless the node's settings give one: this share of the heap, in per cent. */
    public static final int DEFAULT_LIMIT_PERCENT = 10;

    /** The node setting: segments with at least this many codes are grouped around pivots. */
    public static final String PARTITION_SETTING = "elastichash.code_cache.partition_min_codes";

    /** The setting's default ({@link PivotPartition#MIN_CODES}). */
    public static final int DEFAULT_PARTITION_MIN_CODES = PivotPartition.MIN_CODES;

    private static final Deferred NODE_BUDGET = new Deferred();

    /**
     * The node's cache, for the engine's query and script. It keeps nothing until the engine has
     * given it the breaker's account ({@link #useNodeBudget}): the engine makes its breakers after
     * the plugin.
     */
    public static final CodeCache NODE = new CodeCache(NODE_BUDGET);

    /** Gives the node's cache its account, the engine's {@value #BREAKER} breaker. */
    public static void useNodeBudget(Budget budget) {
        NODE_BUDGET.account = budget;
    }

    /** A budget whose account is given later; before that, nothing fits. */
    private static final class Deferred implements Budget {
        private volatile Budget account;

        @Override
        public boolean reserve(long bytes) {
            Budget current = account;
            return current != null && current.reserve(bytes);
        }

        @Override
        public void release(long bytes) {
            account.release(bytes); // only bytes it reserved come back
        }
    }

    /** Where the arrays' memory comes from. */
    public interface Budget {
        /** Takes {@code bytes} if they fit; false leaves nothing taken. */
        boolean reserve(long bytes);

        /** Gives back bytes taken by {@link #reserve}. */
        void release(long bytes);
    }

    /** A budget of at most {@code limit} bytes, counted here (for tests and embedded use). */
    public static Budget limit(long limit) {
        AtomicLong used = new AtomicLong();
        return new Budget() {
            @Override
            public boolean reserve(long bytes) {
                if (used.addAndGet(bytes) <= limit) {
                    return true;
                }
                used.addAndGet(-bytes);
                return false;
            }

            @Override
            public void release(long bytes) {
                used.addAndGet(-bytes);
            }
        };
    }

    /** One segment's codes: {@code words[w][doc]} is word {@code w} of document {@code doc}'s code. */
    static final class Words {
        private final long[][] words;
        private final FixedBitSet present;
        private final long bytes;
        /** Set once, when the segment's {@link PivotPartition} is built; until then scans read the arrays in document order. */
        private volatile PivotPartition partition;

        Words(long[][] words, FixedBitSet present, long bytes) {
            this.words = words;
            this.present = present;
            this.bytes = bytes;
        }

        long[][] words() {
            return words;
        }

        FixedBitSet present() {
            return present;
        }

        /** Bytes of the arrays in document order (the partition counts its own). */
        long bytes() {
            return bytes;
        }

        PivotPartition partition() {
            return partition;
        }

        int width() {
            return words.length;
        }

        /** Whether {@code doc} has a code. */
        boolean has(int doc) {
            return present == null || present.get(doc);
        }
    }

    /** A segment's first {@code words} columns from {@code first} on (the script may read a prefix of a code). */
    private record Key(Object core, String first, int words) {}

    private final Budget budget;
    private volatile int partitionMinCodes;
    private final int codesPerPivot;
    private volatile Executor partitioner;
    private final Map<Key, CompletableFuture<Words>> entries = new HashMap<>();
    private final AtomicLong bytes = new AtomicLong();
    private final AtomicLong loads = new AtomicLong();
    private final AtomicLong partitions = new AtomicLong();
    private final ConcurrentLinkedQueue<Runnable> builds = new ConcurrentLinkedQueue<>();
    private final AtomicBoolean building = new AtomicBoolean();

    public CodeCache(Budget budget) {
        this(budget, PivotPartition.MIN_CODES, PivotPartition.CODES_PER_PIVOT, Runnable::run);
    }

    /**
     * A cache that groups the codes of segments with at least {@code partitionMinCodes} codes
     * around pivots, about {@code codesPerPivot} to a group ({@link PivotPartition}), on
     * {@code partitioner}'s threads.
     */
    CodeCache(Budget budget, int partitionMinCodes, int codesPerPivot, Executor partitioner) {
        this.budget = budget;
        this.partitionMinCodes = partitionMinCodes;
        this.codesPerPivot = codesPerPivot;
        this.partitioner = partitioner;
    }

    /**
     * Segments loaded from now on are grouped around pivots where they hold at least {@code codes}
     * codes ({@link Integer#MAX_VALUE}: never); partitions built before stay.
     */
    public void partitionFrom(int codes) {
        if (codes < 0) {
            throw new IllegalArgumentException("[" + PARTITION_SETTING + "] must be 0 or more, got " + codes);
        }
        this.partitionMinCodes = codes;
    }

    /**
     * Builds partitions on {@code executor}'s threads (the engine's background pool) instead of
     * the searching thread: a segment's first searches scan its arrays in document order until
     * its partition is ready.
     */
    public void partitionOn(Executor executor) {
        this.partitioner = Objects.requireNonNull(executor, "executor");
    }

    /** Bytes the cached arrays hold now. */
    long bytes() {
        return bytes.get();
    }

    /** Segments whose arrays were loaded since this cache was made (a reload after a close counts again). */
    long loads() {
        return loads.get();
    }

    /** Partitions built since this cache was made. */
    long partitions() {
        return partitions.get();
    }

    /** Segments held now. */
    synchronized int segments() {
        return (int) entries.values().stream().filter(f -> f.isDone() && f.getNow(null) != null).count();
    }

    /**
     * The arrays of the code columns {@code columns} of {@code reader}'s segment, loaded now if this
     * is the segment's first search, or null where they are not kept (no room in the budget, a
     * reader without a core cache key). Concurrent first
     * searches of one segment load it once.
     */
    Words words(LeafReader reader, String[] columns) throws IOException {
        LeafReader segment = FilterLeafReader.unwrap(reader);
        IndexReader.CacheHelper helper = segment.getCoreCacheHelper();
        if (helper == null) {
            return null;
        }
        Key key = new Key(helper.getKey(), columns[0], columns.length);
        CompletableFuture<Words> future;
        boolean load = false;
        synchronized (this) {
            future = entries.get(key);
            if (future == null) {
                future = new CompletableFuture<>();
                entries.put(key, future);
                load = true;
            }
        }
        if (load) {
            return load(key, helper, segment, columns, future);
        }
        try {
            return future.join();
        } catch (CompletionException e) {
            // The loading search failed (and said why); this one reads the columns.
            return null;
        }
    }

    private Words load(Key key, IndexReader.CacheHelper helper, LeafReader segment, String[] columns, CompletableFuture<Words> future)
        throws IOException {
        // Reserved before reading: the arrays, and the bit set that documents without a code need.
        long bound = (long) segment.maxDoc() * columns.length * Long.BYTES + FixedBitSet.bits2words(segment.maxDoc()) * 8L + 64;
        if (budget.reserve(bound) == false) {
            synchronized (this) {
                entries.remove(key); // a later search tries again: other segments may have closed
            }
            future.complete(null);
            return null;
        }
        Words words;
        try {
            words = read(segment, columns);
        } catch (IOException | RuntimeException | Error e) {
            budget.release(bound);
            synchronized (this) {
                entries.remove(key);
            }
            future.completeExceptionally(e);
            throw e;
        }
        budget.release(bound - words.bytes()); // no bit set where every document has a code
        bytes.addAndGet(words.bytes());
        loads.incrementAndGet();
        helper.addClosedListener(closed -> drop(key));
        future.complete(words);
        int codes = words.present() == null ? segment.maxDoc() : words.present().cardinality();
        if (codes >= partitionMinCodes) {
            int maxDoc = segment.maxDoc();
            schedule(() -> partition(key, future, words, maxDoc, codes));
        }
        return words;
    }

    /**
     * Runs {@code build} on the partitioner, one build at a time: a merge that makes several large
     * segments at once should not take every core of the node from its searches.
     */
    private void schedule(Runnable build) {
        builds.add(build);
        if (building.compareAndSet(false, true)) {
            try {
                partitioner.execute(this::drainBuilds);
            } catch (RejectedExecutionException e) {
                // The pool is shutting down: these segments are scanned in document order.
                builds.clear();
                building.set(false);
            }
        }
    }

    private void drainBuilds() {
        do {
            for (Runnable build = builds.poll(); build != null; build = builds.poll()) {
                build.run();
            }
            building.set(false);
        } while (builds.isEmpty() == false && building.compareAndSet(false, true));
    }

    /** Groups a loaded segment's codes, where the budget has room, and keeps them while the segment does. */
    private void partition(Key key, CompletableFuture<Words> future, Words words, int maxDoc, int codes) {
        long reserved = PivotPartition.reserveFor(codes, words.width());
        if (budget.reserve(reserved) == false) {
            return;
        }
        PivotPartition partition;
        try {
            partition = PivotPartition.build(words.words(), words.present(), maxDoc, codesPerPivot);
        } catch (RuntimeException | OutOfMemoryError e) {
            budget.release(reserved);
            return; // scans read the arrays in document order
        }
        budget.release(reserved - partition.bytes);
        synchronized (this) {
            if (entries.get(key) == future) {
                words.partition = partition;
                bytes.addAndGet(partition.bytes);
                partitions.incrementAndGet();
                return;
            }
        }
        budget.release(partition.bytes); // the segment closed while its partition was built
    }

    private void drop(Key key) {
        CompletableFuture<Words> future;
        synchronized (this) {
            future = entries.remove(key);
        }
        Words held = future == null ? null : future.getNow(null);
        if (held != null) {
            long freed = held.bytes() + (held.partition == null ? 0 : held.partition.bytes);
            bytes.addAndGet(-freed);
            budget.release(freed);
        }
    }

    private static Words read(LeafReader segment, String[] columns) throws IOException {
        int width = columns.length;
        int maxDoc = segment.maxDoc();
        long[][] words = new long[width][maxDoc];
        FixedBitSet present = null;
        for (int w = 0; w < width; w++) {
            NumericDocValues column = DocValues.getNumeric(segment, columns[w]);
            if (w == 0 && column.cost() < maxDoc) {
                present = new FixedBitSet(maxDoc);
            }
            for (int doc = column.nextDoc(); doc != DocIdSetIterator.NO_MORE_DOCS; doc = column.nextDoc()) {
                words[w][doc] = column.longValue();
                if (w == 0 && present != null) {
                    present.set(doc);
                }
            }
        }
        long size = (long) maxDoc * width * Long.BYTES + (present == null ? 0 : present.ramBytesUsed());
        return new Words(words, present, size);
    }
}
