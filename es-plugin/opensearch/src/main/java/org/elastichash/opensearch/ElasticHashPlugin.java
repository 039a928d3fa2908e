package org.elastichash.opensearch;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.elastichash.core.CodeCache;
import org.elastichash.opensearch.mapper.HammingCodeFieldMapper;
import org.elastichash.opensearch.query.HammingQueryBuilder;
import org.elastichash.opensearch.script.HammingScriptEngine;
import org.opensearch.cluster.metadata.IndexNameExpressionResolver;
import org.opensearch.cluster.service.ClusterService;
import org.opensearch.common.settings.Setting;
import org.opensearch.common.settings.Settings;
import org.opensearch.core.common.breaker.CircuitBreaker;
import org.opensearch.core.common.io.stream.NamedWriteableRegistry;
import org.opensearch.core.xcontent.NamedXContentRegistry;
import org.opensearch.env.Environment;
import org.opensearch.env.NodeEnvironment;
import org.opensearch.index.mapper.Mapper;
import org.opensearch.indices.breaker.BreakerSettings;
import org.opensearch.plugins.CircuitBreakerPlugin;
import org.opensearch.plugins.MapperPlugin;
import org.opensearch.plugins.Plugin;
import org.opensearch.plugins.ScriptPlugin;
import org.opensearch.plugins.SearchPlugin;
import org.opensearch.repositories.RepositoriesService;
import org.opensearch.script.ScriptContext;
import org.opensearch.script.ScriptEngine;
import org.opensearch.script.ScriptService;
import org.opensearch.threadpool.ThreadPool;
import org.opensearch.transport.client.Client;
import org.opensearch.watcher.ResourceWatcherService;

/**
 * Entry point of the ElasticHash plugin for OpenSearch: registers the {@code hamming_code} field
 * type (codes written as hex), the {@code hamming} query (exact Hamming k-nearest search) and the
 * {@code elastichash} script language (Hamming scoring), the same as the Elasticsearch plugin,
 * over the same core, and the breaker that bounds the node's code cache ({@link CodeCacheBreaker}).
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
    public Collection<Object> createComponents(
        Client client,
        ClusterService clusterService,
        ThreadPool threadPool,
        ResourceWatcherService resourceWatcherService,
        ScriptService scriptService,
        NamedXContentRegistry xContentRegistry,
        Environment environment,
        NodeEnvironment nodeEnvironment,
        NamedWriteableRegistry namedWriteableRegistry,
        IndexNameExpressionResolver indexNameExpressionResolver,
        Supplier<RepositoriesService> repositoriesServiceSupplier
    ) {
        HammingQueryBuilder.useSearchThreads(threadPool.executor(ThreadPool.Names.SEARCH));
        // Grouping a large segment's codes around pivots takes about a second per million codes.
        CodeCache.NODE.partitionOn(threadPool.generic());
        CodeCache.NODE.partitionFrom(PARTITION_MIN_CODES.get(environment.settings()));
        clusterService.getClusterSettings().addSettingsUpdateConsumer(PARTITION_MIN_CODES, CodeCache.NODE::partitionFrom);
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
