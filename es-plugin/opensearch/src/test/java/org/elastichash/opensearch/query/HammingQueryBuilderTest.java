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

    /** The table every engine's glue is held to (core test resources: bad-query-bodies.tsv). */
    @Test
    void badInputNamesTheParameterAsEveryEngineDoes() {
        java.util.List<org.elastichash.core.BadQueryBodies.Case> cases = org.elastichash.core.BadQueryBodies.cases();
        assertTrue(cases.size() > 20, "the shared table was read");
        for (org.elastichash.core.BadQueryBodies.Case bad : cases) {
            assertEquals(bad.message(), error(bad.body()), bad.body());
        }
    }
}
