package dev.unmask.engine.decode;

import static dev.unmask.engine.testing.AttentionModel.MASK;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.DenoisingModel;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.testing.AttentionModel;
import dev.unmask.engine.testing.ScriptedModel;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The caches' bookkeeping in {@link DenoisingRun} and {@link BatchDenoiser} (which tokens a step runs, over which
 * past, what it keeps) against a plain-Java transformer that implements both forwards of the seam
 * ({@link AttentionModel}); the same properties on the real ONNX graphs are in engine-tests'
 * {@code KvCacheExactnessTest}.
 */
class KvCacheDecodingTest {

    static final int VOCAB = 48;
    static final long[] PROMPT = {0, 10, 11, 12, 13, 14};

    /** PROMPT, then {@code blocks} blocks of 8 masks in 4 steps each. */
    static CanvasLayout layout(long[] prompt, int blocks) {
        return CanvasLayout.continuation(prompt, 8 * blocks, MASK);
    }

    static List<Block> blocks(CanvasLayout layout, int length, int steps) {
        List<Block> blocks = new ArrayList<>();
        for (int s = layout.genStart(); s < layout.length(); s += length) {
            int e = Math.min(layout.length(), s + length);
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

    static DenoisingRun start(
            DenoisingModel model, CanvasLayout layout, List<Block> blocks, DecodingOptions options, Trace trace) {
        ModelTraits traits = ModelTraits.of(model.manifest());
        return DenoisingRun.start(
                layout,
                blocks,
                options,
                traits,
                trace,
                new AnswerText(layout, options, traits, ids -> "", text -> new long[0]));
    }

    /** Every step's commits as "position=token", and the final canvas. */
    static final class Trace implements DenoisingListener {
        final List<String> commits = new ArrayList<>();

        @Override
        public void onStep(StepEvent event) {
            StringBuilder b = new StringBuilder(event.block() + "." + event.step() + ":");
            for (Commit c : event.committed()) {
                b.append(' ').append(c.position()).append('=').append(c.token());
            }
            commits.add(b.toString());
        }
    }

    record Outcome(List<String> commits, long[] canvas, DenoisingRun run) {}

    static Outcome decode(DenoisingModel model, CanvasLayout layout, List<Block> blocks, DecodingOptions options) {
        Trace trace = new Trace();
        DenoisingRun run = start(model, layout, blocks, options, trace);
        long[] canvas = run.runToEnd(model).canvas();
        return new Outcome(trace.commits, canvas, run);
    }

    @Test
    void refresh_at_every_step_reproduces_no_cache_token_for_token() {
        for (boolean shift : new boolean[] {false, true}) {
            AttentionModel model = new AttentionModel(VOCAB, shift, 0, 7);
            CanvasLayout layout = layout(PROMPT, 3);
            List<Block> blocks = blocks(layout, 8, 4);
            for (double temperature : new double[] {0.0, 0.9}) {
                for (long seed : new long[] {1, 2, 3}) {
                    Outcome none = decode(model, layout, blocks, options(KvCache.NONE, temperature, seed));
                    for (KvCacheMode mode : new KvCacheMode[] {KvCacheMode.PREFIX, KvCacheMode.DUAL}) {
                        Outcome cached =
                                decode(model, layout, blocks, options(new KvCache(mode, 1), temperature, seed));
                        String where = mode + " shift " + shift + " T " + temperature + " seed " + seed;
                        assertEquals(none.commits(), cached.commits(), where);
                        assertArrayEquals(none.canvas(), cached.canvas(), where);
                        assertEquals(
                                cached.run().forwards(), cached.run().refreshes(), where + ": every step refreshed");
                    }
                }
            }
        }
    }

    @Test
    void a_cached_step_right_after_a_refresh_reads_what_the_refresh_read() {
        for (boolean shift : new boolean[] {false, true}) {
            for (int blockSize : new int[] {0, 4}) {
                AttentionModel model = new AttentionModel(VOCAB, shift, blockSize, 11);
                CanvasLayout layout = layout(PROMPT, 3);
                for (KvCacheMode mode : new KvCacheMode[] {KvCacheMode.PREFIX, KvCacheMode.DUAL}) {
                    DenoisingRun run =
                            start(model, layout, blocks(layout, 8, 4), options(KvCache.of(mode), 0, 0), new Trace());
                    // the first forward refreshes (bidirectional) or prefills the prompt's whole blocks (block-causal);
                    // asked again before the step is applied, the run gives the window over the cache just filled
                    HeadOutput first = model.forward(new CachedForward(run.forwardRows()));
                    List<CachedForward.Row> window = run.forwardRows();
                    assertTrue(window.get(0).past().length() > 0, "the second forward reads a past");
                    assertTrue(window.get(0).inputIds().length < layout.length(), "and runs fewer tokens");
                    HeadOutput second = model.forward(new CachedForward(window));
                    String where = mode + " shift " + shift + " block size " + blockSize;
                    assertHeadsEqual(first, second, 1e-5, where);
                }
            }
        }
    }

    static void assertHeadsEqual(HeadOutput a, HeadOutput b, double tolerance, String where) {
        assertEquals(a.positions(), b.positions(), where);
        for (int r = 0; r < a.batch(); r++) {
            for (int j = 0; j < a.positions(); j++) {
                assertEquals(a.logsumexp(r, j), b.logsumexp(r, j), tolerance, where + ": logsumexp at " + j);
                for (int k = 0; k < a.topK(); k++) {
                    assertEquals(a.topkLogit(r, j, k), b.topkLogit(r, j, k), tolerance, where + ": logit at " + j);
                }
                assertEquals(a.topkId(r, j, 0), b.topkId(r, j, 0), where + ": top-1 at " + j);
            }
        }
    }

    @Test
    void prefix_steps_run_the_block_and_what_follows_dual_steps_only_the_block() {
        AttentionModel model = new AttentionModel(VOCAB, false, 0, 7);
        CanvasLayout layout = layout(PROMPT, 3); // 6 + 24 positions
        List<Block> blocks = blocks(layout, 8, 4);
        Outcome none = decode(model, layout, blocks, options(KvCache.NONE, 0, 0));
        assertEquals(12 * 30, none.run().queryTokens(), "no cache: the whole canvas at each of 12 steps");

        model.windows.clear();
        Outcome prefix = decode(model, layout, blocks, options(KvCache.of(KvCacheMode.PREFIX), 0, 0));
        assertEquals(3, prefix.run().refreshes(), "one refresh per block");
        // per block: the refresh (30), then 3 steps over [block start, 30)
        assertEquals(30 + 3 * 24 + 30 + 3 * 16 + 30 + 3 * 8, prefix.run().queryTokens());

        Outcome dual = decode(model, layout, blocks, options(KvCache.of(KvCacheMode.DUAL), 0, 0));
        assertEquals(3 * (30 + 3 * 8), dual.run().queryTokens(), "dual: the refresh, then the block's 8 tokens");

        Outcome refreshTwice = decode(model, layout, blocks, options(new KvCache(KvCacheMode.DUAL, 2), 0, 0));
        assertEquals(6, refreshTwice.run().refreshes(), "refresh every 2 steps: steps 0 and 2 of each block");
    }

    @Test
    void the_approximate_caches_differ_from_no_cache_on_a_model_whose_keys_depend_on_the_canvas() {
        // not a property to keep, a check that the exactness tests above can fail: a stale cache shows
        AttentionModel model = new AttentionModel(VOCAB, false, 0, 7);
        CanvasLayout layout = layout(PROMPT, 3);
        List<Block> blocks = blocks(layout, 8, 4);
        int differing = 0;
        for (long seed = 0; seed < 6; seed++) {
            Outcome none = decode(model, layout, blocks, options(KvCache.NONE, 0.9, seed));
            Outcome dual = decode(model, layout, blocks, options(KvCache.of(KvCacheMode.DUAL), 0.9, seed));
            differing += none.commits().equals(dual.commits()) ? 0 : 1;
        }
        assertTrue(
                differing > 0,
                "a dual cache refreshed once per block never changed a step: the test model is too weak");
    }

    @Test
    void a_block_causal_cache_is_exact_whatever_the_mode_and_the_refresh() {
        for (boolean shift : new boolean[] {false, true}) {
            AttentionModel model = new AttentionModel(VOCAB, shift, 4, 5);
            // a prompt of 6 ends inside a model block: the first decoded block [6, 8) completes it
            CanvasLayout layout = CanvasLayout.continuation(PROMPT, 18, MASK);
            List<Block> blocks = new ArrayList<>(List.of(new Block(6, 8, 2)));
            for (int s = 8; s < 24; s += 4) {
                blocks.add(new Block(s, s + 4, 2));
            }
            for (double temperature : new double[] {0.0, 0.9}) {
                for (long seed : new long[] {1, 2}) {
                    Outcome none = decode(model, layout, blocks, options(KvCache.NONE, temperature, seed));
                    for (KvCache cache : new KvCache[] {
                        KvCache.of(KvCacheMode.PREFIX), KvCache.of(KvCacheMode.DUAL), new KvCache(KvCacheMode.DUAL, 1)
                    }) {
                        Outcome cached = decode(model, layout, blocks, options(cache, temperature, seed));
                        String where = cache + " shift " + shift + " T " + temperature + " seed " + seed;
                        assertEquals(none.commits(), cached.commits(), where);
                        assertArrayEquals(none.canvas(), cached.canvas(), where);
                        assertEquals(0, cached.run().refreshes(), where + ": an exact cache never refreshes");
                        // each step runs at most the uncommitted model blocks: the current one and the one just
                        // finished
                        assertTrue(
                                cached.run().queryTokens()
                                        <= 2L * 4 * cached.run().forwards() + 8,
                                where);
                    }
                }
            }
        }
    }

    @Test
    void batching_runs_with_different_pasts_gives_each_run_what_it_gets_alone() {
        AttentionModel model = new AttentionModel(VOCAB, false, 0, 3);
        List<CanvasLayout> layouts = List.of(
                layout(new long[] {0, 10, 11}, 2),
                layout(PROMPT, 3),
                layout(new long[] {0, 20, 21, 22, 23, 24, 25, 26, 27}, 1));
        List<KvCache> caches = List.of(
                KvCache.of(KvCacheMode.DUAL),
                KvCache.of(KvCacheMode.PREFIX),
                KvCache.NONE,
                new KvCache(KvCacheMode.DUAL, 2));
        for (KvCache first : caches) {
            List<Outcome> alone = new ArrayList<>();
            List<DenoisingRun> runs = new ArrayList<>();
            List<Trace> traces = new ArrayList<>();
            for (int i = 0; i < layouts.size(); i++) {
                CanvasLayout l = layouts.get(i);
                KvCache cache = i == 0 ? first : caches.get(i);
                DecodingOptions o = options(cache, 0.7, 40 + i);
                alone.add(decode(model, l, blocks(l, 8, 4), o));
                Trace t = new Trace();
                traces.add(t);
                runs.add(start(model, l, blocks(l, 8, 4), o, t));
            }
            while (runs.stream().anyMatch(r -> !r.finished())) {
                BatchDenoiser.step(model, runs);
            }
            for (int i = 0; i < runs.size(); i++) {
                assertEquals(alone.get(i).commits(), traces.get(i).commits, "run " + i + " with " + first);
                assertArrayEquals(alone.get(i).canvas(), runs.get(i).canvas(), "run " + i + " with " + first);
            }
        }
    }

    @Test
    void a_run_holds_its_cache_from_the_budget_until_it_finishes_or_is_closed() {
        AttentionModel model = new AttentionModel(VOCAB, false, 0, 3);
        CanvasLayout layout = layout(PROMPT, 2); // 22 positions
        DecodingOptions dual = options(KvCache.of(KvCacheMode.DUAL), 0, 0);
        DenoisingRun a = start(model, layout, blocks(layout, 8, 4), dual, null);
        DenoisingRun b = start(model, layout, blocks(layout, 8, 4), dual, null);
        // 2 layers × keys and values × 22 positions × kv_dim 8 × 4 bytes
        assertEquals(2L * 2 * 22 * 8 * 4, a.cacheBytes());
        KvCacheBudget budget = KvCacheBudget.ofBytes(a.cacheBytes() + a.cacheBytes() / 2);

        assertTrue(a.reserveCache(budget));
        assertTrue(a.holdsCache());
        assertFalse(b.reserveCache(budget), "the second cache does not fit beside the first: it waits");
        assertFalse(b.holdsCache());
        a.runToEnd(model);
        assertFalse(a.holdsCache(), "a finished run gave its cache back");
        assertEquals(budget.capacityBytes(), budget.availableBytes());

        assertTrue(b.reserveCache(budget));
        BatchDenoiser.step(model, List.of(b));
        b.close(); // cancelled mid-answer
        assertFalse(b.holdsCache());
        assertEquals(budget.capacityBytes(), budget.availableBytes(), "a closed run gave its cache back");
        assertThrows(IllegalStateException.class, () -> BatchDenoiser.step(model, List.of(b)));

        DenoisingRun none = start(model, layout, blocks(layout, 8, 4), options(KvCache.NONE, 0, 0), null);
        assertEquals(0, none.cacheBytes());
        assertTrue(none.reserveCache(KvCacheBudget.ofBytes(0)), "a run without a cache always fits");
    }

    @Test
    void a_cache_that_could_never_fit_is_refused_with_the_numbers_and_the_ways_out() {
        AttentionModel model = new AttentionModel(VOCAB, false, 0, 3);
        CanvasLayout layout = layout(PROMPT, 2);
        DenoisingRun run =
                start(model, layout, blocks(layout, 8, 4), options(KvCache.of(KvCacheMode.PREFIX), 0, 0), null);
        KvCacheBudget budget = KvCacheBudget.ofBytes(1024);
        UnmaskException e = assertThrows(UnmaskException.class, () -> run.reserveCache(budget));
        assertEquals(Failure.BAD_REQUEST, e.failure());
        assertTrue(e.getMessage().contains("needs 2.8 KiB, the cache budget is 1.0 KiB"), e.getMessage());
        assertTrue(e.getMessage().contains("\"cache\": \"none\""), e.getMessage());
        assertEquals(1024, budget.availableBytes());
    }

    @Test
    void a_cache_on_a_package_without_one_is_refused_naming_the_fix() {
        ScriptedModel model = ScriptedModel.of((canvas, p) -> ScriptedModel.sharp(64, 20));
        CanvasLayout layout = layout(PROMPT, 1);
        DecodingOptions prefix = options(KvCache.of(KvCacheMode.PREFIX), 0, 0);
        ModelTraits traits = ModelTraits.of(model.manifest());
        assertNull(traits.kvCache());
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> DenoisingRun.start(
                        layout,
                        blocks(layout, 8, 4),
                        prefix,
                        traits,
                        null,
                        new AnswerText(layout, prefix, traits, ids -> "", t -> new long[0])));
        assertTrue(e.getMessage().contains("re-convert"), e.getMessage());
        assertTrue(e.getMessage().contains("\"cache\": \"none\""), e.getMessage());
        assertNotNull(model);
    }
}
