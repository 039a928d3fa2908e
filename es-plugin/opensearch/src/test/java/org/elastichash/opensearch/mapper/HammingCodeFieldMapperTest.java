package org.elastichash.opensearch.mapper;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.lucene.document.Document;
import org.apache.lucene.index.DirectoryReader;
import org.apache.lucene.index.IndexWriter;
import org.apache.lucene.index.IndexWriterConfig;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.index.Term;
import org.apache.lucene.search.FieldExistsQuery;
import org.apache.lucene.search.TermQuery;
import org.apache.lucene.store.ByteBuffersDirectory;
import org.apache.lucene.store.Directory;
import org.elastichash.core.HammingCodeField;
import org.elastichash.core.HammingCodes;
import org.junit.jupiter.api.Test;
import org.opensearch.Version;
import org.opensearch.common.settings.Settings;
import org.opensearch.common.xcontent.json.JsonXContent;
import org.opensearch.core.xcontent.ToXContent;
import org.opensearch.core.xcontent.XContentBuilder;
import org.opensearch.index.fielddata.LeafFieldData;
import org.opensearch.index.fielddata.SortedBinaryDocValues;
import org.opensearch.index.mapper.ContentPath;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.index.mapper.MapperParsingException;
import org.opensearch.search.MultiValueMode;

/**
 * The field type's mapping and search side without a node: its parameters and their refusals,
 * merges, the queries it makes, and the field data that docvalue_fields and aggregations read.
 * Documents are indexed through it on a real node: integration-tests/test_code_field.py, --engine opensearch.
 */
class HammingCodeFieldMapperTest {

    private static final Mapper.TypeParser.ParserContext CONTEXT = new Mapper.TypeParser.ParserContext(
        null,
        null,
        null,
        Version.CURRENT,
        null,
        null,
        null
    );

    private static HammingCodeFieldMapper build(Map<String, Object> mapping, Mapper.TypeParser.ParserContext context) {
        Map<String, Object> node = new HashMap<>(mapping);
        node.put("type", HammingCodeField.TYPE);
        Mapper.Builder<?> builder = HammingCodeFieldMapper.PARSER.parse("hash", node, context);
        return (HammingCodeFieldMapper) builder.build(new Mapper.BuilderContext(Settings.EMPTY, new ContentPath()));
    }

    private static HammingCodeFieldMapper build(Map<String, Object> mapping) {
        return build(mapping, CONTEXT);
    }

    private static String print(HammingCodeFieldMapper mapper) throws IOException {
        XContentBuilder builder = JsonXContent.contentBuilder().startObject();
        mapper.toXContent(builder, ToXContent.EMPTY_PARAMS);
        return builder.endObject().toString();
    }

    @Test
    void bitsDefaultTo256AndAreAlwaysPrinted() throws IOException {
        HammingCodeFieldMapper mapper = build(Map.of());
        HammingCodeFieldMapper.CodeFieldType type = assertInstanceOf(HammingCodeFieldMapper.CodeFieldType.class, mapper.fieldType());
        assertEquals(256, type.bits());
        assertEquals("{\"hash\":{\"type\":\"hamming_code\",\"bits\":256}}", print(mapper));
        assertEquals(512, ((HammingCodeFieldMapper.CodeFieldType) build(Map.of("bits", 512)).fieldType()).bits());
    }

    @Test
    void badMappingsAreRefusedWithTheCoresMessages() {
        assertEquals(
            "[bits] of field [hash] must be a multiple of 64 from 64 to 1024, got 100",
            assertThrows(IllegalArgumentException.class, () -> build(Map.of("bits", 100))).getMessage()
        );
        String notAnInteger = assertThrows(IllegalArgumentException.class, () -> build(Map.of("bits", "x"))).getMessage();
        assertTrue(notAnInteger.startsWith("[bits] of field [hash] must be an integer"), notAnInteger);
        assertEquals(
            "unknown parameter [foo] on mapper [hash] of type [hamming_code]",
            assertThrows(MapperParsingException.class, () -> build(Map.of("foo", 1))).getMessage()
        );
        // OpenSearch would accept these with a deprecation warning, and change nothing
        for (String legacy : List.of("doc_values", "index", "store", "boost")) {
            assertEquals(
                "unknown parameter [" + legacy + "] on mapper [hash] of type [hamming_code]",
                assertThrows(MapperParsingException.class, () -> build(Map.of(legacy, false))).getMessage()
            );
        }
        assertEquals(
            "Field [hash] of type [hamming_code] can't be used in multifields",
            assertThrows(MapperParsingException.class, () -> build(Map.of(), CONTEXT.createMultiFieldContext(CONTEXT))).getMessage()
        );
    }

    @Test
    void bitsCannotBeUpdatedButMetaCan() {
        HammingCodeFieldMapper mapper = build(Map.of("bits", 256));
        String conflict = assertThrows(IllegalArgumentException.class, () -> mapper.merge(build(Map.of("bits", 512)))).getMessage();
        assertTrue(conflict.contains("Cannot update parameter [bits] from [256] to [512]"), conflict);
        Mapper merged = mapper.merge(build(Map.of("meta", Map.of("unit", "bits"))));
        assertEquals(Map.of("unit", "bits"), ((HammingCodeFieldMapper) merged).fieldType().meta());
    }

    @Test
    void termAndExistsQueriesReadTheDerivedFields() {
        HammingCodeFieldMapper.CodeFieldType type = (HammingCodeFieldMapper.CodeFieldType) build(Map.of()).fieldType();
        assertEquals(new TermQuery(new Term("hash", HammingCodeField.term(1, 0x4567))), type.termQuery("14567", null));
        assertEquals(new FieldExistsQuery("hash#0"), type.existsQuery(null));
        String notASubCode = assertThrows(IllegalArgumentException.class, () -> type.termQuery("abc", null)).getMessage();
        assertTrue(notASubCode.startsWith("field [hash] of type [hamming_code] is searched with the [hamming] query"), notASubCode);
        assertTrue(type.isAggregatable());
    }

    @Test
    void fieldDataIsTheHexOfEachCodeAndRefusesSortingAndScripts() throws IOException {
        String code = "0123456789abcdef".repeat(4);
        try (Directory directory = new ByteBuffersDirectory()) {
            try (IndexWriter writer = new IndexWriter(directory, new IndexWriterConfig())) {
                Document withCode = new Document();
                HammingCodeField.luceneFields("hash", HammingCodes.parseHex(code, 4)).forEach(withCode::add);
                writer.addDocument(withCode);
                writer.addDocument(new Document());
            }
            try (DirectoryReader reader = DirectoryReader.open(directory)) {
                HexFieldData data = (HexFieldData) build(Map.of()).fieldType().fielddataBuilder("index", null).build(null, null);
                LeafReaderContext leaf = reader.leaves().get(0);
                LeafFieldData leafData = data.load(leaf);
                SortedBinaryDocValues values = leafData.getBytesValues();
                assertTrue(values.advanceExact(0));
                assertEquals(1, values.docValueCount());
                assertEquals(code, values.nextValue().utf8ToString());
                assertFalse(leafData.getBytesValues().advanceExact(1));
                String scripts = assertThrows(IllegalArgumentException.class, leafData::getScriptValues).getMessage();
                assertTrue(scripts.contains("is not readable from scripts"), scripts);
                String sort = assertThrows(IllegalArgumentException.class, () -> data.sortField(null, MultiValueMode.MIN, null, false))
                    .getMessage();
                assertTrue(sort.contains("cannot be sorted on"), sort);
            }
        }
    }
}
