package org.elastichash.plugin.query;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.search.Query;
import org.elastichash.core.HammingCodes;
import org.elastichash.core.HammingRequest;
import org.elastichash.core.HammingSearch;
import org.elastichash.plugin.CodeFields;
import org.elasticsearch.TransportVersion;
import org.elasticsearch.common.ParsingException;
import org.elasticsearch.common.io.stream.StreamInput;
import org.elasticsearch.common.io.stream.StreamOutput;
import org.elasticsearch.index.query.AbstractQueryBuilder;
import org.elasticsearch.index.query.QueryBuilder;
import org.elasticsearch.index.query.QueryRewriteContext;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.search.internal.MaxClauseCountQueryVisitor;
import org.elasticsearch.xcontent.XContentBuilder;
import org.elasticsearch.xcontent.XContentParser;

/**
 * The {@code hamming} query: the k documents nearest to a code in Hamming distance, exactly (see
 * docs/hamming-query.md). Parsing checks every parameter it can alone; the fields and k's upper
 * limit are checked against the index when the query is built on a shard.
 */
public final class HammingQueryBuilder extends AbstractQueryBuilder<HammingQueryBuilder> {

    public static final String NAME = "hamming";

    /** Lets scans of large segments use the node's search threads ({@link HammingQuery#useSearchThreads}). */
    public static void useSearchThreads(java.util.concurrent.Executor executor) {
        HammingQuery.useSearchThreads(executor);
    }

    static final String CODE = "code";
    static final String K = "k";
    static final String MAX_DISTANCE = "max_distance";
    static final String FILTER = "filter";
    static final String MODE = "mode";
    static final String RADIUS = "radius";
    static final String FIELDS = "fields";
    static final String SUBCODE_FIELD = "subcode_field";
    static final int DEFAULT_K = 10;
    private static final List<String> PARAMETERS = List.of(CODE, K, MAX_DISTANCE, FILTER, MODE, RADIUS, FIELDS, SUBCODE_FIELD);

    private final long[] code;
    private final Integer k;
    private final int maxDistance;
    private final QueryBuilder filter;
    private final HammingRequest.Mode mode;
    private final int radius;
    private final List<String> fields;
    private final String subcodeField;

    public HammingQueryBuilder(
        long[] code,
        Integer k,
        int maxDistance,
        QueryBuilder filter,
        HammingRequest.Mode mode,
        int radius,
        List<String> fields,
        String subcodeField
    ) {
        this.code = Objects.requireNonNull(code);
        this.k = k;
        this.maxDistance = maxDistance;
        this.filter = filter;
        this.mode = Objects.requireNonNull(mode);
        this.radius = radius;
        this.fields = List.copyOf(fields);
        this.subcodeField = Objects.requireNonNull(subcodeField);
    }

    public HammingQueryBuilder(StreamInput in) throws IOException {
        super(in);
        code = in.readLongArray();
        k = in.readOptionalVInt();
        maxDistance = in.readInt();
        filter = in.readOptionalNamedWriteable(QueryBuilder.class);
        mode = in.readEnum(HammingRequest.Mode.class);
        radius = in.readVInt();
        fields = List.of(in.readStringArray());
        subcodeField = in.readString();
    }

    @Override
    protected void doWriteTo(StreamOutput out) throws IOException {
        out.writeLongArray(code);
        out.writeOptionalVInt(k);
        out.writeInt(maxDistance);
        out.writeOptionalNamedWriteable(filter);
        out.writeEnum(mode);
        out.writeVInt(radius);
        out.writeStringArray(fields.toArray(String[]::new));
        out.writeString(subcodeField);
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
        builder.field(CODE, HammingCodes.toHex(code));
        if (k != null) {
            builder.field(K, k);
        }
        if (maxDistance != HammingRequest.NO_MAX_DISTANCE) {
            builder.field(MAX_DISTANCE, maxDistance);
        }
        if (filter != null) {
            builder.field(FILTER, filter);
        }
        builder.field(MODE, mode.name().toLowerCase(Locale.ROOT));
        if (mode == HammingRequest.Mode.PAPER) {
            builder.field(RADIUS, radius);
        }
        builder.field(FIELDS, fields);
        builder.field(SUBCODE_FIELD, subcodeField);
        boostAndQueryNameToXContent(builder);
        builder.endObject();
    }

