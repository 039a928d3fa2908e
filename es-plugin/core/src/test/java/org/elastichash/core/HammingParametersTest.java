package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.search.MatchAllDocsQuery;
import org.junit.jupiter.api.Test;

/** The query's parameters as every engine reads them: defaults, the printed form, every message in full. */
class HammingParametersTest {

    private static final String CODE = "0123456789abcdef".repeat(4);

    /** A body in the given order: key, value, key, value, ... */
    static Map<String, Object> body(Object... entries) {
        Map<String, Object> body = new LinkedHashMap<>();
        for (int i = 0; i < entries.length; i += 2) {
            body.put((String) entries[i], entries[i + 1]);
        }
        return body;
    }

    private static HammingParameters parse(Object... entries) {
        return HammingParameters.parse(body(entries)).parameters();
    }

    private static String error(Object... entries) {
        return assertThrows(IllegalArgumentException.class, () -> HammingParameters.parse(body(entries))).getMessage();
    }

    /** The mapping of the documented layout; "title" is text, "runtime" a runtime long. */
    private static CodeFields.Field field(String name) {
        return switch (name) {
            case "hash_r0", "hash_r1", "hash_r2", "hash_r3" -> new CodeFields.Field("lucene_" + name, "long", true, true, false);
            case "hash_mih" -> new CodeFields.Field("lucene_hash_mih", "keyword", true, true, false);
            case "title" -> new CodeFields.Field("title", "text", false, true, false);
            case "code" -> new CodeFields.Field("lucene_code", "hamming_code", true, true, false, 256);
            case "short" -> new CodeFields.Field("lucene_short", "hamming_code", true, true, false, 64);
            default -> null;
        };
    }

    @Test
    void defaultsNeedNothingButTheCode() {
        HammingParameters.Parsed parsed = HammingParameters.parse(body("code", CODE.toUpperCase(java.util.Locale.ROOT)));
        HammingParameters p = parsed.parameters();
        assertArrayEquals(HammingCodes.parseHex(CODE, 4), p.code());
        assertNull(p.k());
        assertEquals(HammingRequest.NO_MAX_DISTANCE, p.maxDistance());
        assertEquals(HammingRequest.Mode.EXACT, p.mode());
        assertEquals(HammingRequest.PAPER_RADIUS, p.radius());
        assertNull(p.field());
        assertNull(p.fields());
        assertNull(p.subcodeField());
        assertEquals(1.0f, parsed.boost());
        assertNull(parsed.queryName());
        assertEquals(10, p.hits(10_000));
    }

    @Test
    void theOptionsEveryQueryTakesAreReadToo() {
        HammingParameters.Parsed parsed = HammingParameters.parse(body("code", CODE, "boost", 2, "_name", "q"));
        assertEquals(2.0f, parsed.boost());
        assertEquals("q", parsed.queryName());
        assertEquals(parse("code", CODE), parsed.parameters(), "boost and _name are not search parameters");
    }

    @Test
    void theMapFormReadsBackToEqualParameters() {
        for (HammingParameters p : List.of(
            parse("code", CODE),
            parse("code", CODE, "k", 5, "max_distance", 40, "mode", "paper", "radius", 1),
            parse("code", CODE.substring(0, 32), "fields", List.of("a", "b"), "subcode_field", "s", "max_distance", 3),
            parse("code", CODE, "field", "image_code", "k", 3)
        )) {
            Map<String, Object> map = p.toMap();
            assertEquals(p, HammingParameters.parse(map).parameters(), map.toString());
            assertEquals(p.hashCode(), HammingParameters.parse(map).parameters().hashCode());
        }
        assertEquals(
            "{code=" + CODE + ", k=5, mode=paper, radius=1, field=hash}",
            parse("code", CODE, "k", 5, "mode", "paper", "radius", 1, "field", "hash").toMap().toString()
        );
        assertNotEquals(parse("code", CODE, "k", 5), parse("code", CODE, "k", 6));
        assertNotEquals(parse("code", CODE), parse("code", CODE, "field", "hash"));
        assertNotEquals(parse("code", CODE, "mode", "paper"), parse("code", CODE, "mode", "paper", "radius", 1));
    }

