package dev.unmask.engine.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.OnnxDenoiser;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.ModelPackage;
import dev.unmask.testing.RandomSdar;
import dev.unmask.testing.ReferencePackages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The block-causal exact cache on a real SDAR graph (a random-weight checkpoint in SDAR's layout, block size 4,
 * converted by the packager): cached and uncached decoding are the same, token for token, whatever the cache mode,
 * the refresh, the prompt's alignment, the temperature and the batch; and each cached forward gives the full
 * forward's logits.
 */
class BlockCausalCacheTest {

    static OnnxDenoiser model;
    static ModelTraits traits;

    @BeforeAll
    static void open() {
        model = OnnxDenoiser.load(
                ModelPackage.open(ReferencePackages.randomSdar()), RuntimeOptions.defaults().withIntraOpThreads(2));
        traits = ModelTraits.of(model.manifest());
        assertTrue(traits.blockCausal() && traits.supportsCache(), "a block-causal format 3 package");
        assertEquals(4, traits.blockSize());
    }

    @AfterAll
    static void close() {
        if (model != null) {
            model.close();
        }
    }

    /** A prompt of {@code n} tokens (BOS, then ordinary ids). */
    static long[] prompt(int n) {
        long[] p = new long[n];
        p[0] = RandomSdar.BOS;
        for (int i = 1; i < n; i++) {
            p[i] = 100 + 37L * i % 900;
        }
        return p;
    }

    /**
     * Blocks aligned to the model's: the prompt's last partial block first, then blocks of {@code length} (a
     * multiple of 4), {@code steps} steps each (at most the block's length).
     */
    static List<Block> blocks(CanvasLayout layout, int length, int steps) {
        List<Block> blocks = new ArrayList<>();
        int s = layout.genStart();
        int end = layout.length();
        int first = Math.min(end, (s + 3) / 4 * 4);
        if (first > s) {
            blocks.add(new Block(s, first, Math.min(steps, first - s)));
            s = first;
        }
        for (; s < end; s += length) {
            int e = Math.min(end, s + length);
            blocks.add(new Block(s, e, Math.min(steps, e - s)));
        }
        return blocks;
    }

    static DecodingOptions options(KvCache cache, double temperature, long seed) {
        return DecodingOptions.defaults().toBuilder()
                .cache(cache)
                .temperature(temperature)
                .seed(seed)
                .earlyExit(false)
                .build();
    }

    static DenoisingRun start(CanvasLayout layout, List<Block> blocks, DecodingOptions options, List<String> trace) {
        DenoisingListener listener = new DenoisingListener() {
            @Override
            public void onStep(StepEvent event) {
                StringBuilder b = new StringBuilder(event.block() + "." + event.step() + ":");
                for (Commit c : event.committed()) {
                    b.append(' ').append(c.position()).append('=').append(c.token());
                }
                trace.add(b.toString());
            }
        };
        return DenoisingRun.start(
                layout, blocks, options, traits, listener, new AnswerText(layout, options, traits, ids -> "", t -> new long[0]));
    }

    @Test
    void cached_and_uncached_decoding_are_identical_whatever_the_cache_prompt_and_temperature() {
        KvCache[] caches = {KvCache.of(KvCacheMode.PREFIX), KvCache.of(KvCacheMode.DUAL), new KvCache(KvCacheMode.DUAL, 1)};
        for (int promptLength : new int[] {6, 8, 9}) {
            for (int blockLength : new int[] {4, 8}) {
                CanvasLayout layout = CanvasLayout.continuation(prompt(promptLength), 24, RandomSdar.MASK);
                List<Block> blocks = blocks(layout, blockLength, 2);
                for (double temperature : new double[] {0.0, 0.8}) {
                    long seed = promptLength * 10L + blockLength;
                    List<String> none = new ArrayList<>();
                    long[] expected = start(layout, blocks, options(KvCache.NONE, temperature, seed), none)
                            .runToEnd(model)
                            .canvas();
                    for (KvCache cache : caches) {
                        List<String> cached = new ArrayList<>();
                        DenoisingRun run = start(layout, blocks, options(cache, temperature, seed), cached);
                        long[] got = run.runToEnd(model).canvas();
                        String where = cache + ", prompt " + promptLength + ", blocks of " + blockLength + ", T "
                                + temperature;
                        assertEquals(none, cached, where);
                        assertArrayEquals(expected, got, where);
                        assertEquals(0, run.refreshes(), where + ": an exact cache never refreshes");
                        assertTrue(
                                run.queryTokens() < (long) run.forwards() * layout.length(),
                                where + ": steps run windows, not the canvas");
                    }
                }
            }
        }
    }

