package org.elastichash.core;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.lucene.search.Query;

/**
 * The parameters of the {@code hamming} query (docs/hamming-query.md), read and checked the same
 * way for every engine. An engine's query builder reads the query body into a plain map — all
 * of it but {@code filter}, which is a query of the engine's own — and hands it to
 * {@link #parse}; when the query reaches a shard, {@link #request} checks the fields against the
 * index and builds the core's {@link HammingRequest}.
 *
 * <p>Every failure is an {@link IllegalArgumentException} whose message starts with the
 * parameter's name, e.g. {@code [k] must be at least 1, got 0}; engines answer them with HTTP 400.
 */
public final class HammingParameters {

    /** The query's name in a search body. */
    public static final String NAME = "hamming";

    public static final String CODE = "code";
    public static final String FIELD = "field";
    public static final String K = "k";
    public static final String MAX_DISTANCE = "max_distance";
    public static final String FILTER = "filter";
    public static final String MODE = "mode";
    public static final String RADIUS = "radius";
    public static final String FIELDS = "fields";
    public static final String SUBCODE_FIELD = "subcode_field";
    /** The options every query of an engine takes. */
    public static final String BOOST = "boost";
    public static final String QUERY_NAME = "_name";

    /** How many neighbours without {@code k} or {@code max_distance}. */
    public static final int DEFAULT_K = 10;

    /** The parameters, in the order the documentation lists them. */
    public static final List<String> PARAMETERS = List.of(CODE, FIELD, K, MAX_DISTANCE, FILTER, MODE, RADIUS, FIELDS, SUBCODE_FIELD);

    /**
     * What {@link #parse} read from a query body.
     *
     * @param parameters the search parameters
     * @param boost the query's {@code boost} (1 unless given)
     * @param queryName the query's {@code _name}, or null
     */
    public record Parsed(HammingParameters parameters, float boost, String queryName) {}

    /** The filter's Lucene form, built once the fields are known good. */
    @FunctionalInterface
    public interface FilterQuery {
        /** The filter as a Lucene query, or null for none. */
        Query toQuery() throws IOException;
    }

    private final long[] code;
    private final Integer k;
    private final int maxDistance;
    private final HammingRequest.Mode mode;
    private final int radius;
    private final String field;
    private final List<String> fields;
    private final String subcodeField;

    private HammingParameters(
        long[] code,
        Integer k,
        int maxDistance,
        HammingRequest.Mode mode,
        int radius,
        String field,
        List<String> fields,
        String subcodeField
    ) {
        this.code = code;
        this.k = k;
        this.maxDistance = maxDistance;
        this.mode = mode;
        this.radius = radius;
        this.field = field;
        this.fields = fields == null ? null : List.copyOf(fields);
        this.subcodeField = subcodeField;
    }

    /**
     * Reads a query body: every parameter but {@code filter}, plus {@code boost} and {@code _name}.
     * Values are what a JSON parser makes of them (String, Integer, Long, Double, List, Map, ...).
     * The first problem found is reported: a value of the wrong type or an unknown parameter, in
     * the body's order, then the checks between parameters.
     *
     * @throws IllegalArgumentException naming the parameter
     */
    public static Parsed parse(Map<String, ?> body) {
        String code = null;
        Integer k = null;
        Integer maxDistance = null;
        HammingRequest.Mode mode = HammingRequest.Mode.EXACT;
        Integer radius = null;
        String field = null;
        List<String> fields = null;
        String subcodeField = null;
        float boost = 1.0f;
        String queryName = null;
        for (Map.Entry<String, ?> entry : body.entrySet()) {
            Object value = entry.getValue();
            switch (entry.getKey()) {
                case CODE -> code = string(CODE, value, "the query code in hex");
                case FIELD -> field = string(FIELD, value, "the name of a hamming_code field");
                case K -> k = integer(K, value);
                case MAX_DISTANCE -> maxDistance = integer(MAX_DISTANCE, value);
                case RADIUS -> radius = integer(RADIUS, value);
                case MODE -> mode = mode(string(MODE, value, "[exact] or [paper]"));
                case SUBCODE_FIELD -> subcodeField = string(SUBCODE_FIELD, value, "a keyword field name");
                case FIELDS -> fields = fieldList(value);
                case BOOST -> {
                    if (value instanceof Number number) {
                        boost = number.floatValue();
                    } else {
                        throw new IllegalArgumentException("[" + BOOST + "] must be a number, got " + describe(value));
                    }
                }
                case QUERY_NAME -> queryName = string(QUERY_NAME, value, "a name for the query");
                case FILTER -> throw new IllegalStateException("[" + FILTER + "] is the engine's query: parse it there, not here");
                default -> throw new IllegalArgumentException(
                    "[" + NAME + "] unknown parameter [" + entry.getKey() + "]; it takes " + PARAMETERS
                );
            }
        }
        CodeFields.checkOneLayout(field, fields, subcodeField);
        long[] words = code(code, fields == null ? -1 : fields.size());
        if (radius != null && mode != HammingRequest.Mode.PAPER) {
            throw new IllegalArgumentException("[radius] applies to [mode] paper only; exact mode grows its radius as needed");
        }
        int bits = words.length * HammingCodes.WORD_BITS;
        if (maxDistance != null && (maxDistance < 0 || maxDistance > bits)) {
            throw new IllegalArgumentException("[max_distance] must be between 0 and " + bits + ", got " + maxDistance);
        }
        if (k != null && k < 1) {
            throw new IllegalArgumentException("[k] must be at least 1, got " + k);
        }
        int r = radius == null ? HammingRequest.PAPER_RADIUS : radius;
        if (r < 0 || r > HammingCodes.SUBCODE_BITS) {
            throw new IllegalArgumentException("[radius] must be between 0 and " + HammingCodes.SUBCODE_BITS + ", got " + r);
        }
        int limit = maxDistance == null ? HammingRequest.NO_MAX_DISTANCE : maxDistance;
        return new Parsed(new HammingParameters(words, k, limit, mode, r, field, fields, subcodeField), boost, queryName);
    }

