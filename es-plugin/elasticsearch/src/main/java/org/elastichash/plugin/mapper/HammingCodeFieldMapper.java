package org.elastichash.plugin.mapper;

import java.io.IOException;
import java.util.Map;
import org.apache.lucene.index.BinaryDocValues;
import org.apache.lucene.index.LeafReader;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.TermQuery;
import org.elastichash.core.HammingCodeField;
import org.elastichash.plugin.ElasticsearchCompat;
import org.elasticsearch.index.fielddata.FieldDataContext;
import org.elasticsearch.index.fielddata.IndexFieldData;
import org.elasticsearch.index.mapper.DocValueFetcher;
import org.elasticsearch.index.mapper.DocumentParserContext;
import org.elasticsearch.index.mapper.FieldMapper;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.index.mapper.MapperBuilderContext;
import org.elasticsearch.index.mapper.SourceValueFetcher;
import org.elasticsearch.index.mapper.ValueFetcher;
import org.elasticsearch.index.query.SearchExecutionContext;
import org.elasticsearch.search.DocValueFormat;
import org.elasticsearch.xcontent.XContentParser;

/**
 * The {@code hamming_code} field type: {@code "hash": {"type": "hamming_code", "bits": 256}}. A
 * document sends its code as hex; the core's {@link HammingCodeField} checks it and derives the
 * sub-code terms and the fixed-width column the {@code hamming} query and script read. Nothing but
 * the hex the user sent is in {@code _source}; on Elasticsearch 9 (where the index leaves vectors
 * out of its stored source, the default) not even that: the engine reads it back from the column
 * whenever the source is read. {@code fields} and {@code docvalue_fields} return it.
 */
public final class HammingCodeFieldMapper extends ElasticsearchCompat.CodeFieldMapperBase {

    public static final String CONTENT_TYPE = HammingCodeField.TYPE;

    public static final TypeParser PARSER = new TypeParser(
        (name, context) -> new Builder(name, ElasticsearchCompat.excludesSourceVectors(context)),
        notInMultiFields(CONTENT_TYPE)
    );

    private static HammingCodeFieldMapper toType(FieldMapper in) {
        return (HammingCodeFieldMapper) in;
    }

    /** Reads the mapping: {@code bits} (a multiple of 64 up to 1024, 256 by default) and {@code meta}. */
    public static final class Builder extends FieldMapper.Builder {

        private final Parameter<Integer> bits = new Parameter<>(
            HammingCodeField.BITS,
            false,
            () -> HammingCodeField.DEFAULT_BITS,
            (field, context, value) -> HammingCodeField.checkBits(field, value),
            m -> toType(m).bits,
            (builder, name, value) -> builder.field(name, value),
            String::valueOf
        ).alwaysSerialize();
        private final Parameter<Map<String, String>> meta = Parameter.metaParam();
        private final boolean codeOutOfSource;

        public Builder(String name, boolean codeOutOfSource) {
            super(name);
            this.codeOutOfSource = codeOutOfSource;
        }

        // Elasticsearch 9 asks the builder for its type; 8 does not (no @Override: one source for both).
        public String contentType() {
            return CONTENT_TYPE;
        }

        @Override
        protected Parameter<?>[] getParameters() {
            return new Parameter<?>[] {bits, meta};
        }

        @Override
        public HammingCodeFieldMapper build(MapperBuilderContext context) {
            CodeFieldType type = new CodeFieldType(context.buildFullName(leafName()), bits.getValue(), codeOutOfSource, meta.getValue());
            return new HammingCodeFieldMapper(leafName(), type, builderParams(this, context), bits.getValue());
        }
    }

    /** The field as searches see it: the {@code hamming} query reads its {@link #bits}. */
    public static final class CodeFieldType extends ElasticsearchCompat.CodeFieldTypeBase {

        private final int bits;
        private final boolean codeOutOfSource;

        CodeFieldType(String name, int bits, boolean codeOutOfSource, Map<String, String> meta) {
            super(name, meta);
            this.bits = bits;
            this.codeOutOfSource = codeOutOfSource;
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
        public ValueFetcher valueFetcher(SearchExecutionContext context, String format) {
            if (codeOutOfSource) {
                return new DocValueFetcher(DocValueFormat.RAW, context.getForField(this, FielddataOperation.SEARCH));
            }
            return SourceValueFetcher.toString(name(), context, format);
        }

        @Override
        public IndexFieldData.Builder fielddataBuilder(FieldDataContext context) {
            return (cache, breakers) -> new HexFieldData(name(), bits);
        }

        /** Documents with a code: its first word column is the one every such document has. */
        @Override
        public Query existsQuery(SearchExecutionContext context) {
            return new FieldExistsQuery(HammingCodeField.wordField(name(), 0));
        }

        /** A sub-code term ({@link HammingCodeField#termOfText}): the paper's first stage as a terms filter. */
        @Override
        public Query termQuery(Object value, SearchExecutionContext context) {
            return new TermQuery(new Term(name(), HammingCodeField.termOfText(name(), bits, value)));
        }
    }

    private final int bits;

    private HammingCodeFieldMapper(String leafName, MappedFieldType type, BuilderParams params, int bits) {
        super(leafName, type, params);
        this.bits = bits;
    }

    @Override
    public CodeFieldType fieldType() {
        return (CodeFieldType) super.fieldType();
    }

    @Override
    public FieldMapper.Builder getMergeBuilder() {
        return new Builder(leafName(), codeOutOfSource()).init(this);
    }

    @Override
    protected boolean codeOutOfSource() {
        return fieldType().codeOutOfSource;
    }

    @Override
    protected BinaryDocValues hexColumn(LeafReader reader) throws IOException {
        return HammingCodeField.hexValues(reader, fieldType().name(), bits / Long.SIZE);
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
    protected void parseCreateField(DocumentParserContext context) throws IOException {
        XContentParser parser = context.parser();
        Object value = switch (parser.currentToken()) {
            case VALUE_NULL -> null;
            case VALUE_STRING -> parser.text();
            case START_ARRAY -> throw HammingCodeField.oneCodePerDocument(fullPath());
            case START_OBJECT -> Map.of();
            case VALUE_NUMBER -> parser.numberValue();
            case VALUE_BOOLEAN -> parser.booleanValue();
            default -> parser.text();
        };
        if (value == null) {
            return; // a document without a code: found by no search, scored 0 by the script
        }
        long[] words = HammingCodeField.parseValue(fullPath(), bits, value);
        HammingCodeField.luceneFields(fieldType().name(), words).forEach(context.doc()::add);
    }
}
