package org.elastichash.opensearch.query;

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
import org.elastichash.opensearch.MappedFields;
import org.opensearch.core.common.ParsingException;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.io.stream.StreamInput;
import org.opensearch.core.common.io.stream.StreamOutput;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.core.xcontent.XContentParserUtils;
import org.opensearch.index.query.AbstractQueryBuilder;
import org.opensearch.index.query.QueryBuilder;
import org.opensearch.index.query.QueryRewriteContext;
import org.opensearch.index.query.QueryShardContext;

/**
 * The {@code hamming} query for OpenSearch: the k documents nearest to a code in Hamming distance,
 * exactly (see docs/hamming-query.md). The core's {@link HammingParameters} reads and checks the
 * parameters, as for Elasticsearch; this class adds what is OpenSearch's: the {@code filter}
 * query, the wire form, the mapping, the circuit breaker.
 */
public final class HammingQueryBuilder extends AbstractQueryBuilder<HammingQueryBuilder> {

    public static final String NAME = HammingParameters.NAME;

    /** The node's search thread pool, set once when the plugin starts: a large segment's scan is split over it. */
    private static volatile Executor searchThreads;

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
        parameters = HammingParameters.parse(in.readMap()).parameters();
        filter = in.readOptionalNamedWriteable(QueryBuilder.class);
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeMap(parameters.toMap());
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
    protected void doXContent(XContentBuilder builder, Params params) throws IOException {
        builder.startObject(NAME);
        for (Map.Entry<String, Object> parameter : parameters.toMap().entrySet()) {
            builder.field(parameter.getKey(), parameter.getValue());
        }
        if (filter != null) {
            builder.field(HammingParameters.FILTER, filter);
        }
        printBoostAndQueryName(builder);
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
        // The message is a format: braces of a code or field name must not read as placeholders.
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
    protected Query doToQuery(QueryShardContext context) throws IOException {
        int window = context.getIndexSettings().getMaxResultWindow();
        HammingRequest request = parameters.request(
            MappedFields.of(context.getMapperService()),
            window,
            () -> filter == null ? null : filter.toQuery(context)
        );
        IndexReader reader = context.searcher() == null ? null : context.searcher().getIndexReader();
        if (reader != null) {
            checkMemory(context, HammingSearch.bytesNeeded(request, reader.leaves()));
        }
        // OpenSearch's searcher offers no check of its timeout and cancellation that a rewrite
        // could call (its reader checks them while terms are enumerated): a search runs to its end.
        return new HammingQuery(request, searcher -> new HammingSearch.Runtime(searchThreads, () -> {}, CodeCache.NODE));
    }

    /**
     * Refuses a search whose memory the request circuit breaker cannot take now. OpenSearch has no
     * per-search account that a query can charge and that is released with the search, so the
     * memory is checked, not held.
     */
    private static void checkMemory(QueryShardContext context, long bytes) {
        CircuitBreaker breaker = context.bigArrays().breakerService().getBreaker(CircuitBreaker.REQUEST);
        breaker.addEstimateBytesAndMaybeBreak(bytes, "hamming query");
        breaker.addWithoutBreaking(-bytes);
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
