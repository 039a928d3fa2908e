package org.elastichash.plugin.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import org.elasticsearch.common.ParsingException;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parsing, printing and the wire form of the query, without a node (the integration tests have one). */
class HammingQueryBuilderTest {

    private static final String CODE = "0123456789abcdef".repeat(4);

    @BeforeAll
    static void logging() {
        LogConfigurator.configureESLogging(); // Elasticsearch's exceptions log when first loaded
    }

    private static HammingQueryBuilder parse(String body) throws IOException {
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(XContentParserConfiguration.EMPTY, body)) {
            assertEquals(XContentParser.Token.START_OBJECT, parser.nextToken());
            return HammingQueryBuilder.fromXContent(parser);
        }
    }

    private static String error(String body) {
        return assertThrows(ParsingException.class, () -> parse(body)).getMessage();
    }

    @Test
    void parsesPrintsAndParsesAgainToAnEqualQuery() throws IOException {
        HammingQueryBuilder query = parse(
            "{\"code\": \"" + CODE + "\", \"k\": 5, \"max_distance\": 40, \"mode\": \"paper\", \"radius\": 1, \"boost\": 2, \"_name\": \"q\"}"
        );
        String printed = Strings.toString(query);
        assertTrue(printed.contains("\"mode\":\"paper\"") && printed.contains("\"radius\":1"), printed);
        String inner = printed.substring(printed.indexOf(':') + 1, printed.length() - 1);
        assertEquals(query, parse(inner));
    }

    @Test
    void survivesTheWireBetweenNodes() throws IOException {
        HammingQueryBuilder query = parse("{\"code\": \"" + CODE + "\", \"k\": 7, \"fields\": [\"a\", \"b\", \"c\", \"d\"], \"subcode_field\": \"s\"}");
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            query.writeTo(out);
            try (StreamInput in = out.bytes().streamInput()) {
                assertEquals(query, new HammingQueryBuilder(in));
            }
        }
    }

    @Test
    void defaultsNeedNothingButTheCode() throws IOException {
        HammingQueryBuilder query = parse("{\"code\": \"" + CODE.toUpperCase(java.util.Locale.ROOT) + "\"}");
        String printed = Strings.toString(query);
        assertTrue(printed.contains("\"mode\":\"exact\"") && printed.contains("field") == false && printed.contains(CODE), printed);
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
