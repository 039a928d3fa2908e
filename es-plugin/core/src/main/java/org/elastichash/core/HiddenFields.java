package org.elastichash.core;

import org.apache.lucene.index.FilterLeafReader;
import org.apache.lucene.index.LeafReader;

/**
 * Refuses to search fields that the engine hides from the user. Elasticsearch's field-level
 * security hides a field by wrapping each segment's reader so that the field has no terms, doc values
 * or field info. Read through the wrapper, a hidden code word would look like a missing one: the
 * query would silently find nothing and the script would score every document 0. Comparing the
 * wrapper's fields with the wrapped segment's tells a hidden field from one the segment lacks, so
 * the search fails with a sentence instead. The check reads field infos only, never the hidden data.
 */
public final class HiddenFields {

    private HiddenFields() {}

    /**
     * Whether a reader wrapper hides {@code field} although the segment holds it. A code field's
     * columns have Lucene names of their own that a role hiding the field does not name: whatever
     * reads them (the hex of {@code docvalue_fields}, the code put back into {@code _source}) asks
     * this of the field's own name first.
     */
    public static boolean hidden(LeafReader reader, String field) {
        LeafReader segment = FilterLeafReader.unwrap(reader);
        return segment != reader && reader.getFieldInfos().fieldInfo(field) == null && segment.getFieldInfos().fieldInfo(field) != null;
    }

    /**
     * Where to read a code field's columns: through the wrapper when it shows them, else from the
     * segment. A role that grants the field by name hides its columns' own Lucene names; the field
     * being visible (checked before), its columns hold nothing the user may not see.
     */
    public static LeafReader columnsOf(LeafReader reader, String firstColumn) {
        return reader.getFieldInfos().fieldInfo(firstColumn) != null ? reader : FilterLeafReader.unwrap(reader);
    }

    /** Throws if a reader wrapper hides any of {@code fields} that the segment itself holds. */
    public static void requireVisible(LeafReader reader, String parameter, String... fields) {
        for (String field : fields) {
            if (hidden(reader, field)) {
                throw new IllegalArgumentException(
                    "["
                        + parameter
                        + "] field ["
                        + field
                        + "] is hidden from this user by field-level security; the hamming query and script read the code "
                        + "fields, so grant them to the user's role or search without ElasticHash"
                );
            }
        }
    }
}
