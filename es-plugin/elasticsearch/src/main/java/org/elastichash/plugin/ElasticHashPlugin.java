package org.elastichash.plugin;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import org.elastichash.core.CodeCache;
import org.elastichash.plugin.mapper.HammingCodeFieldMapper;
import org.elastichash.plugin.query.HammingQueryBuilder;
import org.elastichash.plugin.script.HammingScriptEngine;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.settings.Setting;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.index.mapper.Mapper;
import org.elasticsearch.indices.breaker.BreakerSettings;
import org.elasticsearch.plugins.CircuitBreakerPlugin;
import org.elasticsearch.plugins.MapperPlugin;
import org.elasticsearch.plugins.Plugin;
import org.elasticsearch.plugins.ScriptPlugin;
import org.elasticsearch.plugins.SearchPlugin;
import org.elasticsearch.script.ScriptContext;
import org.elasticsearch.script.ScriptEngine;
import org.elasticsearch.threadpool.ThreadPool;

/**
 * Entry point of the ElasticHash plugin: registers the {@code hamming_code} field type (codes
 * written as hex), the {@code hamming} query (exact Hamming k-nearest search) and the
 * {@code elastichash} script language (Hamming scoring), and the breaker that bounds the node's
 * code cache ({@link CodeCacheBreaker}).
 */
public class ElasticHashPlugin extends Plugin implements MapperPlugin, ScriptPlugin, SearchPlugin, CircuitBreakerPlugin {

    /** Segments with at least this many codes are grouped around pivots in the code cache (dynamic). */
    static final Setting<Integer> PARTITION_MIN_CODES = Setting.intSetting(
        CodeCache.PARTITION_SETTING,
        CodeCache.DEFAULT_PARTITION_MIN_CODES,
        0,
        Setting.Property.NodeScope,
        Setting.Property.Dynamic
    );

    @Override
    public List<Setting<?>> getSettings() {
        return List.of(PARTITION_MIN_CODES);
    }

    @Override
    public Map<String, Mapper.TypeParser> getMappers() {
        return Map.of(HammingCodeFieldMapper.CONTENT_TYPE, HammingCodeFieldMapper.PARSER);
    }

    @Override
    public ScriptEngine getScriptEngine(Settings settings, Collection<ScriptContext<?>> contexts) {
        return new HammingScriptEngine();
    }

    @Override
    public Collection<?> createComponents(PluginServices services) {
        HammingQueryBuilder.useSearchThreads(services.threadPool().executor(ThreadPool.Names.SEARCH));
        // Grouping a large segment's codes around pivots takes about a second per million codes.
        CodeCache.NODE.partitionOn(services.threadPool().generic());
        CodeCache.NODE.partitionFrom(PARTITION_MIN_CODES.get(services.environment().settings()));
        services.clusterService().getClusterSettings().addSettingsUpdateConsumer(PARTITION_MIN_CODES, CodeCache.NODE::partitionFrom);
        return List.of();
    }

    @Override
    public BreakerSettings getCircuitBreaker(Settings settings) {
        return CodeCacheBreaker.settings(settings);
    }

    @Override
    public void setCircuitBreaker(CircuitBreaker circuitBreaker) {
        CodeCache.useNodeBudget(new CodeCacheBreaker(circuitBreaker));
    }

    @Override
    public List<QuerySpec<?>> getQueries() {
        return List.of(new QuerySpec<>(HammingQueryBuilder.NAME, HammingQueryBuilder::new, HammingQueryBuilder::fromXContent));
    }
}
