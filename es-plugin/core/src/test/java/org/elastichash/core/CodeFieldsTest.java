package org.elastichash.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The checks of the fields a request names, against a mapping given as a map. */
class CodeFieldsTest {

    private static final Map<String, CodeFields.Field> MAPPING = Map.of(
        "w0", new CodeFields.Field("w0", "long", true, true, false),
        "w1", new CodeFields.Field("inner.w1", "long", true, false, false),
        "nodv", new CodeFields.Field("nodv", "long", false, true, false),
        "rt", new CodeFields.Field("rt", "long", true, false, true),
        "kw", new CodeFields.Field("kw", "keyword", true, true, false),
        "kwnoindex", new CodeFields.Field("kwnoindex", "keyword", true, false, false)
    );

    private static String wordError(String... names) {
        return assertThrows(IllegalArgumentException.class, () -> CodeFields.wordFields("fields", List.of(names), MAPPING::get))
            .getMessage();
    }

    private static String subcodeError(String name) {
        return assertThrows(IllegalArgumentException.class, () -> CodeFields.subcodeField("subcode_field", name, MAPPING::get))
            .getMessage();
    }

    @Test
    void goodFieldsResolveToTheirLuceneNamesInOrder() {
        assertArrayEquals(new String[] {"inner.w1", "w0"}, CodeFields.wordFields("fields", List.of("w1", "w0"), MAPPING::get));
        assertEquals("kw", CodeFields.subcodeField("subcode_field", "kw", MAPPING::get));
    }

    @Test
    void eachProblemIsNamedWithTheParameterFirst() {
        assertEquals("[fields] must name at least one long field", wordError());
        assertEquals("[fields] names unknown field [nope]: it is not in the index mapping", wordError("w0", "nope"));
        assertEquals("[fields] field [rt] is a runtime field; codes are read from indexed fields", wordError("rt"));
        assertEquals("[fields] field [kw] must be of type [long], but it is [keyword]", wordError("kw"));
        assertEquals("[fields] field [nodv] has doc_values disabled; the code words are read from doc values", wordError("nodv"));
        assertEquals("[subcode_field] names unknown field [nope]: it is not in the index mapping", subcodeError("nope"));
        assertEquals("[subcode_field] field [w0] must be of type [keyword], but it is [long]", subcodeError("w0"));
        assertEquals("[subcode_field] field [kwnoindex] is not indexed; the sub-code terms are searched", subcodeError("kwnoindex"));
    }
}
