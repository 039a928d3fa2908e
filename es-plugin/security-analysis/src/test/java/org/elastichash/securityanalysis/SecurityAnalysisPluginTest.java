package org.elastichash.securityanalysis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.List;
import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.Tokenizer;
import org.apache.lucene.analysis.tokenattributes.CharTermAttribute;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.analysis.TokenFilterFactory;
import org.junit.jupiter.api.Test;

/** The security index's {@code email} analyzer, as the plugin's parts build it. */
class SecurityAnalysisPluginTest {

    private final SecurityAnalysisPlugin plugin = new SecurityAnalysisPlugin();

    private TokenFilterFactory filter(String type, Settings settings) throws IOException {
        return plugin.getTokenFilters().get(type).get(null, null, type, settings);
    }

    private static List<String> terms(TokenStream stream) throws IOException {
        List<String> terms = new ArrayList<>();
        CharTermAttribute term = stream.addAttribute(CharTermAttribute.class);
        stream.reset();
        while (stream.incrementToken()) {
            terms.add(term.toString());
        }
        stream.end();
        stream.close();
        return terms;
    }

    @Test
    void emailAnalyzerSplitsAnAddressIntoUniqueParts() throws IOException {
        Settings email = Settings.builder()
            .putList("patterns", "([^@]+)", "(\\p{L}+)", "(\\d+)", "@(.+)")
            .put("preserve_original", true)
            .build();
        Tokenizer tokenizer = plugin.getTokenizers().get("uax_url_email").get(null, null, "t", Settings.EMPTY).create();
        tokenizer.setReader(new StringReader("jo42@example.org jo42@example.org"));
        TokenStream stream = filter("unique", Settings.EMPTY).create(filter("pattern_capture", email).create(tokenizer));
        // The second address adds nothing: every part of it was seen. Sorted: the order is the filter's.
        List<String> terms = terms(stream);
        terms.sort(null);
        assertEquals(List.of("42", "example", "example.org", "jo", "jo42", "jo42@example.org", "org"), terms);
    }

    @Test
    void patternCaptureWithoutPatternsIsOneSentence() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class, () -> filter("pattern_capture", Settings.EMPTY));
        assertEquals("[patterns] of token filter [pattern_capture] must name at least one pattern", error.getMessage());
    }
}
