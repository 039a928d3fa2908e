package org.elastichash.plugin;

import org.elastichash.core.CodeCache;
import org.elasticsearch.common.breaker.CircuitBreaker;
import org.elasticsearch.common.breaker.CircuitBreakingException;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.indices.breaker.BreakerSettings;

/**
 * The account of the node's {@link CodeCache}: a circuit breaker of the plugin's own, its limit
 * {@code breaker.elastichash_codes.limit} (a size or a share of the heap; 10 % unless set), under
 * the parent breaker, shown in {@code _nodes/stats/breaker}.
 */
record CodeCacheBreaker(CircuitBreaker breaker) implements CodeCache.Budget {

    static BreakerSettings settings(Settings settings) {
        long limit = Runtime.getRuntime().maxMemory() / 100 * CodeCache.DEFAULT_LIMIT_PERCENT;
        BreakerSettings defaults = new BreakerSettings(CodeCache.BREAKER, limit, 1.0, CircuitBreaker.Type.MEMORY, CircuitBreaker.Durability.PERMANENT);
        return BreakerSettings.updateFromSettings(defaults, settings);
    }

    @Override
    public boolean reserve(long bytes) {
        try {
            breaker.addEstimateBytesAndMaybeBreak(bytes, "codes of a segment");
            return true;
        } catch (CircuitBreakingException e) {
            return false; // the segment is read from its columns
        }
    }

    @Override
    public void release(long bytes) {
        breaker.addWithoutBreaking(-bytes);
    }
}