    /** Parses the body of {@code "hamming": {...}}; messages start with the parameter's name. */
    public static HammingQueryBuilder fromXContent(XContentParser parser) throws IOException {
        String code = null;
        Integer k = null;
        Integer maxDistance = null;
        QueryBuilder filter = null;
        HammingRequest.Mode mode = HammingRequest.Mode.EXACT;
        Integer radius = null;
        List<String> fields = CodeFields.DEFAULT_WORD_FIELDS;
        String subcodeField = CodeFields.DEFAULT_SUBCODE_FIELD;
        float boost = DEFAULT_BOOST;
        String queryName = null;
        String name = null;
        XContentParser.Token token;
        while ((token = parser.nextToken()) != XContentParser.Token.END_OBJECT) {
            if (token == XContentParser.Token.FIELD_NAME) {
                name = parser.currentName();
                continue;
            }
            if (name == null) {
                throw error(parser, "[" + NAME + "] expects an object of parameters");
            }
            switch (name) {
                case CODE -> code = string(parser, token, CODE, "the query code in hex");
                case K -> k = integer(parser, token, K);
                case MAX_DISTANCE -> maxDistance = integer(parser, token, MAX_DISTANCE);
                case RADIUS -> radius = integer(parser, token, RADIUS);
                case MODE -> mode = mode(parser, string(parser, token, MODE, "[exact] or [paper]"));
                case SUBCODE_FIELD -> subcodeField = string(parser, token, SUBCODE_FIELD, "a keyword field name");
                case FIELDS -> fields = fieldList(parser, token);
                case FILTER -> {
                    if (token != XContentParser.Token.START_OBJECT) {
                        throw error(parser, "[filter] must be a query object, got " + describe(parser, token));
                    }
                    filter = parseInnerQueryBuilder(parser);
                }
                case "boost" -> {
                    if (token != XContentParser.Token.VALUE_NUMBER) {
                        throw error(parser, "[boost] must be a number, got " + describe(parser, token));
                    }
                    boost = parser.floatValue();
                }
                case "_name" -> queryName = string(parser, token, "_name", "a name for the query");
                default -> throw error(parser, "[" + NAME + "] unknown parameter [" + name + "]; it takes " + PARAMETERS);
            }
        }
        if (code == null) {
            throw error(parser, "[code] is required: the query code as " + fields.size() * HammingCodes.HEX_PER_WORD + " hex characters");
        }
        long[] words;
        try {
            words = HammingCodes.parseHex(code, fields.size());
        } catch (IllegalArgumentException e) {
            throw error(parser, "[code] " + e.getMessage());
        }
        if (radius != null && mode != HammingRequest.Mode.PAPER) {
            throw error(parser, "[radius] applies to [mode] paper only; exact mode grows its radius as needed");
        }
        int bits = fields.size() * HammingCodes.WORD_BITS;
        if (maxDistance != null && (maxDistance < 0 || maxDistance > bits)) {
            throw error(parser, "[max_distance] must be between 0 and " + bits + ", got " + maxDistance);
        }
        if (k != null && k < 1) {
            throw error(parser, "[k] must be at least 1, got " + k);
        }
        int r = radius == null ? HammingRequest.PAPER_RADIUS : radius;
        if (r < 0 || r > HammingCodes.SUBCODE_BITS) {
            throw error(parser, "[radius] must be between 0 and " + HammingCodes.SUBCODE_BITS + ", got " + r);
        }
        int limit = maxDistance == null ? HammingRequest.NO_MAX_DISTANCE : maxDistance;
        return new HammingQueryBuilder(words, k, limit, filter, mode, r, fields, subcodeField).boost(boost).queryName(queryName);
    }

    private static ParsingException error(XContentParser parser, String message) {
        return new ParsingException(parser.getTokenLocation(), message.replace("{}", "{ }"));
    }

    private static String describe(XContentParser parser, XContentParser.Token token) throws IOException {
        return switch (token) {
            case START_OBJECT -> "an object";
            case START_ARRAY -> "an array";
            case VALUE_NULL -> "null";
            case VALUE_STRING -> "the string [" + parser.text() + "]";
            default -> token.isValue() ? "[" + parser.text() + "]" : token.name();
        };
    }

