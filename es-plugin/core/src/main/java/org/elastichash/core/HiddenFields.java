package org.elastichash.core;

import org.apache.lucene.index.FieldInfos;
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

    /** Throws if a reader wrapper hides any of {@code fields} that the segment itself holds. */
    public static void requireVisible(LeafReader reader, String parameter, String... fields) {
        LeafReader segment = FilterLeafReader.unwrap(reader);
        if (segment == reader) {
            return;
        }
        FieldInfos visible = reader.getFieldInfos();
        FieldInfos held = segment.getFieldInfos();
        for (String field : fields) {
            if (visible.fieldInfo(field) == null && held.fieldInfo(field) != null) {
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
