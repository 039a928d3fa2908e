package org.elastichash.plugin;

import java.io.IOException;
import java.util.Map;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.search.IndexSearcher;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.index.mapper.AbstractScriptFieldType;
import org.elasticsearch.index.mapper.FieldMapper;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.mapper.MappingParserContext;
import org.elasticsearch.index.mapper.TextSearchInfo;
import org.elasticsearch.index.query.AbstractQueryBuilder;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * The few plugin APIs that differ between the Elasticsearch majors this plugin is built for, for
 * Elasticsearch 8.19. Its twin in {@code src/es9/java} (Elasticsearch 9) has the same members;
 * each build compiles exactly one of them with the shared glue sources.
 */
public final class ElasticsearchCompat {

    private ElasticsearchCompat() {}

    /**
     * Whether {@code name} is a runtime field, computed at search time: Elasticsearch 8 maps
     * runtime fields to script field types (a runtime field shadows an indexed one of its name).
     */
    public static boolean onlyMappedAsRuntimeField(SearchLookup lookup, String name) {
        return lookup.fieldType(name) instanceof AbstractScriptFieldType<?>;
    }

    /** Whether Elasticsearch already spreads this searcher's work over threads of its own. */
    @SuppressWarnings("deprecation") // Lucene 9's only way to ask; Lucene 10 dropped it, Elasticsearch 9 asks its own searcher
    public static boolean hasExecutor(IndexSearcher searcher) {
        return searcher.getExecutor() != null;
    }

    /**
     * What the hamming query calls between units of work: nothing on Elasticsearch 8, whose
     * searcher has no public check of its timeout and cancellation (its reader checks them only
     * while terms are enumerated); a search there runs to its end.
     */
    public static Runnable cancellation(IndexSearcher searcher) {
        return () -> {};
    }

    /** A query builder whose Lucene query is made by {@code doToQuery(context)}, Elasticsearch 8's own method. */
    public abstract static class BaseQueryBuilder<QB extends BaseQueryBuilder<QB>> extends AbstractQueryBuilder<QB> {

        protected BaseQueryBuilder() {}

        protected BaseQueryBuilder(StreamInput in) throws IOException {
            super(in);
        }
    }

    /** A field type with sub-code terms and a doc-values column: Elasticsearch 8 says so with flags. */
    public abstract static class CodeFieldTypeBase extends MappedFieldType {

        protected CodeFieldTypeBase(String name, Map<String, String> meta) {
            super(name, true, false, true, TextSearchInfo.NONE, meta);
        }
    }

    /** Elasticsearch 8 keeps every field in the stored {@code _source}. */
    public static boolean excludesSourceVectors(MappingParserContext context) {
        return false;
    }

    /**
     * A code field; Elasticsearch 8 has no way to keep a field out of the stored source and read it
     * back, so nothing calls the two members: they are here for the shared mapper's overrides.
     */
    public abstract static class CodeFieldMapperBase extends FieldMapper {

        protected CodeFieldMapperBase(String leafName, MappedFieldType type, BuilderParams params) {
            super(leafName, type, params);
        }

        protected abstract boolean codeOutOfSource();

        protected abstract BinaryDocValues hexColumn(LeafReader reader) throws IOException;
    }
}
