package org.elastichash.core;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.lucene.index.LeafReader;

/**
 * The {@code hamming} script of the {@code elastichash} script language, as every engine runs
 * it: its checks when compiled, its parameters, and its per-segment scores. An engine's script
 * engine only adapts its own script API to these.
 *
 * <pre>
 * "script": {"lang": "elastichash", "source": "hamming",
 *            "params": {"code": "&lt;hex&gt;", "fields": ["hash_r0", "hash_r1", "hash_r2", "hash_r3"]}}
 * </pre>
 *
 * <p>Score = {@code 64 * fields - hamming(code, document words)}. A document that lacks a value
 * in any of the fields scores 0, as if every bit differed, so it ranks after every document that
 * has a code. A multi-valued field contributes its smallest value.
 */
public final class HammingScript {

    /** The script language. */
    public static final String LANG = "elastichash";

    /** Its one script. */
    public static final String SOURCE = "hamming";

    public static final String CODE = "code";

    public static final String FIELDS = "fields";

    private static final Set<String> KNOWN = Set.of(CODE, FIELDS);

    private HammingScript() {}

    /** The refusal of a script context other than scoring. */
    public static IllegalArgumentException notAScoreContext(String context) {
        return new IllegalArgumentException(
            "["
                + LANG
                + "] scripts only compute scores (script_score, function_score, rescore); "
                + "they cannot be used in the ["
                + context
                + "] context"
        );
    }

    /** Checks the script's source, the one script this language has. */
    public static void checkSource(String source) {
        if (SOURCE.equals(source) == false) {
            throw new IllegalArgumentException("unknown [" + LANG + "] script [" + source + "]; the available script is [" + SOURCE + "]");
        }
    }

    /**
     * The validated parameters: the query code as words, and the Lucene names of the {@code long}
     * fields holding a document's words, in the same order.
     */
    public record Parameters(long[] code, String[] fields) {

        /** Highest score: every bit equal. */
        public int maxScore() {
            return code.length * HammingCodes.WORD_BITS;
        }

        /**
         * Reads the script's {@code params}, checking the fields against the index mapping.
         * Keys starting with '_' are the engine's own additions and pass.
         *
         * @throws IllegalArgumentException whose message starts with the parameter's name
         */
        public static Parameters parse(Map<String, ?> params, CodeFields.Mapping mapping) {
            for (String key : params.keySet()) {
                if (KNOWN.contains(key) == false && key.startsWith("_") == false) {
                    throw new IllegalArgumentException(
                        "[" + key + "] is not a parameter of the [" + SOURCE + "] script; it takes [code] and [fields]"
                    );
                }
            }
            String[] fields = CodeFields.wordFields(FIELDS, fieldNames(params.get(FIELDS)), mapping);
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
                return new Parameters(HammingCodes.parseHex((String) code, fields.length), fields);
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

    /**
     * The scores of one segment's documents. Opened once per segment ({@link SegmentCodes}, the
     * kernel the {@code hamming} query runs too); {@link #distance} and {@link #score} allocate
     * nothing, {@link #explain} only when an explanation is asked for.
     */
    public static final class Scores {

        private final SegmentCodes codes;
        private final long[] code;
        private final int maxScore;

        public Scores(LeafReader segment, Parameters params) throws IOException {
            this.codes = SegmentCodes.open(segment, params.fields());
            this.code = params.code();
            this.maxScore = params.maxScore();
        }

        /** The distance of {@code doc}'s code to the query code, or {@link SegmentCodes#MISSING}. */
        public int distance(int doc) {
            try {
                return codes.distance(doc, code);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        /** The score of a document at {@code distance}: bits minus distance, 0 for a missing code. */
        public double score(int distance) {
            return distance == SegmentCodes.MISSING ? 0 : maxScore - distance;
        }

        /** How {@link #score} came about, for explanations. */
        public String explain(int distance) {
            if (distance == SegmentCodes.MISSING) {
                return "hamming: document lacks one of the code fields " + fieldList() + ", scored 0";
            }
            return "hamming: " + maxScore + " bits - distance " + distance;
        }

        private String fieldList() {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < codes.words(); i++) {
                sb.append(i == 0 ? "" : ", ").append(codes.field(i));
            }
            return sb.append(']').toString();
        }
    }
}
