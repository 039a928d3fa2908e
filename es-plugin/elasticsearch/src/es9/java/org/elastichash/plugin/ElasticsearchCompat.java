package org.elastichash.plugin;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.index.IndexSettings;
import org.elasticsearch.index.mapper.FieldMapper;
import org.elasticsearch.index.mapper.IndexType;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.mapper.MappingParserContext;
import org.elasticsearch.index.mapper.SourceLoader;
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

    /**
     * Whether the index leaves vectors out of its stored {@code _source}
     * ({@code index.mapping.exclude_source_vectors}, on for indices Elasticsearch 9 creates): a
     * {@code hamming_code} field follows the setting as {@code dense_vector} does.
     */
    public static boolean excludesSourceVectors(MappingParserContext context) {
        return IndexSettings.INDEX_MAPPING_EXCLUDE_SOURCE_VECTORS_SETTING.get(context.getIndexSettings().getSettings());
    }

    /**
     * A code field whose hex may stay out of the stored {@code _source}: Elasticsearch 9 then
     * takes it out at index time and puts it back from the column wherever the source is read
     * (get, search hits, {@code _update}, {@code _reindex}, {@code update_by_query}), with the
     * mechanism it has for {@code dense_vector}. Unlike a vector's, the code is not hidden by
     * {@code _source.exclude_vectors}.
     */
    public abstract static class CodeFieldMapperBase extends FieldMapper {

        protected CodeFieldMapperBase(String leafName, MappedFieldType type, BuilderParams params) {
            super(leafName, type, params);
        }

        /** Whether this field's codes are left out of the stored {@code _source}. */
        protected abstract boolean codeOutOfSource();

        /** Each document's code as hex, read from one segment's column. */
        protected abstract BinaryDocValues hexColumn(LeafReader reader) throws IOException;

        @Override
        public SourceLoader.SyntheticVectorsLoader syntheticVectorsLoader() {
            if (codeOutOfSource() == false) {
                return null;
            }
            String path = fullPath();
            return context -> new SourceLoader.SyntheticVectorsLoader.Leaf() {
                private BinaryDocValues column;
                private int last = Integer.MAX_VALUE;

                @Override
                public void load(int doc, List<SourceLoader.SyntheticVectorPatch> patches) throws IOException {
                    if (doc <= last) {
                        column = hexColumn(context.reader()); // doc values go forward only: begin again
                    }
                    last = doc;
                    if (column.advanceExact(doc)) {
                        patches.add(new SourceLoader.LeafSyntheticVectorPath(path, column.binaryValue().utf8ToString()));
                    }
                }
            };
        }
    }
}