    /**
     * Reads the query code: {@code words} 64-bit words where the request fixes them, else any
     * whole number of words up to {@link HammingCodeField#MAX_BITS} (checked against the field's
     * {@code bits} once the mapping is known: {@link #checkLength}).
     */
    static long[] code(Object code, int words) {
        if (code == null) {
            String length = words > 0 ? words * HammingCodes.HEX_PER_WORD + " hex characters" : "hex (64 characters for a 256-bit code)";
            throw new IllegalArgumentException("[" + CODE + "] is required: the query code as " + length);
        }
        if (code instanceof String == false) {
            throw new IllegalArgumentException("[" + CODE + "] must be a hex string, got " + describe(code));
        }
        String hex = (String) code;
        int n = words;
        if (n < 0) {
            int maxChars = HammingCodeField.MAX_BITS / 4;
            if (hex.isEmpty() || hex.length() % HammingCodes.HEX_PER_WORD != 0 || hex.length() > maxChars) {
                throw new IllegalArgumentException(
                    "[" + CODE + "] must be the field's bits / 4 hex characters (64 for a 256-bit code; a multiple of 16 up to "
                        + maxChars + "), got " + hex.length()
                );
            }
            n = hex.length() / HammingCodes.HEX_PER_WORD;
        }
        try {
            return HammingCodes.parseHex(hex, n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("[" + CODE + "] " + e.getMessage());
        }
    }

    /** Checks that a code of {@code code.length} words fits {@code layout}. */
    static void checkLength(long[] code, CodeLayout layout) {
        if (code.length != layout.words()) {
            String where = layout instanceof CodeLayout.Column c
                ? "field [" + c.field() + "] holds " + c.words() * HammingCodes.WORD_BITS + "-bit codes"
                : "the index's codes have " + layout.words() * HammingCodes.WORD_BITS + " bits";
            throw new IllegalArgumentException(
                "[" + CODE + "] must be " + layout.words() * HammingCodes.HEX_PER_WORD + " hex characters: " + where + ", got "
                    + code.length * HammingCodes.HEX_PER_WORD
            );
        }
    }

    /**
     * The parameters as a body that {@link #parse} reads back to equal parameters: what a query
     * prints and what it sends between nodes. Defaults are spelled out, except {@code k} and
     * {@code max_distance} when not given and {@code radius} outside paper mode.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put(CODE, HammingCodes.toHex(code));
        if (k != null) {
            body.put(K, k);
        }
        if (maxDistance != HammingRequest.NO_MAX_DISTANCE) {
            body.put(MAX_DISTANCE, maxDistance);
        }
        body.put(MODE, mode.name().toLowerCase(Locale.ROOT));
        if (mode == HammingRequest.Mode.PAPER) {
            body.put(RADIUS, radius);
        }
        if (field != null) {
            body.put(FIELD, field);
        }
        if (fields != null) {
            body.put(FIELDS, fields);
        }
        if (subcodeField != null) {
            body.put(SUBCODE_FIELD, subcodeField);
        }
        return body;
    }

    /**
     * How many documents a shard returns: {@code k}; with {@code max_distance} alone every
     * document within it, as many as a search may page through; otherwise {@link #DEFAULT_K}.
     *
     * @throws IllegalArgumentException when that exceeds the index's {@code max_result_window}
     */
    public int hits(int maxResultWindow) {
        int hits = k != null ? k : maxDistance != HammingRequest.NO_MAX_DISTANCE ? maxResultWindow : DEFAULT_K;
        if (hits > maxResultWindow) {
            throw new IllegalArgumentException(
                "[k] must be between 1 and index.max_result_window ("
                    + maxResultWindow
                    + "), got "
                    + hits
                    + "; raise the index setting to ask for more"
            );
        }
        return hits;
    }

    /**
     * The search a shard runs: the fields checked against its mapping, the number of hits against
     * its {@code max_result_window}, then the filter built.
     *
     * @throws IllegalArgumentException naming the parameter
     */
    public HammingRequest request(CodeFields.Mapping mapping, int maxResultWindow, FilterQuery filter) throws IOException {
        CodeLayout layout = CodeFields.layout(field, fields, subcodeField, mapping);
        checkLength(code, layout);
        int hits = hits(maxResultWindow);
        return new HammingRequest(code, layout, hits, maxDistance, mode, radius, filter.toQuery());
    }

    /** The query code as 64-bit words (a copy). */
    public long[] code() {
        return code.clone();
    }

    /** {@code k} as given, or null. */
    public Integer k() {
        return k;
    }

    /** {@code max_distance}, or {@link HammingRequest#NO_MAX_DISTANCE}. */
    public int maxDistance() {
        return maxDistance;
    }

    public HammingRequest.Mode mode() {
        return mode;
    }

    /** The paper mode's sub-code radius ({@link HammingRequest#PAPER_RADIUS} unless given). */
    public int radius() {
        return radius;
    }

    /** The {@code hamming_code} field named, or null. */
    public String field() {
        return field;
    }

    /** The earlier layout's long fields named, in order, or null. */
    public List<String> fields() {
        return fields;
    }

    /** The earlier layout's sub-code field named, or null. */
    public String subcodeField() {
        return subcodeField;
    }

    /** The refusal of a {@code filter} that is not a query object, {@code value} as a JSON parser read it. */
    public static IllegalArgumentException notAFilter(Object value) {
        return new IllegalArgumentException("[" + FILTER + "] must be a query object, got " + describe(value));
    }

    static String describe(Object value) {
        if (value == null) {
            return "null";
        }
        if (value instanceof Map) {
            return "an object";
        }
        if (value instanceof List) {
            return "an array";
        }
        if (value instanceof String) {
            return "the string [" + value + "]";
        }
        return "[" + value + "]";
    }

    static String string(String parameter, Object value, String expected) {
        if (value instanceof String string) {
            return string;
        }
        throw new IllegalArgumentException("[" + parameter + "] must be a string (" + expected + "), got " + describe(value));
    }

    private static int integer(String parameter, Object value) {
        if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
            long number = ((Number) value).longValue();
            if (number < Integer.MIN_VALUE || number > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("[" + parameter + "] is out of range: [" + number + "]");
            }
            return (int) number;
        }
        throw new IllegalArgumentException("[" + parameter + "] must be an integer, got " + describe(value));
    }

