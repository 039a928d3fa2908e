package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.TermsEnum;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.util.BytesRef;
import org.junit.jupiter.api.Test;

/** The field type's rules, which every engine's mapper applies: parameters, values, terms, columns. */
class HammingCodeFieldTest {

    private static final String HEX = "0123456789abcdef".repeat(4);

    private static String error(Runnable call) {
        return assertThrows(IllegalArgumentException.class, call::run).getMessage();
    }

    @Test
    void bitsAreAMultipleOf64UpTo1024() {
        assertEquals(64, HammingCodeField.checkBits("hash", 64));
        assertEquals(1024, HammingCodeField.checkBits("hash", 1024L));
        assertEquals("[bits] of field [hash] must be a multiple of 64 from 64 to 1024, got 100", error(() -> HammingCodeField.checkBits("hash", 100)));
        assertEquals("[bits] of field [hash] must be a multiple of 64 from 64 to 1024, got 0", error(() -> HammingCodeField.checkBits("hash", 0)));
        assertEquals(
            "[bits] of field [hash] must be an integer (a multiple of 64 up to 1024), got [256]",
            error(() -> HammingCodeField.checkBits("hash", "256"))
        );
    }

    @Test
    void aValueIsOneHexCodeOfTheFieldsBits() {
        assertArrayEquals(HammingCodes.parseHex(HEX, 4), HammingCodeField.parseValue("hash", 256, HEX.toUpperCase(java.util.Locale.ROOT)));
        assertEquals(
            "field [hash] of type [hamming_code]: the code must be 16 hex characters (64 bits: 16 per 64-bit word), got 64",
            error(() -> HammingCodeField.parseValue("hash", 64, HEX))
        );
        assertEquals(
            "field [hash] of type [hamming_code] takes one code as a string of 64 hex characters, got a number [7]",
            error(() -> HammingCodeField.parseValue("hash", 256, 7))
        );
        assertEquals(
            "field [hash] of type [hamming_code] takes one code as a string of 64 hex characters, got an object",
            error(() -> HammingCodeField.parseValue("hash", 256, Map.of()))
        );
        assertEquals(
            "field [hash] of type [hamming_code]: the code is not hex: character 'g' at position 0",
            error(() -> HammingCodeField.parseValue("hash", 256, "g".repeat(64)))
        );
        assertEquals(
            "field [hash] of type [hamming_code] takes one code as a string of 64 hex characters, got a boolean [true]",
            error(() -> HammingCodeField.parseValue("hash", 256, true))
        );
        assertTrue(HammingCodeField.oneCodePerDocument("hash").getMessage().contains("takes one code per document, got an array"));
    }

    @Test
    void subCodeTermsAsTextNameAPositionAndAValue() {
        assertEquals(HammingCodeField.term(1, 0x4567), HammingCodeField.termOfText("hash", 256, "14567"));
        assertEquals(HammingCodeField.term(0x1f, 0xabcd), HammingCodeField.termOfText("hash", 512, new BytesRef("1fABCD")));
        for (String bad : List.of("1456", "g4567", "104567", HEX, "f456z")) {
            String message = error(() -> HammingCodeField.termOfText("hash", 256, bad));
            assertTrue(message.contains("a term query on it takes a sub-code: its position (0 to f in hex)"), message);
        }
    }

    @Test
    void aDocumentHoldsItsSubCodeTermsAndWordColumnsAndReadsBackAsHex() throws IOException {
        long[] code = HammingCodes.parseHex(HEX, 4);
        try (ByteBuffersDirectory directory = new ByteBuffersDirectory()) {
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document doc = new Document();
                HammingCodeField.luceneFields("hash", code).forEach(doc::add);
                writer.addDocument(doc);
                writer.addDocument(new Document()); // no code
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                LeafReader segment = reader.leaves().get(0).reader();
                TermsEnum terms = segment.terms("hash").iterator();
                for (int p = 0; p < 16; p++) {
                    assertTrue(terms.seekExact(HammingCodeField.term(p, HammingCodes.subCode(code, p))), "position " + p);
                }
                assertEquals(16, segment.terms("hash").size());
                BinaryDocValues hex = HammingCodeField.hexValues(segment, "hash", 4);
                assertTrue(hex.advanceExact(0));
                assertEquals(HEX, hex.binaryValue().utf8ToString());
                assertFalse(hex.advanceExact(1));
                assertEquals(0, new CodeLayout.Column("hash", 4).open(segment, null).distance(0, code));
            }
        }
    }
}
