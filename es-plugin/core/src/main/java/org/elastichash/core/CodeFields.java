package org.elastichash.core;

import java.util.List;

/**
 * Where an index keeps its codes, and the checks that the fields named in a request hold them the
 * way the search reads them. Each engine hands its index mapping over as a {@link Mapping}; the
 * checks and their messages are the same for every engine. Every failure is an
 * {@link IllegalArgumentException} whose message starts with the parameter.
 */
public final class CodeFields {

    /** The long fields holding the code's words, by default. */
    public static final List<String> DEFAULT_WORD_FIELDS = List.of("hash_r0", "hash_r1", "hash_r2", "hash_r3");

    /** The keyword field holding the code's sub-code terms, by default. */
    public static final String DEFAULT_SUBCODE_FIELD = "hash_mih";

    private CodeFields() {}

    /**
     * A mapped field, as far as codes care.
     *
     * @param luceneName the field's name in the Lucene index
     * @param type the engine's name of the field type ({@code long}, {@code keyword}, ...)
     * @param docValues whether the field has doc values
     * @param searchable whether the field's terms are indexed
     * @param runtime whether the field is computed at search time rather than indexed
     */
    public record Field(String luceneName, String type, boolean docValues, boolean searchable, boolean runtime) {}

    /** An index mapping: the field of that name, or null where the mapping has none. */
    @FunctionalInterface
    public interface Mapping {
        Field field(String name);
    }

    /** The Lucene names of {@code names}, each a mapped {@code long} field with doc values. */
    public static String[] wordFields(String parameter, List<String> names, Mapping mapping) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("[" + parameter + "] must name at least one long field");
        }
        String[] result = new String[names.size()];
        for (int i = 0; i < result.length; i++) {
            Field field = mapped(parameter, names.get(i), mapping);
            if ("long".equals(field.type()) == false) {
                throw new IllegalArgumentException(
                    "[" + parameter + "] field [" + names.get(i) + "] must be of type [long], but it is [" + field.type() + "]"
                );
            }
            if (field.docValues() == false) {
                throw new IllegalArgumentException(
                    "[" + parameter + "] field [" + names.get(i) + "] has doc_values disabled; the code words are read from doc values"
                );
            }
            result[i] = field.luceneName();
        }
        return result;
    }

    /** The Lucene name of {@code name}, a mapped, indexed {@code keyword} field. */
    public static String subcodeField(String parameter, String name, Mapping mapping) {
        Field field = mapped(parameter, name, mapping);
        if ("keyword".equals(field.type()) == false) {
            throw new IllegalArgumentException(
                "[" + parameter + "] field [" + name + "] must be of type [keyword], but it is [" + field.type() + "]"
            );
        }
        if (field.searchable() == false) {
            throw new IllegalArgumentException("[" + parameter + "] field [" + name + "] is not indexed; the sub-code terms are searched");
        }
        return field.luceneName();
    }

    private static Field mapped(String parameter, String name, Mapping mapping) {
        Field field = mapping.field(name);
        if (field == null) {
            throw new IllegalArgumentException("[" + parameter + "] names unknown field [" + name + "]: it is not in the index mapping");
        }
        if (field.runtime()) {
            throw new IllegalArgumentException(
                "[" + parameter + "] field [" + name + "] is a runtime field; codes are read from indexed fields"
            );
        }
        return field;
    }
}
