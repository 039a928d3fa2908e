package org.elastichash.plugin.script;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.lucene.index.DocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.SortedNumericDocValues;
import org.elasticsearch.script.DocReader;
import org.elasticsearch.script.LeafReaderContextSupplier;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * Scores one segment's documents by {@code 64 * fields - hamming(code, document words)}.
 *
 * <p>Parameters are validated once per search ({@link Factory}); doc values are opened once per
 * segment; {@link #execute} only advances iterators and counts bits, allocating nothing.
 *
 * <p>A document that lacks a value in any of the fields scores 0, as if every bit differed, so it
 * ranks after every document that has a code (filter such documents out with {@code min_score: 1}).
 * A multi-valued field contributes its smallest value.
 */
final class HammingScoreScript extends ScoreScript {

    /** Compiled form of {@code source: hamming}; parameters arrive per search. */
    static final class Factory implements ScoreScript.Factory {
        @Override
        public ScoreScript.LeafFactory newFactory(Map<String, Object> params, SearchLookup lookup) {
            return new LeafFactory(params, lookup, HammingParams.parse(params, lookup));
        }

        @Override
        public boolean isResultDeterministic() {
            return true;
        }
    }

    private record LeafFactory(Map<String, Object> rawParams, SearchLookup lookup, HammingParams params)
        implements
            ScoreScript.LeafFactory {

        @Override
        public ScoreScript newInstance(DocReader reader) throws IOException {
            if (reader instanceof LeafReaderContextSupplier supplier) {
                return new HammingScoreScript(rawParams, lookup, reader, supplier.getLeafReaderContext().reader(), params);
            }
            throw new IllegalStateException("[hamming] needs a segment reader, got " + reader.getClass().getName());
        }

        @Override
        public boolean needs_score() {
            return false;
        }

        @Override
        public boolean needs_termStats() {
            return false;
        }
    }

    private final LeafReader segment;
    private final long[] code;
    private final String[] fields;
    private final SortedNumericDocValues[] words;
    private final int maxScore;
    private int doc = -1;

    private HammingScoreScript(
        Map<String, Object> rawParams,
        SearchLookup lookup,
        DocReader reader,
        LeafReader segment,
        HammingParams params
    ) throws IOException {
        super(rawParams, lookup, reader);
        this.segment = segment;
        this.code = params.code();
        this.fields = params.fields();
        this.maxScore = params.maxScore();
        this.words = new SortedNumericDocValues[fields.length];
        openWords();
    }

    private void openWords() throws IOException {
        for (int i = 0; i < fields.length; i++) {
            // An empty iterator when the segment holds no value for the field: such docs score 0.
            words[i] = DocValues.getSortedNumeric(segment, fields[i]);
        }
    }

    @Override
    public void setDocument(int docid) {
        super.setDocument(docid);
        if (docid < doc) {
            // Doc values only move forward; a caller that goes back (rare) gets fresh iterators.
            try {
                openWords();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        doc = docid;
    }

    @Override
    public double execute(ExplanationHolder explanation) {
        int distance = 0;
        try {
            for (int i = 0; i < words.length; i++) {
                SortedNumericDocValues values = words[i];
                if (values.advanceExact(doc) == false) {
                    if (explanation != null) {
                        explanation.set("hamming: document has no value in [" + fields[i] + "], scored 0");
                    }
                    return 0;
                }
                distance += Long.bitCount(code[i] ^ values.nextValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (explanation != null) {
            explanation.set("hamming: " + maxScore + " bits - distance " + distance);
        }
        return maxScore - distance;
    }
}
