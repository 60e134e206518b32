package dev.unmask.engine.decode;

import java.util.Objects;

/**
 * A generation's key/value cache policy: which cache, and how often it is refreshed.
 *
 * <p>A refresh is one forward over the whole canvas that also returns every layer's keys and values; the steps in
 * between run only the tokens the mode leaves out of the cache. A refresh always happens when a block starts (the
 * refresh's predictions serve as the block's first step, as in Fast-dLLM); {@code refreshEverySteps} adds refreshes
 * inside a block.
 *
 * @param mode              which positions are cached
 * @param refreshEverySteps 0 = only at block starts (Fast-dLLM's rule); N &gt; 0 = also every N steps within a block;
 *                          1 = every step, which reproduces {@link KvCacheMode#NONE} token for token
 */
public record KvCache(KvCacheMode mode, int refreshEverySteps) {

    /** The largest refresh interval accepted, in steps. */
    public static final int MAX_REFRESH_STEPS = 4096;

    /** No cache: every step runs the whole canvas. */
    public static final KvCache NONE = new KvCache(KvCacheMode.NONE, 0);

    public KvCache {
        Objects.requireNonNull(mode, "mode");
        if (refreshEverySteps < 0 || refreshEverySteps > MAX_REFRESH_STEPS) {
            throw new IllegalArgumentException("cache refresh must be 0 (at block starts only) or 1.."
                    + MAX_REFRESH_STEPS + " steps, e.g. \"cache_refresh\": 8; got " + refreshEverySteps);
        }
    }

    /** {@code mode}, refreshed at block starts only. */
    public static KvCache of(KvCacheMode mode) {
        return new KvCache(mode, 0);
    }

    public boolean enabled() {
        return mode != KvCacheMode.NONE;
    }
}
