package org.elastichash.plugin;

import java.util.List;
import org.elasticsearch.index.mapper.MappedFieldType;
import org.elasticsearch.search.lookup.SearchLookup;

/**
 * Checks that the fields named in a request hold ElasticHash codes the way the plugin reads them,
 * and resolves them to their Lucene names. Shared by the {@code hamming} script and query.
 * Every failure is an {@link IllegalArgumentException} whose message starts with the parameter.
 */
public final class CodeFields {

    /** The long fields holding the code's words, by default. */
    public static final List<String> DEFAULT_WORD_FIELDS = List.of("hash_r0", "hash_r1", "hash_r2", "hash_r3");

    /** The keyword field holding the code's sub-code terms, by default. */
    public static final String DEFAULT_SUBCODE_FIELD = "hash_mih";

    private CodeFields() {}

    /** The Lucene names of {@code names}, each a mapped {@code long} field with doc values. */
    public static String[] wordFields(String parameter, List<String> names, SearchLookup lookup) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("[" + parameter + "] must name at least one long field");
        }
        String[] result = new String[names.size()];
        for (int i = 0; i < result.length; i++) {
            MappedFieldType type = mapped(parameter, names.get(i), lookup);
            if ("long".equals(type.typeName()) == false) {
                throw new IllegalArgumentException(
                    "[" + parameter + "] field [" + names.get(i) + "] must be of type [long], but it is [" + type.typeName() + "]"
                );
            }
            if (type.hasDocValues() == false) {
                throw new IllegalArgumentException(
                    "[" + parameter + "] field [" + names.get(i) + "] has doc_values disabled; the code words are read from doc values"
                );
            }
            result[i] = type.name();
        }
        return result;
    }

    /** The Lucene name of {@code name}, a mapped, indexed {@code keyword} field. */
    public static String subcodeField(String parameter, String name, SearchLookup lookup) {
        MappedFieldType type = mapped(parameter, name, lookup);
        if ("keyword".equals(type.typeName()) == false) {
            throw new IllegalArgumentException(
                "[" + parameter + "] field [" + name + "] must be of type [keyword], but it is [" + type.typeName() + "]"
            );
        }
        if (type.isSearchable() == false) {
            throw new IllegalArgumentException("[" + parameter + "] field [" + name + "] is not indexed; the sub-code terms are searched");
        }
        return type.name();
    }

    private static MappedFieldType mapped(String parameter, String name, SearchLookup lookup) {
        MappedFieldType type = lookup.fieldType(name);
        if (type == null) {
            throw new IllegalArgumentException("[" + parameter + "] names unknown field [" + name + "]: it is not in the index mapping");
        }
        if (lookup.onlyMappedAsRuntimeField(name)) {
            throw new IllegalArgumentException(
                "[" + parameter + "] field [" + name + "] is a runtime field; codes are read from indexed fields"
            );
        }
        return type;
    }
}
