package org.elastichash.core;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.document.Field;
import org.apache.lucene.document.FieldType;
import org.apache.lucene.document.NumericDocValuesField;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.IndexOptions;
import org.apache.lucene.index.IndexableField;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.NumericDocValues;
import org.apache.lucene.util.BytesRef;

/**
 * The {@code hamming_code} field type, as every engine indexes it: a document sends its code as
 * hex ({@code "hash": "<64 hex characters>"}) and the mapper derives everything search needs,
 * in one Lucene field of the same name:
 *
 * <ul>
 *   <li>the code's sub-codes as terms, postings only (no frequencies, positions or norms): a
 *       3-byte term per 16-bit sub-code, its position then its value, big-endian. Multi-index
 *       hashing looks them up.
 *   <li>the code's 64-bit words as numeric doc values, one column per word, in Lucene fields
 *       named {@code <field>#0}, {@code <field>#1}, ... ({@link #wordField}). Random 64-bit words
 *       are stored at 64 bits a value, so each column is a fixed-width array read without
 *       decoding; Lucene 10 reads blocks of it at once. Measured on 1M random codes in one
 *       segment (Lucene 10.5, JDK 25): a scan 5-6 ns a code and a candidate check ~45 ns,
 *       against 12-22 ns and 100-250 ns for one fixed-length binary doc value of 32 bytes, whose
 *       per-document copy costs more than four word reads.
 * </ul>
 *
 * <p>One code per document. The engines' mappers only adapt their APIs to this class: mapping
 * parameters, value checks and their messages are the same everywhere.
 */
public final class HammingCodeField {

    /** The field type's name in a mapping. */
    public static final String TYPE = "hamming_code";

    /** The mapping parameter for the code length. */
    public static final String BITS = "bits";

    public static final int DEFAULT_BITS = 256;

    /** The longest code: 64 sub-code positions, each fits the term's position byte. */
    public static final int MAX_BITS = 1024;

    /** How the sub-code terms are indexed: postings of documents only. */
    public static final FieldType TERMS;

    static {
        FieldType type = new FieldType();
        type.setIndexOptions(IndexOptions.DOCS);
        type.setOmitNorms(true);
        type.setTokenized(false);
        type.setStored(false);
        type.freeze();
        TERMS = type;
    }

    private HammingCodeField() {}

    /**
     * Checks the {@code bits} mapping parameter.
     *
     * @throws IllegalArgumentException naming the field and the allowed values
     */
    public static int checkBits(String field, Object bits) {
        if (bits instanceof Integer == false && bits instanceof Long == false && bits instanceof Short == false) {
            throw new IllegalArgumentException(
                "[" + BITS + "] of field [" + field + "] must be an integer (a multiple of 64 up to " + MAX_BITS + "), got [" + bits + "]"
            );
        }
        long value = ((Number) bits).longValue();
        if (value < HammingCodes.WORD_BITS || value > MAX_BITS || value % HammingCodes.WORD_BITS != 0) {
            throw new IllegalArgumentException(
                "[" + BITS + "] of field [" + field + "] must be a multiple of 64 from 64 to " + MAX_BITS + ", got " + value
            );
        }
        return (int) value;
    }

    /**
     * Reads one document's value: the code as hex, {@code bits / 4} characters.
     *
     * @param value what the document holds, as the engine's parser read it (a String for a JSON string)
     * @throws IllegalArgumentException naming the field and what is wrong
     */
    public static long[] parseValue(String field, int bits, Object value) {
        if (value instanceof String == false) {
            throw new IllegalArgumentException(
                "field ["
                    + field
                    + "] of type ["
                    + TYPE
                    + "] takes one code as a string of "
                    + bits / 4
                    + " hex characters, got "
                    + describe(value)
            );
        }
        try {
            return HammingCodes.parseHex((String) value, bits / HammingCodes.WORD_BITS);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("field [" + field + "] of type [" + TYPE + "]: the code " + e.getMessage());
        }
    }

    /** The refusal of a second code in one document. */
    public static IllegalArgumentException oneCodePerDocument(String field) {
        return new IllegalArgumentException(
            "field ["
                + field
                + "] of type ["
                + TYPE
                + "] takes one code per document, got an array; index each code (a video frame, a crop) as a document of its own"
        );
    }

