package org.elastichash.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.util.BytesRef;

/**
 * Where an index keeps its codes: what the search and the script read. Two layouts exist.
 *
 * <ul>
 *   <li>{@link Column}: one {@code hamming_code} field ({@link HammingCodeField}): the sub-code
 *       terms in its Lucene field, the words in fixed-width numeric columns beside it. What the
 *       plugin's field type writes.
 *   <li>{@link WordFields}: the earlier layout the client wrote by hand, one {@code long} field
 *       per 64-bit word and the sub-codes as hex terms of a {@code keyword} field. Still searched,
 *       so that indices written before the field type keep working until they are reindexed.
 * </ul>
 */
public sealed interface CodeLayout {

    /** 64-bit words per code. */
    int words();

    /** The Lucene field whose terms are the sub-codes. */
    String termField();

    /** A term buffer for sub-codes at {@code position}; {@link #setValue} writes a value into it. */
    BytesRef newTerm(int position);

    /** Rewrites the value part of a term made by {@link #newTerm}. */
    void setValue(BytesRef term, int value);

    /**
     * The codes of one segment's documents, from {@code cache}'s arrays where this layout and the
     * cache's room allow (null: read the columns).
     */
    SegmentCodes open(LeafReader reader, CodeCache cache) throws IOException;

    /** The parameter that named the fields, for messages. */
    String parameter();

    /** The Lucene fields read, for {@link HiddenFields}. */
    String[] fieldsRead();

    /** The codes of a {@code hamming_code} field: terms and column in one Lucene field. */
    record Column(String field, int words) implements CodeLayout {

        public Column {
            if (words < 1 || words > HammingCodeField.MAX_BITS / HammingCodes.WORD_BITS) {
                throw new IllegalArgumentException("a code has 1 to " + HammingCodeField.MAX_BITS / 64 + " words, got " + words);
            }
        }

        @Override
        public String termField() {
            return field;
        }

        @Override
        public BytesRef newTerm(int position) {
            return HammingCodeField.term(position, 0);
        }

        @Override
        public void setValue(BytesRef term, int value) {
            term.bytes[term.offset + 1] = (byte) (value >>> 8);
            term.bytes[term.offset + 2] = (byte) value;
        }

        /**
         * Field-level security grants or hides the field as a whole: its word columns hold the
         * same code as its terms and its {@code _source}, so a user who may see the field reads
         * them, even under a role that names the field alone (and so hides its derived columns'
         * Lucene names). A hidden field is refused.
         */
        @Override
        public SegmentCodes open(LeafReader reader, CodeCache cache) throws IOException {
            HiddenFields.requireVisible(reader, parameter(), fieldsRead());
            String[] columns = HammingCodeField.wordFields(field, words);
            LeafReader source = HiddenFields.columnsOf(reader, columns[0]);
            CodeCache.Words words = cache == null || source.getFieldInfos().fieldInfo(columns[0]) == null ? null : cache.words(source, columns);
            if (words != null) {
                return new CachedCodes(words, "[" + field + "]");
            }
            return new WordCodes(source, columns, "[" + field + "]");
        }

        @Override
        public String parameter() {
            return HammingParameters.FIELD;
        }

        @Override
        public String[] fieldsRead() {
            return new String[] {field};
        }
    }

    /** The earlier layout: {@code long} words as numeric doc values, hex sub-code terms in a keyword field. */
    record WordFields(String[] wordFields, String subcodeField) implements CodeLayout {

        public WordFields {
            wordFields = wordFields.clone();
        }

        @Override
        public int words() {
            return wordFields.length;
        }

        @Override
        public String termField() {
            return subcodeField;
        }

        @Override
        public BytesRef newTerm(int position) {
            return new BytesRef(HammingCodes.subCodeTerm(position, 0).getBytes(StandardCharsets.US_ASCII));
        }

        @Override
        public void setValue(BytesRef term, int value) {
            int end = term.offset + term.length;
            for (int i = 1; i <= 4; i++) {
                int nibble = (value >>> (4 * (i - 1))) & 0xF;
                term.bytes[end - i] = (byte) (nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
            }
        }

        /** The earlier layout's words are read from their fields: only the field type's are cached. */
        @Override
        public SegmentCodes open(LeafReader reader, CodeCache cache) throws IOException {
            HiddenFields.requireVisible(reader, HammingParameters.FIELDS, wordFields);
            return new WordCodes(reader, wordFields, java.util.Arrays.toString(wordFields));
        }

        @Override
        public String parameter() {
            return HammingParameters.FIELDS;
        }

        @Override
        public String[] fieldsRead() {
            String[] all = java.util.Arrays.copyOf(wordFields, wordFields.length + 1);
            all[wordFields.length] = subcodeField;
            return all;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof WordFields w && java.util.Arrays.equals(wordFields, w.wordFields) && subcodeField.equals(w.subcodeField);
        }

        @Override
        public int hashCode() {
            return 31 * java.util.Arrays.hashCode(wordFields) + subcodeField.hashCode();
        }

        @Override
        public String toString() {
            return "fields=" + java.util.Arrays.toString(wordFields) + ", subcode_field=" + subcodeField;
        }
    }
}
