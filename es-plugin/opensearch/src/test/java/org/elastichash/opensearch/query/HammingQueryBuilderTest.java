package org.elastichash.opensearch.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import java.util.Locale;
import org.opensearch.common.io.stream.BytesStreamOutput;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.Strings;
import org.opensearch.core.common.io.stream.NamedWriteableAwareStreamInput;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.xcontent.DeprecationHandler;
import org.opensearch.core.xcontent.MediaTypeRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.query.TermQueryBuilder;
import org.opensearch.search.SearchModule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parsing, printing and the wire form of the query on OpenSearch, without a node (the smoke test
 * in integration-tests/opensearch has one): the same cases as the Elasticsearch glue's test, and
 * the filter, read by OpenSearch's own query parser.
 */
class HammingQueryBuilderTest {

    private static final String CODE = "0123456789abcdef".repeat(4);
    private static SearchModule search;

    @BeforeAll
    static void searchModule() {
        search = new SearchModule(Settings.EMPTY, List.of());
    }

    private static HammingQueryBuilder parse(String body) throws IOException {
        NamedXContentRegistry registry = new NamedXContentRegistry(search.getNamedXContents());
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(registry, DeprecationHandler.THROW_UNSUPPORTED_OPERATION, body)) {
            assertEquals(XContentParser.Token.START_OBJECT, parser.nextToken());
            return HammingQueryBuilder.fromXContent(parser);
        }
    }

    private static String error(String body) {
        return assertThrows(ParsingException.class, () -> parse(body)).getMessage();
    }

    private static String print(HammingQueryBuilder query) {
        return Strings.toString(MediaTypeRegistry.JSON, query);
    }

    /** The body inside {"hamming": ...} of a printed query. */
    private static String inner(String printed) {
        return printed.substring(printed.indexOf(':') + 1, printed.length() - 1);
    }

    private static HammingQueryBuilder overTheWire(HammingQueryBuilder query) throws IOException {
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            query.writeTo(out);
            NamedWriteableRegistry registry = new NamedWriteableRegistry(search.getNamedWriteables());
            try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), registry)) {
                return new HammingQueryBuilder(in);
            }
        }
    }

    @Test
    void parsesPrintsAndParsesAgainToAnEqualQuery() throws IOException {
        HammingQueryBuilder query = parse(
            "{\"code\": \"" + CODE + "\", \"k\": 5, \"max_distance\": 40, \"mode\": \"paper\", \"radius\": 1, \"boost\": 2, \"_name\": \"q\"}"
        );
        String printed = print(query);
        assertTrue(printed.contains("\"mode\":\"paper\"") && printed.contains("\"radius\":1") && printed.contains("\"_name\":\"q\""), printed);
        assertEquals(query, parse(inner(printed)));
        assertEquals(2.0f, query.boost());
    }

    @Test
    void survivesTheWireBetweenNodes() throws IOException {
        HammingQueryBuilder query = parse("{\"code\": \"" + CODE + "\", \"k\": 7, \"fields\": [\"a\", \"b\", \"c\", \"d\"], \"subcode_field\": \"s\"}");
        assertEquals(query, overTheWire(query));
    }

    @Test
    void defaultsNeedNothingButTheCode() throws IOException {
        HammingQueryBuilder query = parse("{\"code\": \"" + CODE.toUpperCase(Locale.ROOT) + "\"}");
        String printed = print(query);
        assertTrue(printed.contains("\"mode\":\"exact\"") && printed.contains("field") == false && printed.contains(CODE), printed);
        assertEquals(10, query.parameters().hits(10_000));
    }

    @Test
    void theFilterIsAnOpenSearchQueryThatPrintsAndTravels() throws IOException {
        HammingQueryBuilder query = parse("{\"filter\": {\"term\": {\"label\": \"cat\"}}, \"code\": \"" + CODE + "\", \"k\": 3}");
        assertInstanceOf(TermQueryBuilder.class, query.filter());
        String printed = print(query);
        assertTrue(printed.contains("\"filter\":{\"term\":{\"label\":{\"value\":\"cat\""), printed);
        assertEquals(query, parse(inner(printed)));
        HammingQueryBuilder read = overTheWire(query);
        assertEquals(query, read);
        assertInstanceOf(TermQueryBuilder.class, read.filter());
    }

    @Test
    void badInputNamesTheParameterAsOnElasticsearch() {
        assertEquals("[code] is required: the query code as hex (64 characters for a 256-bit code)", error("{\"k\": 3}"));
        assertEquals(
            "[code] must be the field's bits / 4 hex characters (64 for a 256-bit code; a multiple of 16 up to 256), got 3",
            error("{\"code\": \"abc\"}")
        );
        assertTrue(error("{\"code\": \"" + CODE.replace('a', 'x') + "\"}").startsWith("[code] is not hex"));
        assertEquals("[code] must be a string (the query code in hex), got an array", error("{\"code\": [1]}"));
        assertEquals("[k] must be at least 1, got 0", error("{\"code\": \"" + CODE + "\", \"k\": 0}"));
        assertEquals("[k] must be an integer, got [1.5]", error("{\"code\": \"" + CODE + "\", \"k\": 1.5}"));
        assertEquals("[k] is out of range: [99999999999]", error("{\"code\": \"" + CODE + "\", \"k\": 99999999999}"));
        assertEquals("[k] must be an integer, got the string [3]", error("{\"code\": \"" + CODE + "\", \"k\": \"3\"}"));
        assertEquals("[max_distance] must be between 0 and 256, got 300", error("{\"code\": \"" + CODE + "\", \"max_distance\": 300}"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"max_distance\": -1}").startsWith("[max_distance] must be between"));
        assertEquals("[mode] must be [exact] or [paper], got [fast]", error("{\"code\": \"" + CODE + "\", \"mode\": \"fast\"}"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"radius\": 1}").startsWith("[radius] applies to [mode] paper only"));
        assertEquals("[fields] must name at least one long field", error("{\"code\": \"" + CODE + "\", \"fields\": []}"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"fields\": \"hash_r0\"}").startsWith("[fields] must be an array"));
        assertEquals("[filter] must be a query object, got [3]", error("{\"code\": \"" + CODE + "\", \"filter\": 3}"));
        assertEquals("[filter] must be a query object, got null", error("{\"code\": \"" + CODE + "\", \"filter\": null}"));
        assertEquals("[boost] must be a number, got the string [x]", error("{\"code\": \"" + CODE + "\", \"boost\": \"x\"}"));
        assertEquals(
            "[hamming] unknown parameter [nope]; it takes [code, field, k, max_distance, filter, mode, radius, fields, subcode_field]",
            error("{\"code\": \"" + CODE + "\", \"nope\": {\"a\": 1}}")
        );
    }
}