    private static String string(XContentParser parser, XContentParser.Token token, String parameter, String expected)
        throws IOException {
        if (token != XContentParser.Token.VALUE_STRING) {
            skip(parser, token);
            throw error(parser, "[" + parameter + "] must be a string (" + expected + "), got " + describe(parser, token));
        }
        return parser.text();
    }

    private static int integer(XContentParser parser, XContentParser.Token token, String parameter) throws IOException {
        if (token != XContentParser.Token.VALUE_NUMBER) {
            throw error(parser, "[" + parameter + "] must be an integer, got " + describe(parser, token));
        }
        XContentParser.NumberType type = parser.numberType();
        if (type != XContentParser.NumberType.INT && type != XContentParser.NumberType.LONG) {
            throw error(parser, "[" + parameter + "] must be an integer, got [" + parser.text() + "]");
        }
        long value = parser.longValue();
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw error(parser, "[" + parameter + "] is out of range: [" + value + "]");
        }
        return (int) value;
    }

    private static HammingRequest.Mode mode(XContentParser parser, String value) {
        return switch (value) {
            case "exact" -> HammingRequest.Mode.EXACT;
            case "paper" -> HammingRequest.Mode.PAPER;
            default -> throw error(parser, "[mode] must be [exact] or [paper], got [" + value + "]");
        };
    }

    private static List<String> fieldList(XContentParser parser, XContentParser.Token token) throws IOException {
        if (token != XContentParser.Token.START_ARRAY) {
            throw error(parser, "[fields] must be an array of long field names, got " + describe(parser, token));
        }
        List<String> names = new ArrayList<>();
        while ((token = parser.nextToken()) != XContentParser.Token.END_ARRAY) {
            names.add(string(parser, token, FIELDS, "long field names"));
        }
        if (names.isEmpty()) {
            throw error(parser, "[fields] must name at least one long field");
        }
        if (names.size() > HammingCodes.WORD_BITS) {
            throw error(parser, "[fields] names " + names.size() + " fields; a code has at most " + HammingCodes.WORD_BITS + " words");
        }
        return names;
    }

    private static void skip(XContentParser parser, XContentParser.Token token) throws IOException {
        if (token == XContentParser.Token.START_OBJECT || token == XContentParser.Token.START_ARRAY) {
            parser.skipChildren();
        }
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
        return new HammingQueryBuilder(code, k, maxDistance, rewritten, mode, radius, fields, subcodeField).boost(boost)
            .queryName(queryName);
    }

    @Override
    protected Query doToQuery(SearchExecutionContext context, MaxClauseCountQueryVisitor visitor) throws IOException {
        String[] wordFields = CodeFields.wordFields(FIELDS, fields, context.lookup());
        String subcodes = CodeFields.subcodeField(SUBCODE_FIELD, subcodeField, context.lookup());
        int window = context.getIndexSettings().getMaxResultWindow();
        // With max_distance alone, every document within it: as many as a search may page through.
        int hits = k != null ? k : maxDistance != HammingRequest.NO_MAX_DISTANCE ? window : DEFAULT_K;
        if (hits > window) {
            throw new IllegalArgumentException(
                "[k] must be between 1 and index.max_result_window (" + window + "), got " + hits
                    + "; raise the index setting to ask for more"
            );
        }
        Query filterQuery = filter == null ? null : filter.toQuery(context);
        HammingRequest request = new HammingRequest(code, wordFields, subcodes, hits, maxDistance, mode, radius, filterQuery);
        IndexReader reader = context.searcher() == null ? null : context.searcher().getIndexReader();
        if (reader != null) {
            int largest = reader.leaves().stream().mapToInt(leaf -> leaf.reader().maxDoc()).max().orElse(0);
            context.addCircuitBreakerMemory(HammingSearch.bytesNeeded(request, largest, reader.leaves().size()), "hamming query");
        }
        return new HammingQuery(request);
    }

    @Override
    protected boolean doEquals(HammingQueryBuilder other) {
        return Arrays.equals(code, other.code)
            && Objects.equals(k, other.k)
            && maxDistance == other.maxDistance
            && Objects.equals(filter, other.filter)
            && mode == other.mode
            && radius == other.radius
            && fields.equals(other.fields)
            && subcodeField.equals(other.subcodeField);
    }

    @Override
    protected int doHashCode() {
        return Objects.hash(Arrays.hashCode(code), k, maxDistance, filter, mode, radius, fields, subcodeField);
    }
}