    private static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof java.util.Map) {
            return "an object";
        }
        if (value instanceof java.util.List) {
            return "an array";
        }
        return "a " + (value instanceof Number ? "number" : value instanceof Boolean ? "boolean" : value.getClass().getSimpleName())
            + " [" + value + "]";
    }

    /** The Lucene fields of one document's code: its sub-code terms and its word columns. */
    public static List<IndexableField> luceneFields(String luceneName, long[] words) {
        int positions = words.length * HammingCodes.SUBCODES_PER_WORD;
        List<IndexableField> fields = new ArrayList<>(positions + words.length);
        for (int p = 0; p < positions; p++) {
            fields.add(new Field(luceneName, term(p, HammingCodes.subCode(words, p)), TERMS));
        }
        for (int w = 0; w < words.length; w++) {
            fields.add(new NumericDocValuesField(wordField(luceneName, w), words[w]));
        }
        return fields;
    }

    /**
     * The indexed term of a sub-code written as text, as {@code term} and {@code terms} queries on
     * the field take it: the position in hex, then the value as 4 hex digits
     * ({@link HammingCodes#subCodeTerm}: {@code "14567"} is value 0x4567 at position 1). This is
     * how the paper's first stage (sub-codes within a radius, as a terms filter) runs on the field.
     *
     * @throws IllegalArgumentException naming the field and the form expected
     */
    public static BytesRef termOfText(String field, int bits, Object value) {
        String text = value instanceof BytesRef bytes ? bytes.utf8ToString() : String.valueOf(value);
        int positions = bits / HammingCodes.SUBCODE_BITS;
        int length = text.length();
        if (length >= 5 && length <= 6) {
            try {
                int position = Integer.parseInt(text.substring(0, length - 4), 16);
                int subCode = Integer.parseInt(text.substring(length - 4), 16);
                if (position < positions && text.chars().allMatch(c -> Character.digit(c, 16) >= 0 && c < 128)) {
                    return term(position, subCode);
                }
            } catch (NumberFormatException e) {
                // named below
            }
        }
        throw new IllegalArgumentException(
            "field [" + field + "] of type [" + TYPE + "] is searched with the [hamming] query; a term query on it takes a sub-code: its "
                + "position (0 to " + Integer.toHexString(positions - 1) + " in hex) then its value as 4 hex digits, such as [14567], got ["
                + text + "]"
        );
    }

    /** The Lucene field of word {@code w}'s column. */
    public static String wordField(String luceneName, int w) {
        return luceneName + "#" + w;
    }

    /** The Lucene fields of all {@code words} columns. */
    public static String[] wordFields(String luceneName, int words) {
        String[] names = new String[words];
        for (int w = 0; w < words; w++) {
            names[w] = wordField(luceneName, w);
        }
        return names;
    }

    /** The indexed term of sub-code {@code value} at {@code position}: 3 bytes, position then value. */
    public static BytesRef term(int position, int value) {
        return new BytesRef(new byte[] {(byte) position, (byte) (value >>> 8), (byte) value});
    }

    /**
     * The codes of a {@code hamming_code} field as hex text (ASCII bytes), one value per document
     * that has a code: what {@code docvalue_fields} shows and aggregations count. None where the
     * reader hides the field (field-level security).
     */
    public static BinaryDocValues hexValues(LeafReader reader, String luceneName, int words) throws IOException {
        if (HiddenFields.hidden(reader, luceneName)) {
            return DocValues.emptyBinary(); // field-level security hides the field: its columns too
        }
        LeafReader source = HiddenFields.columnsOf(reader, wordField(luceneName, 0));
        NumericDocValues[] columns = new NumericDocValues[words];
        for (int w = 0; w < words; w++) {
            columns[w] = DocValues.getNumeric(source, wordField(luceneName, w));
        }
        long[] code = new long[words];
        return new BinaryDocValues() {
            private final BytesRef hex = new BytesRef();

            @Override
            public BytesRef binaryValue() throws IOException {
                for (int w = 0; w < words; w++) {
                    code[w] = columns[w].longValue();
                }
                hex.bytes = HammingCodes.toHex(code).getBytes(StandardCharsets.US_ASCII);
                hex.offset = 0;
                hex.length = hex.bytes.length;
                return hex;
            }

            @Override
            public boolean advanceExact(int target) throws IOException {
                boolean found = columns[0].advanceExact(target);
                for (int w = 1; w < words && found; w++) {
                    found = columns[w].advanceExact(target);
                }
                return found;
            }

            @Override
            public int docID() {
                return columns[0].docID();
            }

            @Override
            public int nextDoc() throws IOException {
                return advance(docID() + 1);
            }

            @Override
            public int advance(int target) throws IOException {
                int doc = columns[0].advance(target);
                for (int w = 1; w < words && doc != NO_MORE_DOCS; w++) {
                    columns[w].advance(doc);
                }
                return doc;
            }

            @Override
            public long cost() {
                return columns[0].cost();
            }
        };
    }
}
