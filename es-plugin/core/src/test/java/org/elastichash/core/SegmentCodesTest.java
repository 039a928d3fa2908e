package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.junit.jupiter.api.Test;

class SegmentCodesTest {

    private static final String[] FIELDS = {"a", "b"};

    @Test
    void distancesMissingWordsMultiValuesAndGoingBack() throws IOException {
        try (ByteBuffersDirectory directory = new ByteBuffersDirectory()) {
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document full = new Document();
                full.add(new SortedNumericDocValuesField("a", -1L));
                full.add(new SortedNumericDocValuesField("b", 0L));
                writer.addDocument(full);
                Document missing = new Document();
                missing.add(new SortedNumericDocValuesField("a", 0L));
                writer.addDocument(missing);
                Document multi = new Document();
                multi.add(new SortedNumericDocValuesField("a", 7L));
                multi.add(new SortedNumericDocValuesField("a", 3L)); // the smallest, 3, counts
                multi.add(new SortedNumericDocValuesField("b", Long.MIN_VALUE));
                writer.addDocument(multi);
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                LeafReader leaf = reader.leaves().get(0).reader();
                SegmentCodes codes = SegmentCodes.open(leaf, FIELDS);
                long[] zero = {0L, 0L};
                assertEquals(64, codes.distance(0, zero));
                assertEquals(SegmentCodes.MISSING, codes.distance(1, zero));
                assertEquals(2 + 1, codes.distance(2, zero));
                assertEquals(64, codes.distance(0, zero), "going back reopens the doc values");
                assertTrue(codes.distance(0, zero, 10) > 10, "stops past the bound");
                assertEquals(-1L, codes.xorWord(0));
            }
        }
    }

    @Test
    void discoveryIsTheNearestSubCodeThenTheFirstPosition() throws IOException {
        try (ByteBuffersDirectory directory = new ByteBuffersDirectory()) {
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document doc = new Document();
                // Sub-codes differ from zero by 3, 1, 1, 2 bits.
                doc.add(new SortedNumericDocValuesField("a", 0x0007_0001_0100_0003L));
                doc.add(new SortedNumericDocValuesField("b", 0L));
                writer.addDocument(doc);
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                SegmentCodes codes = SegmentCodes.open(reader.leaves().get(0).reader(), FIELDS);
                assertEquals(7, codes.distance(0, new long[2]));
                assertEquals(1 << 8 | 1, codes.discovery(4));
                assertEquals(3 << 8, codes.discovery(1));
                assertEquals(4, codes.discovery(8), "word b equals the query's: position 4 at ring 0");
            }
        }
    }
}
