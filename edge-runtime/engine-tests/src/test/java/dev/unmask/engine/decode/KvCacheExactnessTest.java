package dev.unmask.engine.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.CachedForward;
import dev.unmask.engine.model.HeadOutput;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.testing.ReferencePackages;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The key/value caches on the real format 3 graphs of tiny-llada and tiny-dream, through ONNX Runtime: a refresh at
 * every step is no cache, token for token (batched too); a cached forward right after a refresh reads what the
 * refresh read (the graph's past, position ids and window head are right); caches go back to the budget. The
 * bookkeeping itself is specified in the engine's {@code KvCacheDecodingTest}.
 */
class KvCacheExactnessTest {

    static Engine llada;
    static Engine dream;

    @BeforeAll
    static void open() {
        llada = Engine.open(ReferencePackages.tinyLlada(), RuntimeOptions.defaults().withIntraOpThreads(2));
        dream = Engine.open(ReferencePackages.tinyDream(), RuntimeOptions.defaults().withIntraOpThreads(2));
    }

    @AfterAll
    static void close() {
        for (Engine e : new Engine[] {llada, dream}) {
            if (e != null) {
                e.close();
            }
        }
    }

    static final String[] PROMPTS = {"def fibonacci(n):\n", "class Stack:\n    def push(self, item):\n"};

    /** 32 tokens in blocks of 16, 8 steps each, no early exit: every step runs. */
    static DecodingPlan plan(Engine engine, String prompt, double temperature, long seed, KvCache cache) {
        DecodingPlan plan = engine.plan(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(prompt))
                .length(32)
                .blockLength(16)
                .steps(16)
                .temperature(temperature)
                .seed(seed)
                .earlyExit(false)
                .build());
        return plan.withOptions(plan.options().toBuilder().cache(cache).build());
    }

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

    @Test
    void refresh_at_every_step_reproduces_no_cache_token_for_token_on_both_families() {
        for (Engine engine : new Engine[] {llada, dream}) {
            assertTrue(engine.model().supportsCache(), engine.manifest().name() + " is a format 3 package");
            for (String prompt : PROMPTS) {
                for (double temperature : new double[] {0.0, 0.8}) {
                    long seed = prompt.length();
                    Trace none = new Trace();
                    long[] expected = engine.start(plan(engine, prompt, temperature, seed, KvCache.NONE), none)
                            .runToEnd(engine.model())
                            .canvas();
                    for (KvCacheMode mode : new KvCacheMode[] {KvCacheMode.PREFIX, KvCacheMode.DUAL}) {
                        Trace cached = new Trace();
                        DenoisingRun run =
                                engine.start(plan(engine, prompt, temperature, seed, new KvCache(mode, 1)), cached);
                        long[] got = run.runToEnd(engine.model()).canvas();
                        String where = engine.manifest().name() + " " + mode + " T " + temperature + " " + prompt;
                        assertEquals(none.commits, cached.commits, where);
                        assertArrayEquals(expected, got, where);
                    }
                }
            }
        }
    }

    @Test
    void batched_runs_with_caches_and_different_lengths_decode_as_each_does_alone() {
        for (Engine engine : new Engine[] {llada, dream}) {
            List<DecodingPlan> plans = List.of(
                    plan(engine, PROMPTS[0], 0, 1, new KvCache(KvCacheMode.DUAL, 1)),
                    plan(engine, PROMPTS[1], 0, 2, new KvCache(KvCacheMode.PREFIX, 1)),
                    plan(engine, "x", 0, 3, KvCache.NONE));
            List<Trace> alone = new ArrayList<>();
            for (DecodingPlan p : plans) {
                Trace t = new Trace();
                engine.start(p, t).runToEnd(engine.model());
                alone.add(t);
            }
            List<Trace> together = new ArrayList<>();
            List<DenoisingRun> runs = new ArrayList<>();
            for (DecodingPlan p : plans) {
                Trace t = new Trace();
                together.add(t);
                runs.add(engine.start(p, t));
            }
            while (runs.stream().anyMatch(r -> !r.finished())) {
                engine.step(runs);
            }
            for (int i = 0; i < plans.size(); i++) {
                assertEquals(alone.get(i).commits, together.get(i).commits, engine.manifest().name() + " run " + i);
            }
        }
    }

    @Test
    void a_cached_forward_right_after_a_refresh_gives_the_refreshs_logits() {
        for (Engine engine : new Engine[] {llada, dream}) {
            for (KvCacheMode mode : new KvCacheMode[] {KvCacheMode.PREFIX, KvCacheMode.DUAL}) {
                for (int atBlock : new int[] {0, 1}) {
                    DenoisingRun run = engine.start(plan(engine, PROMPTS[1], 0, 0, KvCache.of(mode)), null);
                    while (run.block() < atBlock) {
                        engine.step(List.of(run));
                    }
                    // at a block start the run refreshes; asked again before the step is applied, it gives the
                    // window over the cache that refresh just filled: the same canvas, so the same predictions
                    HeadOutput refresh = engine.model().forward(new CachedForward(run.forwardRows()));
                    List<CachedForward.Row> window = run.forwardRows();
                    assertTrue(window.get(0).past().length() > 0);
                    HeadOutput cached = engine.model().forward(new CachedForward(window));
                    String where = engine.manifest().name() + " " + mode + " block " + atBlock;
                    assertEquals(refresh.positions(), cached.positions(), where);
                    for (int j = 0; j < refresh.positions(); j++) {
                        assertEquals(refresh.logsumexp(0, j), cached.logsumexp(0, j), 1e-4, where + " at " + j);
                        assertEquals(refresh.topkId(0, j, 0), cached.topkId(0, j, 0), where + " top-1 at " + j);
                        for (int k = 0; k < refresh.topK(); k++) {
                            assertEquals(
                                    refresh.topkLogit(0, j, k), cached.topkLogit(0, j, k), 1e-4, where + " at " + j);
                        }
                    }
                    run.close();
                }
            }
        }
    }

    @Test
    void caches_go_back_to_the_budget_after_finish_and_cancel() {
        DecodingPlan dual = plan(llada, PROMPTS[0], 0, 0, KvCache.of(KvCacheMode.DUAL));
        DenoisingRun first = llada.start(dual, null);
        long bytes = first.cacheBytes();
        PackageManifestCheck.cacheBytes(llada, dual, bytes);
        KvCacheBudget budget = KvCacheBudget.ofBytes(bytes);
        assertTrue(first.reserveCache(budget));
        DenoisingRun second = llada.start(dual, null);
        assertFalse(second.reserveCache(budget), "no room beside the first");
        first.runToEnd(llada.model());
        assertEquals(bytes, budget.availableBytes(), "finished: its cache is back");
        assertTrue(second.reserveCache(budget));
        llada.step(List.of(second));
        llada.step(List.of(second));
        second.close();
        assertEquals(bytes, budget.availableBytes(), "cancelled: its cache is back");
        assertFalse(second.holdsCache());

        UnmaskException e =
                assertThrows(UnmaskException.class, () -> llada.start(dual, null).reserveCache(KvCacheBudget.ofBytes(bytes - 1)));
        assertEquals(Failure.BAD_REQUEST, e.failure());
        assertTrue(e.getMessage().contains("cache budget"), e.getMessage());
    }

    /** The bytes a cache takes, from the manifest's own numbers. */
    static final class PackageManifestCheck {
        static void cacheBytes(Engine engine, DecodingPlan plan, long bytes) {
            var cache = engine.manifest().graph().kvCache();
            assertEquals(2L * cache.layers() * cache.kvDim() * 4 * plan.layout().length(), bytes);
        }
    }
}
