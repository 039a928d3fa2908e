package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.lucene.index.LeafReaderContext;
import org.junit.jupiter.api.Test;

/** The script's compile checks, parameters and scores, on a Lucene index of known codes. */
class HammingScriptTest {

    private static final String CODE = "0123456789abcdef".repeat(4);

    private static final CodeFields.Mapping MAPPING = name -> switch (name) {
        case "hash_r0", "hash_r1", "hash_r2", "hash_r3" -> new CodeFields.Field(name, "long", true, true, false);
        case "doc_id" -> new CodeFields.Field(name, "keyword", true, true, false);
        default -> null;
    };

    private static Map<String, Object> params(Object... entries) {
        return HammingParametersTest.body(entries);
    }

    private static String error(Object... entries) {
        return assertThrows(IllegalArgumentException.class, () -> HammingScript.Parameters.parse(params(entries), MAPPING)).getMessage();
    }

    @Test
    void onlyTheHammingScriptInScoreContexts() {
        HammingScript.checkSource("hamming");
        assertEquals(
            "unknown [elastichash] script [hammming]; the available script is [hamming]",
            assertThrows(IllegalArgumentException.class, () -> HammingScript.checkSource("hammming")).getMessage()
        );
        assertEquals(
            "[elastichash] scripts only compute scores (script_score, function_score, rescore); they cannot be used in the [update] context",
            HammingScript.notAScoreContext("update").getMessage()
        );
    }

    @Test
    void parametersDefaultToTheDocumentedFields() {
        HammingScript.Parameters p = HammingScript.Parameters.parse(params("code", CODE, "_source", "engine's own"), MAPPING);
        assertArrayEquals(HammingCodes.parseHex(CODE, 4), p.code());
        assertEquals(new CodeLayout.WordFields(new String[] {"hash_r0", "hash_r1", "hash_r2", "hash_r3"}, "hash_mih"), p.layout());
        assertEquals(256, p.maxScore());
        HammingScript.Parameters one = HammingScript.Parameters.parse(params("code", CODE.substring(0, 16), "fields", List.of("hash_r2")), MAPPING);
        assertEquals(64, one.maxScore());
    }

    @Test
    void badParametersNameTheParameter() {
        assertEquals("[feilds] is not a parameter of the [hamming] script; it takes [code] and [field] (or the earlier layout's [fields])", error("code", CODE, "feilds", List.of()));
        assertEquals("[code] is required: the query code as 16 hex characters", error("fields", List.of("hash_r0")));
        // The values are read by the query's own reader (HammingParametersTest has its messages).
        assertEquals("[code] must be 32 hex characters (128 bits: 16 per 64-bit word), got 64", error("code", CODE, "fields", List.of("hash_r0", "hash_r1")));
        assertTrue(error("code", CODE, "fields", "hash_r0").matches("\\[fields\\] .*, got the string \\[hash_r0\\]"));
        assertEquals("[fields] field [doc_id] must be of type [long], but it is [keyword]", error("code", CODE, "fields", List.of("doc_id")));
        assertEquals("[field] field [doc_id] must be of type [hamming_code], but it is [keyword]", error("code", CODE, "field", "doc_id"));
        // A prefix is a hamming_code field's feature: the earlier layout's words are named one by one.
        assertEquals("[code] must be 64 hex characters: the index's codes have 256 bits, got 16", error("code", CODE.substring(0, 16)));
    }

    @Test
    void scoresAreBitsMinusDistanceAndZeroWithoutACode() throws IOException {
        assertScores(CodeIndex.WORDS_LAYOUT, 4, "[hash_r0, hash_r1, hash_r2, hash_r3]");
    }

    @Test
    void aHammingCodeFieldIsScoredOnTheWholeCodeOrOnAPrefix() throws IOException {
        assertScores(CodeIndex.COLUMN_LAYOUT, 4, "[hash]");
        assertScores(CodeIndex.COLUMN_LAYOUT, 1, "[hash]");
    }

    /** Scores of a query code of {@code words} words (a prefix of the indexed ones) against brute force. */
    private static void assertScores(CodeLayout layout, int words, String fields) throws IOException {
        Random random = new Random(3);
        long[][] codes = CodeIndex.randomCodes(300, random);
        try (CodeIndex index = CodeIndex.build(codes, 1, 120, i -> i % 7 == 0, random, layout)) {
            long[] query = Arrays.copyOf(codes[5], words);
            CodeFields.Mapping mapping = layout instanceof CodeLayout.Column
                ? name -> "hash".equals(name) ? new CodeFields.Field(name, "hamming_code", true, true, false, 256) : MAPPING.field(name)
                : MAPPING;
            HammingScript.Parameters params = HammingScript.Parameters.parse(params("code", HammingCodes.toHex(query)), mapping);
            assertEquals(layout.termField(), params.layout().termField());
            int bits = words * 64;
            double[] scores = new double[codes.length];
            for (LeafReaderContext leaf : index.reader.leaves()) {
                HammingScript.Scores segment = new HammingScript.Scores(leaf.reader(), params);
                for (int doc = 0; doc < leaf.reader().maxDoc(); doc++) {
                    int distance = segment.distance(doc);
                    scores[leaf.docBase + doc] = segment.score(distance);
                    String explanation = segment.explain(distance);
                    if (((leaf.docBase + doc) % 7 == 0)) {
                        assertEquals(SegmentCodes.MISSING, distance);
                        assertEquals("hamming: document has no code in " + fields + ", scored 0", explanation);
                    } else {
                        long[] prefix = Arrays.copyOf(codes[leaf.docBase + doc], words);
                        assertEquals("hamming: " + bits + " bits - distance " + CodeIndex.distance(query, prefix), explanation);
                    }
                }
            }
            double[] expected = new double[codes.length];
            for (int i = 0; i < codes.length; i++) {
                expected[i] = i % 7 == 0 ? 0 : bits - CodeIndex.distance(query, Arrays.copyOf(codes[i], words));
            }
            assertArrayEquals(expected, scores, Arrays.toString(scores));
            assertEquals(bits, scores[5]);
        }
    }
}
