package org.elastichash.opensearch;

import org.elastichash.core.CodeFields;
import org.elastichash.opensearch.mapper.HammingCodeFieldMapper;
import org.opensearch.index.mapper.DerivedFieldType;
import org.opensearch.index.mapper.MappedFieldType;
import org.opensearch.index.mapper.MapperService;

/** An OpenSearch index mapping as the core's {@link CodeFields.Mapping}: what the checks of code fields read. */
public final class MappedFields {

    private MappedFields() {}

    /** The fields of {@code mapper}'s index; derived fields (OpenSearch's runtime fields) are marked as such. */
    public static CodeFields.Mapping of(MapperService mapper) {
        return name -> {
            MappedFieldType type = mapper.fieldType(name);
            if (type == null) {
                return null;
            }
            return new CodeFields.Field(
                type.name(),
                type.typeName(),
                type.hasDocValues(),
                type.isSearchable(),
                type instanceof DerivedFieldType,
                type.unwrap() instanceof HammingCodeFieldMapper.CodeFieldType code ? code.bits() : 0
            );
        };
    }
}
