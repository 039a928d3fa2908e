package org.elastichash.plugin.query;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.List;
import org.elasticsearch.common.ParsingException;
import org.elasticsearch.common.Strings;
import org.elasticsearch.common.io.stream.BytesStreamOutput;
import org.elasticsearch.common.io.stream.NamedWriteableAwareStreamInput;
import org.elasticsearch.common.io.stream.NamedWriteableRegistry;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.query.TermQueryBuilder;
import org.elasticsearch.search.SearchModule;
import org.elasticsearch.xcontent.NamedXContentRegistry;
import org.elasticsearch.xcontent.XContentParser;
import org.elasticsearch.xcontent.XContentParserConfiguration;
import org.elasticsearch.xcontent.json.JsonXContent;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The filter: the one parameter Elasticsearch's own query parser reads, in the body, in print and on the wire. */
class HammingQueryFilterTest {

    private static final String CODE = "0123456789abcdef".repeat(4);
    private static SearchModule search;

    @BeforeAll
    static void searchModule() {
        LogConfigurator.configureESLogging();
        search = new SearchModule(Settings.EMPTY, List.of());
    }

    private static HammingQueryBuilder parse(String body) throws IOException {
        XContentParserConfiguration config = XContentParserConfiguration.EMPTY.withRegistry(new NamedXContentRegistry(search.getNamedXContents()));
        try (XContentParser parser = JsonXContent.jsonXContent.createParser(config, body)) {
            assertEquals(XContentParser.Token.START_OBJECT, parser.nextToken());
            return HammingQueryBuilder.fromXContent(parser);
        }
    }

    @Test
    void theFilterIsAQueryThatPrintsAndTravels() throws IOException {
        HammingQueryBuilder query = parse(
            "{\"filter\": {\"term\": {\"label\": \"cat\"}}, \"code\": \"" + CODE + "\", \"k\": 3, \"boost\": 1.5}"
        );
        String printed = Strings.toString(query);
        assertTrue(printed.contains("\"filter\":{\"term\":{\"label\":{\"value\":\"cat\"") && printed.contains("\"boost\":1.5"), printed);
        assertEquals(query, parse(printed.substring(printed.indexOf(':') + 1, printed.length() - 1)));
        try (BytesStreamOutput out = new BytesStreamOutput()) {
            query.writeTo(out);
            NamedWriteableRegistry registry = new NamedWriteableRegistry(search.getNamedWriteables());
            try (StreamInput in = new NamedWriteableAwareStreamInput(out.bytes().streamInput(), registry)) {
                HammingQueryBuilder read = new HammingQueryBuilder(in);
                assertEquals(query, read);
                assertInstanceOf(TermQueryBuilder.class, read.filter());
            }
        }
    }

    @Test
    void aFilterThatIsNoQueryObjectIsNamed() {
        for (String bad : List.of("3", "\"cat\"", "[]", "null", "true")) {
            String message = assertThrows(ParsingException.class, () -> parse("{\"code\": \"" + CODE + "\", \"filter\": " + bad + "}")).getMessage();
            assertTrue(message.startsWith("[filter] must be a query object, got "), message);
        }
        assertEquals(
            "[filter] must be a query object, got the string [cat]",
            assertThrows(ParsingException.class, () -> parse("{\"code\": \"" + CODE + "\", \"filter\": \"cat\"}")).getMessage()
        );
    }
}
