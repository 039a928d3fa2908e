package org.elastichash.plugin.query;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.Query;
import org.elastichash.core.CodeCache;
import org.elastichash.core.HammingParameters;
import org.elastichash.core.HammingQuery;
import org.elastichash.core.HammingRequest;
import org.elastichash.core.HammingSearch;
import org.elastichash.plugin.ElasticsearchCompat;
import org.elastichash.plugin.MappedFields;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.ParsingException;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.common.xcontent.XContentParserUtils;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.index.query.QueryRewriteContext;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

/**
 * The {@code hamming} query: the k documents nearest to a code in Hamming distance, exactly (see
 * docs/hamming-query.md). The core's {@link HammingParameters} reads and checks the parameters;
 * this class adds what is Elasticsearch's: the {@code filter} query, the wire form, the mapping.
 */
public final class HammingQueryBuilder extends ElasticsearchCompat.BaseQueryBuilder<HammingQueryBuilder> {

    public static final String NAME = HammingParameters.NAME;

    /**
     * The node's search thread pool, set once when the plugin starts. Elasticsearch gives a shard's
     * searcher an executor only when it splits the search into several slices, never for a
     * single large segment; the scan of such a segment is split over this pool instead.
     */
    private static volatile Executor searchThreads;

    /** Lets scans of large segments use the node's search threads. */
    public static void useSearchThreads(Executor executor) {
        searchThreads = executor;
    }

    private final HammingParameters parameters;
    private final QueryBuilder filter;

    public HammingQueryBuilder(HammingParameters parameters, QueryBuilder filter) {
        this.parameters = Objects.requireNonNull(parameters);
        this.filter = filter;
    }

    public HammingQueryBuilder(StreamInput in) throws IOException {
        super(in);
        parameters = HammingParameters.parse(in.readGenericMap()).parameters();
        filter = in.readOptionalNamedWriteable(QueryBuilder.class);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeGenericMap(parameters.toMap());
        out.writeOptionalNamedWriteable(filter);
    }

    /** The search parameters, as the core reads them. */
    public HammingParameters parameters() {
        return parameters;
    }

    /** Only documents matching it are candidates; null for all. */
    public QueryBuilder filter() {
        return filter;
    }

    @Override
    public String getWriteableName() {
        return NAME;
    }

    @Override
    public TransportVersion getMinimalSupportedVersion() {
        return TransportVersion.zero();
    }

    @Override
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        for (Map.Entry<String, Object> parameter : parameters.toMap().entrySet()) {
            builder.field(parameter.getKey(), parameter.getValue());
        }
        if (filter != null) {
            builder.field(HammingParameters.FILTER, filter);
        }
        boostAndQueryNameToXContent(builder);
        builder.endObject();
    }

    /** Parses the body of {@code "hamming": {...}}; messages start with the parameter's name. */
    public static HammingQueryBuilder fromXContent(XContentParser parser) throws IOException {
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw error(parser, "[" + NAME + "] expects an object of parameters");
        }
        Map<String, Object> body = parser.map(LinkedHashMap::new, HammingQueryBuilder::parseValue);
        QueryBuilder filter = (QueryBuilder) body.remove(HammingParameters.FILTER);
        HammingParameters.Parsed parsed;
        try {
            parsed = HammingParameters.parse(body);
        } catch (IllegalArgumentException e) {
            throw error(parser, e.getMessage());
        }
        return new HammingQueryBuilder(parsed.parameters(), filter).boost(parsed.boost()).queryName(parsed.queryName());
    }

    /** A parameter's value as plain Java objects, except the filter: a query of its own. */
    private static Object parseValue(XContentParser parser) throws IOException {
        if (HammingParameters.FILTER.equals(parser.currentName()) == false) {
            return XContentParserUtils.parseFieldsValue(parser);
        }
        if (parser.currentToken() != XContentParser.Token.START_OBJECT) {
            throw error(parser, HammingParameters.notAFilter(XContentParserUtils.parseFieldsValue(parser)).getMessage());
        }
        try {
            return parseInnerQueryBuilder(parser);
        } catch (ParsingException | IllegalArgumentException e) { // XContentParseException too
            // The engine's message names the inner query only; say which parameter holds it.
            throw new ParsingException(parser.getTokenLocation(), "[" + HammingParameters.FILTER + "] " + e.getMessage(), e);
        }
    }

    private static ParsingException error(XContentParser parser, String message) {
        return new ParsingException(parser.getTokenLocation(), message.replace("{}", "{ }"));
    }

    @Override
    protected QueryBuilder doRewrite(QueryRewriteContext context) throws IOException {
        if (filter == null) {
            return this;
        }
        QueryBuilder rewritten = filter.rewrite(context);
        if (rewritten == filter) {
            return this;
        }
        return new HammingQueryBuilder(parameters, rewritten).boost(boost).queryName(queryName);
    }

    @Override
    protected Query doToQuery(SearchExecutionContext context) throws IOException {
        int window = context.getIndexSettings().getMaxResultWindow();
        HammingRequest request = parameters.request(
            MappedFields.of(context.lookup()),
            window,
            () -> filter == null ? null : filter.toQuery(context)
        );
        IndexReader reader = context.searcher() == null ? null : context.searcher().getIndexReader();
        if (reader != null) {
            context.addCircuitBreakerMemory(HammingSearch.bytesNeeded(request, reader.leaves()), "hamming query");
        }
        // A searcher with its own executor already spreads the search; otherwise lend the scan the search pool.
        return new HammingQuery(
            request,
            searcher -> new HammingSearch.Runtime(
                ElasticsearchCompat.hasExecutor(searcher) ? null : searchThreads,
                ElasticsearchCompat.cancellation(searcher),
                CodeCache.NODE
            )
        );
    }

    @Override
    protected boolean doEquals(HammingQueryBuilder other) {
        return parameters.equals(other.parameters) && Objects.equals(filter, other.filter);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(parameters, filter);
    }
}
