package org.elastichash.core;

import java.io.IOException;
import java.io.UncheckedIOException;
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
 * "script": {"lang": "elastichash", "source": "hamming", "params": {"code": "&lt;hex&gt;", "field": "hash"}}
 * </pre>
 *
 * <p>Score = {@code bits of the query code - hamming(code, the document's code)}; a query code
 * shorter than the field's compares that prefix (16 hex characters: the 64-bit short code). A
 * document without a code scores 0, as if every bit differed, so it ranks after every document
 * that has one. The earlier layout's {@code long} fields are read with {@code "fields": [...]}.
 */
public final class HammingScript {

    /** The script language. */
    public static final String LANG = "elastichash";

    /** Its one script. */
    public static final String SOURCE = "hamming";

    public static final String CODE = "code";

    public static final String FIELD = "field";

    public static final String FIELDS = "fields";

    private static final Set<String> KNOWN = Set.of(CODE, FIELD, FIELDS);

    private static final String KNOWN_LIST = "[code] and [field] (or the earlier layout's [fields])";

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
     * The validated parameters: the query code as words, and where the index keeps the codes.
     * The code may be shorter than the field's: a prefix (the first 64 bits: the short code)
     * is compared with the same prefix of every document's code.
     */
    public record Parameters(long[] code, CodeLayout layout) {

        /** Highest score: every bit of the query code equal. */
        public int maxScore() {
            return code.length * HammingCodes.WORD_BITS;
        }

        /**
         * Reads the script's {@code params}, checking the fields against the index mapping, with
         * the query's own rules ({@link HammingParameters}). Keys starting with '_' are the
         * engine's own additions and pass.
         *
         * @throws IllegalArgumentException whose message starts with the parameter's name
         */
        public static Parameters parse(Map<String, ?> params, CodeFields.Mapping mapping) {
            for (String key : params.keySet()) {
                if (KNOWN.contains(key) == false && key.startsWith("_") == false) {
                    throw new IllegalArgumentException(
                        "[" + key + "] is not a parameter of the [" + SOURCE + "] script; it takes " + KNOWN_LIST
                    );
                }
            }
            Object field = params.get(FIELD);
            String name = field == null ? null : HammingParameters.string(FIELD, field, "the name of a hamming_code field");
            List<String> words = params.get(FIELDS) == null ? null : HammingParameters.fieldList(params.get(FIELDS));
            CodeLayout layout = CodeFields.wordsLayout(name, words, mapping);
            long[] code = HammingParameters.code(params.get(CODE), words == null ? -1 : words.size());
            if (code.length < layout.words() && layout instanceof CodeLayout.Column column) {
                layout = new CodeLayout.Column(column.field(), code.length); // a prefix: only its words are read
            }
            HammingParameters.checkLength(code, layout);
            return new Parameters(code, layout);
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
            this(segment, params, null);
        }

        /** As {@link #Scores(LeafReader, Parameters)}, reading the codes from {@code cache}'s rows where it holds them. */
        public Scores(LeafReader segment, Parameters params, CodeCache cache) throws IOException {
            this.codes = params.layout().open(segment, cache);
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
                return "hamming: document has no code in " + codes.describeFields() + ", scored 0";
            }
            return "hamming: " + maxScore + " bits - distance " + distance;
        }
    }
}
