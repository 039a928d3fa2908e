package org.elastichash.plugin;

import java.util.Collection;
import org.elastichash.plugin.script.HammingScriptEngine;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.ScriptPlugin;
import org.elasticsearch.script.ScriptContext;
import org.elasticsearch.script.ScriptEngine;

/** Entry point of the ElasticHash plugin: registers the {@code elastichash} script language. */
public class ElasticHashPlugin extends Plugin implements ScriptPlugin {

    @Override
    public ScriptEngine getScriptEngine(Settings settings, Collection<ScriptContext<?>> contexts) {
        return new HammingScriptEngine();
    }
}
