package org.elastichash.plugin;

import org.elastichash.core.CodeFields;
import org.elastichash.plugin.mapper.HammingCodeFieldMapper;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.search.lookup.SearchLookup;

/** An Elasticsearch index mapping as the core's {@link CodeFields.Mapping}: what the checks of code fields read. */
public final class MappedFields {

    private MappedFields() {}

    /** The fields that {@code lookup} sees; runtime fields are marked as such. */
    public static CodeFields.Mapping of(SearchLookup lookup) {
        return name -> {
            MappedFieldType type = lookup.fieldType(name);
            if (type == null) {
                return null;
            }
            return new CodeFields.Field(
                type.name(),
                type.typeName(),
                type.hasDocValues(),
                type.isSearchable(),
                ElasticsearchCompat.onlyMappedAsRuntimeField(lookup, name),
                type instanceof HammingCodeFieldMapper.CodeFieldType code ? code.bits() : 0
            );
        };
    }
}
