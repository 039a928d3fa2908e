package org.elastichash.plugin;

import java.io.IOException;
import java.util.Map;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.index.mapper.IndexType;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.query.AbstractQueryBuilder;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.search.internal.ContextIndexSearcher;
import org.elasticsearch.search.internal.MaxClauseCountQueryVisitor;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * The few plugin APIs that differ between the Elasticsearch majors this plugin is built for, for
 * Elasticsearch 9. Its twin in {@code src/es8/java} (Elasticsearch 8.19) has the same members;
 * each build compiles exactly one of them with the shared glue sources.
 */
public final class ElasticsearchCompat {

    private ElasticsearchCompat() {}

    /** Whether {@code name} is mapped only as a runtime field, computed at search time. */
    public static boolean onlyMappedAsRuntimeField(SearchLookup lookup, String name) {
        return lookup.onlyMappedAsRuntimeField(name);
    }

    /** Whether Elasticsearch already spreads this searcher's work over threads of its own. */
    public static boolean hasExecutor(IndexSearcher searcher) {
        return searcher instanceof ContextIndexSearcher c && c.hasExecutor();
    }

    /**
     * What the hamming query calls between units of work: Elasticsearch 9's searcher throws there
     * once the search's {@code timeout} has passed (the shard then answers {@code timed_out}) or
     * its task was cancelled.
     */
    public static Runnable cancellation(IndexSearcher searcher) {
        return searcher instanceof ContextIndexSearcher c ? c::checkCancelled : () -> {};
    }

    /**
     * A query builder whose Lucene query is made by {@code doToQuery(context)}, as in
     * Elasticsearch 8; Elasticsearch 9 also hands over a clause counter, which the hamming query
     * has no use for (it adds no boolean clauses).
     */
    public abstract static class BaseQueryBuilder<QB extends BaseQueryBuilder<QB>> extends AbstractQueryBuilder<QB> {

        protected BaseQueryBuilder() {}

        protected BaseQueryBuilder(StreamInput in) throws IOException {
            super(in);
        }

        protected abstract Query doToQuery(SearchExecutionContext context) throws IOException;

        @Override
        protected final Query doToQuery(SearchExecutionContext context, MaxClauseCountQueryVisitor visitor) throws IOException {
            return doToQuery(context);
        }
    }

    /** A field type with sub-code terms and a doc-values column: Elasticsearch 9 says so with an {@link IndexType}. */
    public abstract static class CodeFieldTypeBase extends MappedFieldType {

        protected CodeFieldTypeBase(String name, Map<String, String> meta) {
            super(name, IndexType.terms(true, true), false, meta);
        }
    }
}
