package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
        assertArrayEquals(new String[] {"hash_r0", "hash_r1", "hash_r2", "hash_r3"}, p.fields());
        assertEquals(256, p.maxScore());
        HammingScript.Parameters one = HammingScript.Parameters.parse(params("code", CODE.substring(0, 16), "fields", List.of("hash_r2")), MAPPING);
        assertEquals(64, one.maxScore());
    }

    @Test
    void badParametersNameTheParameter() {
        assertEquals("[feilds] is not a parameter of the [hamming] script; it takes [code] and [fields]", error("code", CODE, "feilds", List.of()));
        assertEquals("[code] is required: the query code as 16 hex characters", error("fields", List.of("hash_r0")));
        assertEquals("[code] must be a hex string, got [12345] (Integer)", error("code", 12345));
        assertEquals("[code] must be 64 hex characters (256 bits: 16 per 64-bit word), got 63", error("code", CODE.substring(1)));
        assertEquals("[code] must be 32 hex characters (128 bits: 16 per 64-bit word), got 64", error("code", CODE, "fields", List.of("hash_r0", "hash_r1")));
        assertEquals("[fields] must be a list of long field names, got [hash_r0] (String)", error("code", CODE, "fields", "hash_r0"));
        assertEquals("[fields] must list field names, got [7] (Integer)", error("code", CODE, "fields", List.of(7)));
        assertEquals("[fields] must name at least one long field", error("code", "", "fields", List.of()));
        assertEquals("[fields] names unknown field [no_such_field]: it is not in the index mapping", error("code", CODE, "fields", List.of("no_such_field")));
        assertEquals("[fields] field [doc_id] must be of type [long], but it is [keyword]", error("code", CODE, "fields", List.of("doc_id")));
    }

    @Test
    void scoresAreBitsMinusDistanceAndZeroWithoutACode() throws IOException {
        Random random = new Random(3);
        long[][] codes = CodeIndex.randomCodes(300, random);
        try (CodeIndex index = CodeIndex.build(codes, 1, 120, i -> i % 7 == 0, random)) {
            long[] query = codes[5];
            HammingScript.Parameters params = HammingScript.Parameters.parse(params("code", HammingCodes.toHex(query)), MAPPING);
            double[] scores = new double[codes.length];
            for (LeafReaderContext leaf : index.reader.leaves()) {
                HammingScript.Scores segment = new HammingScript.Scores(leaf.reader(), params);
                for (int doc = 0; doc < leaf.reader().maxDoc(); doc++) {
                    int distance = segment.distance(doc);
                    scores[leaf.docBase + doc] = segment.score(distance);
                    String explanation = segment.explain(distance);
                    if (((leaf.docBase + doc) % 7 == 0)) {
                        assertEquals(SegmentCodes.MISSING, distance);
                        assertEquals("hamming: document lacks one of the code fields [hash_r0, hash_r1, hash_r2, hash_r3], scored 0", explanation);
                    } else {
                        assertEquals("hamming: 256 bits - distance " + CodeIndex.distance(query, codes[leaf.docBase + doc]), explanation);
                    }
                }
            }
            double[] expected = new double[codes.length];
            for (int i = 0; i < codes.length; i++) {
                expected[i] = i % 7 == 0 ? 0 : 256 - CodeIndex.distance(query, codes[i]);
            }
            assertArrayEquals(expected, scores, Arrays.toString(scores));
            assertEquals(256.0, scores[5]);
        }
    }
}
