package org.elastichash.core;

import java.util.Arrays;

/**
 * The k best (distance, document) pairs seen so far: a max-heap of {@code k} longs, allocated
 * once. A pair is better when its distance is smaller, or equal with a smaller document number
 * (the order Lucene and Elasticsearch give equal scores), so the result does not depend on the
 * order in which documents are offered.
 */
final class TopK {

    private final long[] heap;
    private int size;

    TopK(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("k must be at least 1, got " + k);
        }
        this.heap = new long[k];
    }

    /** Bytes this structure holds, for memory accounting. */
    static long bytesFor(int k) {
        return 16L + (long) k * Long.BYTES;
    }

    private static long key(int distance, int doc) {
        return ((long) distance << 32) | (doc & 0xFFFFFFFFL);
    }

    static int distanceOf(long key) {
        return (int) (key >>> 32);
    }

    static int docOf(long key) {
        return (int) key;
    }

    boolean full() {
        return size == heap.length;
    }

    int size() {
        return size;
    }

    /** How many of the pairs held lie within {@code distance}. */
    int countWithin(int distance) {
        int count = 0;
        for (int i = 0; i < size; i++) {
            if (distanceOf(heap[i]) <= distance) {
                count++;
            }
        }
        return count;
    }

    /** The largest distance a document may have and still enter (ties decided by document). */
    int bound(int maxDistance) {
        return full() ? Math.min(maxDistance, distanceOf(heap[0])) : maxDistance;
    }

    /** Offers a pair; kept when there is room or it beats the worst pair held. */
    void offer(int distance, int doc) {
        long key = key(distance, doc);
        if (size < heap.length) {
            heap[size] = key;
            siftUp(size++);
        } else if (key < heap[0]) {
            heap[0] = key;
            siftDown(0);
        }
    }

    /** Offers {@code other}'s pairs but those in {@code held} (sorted keys, from {@link #sorted}). */
    void addAllExcept(TopK other, long[] held) {
        for (int i = 0; i < other.size; i++) {
            long key = other.heap[i];
            if ((full() == false || key < heap[0]) && Arrays.binarySearch(held, key) < 0) {
                offer(distanceOf(key), docOf(key));
            }
        }
    }

    /** The pairs held, best first, as keys (see {@link #distanceOf}, {@link #docOf}). */
    long[] sorted() {
        long[] result = Arrays.copyOf(heap, size);
        Arrays.sort(result);
        return result;
    }

    private void siftUp(int i) {
        long key = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] >= key) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = key;
    }

    private void siftDown(int i) {
        long key = heap[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < size && heap[child + 1] > heap[child]) {
                child++;
            }
            if (key >= heap[child]) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = key;
    }
}
