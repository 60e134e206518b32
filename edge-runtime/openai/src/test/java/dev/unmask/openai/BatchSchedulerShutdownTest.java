package dev.unmask.openai;

import static dev.unmask.openai.OpenAiServiceTest.body;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Closing a scheduler under load, on the real tiny package: ordered, typed, and the engine is safe to close after. */
class BatchSchedulerShutdownTest {

    /** Long enough that the generation is still running when close() is called: 256 steps of one token. */
    static final String LONG =
            "{'model': 'tiny', 'prompt': 'def', 'max_tokens': 256, 'block_length': 256, 'steps': 256}";

    @Test
    void closeDuringALongGenerationFailsEveryRequestWith503AndNoStepRunsAfterItReturns() throws Exception {
        Engine engine = Engine.open(
                OpenAiServiceTest.tinyPackage(), RuntimeOptions.defaults().withIntraOpThreads(1));
        AtomicBoolean closeReturned = new AtomicBoolean();
        AtomicInteger stepsAfterClose = new AtomicInteger();
        CountDownLatch stepping = new CountDownLatch(3);
        SchedulerObserver observer = new SchedulerObserver() {
            @Override
            public void onStep(int runs, long stepNanos) {
                if (closeReturned.get()) {
                    stepsAfterClose.incrementAndGet();
                }
                stepping.countDown();
            }
        };
        BatchScheduler scheduler = new BatchScheduler(engine, 1, 4, observer);
        OpenAiService service = new OpenAiService(
                List.of(new ServedModel("tiny", engine, scheduler, 0)), ServingLimits.defaults(), Clock.systemUTC());
        PendingGeneration running = service.completion(CompletionRequest.parse(body(LONG)));
        PendingGeneration queued = service.completion(CompletionRequest.parse(body(LONG))); // behind it: batch of 1
        assertTrue(stepping.await(60, TimeUnit.SECONDS), "the first request is being stepped");

        long started = System.nanoTime();
        scheduler.close();
        closeReturned.set(true);
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(10), "close waits for one step, not the run");

        for (PendingGeneration p : List.of(running, queued)) {
            ApiException e = assertThrows(ApiException.class, p::await);
            assertEquals(503, e.httpStatus(), e.getMessage());
            assertEquals("unavailable", e.code());
            assertTrue(e.retryAfterSeconds() > 0);
        }
        ApiException late =
                assertThrows(ApiException.class, () -> service.completion(CompletionRequest.parse(body(LONG))));
        assertEquals(503, late.httpStatus(), "a submit after close is refused with the typed error");

        engine.close(); // at once: safe only because no step can run any more
        Thread.sleep(200);
        assertEquals(0, stepsAfterClose.get(), "no forward pass after close() returned");
        scheduler.close(); // idempotent
    }

    @Test
    void aFinishedRequestLeavesTheBatchSoAnIdleSchedulerReportsNothingActive() throws Exception {
        try (Engine engine = Engine.open(
                        OpenAiServiceTest.tinyPackage(),
                        RuntimeOptions.defaults().withIntraOpThreads(1));
                BatchScheduler scheduler = new BatchScheduler(engine, 1, 0, SchedulerObserver.NONE)) {
            OpenAiService service = new OpenAiService(
                    List.of(new ServedModel("tiny", engine, scheduler, 0)),
                    ServingLimits.defaults(),
                    Clock.systemUTC());
            String shortOne = "{'model': 'tiny', 'prompt': 'def', 'max_tokens': 4, 'steps': 4}";
            for (int i = 0; i < 3; i++) { // one place, no queue: each finds the place the one before it left
                service.completion(CompletionRequest.parse(body(shortOne))).await();
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (scheduler.activeCount() != 0 && System.nanoTime() < deadline) {
                    Thread.sleep(5);
                }
                assertEquals(0, scheduler.activeCount(), "the answered request is not counted as stepping");
                assertEquals(0, scheduler.queueDepth());
                assertTrue(scheduler.hasRoom());
            }
        }
    }

    @Test
    void closeWithNothingToDoReturnsAtOnce() {
        try (Engine engine = Engine.open(
                OpenAiServiceTest.tinyPackage(), RuntimeOptions.defaults().withIntraOpThreads(1))) {
            BatchScheduler idle = new BatchScheduler(engine, 2, 2, SchedulerObserver.NONE);
            long started = System.nanoTime();
            idle.close();
            assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(5));
        }
    }
}
