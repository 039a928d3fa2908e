package org.elastichash.opensearch.script;

import java.util.Map;
import java.util.Set;
import org.elastichash.core.HammingScript;
import org.opensearch.script.ScoreScript;
import org.opensearch.script.ScriptContext;
import org.opensearch.script.ScriptEngine;

/**
 * The {@code elastichash} script language for OpenSearch. Its one script, {@code hamming} (the
 * core's {@link HammingScript}), scores documents by the Hamming distance between a query code
 * and the code words stored in {@code long} fields; it serves every score context.
 */
public final class HammingScriptEngine implements ScriptEngine {

    public static final String LANG = HammingScript.LANG;

    @Override
    public String getType() {
        return LANG;
    }

    @Override
    public <T> T compile(String name, String source, ScriptContext<T> context, Map<String, String> options) {
        if (context.equals(ScoreScript.CONTEXT) == false) {
            throw HammingScript.notAScoreContext(context.name);
        }
        HammingScript.checkSource(source);
        return context.factoryClazz.cast(new HammingScoreScript.Factory());
    }

    @Override
    public Set<ScriptContext<?>> getSupportedContexts() {
        return Set.of(ScoreScript.CONTEXT);
    }
}
