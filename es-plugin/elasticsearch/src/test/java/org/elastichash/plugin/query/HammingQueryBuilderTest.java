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

    @Test
    void badInputNamesTheParameter() {
        assertTrue(error("{\"k\": 3}").startsWith("[code] is required"));
        assertTrue(error("{\"code\": \"abc\"}").startsWith("[code] must be the field's bits / 4 hex characters"));
        assertTrue(error("{\"code\": \"" + CODE.replace('a', 'x') + "\"}").startsWith("[code] is not hex"));
        assertTrue(error("{\"code\": [1]}").startsWith("[code] must be a string"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"k\": 0}").startsWith("[k] must be at least 1"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"k\": 1.5}").startsWith("[k] must be an integer"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"k\": 99999999999}").startsWith("[k] is out of range"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"k\": \"3\"}").startsWith("[k] must be an integer"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"max_distance\": 300}").startsWith("[max_distance] must be between 0 and 256"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"max_distance\": -1}").startsWith("[max_distance] must be between"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"mode\": \"fast\"}").startsWith("[mode] must be [exact] or [paper]"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"radius\": 1}").startsWith("[radius] applies to [mode] paper only"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"fields\": []}").startsWith("[fields] must name at least one"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"fields\": \"hash_r0\"}").startsWith("[fields] must be an array"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"filter\": 3}").startsWith("[filter] must be a query object"));
        assertTrue(error("{\"code\": \"" + CODE + "\", \"nope\": {\"a\": 1}}").startsWith("[hamming] unknown parameter [nope]"));
    }
}
