package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.KvCache;
import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.decode.KvCacheMode;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.failure.UnmaskException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The scheduler's admission under a key/value cache budget, on the real tiny package (format 3). */
class BatchSchedulerCacheBudgetTest {

    static Engine engine;

    @BeforeAll
    static void open() {
        engine = Engine.open(
                OpenAiServiceTest.tinyPackage(), RuntimeOptions.defaults().withIntraOpThreads(1));
    }

    @AfterAll
    static void close() {
        if (engine != null) {
            engine.close();
        }
    }

    static DecodingPlan dual(String prompt) {
        DecodingPlan plan = engine.plan(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(prompt))
                .length(16)
                .blockLength(8)
                .steps(8)
                .earlyExit(false)
                .build());
        return plan.withOptions(
                plan.options().toBuilder().cache(KvCache.of(KvCacheMode.DUAL)).build());
    }

    @Test
    void a_request_whose_cache_does_not_fit_beside_the_running_one_waits_and_then_runs() throws Exception {
        DecodingPlan plan = dual("def add(a, b):\n");
        long bytes = engine.start(plan, null).cacheBytes();
        KvCacheBudget budget = KvCacheBudget.ofBytes(bytes + bytes / 2); // room for one
        AtomicInteger widest = new AtomicInteger();
        SchedulerObserver observer = new SchedulerObserver() {
            @Override
            public void onStep(int runs, long stepNanos) {
                widest.accumulateAndGet(runs, Math::max);
            }
        };
        try (BatchScheduler scheduler = new BatchScheduler(engine, 4, 4, observer, budget)) {
            List<BatchScheduler.Ticket> tickets =
                    List.of(scheduler.submit(plan, null), scheduler.submit(dual("def sub(a, b):\n"), null));
            for (BatchScheduler.Ticket t : tickets) {
                Generation g = t.result().get(120, TimeUnit.SECONDS);
                assertEquals(16, g.steps());
            }
            assertEquals(1, widest.get(), "the batch had room for 4, the budget for one cache at a time");
            assertEquals(budget.capacityBytes(), budget.availableBytes(), "both caches are back");
        }
    }

    @Test
    void a_request_whose_cache_could_never_fit_is_refused_at_submit_with_a_400_naming_both_sizes() {
        DecodingPlan plan = dual("def add(a, b):\n");
        long bytes = engine.start(plan, null).cacheBytes();
        KvCacheBudget budget = KvCacheBudget.ofBytes(bytes / 2);
        try (BatchScheduler scheduler = new BatchScheduler(engine, 4, 4, SchedulerObserver.NONE, budget)) {
            UnmaskException e = assertThrows(UnmaskException.class, () -> scheduler.submit(plan, null));
            ApiException api = Errors.toApi(e);
            assertEquals(400, api.httpStatus());
            assertTrue(api.getMessage().contains("needs " + KvCacheBudget.size(bytes)), api.getMessage());
            assertTrue(api.getMessage().contains("cache budget is " + KvCacheBudget.size(bytes / 2)), api.getMessage());
            assertTrue(api.getMessage().contains("\"cache\": \"none\""), api.getMessage());
            assertEquals(0, scheduler.queueDepth());
            // a request without a cache needs none of the budget
            assertTrue(scheduler
                            .submit(
                                    plan.withOptions(plan.options().toBuilder()
                                            .cache(KvCache.NONE)
                                            .build()),
                                    null)
                            .result()
                            .join()
                            .steps()
                    > 0);
        }
    }
}
