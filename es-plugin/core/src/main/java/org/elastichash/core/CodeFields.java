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

    /** The {@code hamming_code} field searched when a request names no field. */
    public static final String DEFAULT_CODE_FIELD = "hash";

    private CodeFields() {}

    /**
     * A mapped field, as far as codes care.
     *
     * @param luceneName the field's name in the Lucene index
     * @param type the engine's name of the field type ({@code long}, {@code keyword}, ...)
     * @param docValues whether the field has doc values
     * @param searchable whether the field's terms are indexed
     * @param runtime whether the field is computed at search time rather than indexed
     * @param bits a {@code hamming_code} field's code length, 0 for any other type
     */
    public record Field(String luceneName, String type, boolean docValues, boolean searchable, boolean runtime, int bits) {

        /** A field of any type but {@code hamming_code}. */
        public Field(String luceneName, String type, boolean docValues, boolean searchable, boolean runtime) {
            this(luceneName, type, docValues, searchable, runtime, 0);
        }
    }

    /** An index mapping: the field of that name, or null where the mapping has none. */
    @FunctionalInterface
    public interface Mapping {
        Field field(String name);
    }

    /**
     * Where the codes a request names live: the {@code hamming_code} field {@code field}; the
     * earlier layout's {@code long} fields {@code words} and keyword field {@code subcodeField};
     * or, when neither is named, the field {@code hash} when it is a {@code hamming_code} field,
     * else the earlier layout's default fields (indices written before the field type).
     *
     * @param field the {@code field} parameter, or null
     * @param words the {@code fields} parameter, or null
     * @param subcodeField the {@code subcode_field} parameter, or null
     */
    public static CodeLayout layout(String field, List<String> words, String subcodeField, Mapping mapping) {
        return layout(field, words, subcodeField, mapping, true);
    }

    /**
     * As {@link #layout}, for a reader of the codes' words alone (the {@code hamming} script): the
     * earlier layout's sub-code field is neither named nor checked.
     */
    public static CodeLayout wordsLayout(String field, List<String> words, Mapping mapping) {
        return layout(field, words, null, mapping, false);
    }

    private static CodeLayout layout(String field, List<String> words, String subcodeField, Mapping mapping, boolean readsTerms) {
        checkOneLayout(field, words, subcodeField);
        if (words != null || subcodeField != null) {
            return earlierLayout(words, subcodeField, mapping, readsTerms);
        }
        String name = field == null ? DEFAULT_CODE_FIELD : field;
        Field found = mapping.field(name);
        if (found != null && HammingCodeField.TYPE.equals(found.type())) {
            return new CodeLayout.Column(found.luceneName(), found.bits() / HammingCodes.WORD_BITS);
        }
        if (field == null && DEFAULT_WORD_FIELDS.stream().allMatch(w -> mapping.field(w) != null)) {
            return earlierLayout(null, null, mapping, readsTerms);
        }
        mapped(HammingParameters.FIELD, name, mapping);
        if (field == null) {
            throw new IllegalArgumentException(
                "[" + HammingParameters.FIELD + "] the index has no hamming_code field [" + DEFAULT_CODE_FIELD
                    + "], and [" + DEFAULT_CODE_FIELD + "] is of type [" + found.type() + "]; name the field that holds the codes"
            );
        }
        throw new IllegalArgumentException(
            "[" + HammingParameters.FIELD + "] field [" + name + "] must be of type [" + HammingCodeField.TYPE + "], but it is ["
                + found.type() + "]"
        );
    }

    /** Refuses a request that names both a {@code hamming_code} field and the earlier layout's fields. */
    public static void checkOneLayout(String field, List<String> words, String subcodeField) {
        if (field != null && (words != null || subcodeField != null)) {
            throw new IllegalArgumentException(
                "[" + HammingParameters.FIELD + "] names a hamming_code field, [" + HammingParameters.FIELDS + "] and ["
                    + HammingParameters.SUBCODE_FIELD + "] the fields of the earlier layout: give one or the other"
            );
        }
    }

    private static CodeLayout earlierLayout(List<String> words, String subcodeField, Mapping mapping, boolean readsTerms) {
        String[] wordFields = wordFields(HammingParameters.FIELDS, words == null ? DEFAULT_WORD_FIELDS : words, mapping);
        String subcodeName = subcodeField == null ? DEFAULT_SUBCODE_FIELD : subcodeField;
        String subcodes = readsTerms ? subcodeField(HammingParameters.SUBCODE_FIELD, subcodeName, mapping) : subcodeName;
        return new CodeLayout.WordFields(wordFields, subcodes);
    }

    /** Refuses an empty list of word fields: the one wording of that rule, for the query's reader too. */
    static void requireWords(String parameter, List<String> names) {
        if (names.isEmpty()) {
            throw new IllegalArgumentException("[" + parameter + "] must name at least one long field");
        }
    }

    /** The Lucene names of {@code names}, each a mapped {@code long} field with doc values. */
    public static String[] wordFields(String parameter, List<String> names, Mapping mapping) {
        requireWords(parameter, names);
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
            if (HammingParameters.FIELD.equals(parameter) && name.equals(DEFAULT_CODE_FIELD)) {
                throw new IllegalArgumentException(
                    "[" + parameter + "] the index has no field [" + name + "]: map a field of type [" + HammingCodeField.TYPE
                        + "] there, or name the field that holds the codes"
                );
            }
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
