package org.elastichash.plugin.script;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.lucene.index.LeafReader;
import org.elastichash.core.SegmentCodes;
import org.elasticsearch.script.DocReader;
import org.elasticsearch.script.LeafReaderContextSupplier;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * Scores one segment's documents by {@code 64 * fields - hamming(code, document words)}.
 *
 * <p>Parameters are validated once per search ({@link Factory}); the segment's codes are opened
 * once per segment ({@link SegmentCodes}, the kernel the {@code hamming} query runs too);
 * {@link #execute} only advances iterators and counts bits, allocating nothing.
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

    private final SegmentCodes codes;
    private final long[] code;
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
        this.codes = SegmentCodes.open(segment, params.fields());
        this.code = params.code();
        this.maxScore = params.maxScore();
    }

    @Override
    public void setDocument(int docid) {
        super.setDocument(docid);
        doc = docid;
    }

    @Override
    public double execute(ExplanationHolder explanation) {
        int distance;
        try {
            distance = codes.distance(doc, code);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (distance == SegmentCodes.MISSING) {
            if (explanation != null) {
                explanation.set("hamming: document lacks one of the code fields " + fieldList() + ", scored 0");
            }
            return 0;
        }
        if (explanation != null) {
            explanation.set("hamming: " + maxScore + " bits - distance " + distance);
        }
        return maxScore - distance;
    }

    private String fieldList() {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < codes.words(); i++) {
            sb.append(i == 0 ? "" : ", ").append(codes.field(i));
        }
        return sb.append(']').toString();
    }
}
