package org.elastichash.plugin.query;

import java.io.IOException;
import java.util.concurrent.Executor;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;
import org.elastichash.core.HammingRequest;
import org.elastichash.core.HammingResult;
import org.elastichash.core.HammingSearch;
import org.elasticsearch.search.internal.ContextIndexSearcher;

/**
 * The Lucene form of the {@code hamming} query. Like Lucene's own kNN queries it does its work
 * when rewritten: it searches the shard's segments once and becomes a {@link HammingHitsQuery}
 * that hands out the documents found and their scores.
 */
final class HammingQuery extends Query {

    /**
     * The node's search thread pool, set once when the plugin starts. Elasticsearch gives a shard's
     * searcher an executor only when it splits the search into several slices, never for a
     * single large segment; the scan of such a segment is split over this pool instead.
     */
    private static volatile Executor searchThreads;

    private final HammingRequest request;

    HammingQuery(HammingRequest request) {
        this.request = request;
    }

    static void useSearchThreads(Executor executor) {
        searchThreads = executor;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        boolean searcherHasThreads = searcher instanceof ContextIndexSearcher context && context.hasExecutor();
        HammingResult result = HammingSearch.search(searcher, request, searcherHasThreads ? null : searchThreads);
        return new HammingHitsQuery(result, request, searcher.getIndexReader());
    }

    @Override
    public void visit(QueryVisitor visitor) {
        if (visitor.acceptField(request.subcodeField())) {
            visitor.visitLeaf(this);
        }
        if (request.filter() != null) {
            request.filter().visit(visitor.getSubVisitor(BooleanClause.Occur.FILTER, this));
        }
    }

    @Override
    public String toString(String field) {
        return request.toString();
    }

    @Override
    public boolean equals(Object other) {
        return sameClassAs(other) && request.equals(((HammingQuery) other).request);
    }

    @Override
    public int hashCode() {
        return 31 * classHash() + request.hashCode();
    }
}
