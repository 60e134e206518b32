package dev.unmask.engine.model;

import dev.unmask.format.ModelPackage;
import dev.unmask.testing.ReferencePackages;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * A measurement, not a test (run with {@code -Dunmask.measure=true}): what padding a refresh row and a cached dual
 * row into one forward costs against running them as two forwards, on tiny-llada. The figures are quoted in
 * docs/engine.md ("Batching with caches"); nothing is asserted about speed.
 */
@EnabledIfSystemProperty(named = "unmask.measure", matches = "true")
class CacheBatchingMeasurement {

    @Test
    void one_padded_forward_against_two() {
        int canvas = 320; // prompt 64 + 256 to generate
        int block = 32;
        int s = 128; // the current block [128, 160)
        try (OnnxDenoiser model =
                OnnxDenoiser.load(ModelPackage.open(ReferencePackages.tinyLlada()), RuntimeOptions.defaults().withIntraOpThreads(2))) {
            long mask = model.manifest().specialTokens().mask();
            long[] tokens = new long[canvas];
            for (int i = 0; i < canvas; i++) {
                tokens[i] = i < s ? 100 + i % 50 : mask;
            }
            KvBuffers cache = KvBuffers.allocate(model.manifest().graph().kvCache(), canvas);
            long[] heads = new long[block];
            for (int j = 0; j < block; j++) {
                heads[j] = s + j;
            }
            CachedForward.Row refresh = CachedForward.Row.full(
                    tokens,
                    heads,
                    List.of(
                            new CachedForward.Keep(0, s, cache, 0),
                            new CachedForward.Keep(s + block, canvas - s - block, cache, s)));
            model.forward(new CachedForward(List.of(refresh))); // fills the cache
            long[] window = Arrays.copyOfRange(tokens, s, s + block);
            long[] positions = new long[block];
            long[] inWindow = new long[block];
            for (int j = 0; j < block; j++) {
                positions[j] = s + j;
                inWindow[j] = j;
            }
            CachedForward.Row cached = new CachedForward.Row(
                    window, positions, inWindow, new CachedForward.Past(cache, canvas - block), List.of());
            CachedForward.Row plain = CachedForward.Row.full(tokens, heads, List.of());
            int rounds = 20;
            for (int warm = 0; warm < 3; warm++) {
                model.forward(new CachedForward(List.of(plain, cached)));
                model.forward(new CachedForward(List.of(plain)));
                model.forward(new CachedForward(List.of(cached)));
            }
            long together = 0;
            long apart = 0;
            long cachedAlone = 0;
            for (int r = 0; r < rounds; r++) {
                long t0 = System.nanoTime();
                model.forward(new CachedForward(List.of(plain, cached)));
                long t1 = System.nanoTime();
                model.forward(new CachedForward(List.of(plain)));
                long t2 = System.nanoTime();
                model.forward(new CachedForward(List.of(cached)));
                long t3 = System.nanoTime();
                together += t1 - t0;
                apart += t3 - t1;
                cachedAlone += t3 - t2;
            }
            System.out.printf(
                    Locale.ROOT,
                    "tiny-llada, canvas %d, dual window %d over past %d: one padded forward %.2f ms, two forwards %.2f ms"
                            + " (the cached one alone %.2f ms), mean of %d%n",
                    canvas,
                    block,
                    canvas - block,
                    together / 1e6 / rounds,
                    apart / 1e6 / rounds,
                    cachedAlone / 1e6 / rounds,
                    rounds);
        }
    }
}
