package org.elastichash.plugin.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.elastichash.core.HammingCodes;
import org.elastichash.plugin.CodeFields;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * The validated parameters of the {@code hamming} script: the query code as words, and the
 * Lucene names of the {@code long} fields holding a document's words, in the same order.
 *
 * <p>Every failure is an {@link IllegalArgumentException} whose message starts with the
 * offending parameter's name; Elasticsearch answers those with HTTP 400.
 */
record HammingParams(long[] code, String[] fields) {

    static final String CODE = "code";

    static final String FIELDS = "fields";

    private static final Set<String> KNOWN = Set.of(CODE, FIELDS);

    /** Highest score: every bit equal. */
    int maxScore() {
        return code.length * HammingCodes.WORD_BITS;
    }

    static HammingParams parse(Map<String, Object> params, SearchLookup lookup) {
        for (String key : params.keySet()) {
            // Keys starting with '_' are Elasticsearch's own additions, not the user's.
            if (KNOWN.contains(key) == false && key.startsWith("_") == false) {
                throw new IllegalArgumentException(
                    "[" + key + "] is not a parameter of the [hamming] script; it takes [code] and [fields]"
                );
            }
        }
        String[] fields = CodeFields.wordFields(FIELDS, fieldNames(params.get(FIELDS)), lookup);
        Object code = params.get(CODE);
        if (code == null) {
            throw new IllegalArgumentException(
                "[code] is required: the query code as " + fields.length * HammingCodes.HEX_PER_WORD + " hex characters"
            );
        }
        if (code instanceof String == false) {
            throw new IllegalArgumentException("[code] must be a hex string, got " + describe(code));
        }
        try {
            return new HammingParams(HammingCodes.parseHex((String) code, fields.length), fields);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("[code] " + e.getMessage());
        }
    }

    private static List<String> fieldNames(Object value) {
        if (value == null) {
            return CodeFields.DEFAULT_WORD_FIELDS;
        }
        if (value instanceof List<?> list) {
            List<String> names = new ArrayList<>(list.size());
            for (Object item : list) {
                if (item instanceof String == false) {
                    throw new IllegalArgumentException("[fields] must list field names, got " + describe(item));
                }
                names.add((String) item);
            }
            return names;
        }
        throw new IllegalArgumentException("[fields] must be a list of long field names, got " + describe(value));
    }

    private static String describe(Object value) {
        return value == null ? "null" : "[" + value + "] (" + value.getClass().getSimpleName() + ")";
    }
}
