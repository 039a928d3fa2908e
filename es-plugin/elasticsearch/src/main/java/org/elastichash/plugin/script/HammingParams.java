package org.elastichash.plugin.script;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.elastichash.bits.HammingCodes;
import org.elasticsearch.index.mapper.MappedFieldType;
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

    static final List<String> DEFAULT_FIELDS = List.of("hash_r0", "hash_r1", "hash_r2", "hash_r3");

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
        String[] fields = resolveFields(params.get(FIELDS), lookup);
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

    private static String[] resolveFields(Object value, SearchLookup lookup) {
        List<String> names;
        if (value == null) {
            names = DEFAULT_FIELDS;
        } else if (value instanceof List<?> list) {
            names = new ArrayList<>(list.size());
            for (Object item : list) {
                if (item instanceof String == false) {
                    throw new IllegalArgumentException("[fields] must list field names, got " + describe(item));
                }
                names.add((String) item);
            }
        } else {
            throw new IllegalArgumentException("[fields] must be a list of long field names, got " + describe(value));
        }
        if (names.isEmpty()) {
            throw new IllegalArgumentException("[fields] must name at least one long field");
        }
        String[] luceneNames = new String[names.size()];
        for (int i = 0; i < luceneNames.length; i++) {
            luceneNames[i] = luceneField(names.get(i), lookup);
        }
        return luceneNames;
    }

    /** Checks that {@code name} is a real {@code long} field with doc values; resolves aliases. */
    private static String luceneField(String name, SearchLookup lookup) {
        MappedFieldType type = lookup.fieldType(name);
        if (type == null) {
            throw new IllegalArgumentException("[fields] names unknown field [" + name + "]: it is not in the index mapping");
        }
        if ("long".equals(type.typeName()) == false) {
            throw new IllegalArgumentException(
                "[fields] field [" + name + "] must be of type [long], but it is [" + type.typeName() + "]"
            );
        }
        if (lookup.onlyMappedAsRuntimeField(name)) {
            throw new IllegalArgumentException(
                "[fields] field [" + name + "] is a runtime field; [hamming] reads indexed long fields with doc values"
            );
        }
        if (type.hasDocValues() == false) {
            throw new IllegalArgumentException("[fields] field [" + name + "] has doc_values disabled; [hamming] needs them");
        }
        return type.name();
    }

    private static String describe(Object value) {
        return value == null ? "null" : "[" + value + "] (" + value.getClass().getSimpleName() + ")";
    }
}