    @Test
    void every_cached_forward_gives_the_full_forwards_logits() {
        CanvasLayout layout = CanvasLayout.continuation(prompt(9), 16, RandomSdar.MASK);
        List<Block> blocks = blocks(layout, 4, 2);
        DenoisingRun run = start(layout, blocks, options(KvCache.of(KvCacheMode.DUAL), 0, 0), new ArrayList<>());
        int compared = 0;
        while (!run.finished()) {
            long[] heads = run.headPositions();
            HeadOutput full = model.forward(
                    new long[][] {run.canvas()}, new long[][] {ones(layout.length())}, new long[][] {heads});
            List<CachedForward.Row> rows = run.forwardRows();
            HeadOutput cached = model.forward(new CachedForward(rows));
            for (int j = 0; j < heads.length; j++) {
                assertEquals(full.logsumexp(0, j), cached.logsumexp(0, j), 1e-4, "step " + run.steps() + " at " + j);
                assertEquals(full.topkId(0, j, 0), cached.topkId(0, j, 0), "step " + run.steps() + " top-1 at " + j);
                for (int k = 0; k < full.topK(); k++) {
                    assertEquals(full.topkLogit(0, j, k), cached.topkLogit(0, j, k), 1e-4, "step " + run.steps());
                }
            }
            compared += rows.get(0).past().length() > 0 ? 1 : 0;
            run.apply(cached, 0, 0);
        }
        assertTrue(compared >= 6, "most steps read a committed past: " + compared);
    }

    @Test
    void batched_block_causal_runs_with_different_pasts_decode_as_each_does_alone() {
        List<CanvasLayout> layouts = List.of(
                CanvasLayout.continuation(prompt(5), 12, RandomSdar.MASK),
                CanvasLayout.continuation(prompt(12), 16, RandomSdar.MASK),
                CanvasLayout.continuation(prompt(7), 8, RandomSdar.MASK));
        List<KvCache> caches = List.of(KvCache.of(KvCacheMode.DUAL), KvCache.of(KvCacheMode.PREFIX), KvCache.NONE);
        List<List<String>> alone = new ArrayList<>();
        List<List<String>> together = new ArrayList<>();
        List<DenoisingRun> runs = new ArrayList<>();
        for (int i = 0; i < layouts.size(); i++) {
            List<Block> blocks = blocks(layouts.get(i), 4, 2);
            DecodingOptions o = options(caches.get(i), 0, i);
            List<String> a = new ArrayList<>();
            start(layouts.get(i), blocks, o, a).runToEnd(model);
            alone.add(a);
            List<String> t = new ArrayList<>();
            together.add(t);
            runs.add(start(layouts.get(i), blocks, o, t));
        }
        while (runs.stream().anyMatch(r -> !r.finished())) {
            BatchDenoiser.step(model, runs);
        }
        for (int i = 0; i < runs.size(); i++) {
            assertEquals(alone.get(i), together.get(i), "run " + i);
        }
    }

    static long[] ones(int n) {
        long[] a = new long[n];
        java.util.Arrays.fill(a, 1L);
        return a;
    }
}
