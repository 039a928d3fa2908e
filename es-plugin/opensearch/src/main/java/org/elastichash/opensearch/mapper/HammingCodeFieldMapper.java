package org.elastichash.opensearch.mapper;

import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.elastichash.core.HammingCodeField;
import org.opensearch.core.xcontent.XContentParser;
import org.opensearch.index.fielddata.IndexFieldData;
import org.opensearch.index.mapper.FieldMapper;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.index.mapper.ParametrizedFieldMapper;
import org.opensearch.index.mapper.ParseContext;
import org.opensearch.index.mapper.SourceValueFetcher;
import org.opensearch.index.mapper.TextSearchInfo;
import org.opensearch.index.mapper.ValueFetcher;
import org.opensearch.index.query.QueryShardContext;
import org.opensearch.search.lookup.SearchLookup;

/**
 * The {@code hamming_code} field type for OpenSearch: {@code "hash": {"type": "hamming_code", "bits": 256}}.
 * A document sends its code as hex; the core's {@link HammingCodeField} checks it and derives the
 * sub-code terms and the word columns the {@code hamming} query and script read, as on
 * Elasticsearch. Only the hex the user sent is in {@code _source}; {@code fields} and
 * {@code docvalue_fields} return it.
 */
public final class HammingCodeFieldMapper extends ParametrizedFieldMapper {

    public static final String CONTENT_TYPE = HammingCodeField.TYPE;

    /**
     * Parameters OpenSearch accepts on any field type, with only a deprecation warning, where the
     * type does not declare them. They would mislead here ({@code "doc_values": false} and
     * {@code "index": false} would change nothing), so they are refused as unknown, as
     * Elasticsearch refuses them.
     */
    private static final Set<String> UNDECLARED_LEGACY_PARAMETERS = Set.of(
        "store",
        "index",
        "doc_values",
        "index_options",
        "similarity",
        "boost"
    );

    private static final TypeParser BUILDER_PARSER = new TypeParser((name, context) -> new Builder(name));

    /** Reads a field's mapping; refuses the type inside another field's {@code fields}. */
    public static final Mapper.TypeParser PARSER = (name, node, context) -> {
        if (context.isWithinMultiField()) {
            throw new MapperParsingException("Field [" + name + "] of type [" + CONTENT_TYPE + "] can't be used in multifields");
        }
        for (String parameter : node.keySet()) {
            if (UNDECLARED_LEGACY_PARAMETERS.contains(parameter)) {
                throw new MapperParsingException(
                    "unknown parameter [" + parameter + "] on mapper [" + name + "] of type [" + CONTENT_TYPE + "]"
                );
            }
        }
        return BUILDER_PARSER.parse(name, node, context);
    };

    private static HammingCodeFieldMapper toType(FieldMapper in) {
        return (HammingCodeFieldMapper) in;
    }

    /** Reads the mapping: {@code bits} (a multiple of 64 up to 1024, 256 by default) and {@code meta}. */
    public static final class Builder extends ParametrizedFieldMapper.Builder {

        private final Parameter<Integer> bits = new Parameter<>(
            HammingCodeField.BITS,
            false,
            () -> HammingCodeField.DEFAULT_BITS,
            (field, context, value) -> HammingCodeField.checkBits(field, value),
            m -> toType(m).bits
        ).alwaysSerialize();
        private final Parameter<Map<String, String>> meta = Parameter.metaParam();

        public Builder(String name) {
            super(name);
        }

        @Override
        protected List<Parameter<?>> getParameters() {
            return List.of(bits, meta);
        }

        @Override
        public HammingCodeFieldMapper build(BuilderContext context) {
            CodeFieldType type = new CodeFieldType(buildFullName(context), bits.getValue(), meta.getValue());
            return new HammingCodeFieldMapper(name, type, multiFieldsBuilder.build(this, context), copyTo.build(), bits.getValue());
        }
    }

    /** The field as searches see it: the {@code hamming} query reads its {@link #bits}. */
    public static final class CodeFieldType extends MappedFieldType {

        private final int bits;

        CodeFieldType(String name, int bits, Map<String, String> meta) {
            super(name, true, false, true, TextSearchInfo.NONE, meta);
            this.bits = bits;
        }

        /** The code length of the field's documents. */
        public int bits() {
            return bits;
        }

        @Override
        public String typeName() {
            return CONTENT_TYPE;
        }

        @Override
        public ValueFetcher valueFetcher(QueryShardContext context, SearchLookup searchLookup, String format) {
            return SourceValueFetcher.toString(name(), context, format);
        }

        @Override
        public IndexFieldData.Builder fielddataBuilder(String fullyQualifiedIndexName, Supplier<SearchLookup> searchLookup) {
            return (cache, breakers) -> new HexFieldData(name(), bits);
        }

        /** Documents with a code: its first word column is the one every such document has. */
        @Override
        public Query existsQuery(QueryShardContext context) {
            return new FieldExistsQuery(HammingCodeField.wordField(name(), 0));
        }

        /** A sub-code term ({@link HammingCodeField#termOfText}): the paper's first stage as a terms filter. */
        @Override
        public Query termQuery(Object value, QueryShardContext context) {
            return new TermQuery(new Term(name(), HammingCodeField.termOfText(name(), bits, value)));
        }
    }

    private final int bits;

    private HammingCodeFieldMapper(String simpleName, MappedFieldType type, MultiFields multiFields, CopyTo copyTo, int bits) {
        super(simpleName, type, multiFields, copyTo);
        this.bits = bits;
    }

    @Override
    public ParametrizedFieldMapper.Builder getMergeBuilder() {
        return new Builder(simpleName()).init(this);
    }

    @Override
    protected String contentType() {
        return CONTENT_TYPE;
    }

    /** Arrays reach {@link #parseCreateField} whole, so that a second code is refused, not indexed. */
    @Override
    public boolean parsesArrayValue() {
        return true;
    }

    @Override
    protected void parseCreateField(ParseContext context) throws IOException {
        Object value;
        if (context.externalValueSet()) {
            value = context.externalValue();
        } else {
            XContentParser parser = context.parser();
            value = switch (parser.currentToken()) {
                case VALUE_NULL -> null;
                case VALUE_STRING -> parser.text();
                case START_ARRAY -> throw HammingCodeField.oneCodePerDocument(name());
                case START_OBJECT -> Map.of();
                case VALUE_NUMBER -> parser.numberValue();
                case VALUE_BOOLEAN -> parser.booleanValue();
                default -> parser.text();
            };
        }
        if (value == null) {
            return; // a document without a code: found by no search, scored 0 by the script
        }
        long[] words = HammingCodeField.parseValue(name(), bits, value);
        HammingCodeField.luceneFields(fieldType().name(), words).forEach(context.doc()::add);
    }
}