    private static HammingRequest.Mode mode(String value) {
        return switch (value) {
            case "exact" -> HammingRequest.Mode.EXACT;
            case "paper" -> HammingRequest.Mode.PAPER;
            default -> throw new IllegalArgumentException("[mode] must be [exact] or [paper], got [" + value + "]");
        };
    }

    static List<String> fieldList(Object value) {
        if (value instanceof List<?> == false) {
            throw new IllegalArgumentException("[fields] must be an array of long field names, got " + describe(value));
        }
        List<?> list = (List<?>) value;
        List<String> names = new ArrayList<>(list.size());
        for (Object item : list) {
            names.add(string(FIELDS, item, "long field names"));
        }
        CodeFields.requireWords(FIELDS, names);
        if (names.size() > HammingCodes.WORD_BITS) {
            throw new IllegalArgumentException(
                "[fields] names " + names.size() + " fields; a code has at most " + HammingCodes.WORD_BITS + " words"
            );
        }
        return names;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HammingParameters p
            && Arrays.equals(code, p.code)
            && Objects.equals(k, p.k)
            && maxDistance == p.maxDistance
            && mode == p.mode
            && radius == p.radius
            && Objects.equals(field, p.field)
            && Objects.equals(fields, p.fields)
            && Objects.equals(subcodeField, p.subcodeField);
    }

    @Override
    public int hashCode() {
        return Objects.hash(Arrays.hashCode(code), k, maxDistance, mode, radius, field, fields, subcodeField);
    }

    @Override
    public String toString() {
        return NAME + toMap();
    }
}
