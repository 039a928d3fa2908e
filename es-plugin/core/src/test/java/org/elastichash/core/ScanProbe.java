package org.elastichash.core;

import java.nio.file.Path;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.store.FSDirectory;

public final class ScanProbe {
    public static void main(String[] args) throws Exception {
        try (FSDirectory directory = FSDirectory.open(Path.of(args[0])); DirectoryReader reader = DirectoryReader.open(directory)) {
            LeafReader leaf = reader.leaves().get(0).reader();
            int maxDoc = leaf.maxDoc();
            long[] q = {1, 2, 3, 4};
            for (int round = 0; round < 8; round++) {
                long start = System.nanoTime();
                long sum = 0;
                NumericDocValues[] w = new NumericDocValues[4];
                for (int i = 0; i < 4; i++) w[i] = DocValues.unwrapSingleton(DocValues.getSortedNumeric(leaf, CodeIndex.WORDS[i]));
                for (int doc = 0; doc < maxDoc; doc++) {
                    int d = 0;
                    for (int i = 0; i < 4; i++) {
                        w[i].advanceExact(doc);
                        d += Long.bitCount(q[i] ^ w[i].longValue());
                    }
                    sum += d;
                }
                long perDoc = System.nanoTime() - start;
                start = System.nanoTime();
                for (int i = 0; i < 4; i++) w[i] = DocValues.unwrapSingleton(DocValues.getSortedNumeric(leaf, CodeIndex.WORDS[i]));
                int[] docs = new int[1024];
                long[] vals = new long[1024];
                int[] dist = new int[1024];
                long sum2 = 0;
                for (int base = 0; base < maxDoc; base += 1024) {
                    int n = Math.min(1024, maxDoc - base);
                    for (int j = 0; j < n; j++) { docs[j] = base + j; dist[j] = 0; }
                    for (int i = 0; i < 4; i++) {
                        w[i].longValues(n, docs, vals, 0L);
                        long qi = q[i];
                        for (int j = 0; j < n; j++) dist[j] += Long.bitCount(qi ^ vals[j]);
                    }
                    for (int j = 0; j < n; j++) sum2 += dist[j];
                }
                long bulk = System.nanoTime() - start;
                System.out.printf("per-doc %.1f ms, bulk %.1f ms (%s, %d %d)%n", perDoc / 1e6, bulk / 1e6, w[0].getClass().getName(), sum, sum2);
            }
        }
    }
}
