package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.document.Document;
import org.apache.lucene.document.SortedNumericDocValuesField;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.FieldInfo;
import org.apache.lucene.index.FieldInfos;
import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SortedNumericDocValues;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.junit.jupiter.api.Test;

/** A wrapper that hides a field, as Elasticsearch's field-level security does, is refused by name. */
class HiddenFieldsTest {

    /** Hides fields' infos, terms and doc values, as field-level security does; everything else passes through. */
    private static final class Hiding extends FilterLeafReader {
        private final java.util.function.Predicate<String> hidden;

        Hiding(LeafReader in, String hidden) {
            this(in, hidden::equals);
        }

        Hiding(LeafReader in, java.util.function.Predicate<String> hidden) {
            super(in);
            this.hidden = hidden;
        }

        @Override
        public FieldInfos getFieldInfos() {
            List<FieldInfo> kept = new ArrayList<>();
            for (FieldInfo info : in.getFieldInfos()) {
                if (hidden.test(info.name) == false) {
                    kept.add(info);
                }
            }
            return new FieldInfos(kept.toArray(FieldInfo[]::new));
        }

        @Override
        public SortedNumericDocValues getSortedNumericDocValues(String field) throws IOException {
            return hidden.test(field) ? null : in.getSortedNumericDocValues(field);
        }

        @Override
        public org.apache.lucene.index.NumericDocValues getNumericDocValues(String field) throws IOException {
            return hidden.test(field) ? null : in.getNumericDocValues(field);
        }

        @Override
        public org.apache.lucene.index.Terms terms(String field) throws IOException {
            return hidden.test(field) ? null : in.terms(field);
        }

        @Override
        public IndexReader.CacheHelper getCoreCacheHelper() {
            return null;
        }

        @Override
        public IndexReader.CacheHelper getReaderCacheHelper() {
            return null;
        }
    }

    @Test
    void aHiddenWordIsRefusedAMissingOneReadsAsMissing() throws IOException {
        try (ByteBuffersDirectory directory = new ByteBuffersDirectory()) {
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document doc = new Document();
                doc.add(new SortedNumericDocValuesField("a", 1L));
                doc.add(new SortedNumericDocValuesField("b", 3L));
                writer.addDocument(doc);
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                LeafReader segment = reader.leaves().get(0).reader();
                LeafReader hiding = new Hiding(segment, "b");
                IllegalArgumentException error = assertThrows(
                    IllegalArgumentException.class,
                    () -> SegmentCodes.open(hiding, new String[] {"a", "b"})
                );
                assertEquals(
                    "[fields] field [b] is hidden from this user by field-level security; the hamming query and script read the "
                        + "code fields, so grant them to the user's role or search without ElasticHash",
                    error.getMessage()
                );
                // What stays visible is read as before, through the wrapper.
                assertEquals(1, SegmentCodes.open(hiding, new String[] {"a"}).distance(0, new long[] {0L}));
                // A field the segment never held is not hidden: it reads as missing, wrapped or not.
                assertEquals(SegmentCodes.MISSING, SegmentCodes.open(hiding, new String[] {"a", "c"}).distance(0, new long[] {0L, 0L}));
                assertEquals(2 + 1, SegmentCodes.open(segment, new String[] {"a", "b"}).distance(0, new long[] {0L, 0L}));
            }
        }
    }

    @Test
    void aHammingCodeFieldIsGrantedOrHiddenAsAWhole() throws IOException {
        try (ByteBuffersDirectory directory = new ByteBuffersDirectory()) {
            long[] code = {1L, 2L, 3L, 4L};
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document doc = new Document();
                HammingCodeField.luceneFields("hash", code).forEach(doc::add);
                writer.addDocument(doc);
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                LeafReader segment = reader.leaves().get(0).reader();
                CodeLayout column = new CodeLayout.Column("hash", 4);
                // A role naming the field alone hides its derived columns' Lucene names: still read.
                LeafReader grantsTheField = new Hiding(segment, name -> name.startsWith("hash#"));
                assertEquals(0, column.open(grantsTheField, null).distance(0, code));
                assertEquals(HammingCodes.toHex(code), hexOf(grantsTheField));
                // A role that hides the field is refused, whatever it does with the columns.
                LeafReader hidesTheField = new Hiding(segment, "hash");
                IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> column.open(hidesTheField, null));
                assertTrue(error.getMessage().startsWith("[field] field [hash] is hidden from this user by field-level security"));
                // Its hex (docvalue_fields, the code Elasticsearch 9 puts back into _source) is not shown either.
                assertEquals(null, hexOf(hidesTheField));
                assertEquals(null, hexOf(new Hiding(segment, name -> name.startsWith("hash"))));
                assertEquals(HammingCodes.toHex(code), hexOf(segment));
            }
        }
    }

    /** Document 0's hex as {@link HammingCodeField#hexValues} reads it through {@code reader}, or null. */
    private static String hexOf(LeafReader reader) throws IOException {
        org.apache.lucene.index.BinaryDocValues hex = HammingCodeField.hexValues(reader, "hash", 4);
        return hex.advanceExact(0) ? hex.binaryValue().utf8ToString() : null;
    }
}
