package org.elastichash.plugin.mapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.SortField;
import org.elastichash.core.HammingCodeField;
import org.elasticsearch.common.util.BigArrays;
import org.elasticsearch.index.fielddata.FieldData;
import org.elasticsearch.index.fielddata.IndexFieldData;
import org.elasticsearch.index.fielddata.LeafFieldData;
import org.elasticsearch.index.fielddata.SortedBinaryDocValues;
import org.elasticsearch.script.field.DocValuesScriptFieldFactory;
import org.elasticsearch.search.DocValueFormat;
import org.elasticsearch.search.MultiValueMode;
import org.elasticsearch.search.aggregations.support.CoreValuesSourceType;
import org.elasticsearch.search.aggregations.support.ValuesSourceType;
import org.elasticsearch.search.sort.BucketedSort;
import org.elasticsearch.search.sort.SortOrder;

/**
 * A {@code hamming_code} field's column as the engine's field data: each document's code as hex
 * text, so that {@code docvalue_fields} return the hex and a terms aggregation counts identical
 * codes. Sorting and scripts are refused: the {@code hamming} query and script rank by codes.
 */
final class HexFieldData implements IndexFieldData<LeafFieldData> {

    private final String field;
    private final int words;

    HexFieldData(String field, int bits) {
        this.field = field;
        this.words = bits / Long.SIZE;
    }

    @Override
    public String getFieldName() {
        return field;
    }

    @Override
    public ValuesSourceType getValuesSourceType() {
        return CoreValuesSourceType.KEYWORD;
    }

    @Override
    public LeafFieldData load(LeafReaderContext context) {
        return new LeafFieldData() {
            @Override
            public DocValuesScriptFieldFactory getScriptFieldFactory(String name) {
                throw new IllegalArgumentException(
                    "field [" + field + "] of type [" + HammingCodeField.TYPE + "] is not readable from scripts; score with the [elastichash] "
                        + "script [hamming] or search with the [hamming] query"
                );
            }

            @Override
            public SortedBinaryDocValues getBytesValues() {
                try {
                    return FieldData.singleton(HammingCodeField.hexValues(context.reader(), field, words));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }

            @Override
            public long ramBytesUsed() {
                return 0;
            }
        };
    }

    @Override
    public LeafFieldData loadDirect(LeafReaderContext context) {
        return load(context);
    }

    @Override
    public SortField sortField(Object missingValue, MultiValueMode sortMode, XFieldComparatorSource.Nested nested, boolean reverse) {
        throw notSortable();
    }

    @Override
    public BucketedSort newBucketedSort(
        BigArrays bigArrays,
        Object missingValue,
        MultiValueMode sortMode,
        XFieldComparatorSource.Nested nested,
        SortOrder sortOrder,
        DocValueFormat format,
        int bucketSize,
        BucketedSort.ExtraData extra
    ) {
        throw notSortable();
    }

    private IllegalArgumentException notSortable() {
        return new IllegalArgumentException(
            "field [" + field + "] of type [" + HammingCodeField.TYPE + "] cannot be sorted on; the [hamming] query ranks by distance to a code"
        );
    }
}
