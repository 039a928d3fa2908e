package org.elastichash.plugin.script;

import java.io.IOException;
import java.util.Map;
import org.elastichash.core.CodeCache;
import org.elastichash.core.HammingScript;
import org.elastichash.plugin.MappedFields;
import org.elasticsearch.script.DocReader;
import org.elasticsearch.script.LeafReaderContextSupplier;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * The core's {@link HammingScript} as an Elasticsearch score script: parameters validated once
 * per search ({@link Factory}), scores opened once per segment, and {@link #execute} only asking
 * the core for one document's distance, allocating nothing.
 */
final class HammingScoreScript extends ScoreScript {

    /** Compiled form of {@code source: hamming}; parameters arrive per search. */
    static final class Factory implements ScoreScript.Factory {
        @Override
        public ScoreScript.LeafFactory newFactory(Map<String, Object> params, SearchLookup lookup) {
            return new LeafFactory(params, lookup, HammingScript.Parameters.parse(params, MappedFields.of(lookup)));
        }

        @Override
        public boolean isResultDeterministic() {
            return true;
        }
    }

    private record LeafFactory(Map<String, Object> rawParams, SearchLookup lookup, HammingScript.Parameters params)
        implements
            ScoreScript.LeafFactory {

        @Override
        public ScoreScript newInstance(DocReader reader) throws IOException {
            if (reader instanceof LeafReaderContextSupplier supplier) {
                HammingScript.Scores scores = new HammingScript.Scores(supplier.getLeafReaderContext().reader(), params, CodeCache.NODE);
                return new HammingScoreScript(rawParams, lookup, reader, scores);
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

    private final HammingScript.Scores scores;
    private int doc = -1;

    private HammingScoreScript(Map<String, Object> rawParams, SearchLookup lookup, DocReader reader, HammingScript.Scores scores) {
        super(rawParams, lookup, reader);
        this.scores = scores;
    }

    @Override
    public void setDocument(int docid) {
        super.setDocument(docid);
        doc = docid;
    }

    @Override
    public double execute(ExplanationHolder explanation) {
        int distance = scores.distance(doc);
        if (explanation != null) {
            explanation.set(scores.explain(distance));
        }
        return scores.score(distance);
    }
}
