package org.elastichash.opensearch.mapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.lucene.index.LeafReaderContext;
import org.apache.lucene.search.SortField;
import org.elastichash.core.HammingCodeField;
import org.opensearch.common.util.BigArrays;
import org.opensearch.index.fielddata.FieldData;
import org.opensearch.index.fielddata.IndexFieldData;
import org.opensearch.index.fielddata.LeafFieldData;
import org.opensearch.index.fielddata.ScriptDocValues;
import org.opensearch.index.fielddata.SortedBinaryDocValues;
import org.opensearch.search.DocValueFormat;
import org.opensearch.search.MultiValueMode;
import org.opensearch.search.aggregations.support.CoreValuesSourceType;
import org.opensearch.search.aggregations.support.ValuesSourceType;
import org.opensearch.search.sort.BucketedSort;
import org.opensearch.search.sort.SortOrder;

/**
 * A {@code hamming_code} field's columns as OpenSearch field data: each document's code as hex
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

    /** Bytes, as OpenSearch calls what Elasticsearch calls keyword values. */
    @Override
    public ValuesSourceType getValuesSourceType() {
        return CoreValuesSourceType.BYTES;
    }

    @Override
    public LeafFieldData load(LeafReaderContext context) {
        return new LeafFieldData() {
            @Override
            public ScriptDocValues<?> getScriptValues() {
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

            @Override
            public void close() {}
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
