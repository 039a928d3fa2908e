package org.elastichash.opensearch.script;

import java.io.IOException;
import java.util.Map;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.IndexSearcher;
import org.elastichash.core.CodeCache;
import org.elastichash.core.HammingScript;
import org.elastichash.opensearch.MappedFields;
import org.opensearch.script.ScoreScript;
import org.opensearch.search.lookup.SearchLookup;

/**
 * The core's {@link HammingScript} as an OpenSearch score script: parameters validated once per
 * search ({@link Factory}), scores opened once per segment, and {@link #execute} only asking the
 * core for one document's distance, allocating nothing.
 */
final class HammingScoreScript extends ScoreScript {

    /** Compiled form of {@code source: hamming}; parameters arrive per search. */
    static final class Factory implements ScoreScript.Factory {
        @Override
        public ScoreScript.LeafFactory newFactory(Map<String, Object> params, SearchLookup lookup, IndexSearcher searcher) {
            HammingScript.Parameters parsed = HammingScript.Parameters.parse(params, MappedFields.of(lookup.doc().mapperService()));
            return new LeafFactory(params, lookup, searcher, parsed);
        }

        @Override
        public boolean isResultDeterministic() {
            return true;
        }
    }

    private record LeafFactory(Map<String, Object> rawParams, SearchLookup lookup, IndexSearcher searcher, HammingScript.Parameters params)
        implements
            ScoreScript.LeafFactory {

        @Override
        public ScoreScript newInstance(LeafReaderContext leaf) throws IOException {
            return new HammingScoreScript(rawParams, lookup, searcher, leaf, new HammingScript.Scores(leaf.reader(), params, CodeCache.NODE));
        }

        @Override
        public boolean needs_score() {
            return false;
        }
    }

    private final HammingScript.Scores scores;
    private int doc = -1;

    private HammingScoreScript(
        Map<String, Object> rawParams,
        SearchLookup lookup,
        IndexSearcher searcher,
        LeafReaderContext leaf,
        HammingScript.Scores scores
    ) {
        super(rawParams, lookup, searcher, leaf);
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
