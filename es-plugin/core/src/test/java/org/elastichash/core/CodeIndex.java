package org.elastichash.core;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.IntPredicate;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.document.StringField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.NoMergePolicy;
import org.apache.lucene.index.Term;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;

/**
 * An in-memory Lucene index laid out as Elasticsearch lays out ElasticHash documents (a
 * hamming_code field, or the earlier layout: words as sorted-numeric doc values, sub-code
 * terms in one keyword field), kept beside the codes as
 * arrays so that tests can compute every answer by brute force. Segments never merge, so the
 * global document number of code i is i.
 */
final class CodeIndex implements AutoCloseable {

    static final String[] WORDS = {"hash_r0", "hash_r1", "hash_r2", "hash_r3"};
    static final String SUBCODES = "hash_mih";
    static final String COLUMN = "hash";
    static final String LABEL = "label";

    /** The hamming_code field's layout: what the field type writes. */
    static final CodeLayout COLUMN_LAYOUT = new CodeLayout.Column(COLUMN, 4);
    /** The earlier layout: long words and hex sub-code terms. */
    static final CodeLayout WORDS_LAYOUT = new CodeLayout.WordFields(WORDS, SUBCODES);

    final long[][] codes;
    final CodeLayout layout;
    final int[] labels;
    final boolean[] deleted;
    final Directory directory = new ByteBuffersDirectory();
    DirectoryReader reader;

    private CodeIndex(long[][] codes, int[] labels, CodeLayout layout) {
        this.codes = codes;
        this.layout = layout;
        this.labels = labels;
        this.deleted = new boolean[codes.length];
    }

    /** Indexes the codes in segments of {@code segmentSize}; {@code bare} codes get no fields but the label. */
    static CodeIndex build(long[][] codes, int labelCount, int segmentSize, IntPredicate bare, Random random)
        throws IOException {
        return build(codes, labelCount, segmentSize, bare, random, COLUMN_LAYOUT);
    }

    /** As {@link #build}, in the given layout ({@link #COLUMN_LAYOUT} or {@link #WORDS_LAYOUT}). */
    static CodeIndex build(long[][] codes, int labelCount, int segmentSize, IntPredicate bare, Random random, CodeLayout layout)
        throws IOException {
        int[] labels = new int[codes.length];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = random.nextInt(labelCount);
        }
        CodeIndex index = new CodeIndex(codes, labels, layout);
        IndexWriterConfig config = new IndexWriterConfig().setMergePolicy(NoMergePolicy.INSTANCE).setRAMBufferSizeMB(512);
        try (IndexWriter writer = new IndexWriter(index.directory, config)) {
            for (int i = 0; i < codes.length; i++) {
                Document doc = new Document();
                doc.add(new StringField("id", Integer.toString(i), Field.Store.NO));
                doc.add(new StringField(LABEL, Integer.toString(labels[i]), Field.Store.NO));
                if (bare.test(i) == false && layout instanceof CodeLayout.Column) {
                    HammingCodeField.luceneFields(COLUMN, codes[i]).forEach(doc::add);
                } else if (bare.test(i) == false) {
                    for (int w = 0; w < WORDS.length; w++) {
                        doc.add(new SortedNumericDocValuesField(WORDS[w], codes[i][w]));
                    }
                    for (int p = 0; p < 16; p++) {
                        doc.add(new StringField(SUBCODES, HammingCodes.subCodeTerm(p, HammingCodes.subCode(codes[i], p)), Field.Store.NO));
                    }
                }
                writer.addDocument(doc);
                if ((i + 1) % segmentSize == 0) {
                    writer.flush();
                }
            }
        }
        index.reader = DirectoryReader.open(index.directory);
        return index;
    }

    /**
     * A one-segment index of {@code codes} (the field {@link #COLUMN}) in {@code dir}, written on
     * the first call and kept: the probes' indices of a million codes take a while to write.
     */
    static void writeOnce(java.nio.file.Path dir, long[][] codes) throws IOException {
        if (java.nio.file.Files.exists(dir.resolve("done"))) {
            return;
        }
        try (org.apache.lucene.store.FSDirectory directory = org.apache.lucene.store.FSDirectory.open(dir);
            IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig().setRAMBufferSizeMB(256))) {
            for (long[] code : codes) {
                Document doc = new Document();
                HammingCodeField.luceneFields(COLUMN, code).forEach(doc::add);
                writer.addDocument(doc);
            }
            writer.forceMerge(1);
        }
        java.nio.file.Files.createFile(dir.resolve("done"));
    }

    /** Deletes the given codes' documents and reopens the reader. */
    void delete(int... ids) throws IOException {
        try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig().setMergePolicy(NoMergePolicy.INSTANCE))) {
            for (int id : ids) {
                writer.deleteDocuments(new Term("id", Integer.toString(id)));
                deleted[id] = true;
            }
        }
        reader.close();
        reader = DirectoryReader.open(directory);
    }

    static int distance(long[] a, long[] b) {
        int d = 0;
        for (int i = 0; i < a.length; i++) {
            d += Long.bitCount(a[i] ^ b[i]);
        }
        return d;
    }

    /** Brute force: (distance, id) of the k nearest accepted codes, ties by id. */
    long[] nearest(long[] query, int k, int maxDistance, IntPredicate accept) {
        List<Long> all = new ArrayList<>();
        for (int i = 0; i < codes.length; i++) {
            if (deleted[i] || accept.test(i) == false) {
                continue;
            }
            int d = distance(query, codes[i]);
            if (d <= maxDistance) {
                all.add((long) d << 32 | i);
            }
        }
        long[] sorted = all.stream().mapToLong(Long::longValue).sorted().toArray();
        return Arrays.copyOf(sorted, Math.min(k, sorted.length));
    }

    /** A search result in the same (distance, id) form, best first. */
    static long[] asPairs(HammingResult result) {
        long[] pairs = new long[result.size()];
        for (int i = 0; i < pairs.length; i++) {
            pairs[i] = (long) result.distances()[i] << 32 | result.docs()[i];
        }
        Arrays.sort(pairs);
        return pairs;
    }

    static long[][] randomCodes(int n, Random random) {
        long[][] codes = new long[n][4];
        for (long[] code : codes) {
            for (int w = 0; w < 4; w++) {
                code[w] = random.nextLong();
            }
        }
        return codes;
    }

    /** Codes around {@code clusters} random centres, each bit flipped with probability {@code flip}. */
    static long[][] clusteredCodes(int n, int clusters, double flip, Random random) {
        long[][] centres = randomCodes(clusters, random);
        long[][] codes = new long[n][];
        for (int i = 0; i < n; i++) {
            codes[i] = noisy(centres[random.nextInt(clusters)], flip, random);
        }
        return codes;
    }

    static long[] noisy(long[] code, double flip, Random random) {
        long[] result = code.clone();
        for (int w = 0; w < result.length; w++) {
            for (int b = 0; b < 64; b++) {
                if (random.nextDouble() < flip) {
                    result[w] ^= 1L << b;
                }
            }
        }
        return result;
    }

    @Override
    public void close() throws IOException {
        reader.close();
        directory.close();
    }
}