    @Test
    void hitsAreKOrEverythingWithinMaxDistanceUpToTheWindow() {
        assertEquals(7, parse("code", CODE, "k", 7).hits(100));
        assertEquals(100, parse("code", CODE, "max_distance", 20).hits(100));
        assertEquals(7, parse("code", CODE, "max_distance", 20, "k", 7).hits(100));
        assertEquals(
            "[k] must be between 1 and index.max_result_window (100), got 101; raise the index setting to ask for more",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE, "k", 101).hits(100)).getMessage()
        );
    }

    @Test
    void aHammingCodeFieldGivesTheLayoutAndTheCodeLength() throws IOException {
        HammingRequest request = parse("code", CODE, "field", "code").request(HammingParametersTest::field, 100, () -> null);
        assertEquals(new CodeLayout.Column("lucene_code", 4), request.layout());
        assertEquals(
            "[code] must be 16 hex characters: field [lucene_short] holds 64-bit codes, got 64",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE, "field", "short").request(HammingParametersTest::field, 100, () -> null)).getMessage()
        );
        assertEquals(
            "[field] field [title] must be of type [hamming_code], but it is [text]",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE, "field", "title").request(HammingParametersTest::field, 100, () -> null)).getMessage()
        );
        assertEquals(
            "[field] names unknown field [nope]: it is not in the index mapping",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE, "field", "nope").request(HammingParametersTest::field, 100, () -> null)).getMessage()
        );
        assertEquals(
            "[field] the index has no field [hash]: map a field of type [hamming_code] there, or name the field that holds the codes",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE).request(name -> null, 100, () -> null)).getMessage()
        );
        assertEquals(
            "[field] names a hamming_code field, [fields] and [subcode_field] the fields of the earlier layout: give one or the other",
            assertThrows(IllegalArgumentException.class, () -> parse("code", CODE, "field", "code", "subcode_field", "x")).getMessage()
        );
    }

    @Test
    void theRequestReadsTheMappingThenBuildsTheFilter() throws IOException {
        HammingParameters p = parse("code", CODE, "k", 3, "mode", "paper", "radius", 1, "max_distance", 9);
        HammingRequest request = p.request(HammingParametersTest::field, 100, MatchAllDocsQuery::new);
        // No field named and no hamming_code field "hash": the earlier layout's default fields.
        assertEquals(
            new CodeLayout.WordFields(new String[] {"lucene_hash_r0", "lucene_hash_r1", "lucene_hash_r2", "lucene_hash_r3"}, "lucene_hash_mih"),
            request.layout()
        );
        assertEquals(3, request.k());
        assertEquals(9, request.maxDistance());
        assertEquals(HammingRequest.Mode.PAPER, request.mode());
        assertEquals(1, request.radius());
        assertEquals(new MatchAllDocsQuery(), request.filter());

        List<String> built = new ArrayList<>();
        HammingParameters.FilterQuery filter = () -> {
            built.add("filter");
            return null;
        };
        HammingParameters badField = parse("code", CODE.substring(0, 16), "fields", List.of("title"));
        assertEquals(
            "[fields] field [title] must be of type [long], but it is [text]",
            assertThrows(IllegalArgumentException.class, () -> badField.request(HammingParametersTest::field, 100, filter)).getMessage()
        );
        HammingParameters badSubcodes = parse("code", CODE, "subcode_field", "nope");
        assertEquals(
            // CodeFields words it (CodeFieldsTest); the query hands it on as it is.
            assertThrows(IllegalArgumentException.class, () -> CodeFields.subcodeField("subcode_field", "nope", HammingParametersTest::field)).getMessage(),
            assertThrows(IllegalArgumentException.class, () -> badSubcodes.request(HammingParametersTest::field, 100, filter)).getMessage()
        );
        assertEquals(List.of(), built, "the filter is built only once the fields are good");
        assertNull(parse("code", CODE).request(HammingParametersTest::field, 100, filter).filter());
        assertEquals(List.of("filter"), built);
    }

    @Test
    void badInputNamesTheParameterInTheMessagesTheEnginesAlwaysGave() {
        assertEquals("[code] is required: the query code as hex (64 characters for a 256-bit code)", error("k", 3));
        assertEquals("[code] is required: the query code as 16 hex characters", error("fields", List.of("a")));
        assertEquals("[code] must be the field's bits / 4 hex characters (64 for a 256-bit code; a multiple of 16 up to 256), got 3", error("code", "abc"));
        assertEquals("[code] is not hex: character 'x' at position 10", error("code", CODE.replace('a', 'x')));
        assertEquals("[code] must be a string (the query code in hex), got an array", error("code", List.of(1)));
        assertEquals("[code] must be a string (the query code in hex), got [5]", error("code", 5));
        assertEquals("[code] must be a string (the query code in hex), got an object", error("code", Map.of()));
        assertEquals("[code] must be a string (the query code in hex), got null", error("code", null));
        assertEquals("[k] must be at least 1, got 0", error("code", CODE, "k", 0));
        assertEquals("[k] must be an integer, got [1.5]", error("code", CODE, "k", 1.5));
        assertEquals("[k] is out of range: [99999999999]", error("code", CODE, "k", 99_999_999_999L));
        assertEquals("[k] must be an integer, got [99999999999999999999]", error("code", CODE, "k", new BigInteger("99999999999999999999")));
        assertEquals("[k] must be an integer, got the string [3]", error("code", CODE, "k", "3"));
        assertEquals("[k] must be an integer, got [true]", error("code", CODE, "k", true));
        assertEquals("[max_distance] must be between 0 and 256, got 300", error("code", CODE, "max_distance", 300));
        assertEquals("[max_distance] must be between 0 and 64, got -1", error("code", CODE.substring(0, 16), "fields", List.of("a"), "max_distance", -1));
        assertEquals("[mode] must be [exact] or [paper], got [fast]", error("code", CODE, "mode", "fast"));
        assertEquals("[mode] must be a string ([exact] or [paper]), got [1]", error("code", CODE, "mode", 1));
        assertEquals("[radius] applies to [mode] paper only; exact mode grows its radius as needed", error("code", CODE, "radius", 1));
        assertEquals("[radius] must be between 0 and 16, got 17", error("code", CODE, "mode", "paper", "radius", 17));
        assertEquals( // worded by CodeFields (CodeFieldsTest)
            assertThrows(IllegalArgumentException.class, () -> CodeFields.requireWords("fields", List.of())).getMessage(),
            error("code", CODE, "fields", List.of())
        );
        assertEquals("[fields] must be an array of long field names, got the string [hash_r0]", error("code", CODE, "fields", "hash_r0"));
        assertEquals("[fields] must be a string (long field names), got [7]", error("code", CODE, "fields", List.of(7)));
        assertEquals("[fields] names 65 fields; a code has at most 64 words", error("code", CODE, "fields", Collections.nCopies(65, "f")));
        assertEquals("[subcode_field] must be a string (a keyword field name), got an array", error("code", CODE, "subcode_field", List.of()));
        assertEquals("[boost] must be a number, got the string [2]", error("code", CODE, "boost", "2"));
        assertEquals("[_name] must be a string (a name for the query), got [1]", error("code", CODE, "_name", 1));
        assertEquals(
            "[hamming] unknown parameter [nope]; it takes [code, field, k, max_distance, filter, mode, radius, fields, subcode_field]",
            error("code", CODE, "nope", Map.of("a", 1))
        );
        assertEquals("[filter] must be a query object, got [3]", HammingParameters.notAFilter(3).getMessage());
        assertEquals("[filter] must be a query object, got the string [x]", HammingParameters.notAFilter("x").getMessage());
    }

    @Test
    void theFirstProblemInTheBodyIsReportedBeforeChecksBetweenParameters() {
        assertEquals("[mode] must be [exact] or [paper], got [fast]", error("k", 0, "mode", "fast", "code", "abc"));
        assertEquals("[hamming] unknown parameter [kk]; it takes [code, field, k, max_distance, filter, mode, radius, fields, subcode_field]",
            error("kk", 1, "k", "x"));
        assertEquals("[k] must be an integer, got the string [x]", error("k", "x", "kk", 1));
    }

    @Test
    void theFilterIsTheEnginesToParse() {
        assertThrows(IllegalStateException.class, () -> HammingParameters.parse(body("code", CODE, "filter", Map.of())));
    }
}
