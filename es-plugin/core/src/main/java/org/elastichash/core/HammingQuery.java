package org.elastichash.core;

import java.io.IOException;
import java.util.function.Function;
import org.apache.lucene.search.BooleanClause;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.QueryVisitor;

/**
 * The Lucene form of the {@code hamming} query. Like Lucene's own kNN queries it does its work
 * when rewritten: it searches the shard's segments once and becomes a {@link HammingHitsQuery}
 * that hands out the documents found and their scores. Every engine's query builder ends here.
 */
public final class HammingQuery extends Query {

    private final HammingRequest request;
    private final Function<IndexSearcher, HammingSearch.Runtime> runtime;

    /**
     * @param request what to search for
     * @param runtime for the searcher that rewrites the query, how the search runs in the
     *     engine: the threads that may share a large segment's scan (engines differ in which
     *     searchers already run on several threads) and the engine's cancellation and timeout
     */
    public HammingQuery(HammingRequest request, Function<IndexSearcher, HammingSearch.Runtime> runtime) {
        this.request = request;
        this.runtime = runtime;
    }

    /** The search as it would run, scans on the searcher's executor, never cancelled. */
    public HammingQuery(HammingRequest request) {
        this(request, searcher -> HammingSearch.Runtime.DEFAULT);
    }

    public HammingRequest request() {
        return request;
    }

    @Override
    public Query rewrite(IndexSearcher searcher) throws IOException {
        HammingResult result = HammingSearch.search(searcher, request, runtime.apply(searcher));
        return new HammingHitsQuery(result, request, searcher.getIndexReader());
    }

    @Override
    public void visit(QueryVisitor visitor) {
        if (visitor.acceptField(request.layout().termField())) {
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
