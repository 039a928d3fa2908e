package org.elastichash.plugin.script;

import java.util.Map;
import java.util.Set;
import org.elasticsearch.script.ScoreScript;
import org.elasticsearch.script.ScriptContext;
import org.elasticsearch.script.ScriptEngine;

/**
 * The {@code elastichash} script language. Its one script, {@code hamming}, scores documents by
 * the Hamming distance between a query code and the code words stored in {@code long} fields.
 *
 * <pre>
 * "script": {"lang": "elastichash", "source": "hamming",
 *            "params": {"code": "&lt;hex&gt;", "fields": ["hash_r0", "hash_r1", "hash_r2", "hash_r3"]}}
 * </pre>
 *
 * It serves every score context: {@code script_score} queries, {@code function_score}'s
 * {@code script_score} function and rescoring with either.
 */
public final class HammingScriptEngine implements ScriptEngine {

    public static final String LANG = "elastichash";

    public static final String HAMMING = "hamming";

    @Override
    public String getType() {
        return LANG;
    }

    @Override
    public <T> T compile(String name, String source, ScriptContext<T> context, Map<String, String> options) {
        if (context.equals(ScoreScript.CONTEXT) == false) {
            throw new IllegalArgumentException(
                "["
                    + LANG
                    + "] scripts only compute scores (script_score, function_score, rescore); "
                    + "they cannot be used in the ["
                    + context.name
                    + "] context"
            );
        }
        if (HAMMING.equals(source) == false) {
            throw new IllegalArgumentException(
                "unknown [" + LANG + "] script [" + source + "]; the available script is [" + HAMMING + "]"
            );
        }
        return context.factoryClazz.cast(new HammingScoreScript.Factory());
    }

    @Override
    public Set<ScriptContext<?>> getSupportedContexts() {
        return Set.of(ScoreScript.CONTEXT);
    }
}
