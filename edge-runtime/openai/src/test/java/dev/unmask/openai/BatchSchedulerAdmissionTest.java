package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * When the scheduler lets a request into the batch, on the real tiny package: at the next step after it is queued
 * (continuous batching), in the order requests came (first in, first out), and every one of them to its end. The
 * worker is held between two steps where a test needs a fixed point; nothing here depends on how fast a step is.
 */
class BatchSchedulerAdmissionTest {

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

    /** {@code tokens} tokens in one block, one token per step, every step run (no early exit). */
    static DecodingPlan plan(String prompt, int tokens) {
        return engine.plan(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation(prompt))
                .length(tokens)
                .blockLength(tokens)
                .steps(tokens)
                .earlyExit(false)
                .build());
    }

    /** The scheduler's steps, counted on the stepping thread; optionally held after one of them. */
    static final class Steps implements SchedulerObserver {
        final List<Integer> runsPerStep = Collections.synchronizedList(new ArrayList<>());
        final CountDownLatch paused = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final int holdAfter;

        Steps(int holdAfter) {
            this.holdAfter = holdAfter;
        }

        @Override
        public void onStep(int runs, long stepNanos) {
            runsPerStep.add(runs);
            if (runsPerStep.size() == holdAfter) {
                paused.countDown();
                try {
                    release.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    @Test
    void a_request_queued_while_the_batch_steps_joins_it_at_the_next_step() throws Exception {
        Steps steps = new Steps(3);
        try (BatchScheduler scheduler = new BatchScheduler(engine, 4, 4, steps)) {
            BatchScheduler.Ticket first = scheduler.submit(plan("def add(a, b):\n", 16), DenoisingListener.NONE);
            assertTrue(steps.paused.await(60, TimeUnit.SECONDS), "the first request has run 3 steps");
            BatchScheduler.Ticket second = scheduler.submit(plan("class Stack:\n", 8), DenoisingListener.NONE);
            steps.release.countDown();
            second.result().get(60, TimeUnit.SECONDS);
            first.result().get(60, TimeUnit.SECONDS);
            List<Integer> runs = List.copyOf(steps.runsPerStep);
            assertEquals(List.of(1, 1, 1), runs.subList(0, 3), "alone for the steps before the second came");
            assertEquals(
                    Collections.nCopies(8, 2),
                    runs.subList(3, 11),
                    "the second shares the very next step, and each one after it until it is done: " + runs);
            assertEquals(Collections.nCopies(5, 1), runs.subList(11, 16), "then the first finishes alone");
            assertEquals(16, runs.size());
            assertEquals(16, scheduler.steps(), "the counters a server's health shows: steps taken");
            assertEquals(24, scheduler.steppedRequests(), "and requests advanced over them (16 + 8): 1.5 per step");
        }
    }

    @Test
    void with_the_batch_full_queued_requests_start_in_the_order_they_came_and_a_freed_place_is_filled_at_once()
            throws Exception {
        int[] lengths = {24, 4, 16, 4, 32, 4, 8, 4}; // long and short mixed: no short one overtakes a long one
        Steps steps = new Steps(1); // held after the first request's first step, while the others are queued
        int[] firstStep = new int[lengths.length];
        java.util.Arrays.fill(firstStep, -1);
        try (BatchScheduler scheduler = new BatchScheduler(engine, 2, lengths.length, steps)) {
            List<BatchScheduler.Ticket> tickets = new ArrayList<>();
            for (int i = 0; i < lengths.length; i++) {
                int request = i;
                DenoisingListener listener = new DenoisingListener() {
                    @Override
                    public void onStep(StepEvent event) { // on the stepping thread, inside step number size()
                        if (firstStep[request] < 0) {
                            firstStep[request] = steps.runsPerStep.size();
                        }
                    }
                };
                tickets.add(scheduler.submit(plan("x = " + i + "\n", lengths[i]), listener));
                if (i == 0) {
                    assertTrue(steps.paused.await(60, TimeUnit.SECONDS));
                }
            }
            steps.release.countDown();
            for (int i = 0; i < lengths.length; i++) {
                assertEquals(
                        lengths[i],
                        tickets.get(i).result().get(60, TimeUnit.SECONDS).steps(),
                        "request " + i);
            }
        }
        // What first in, first out with a place refilled at the next step gives: two runs per step while two remain
        List<Integer> expectedRuns = new ArrayList<>(List.of(1));
        int[] expectedFirst = new int[lengths.length];
        int[] left = lengths.clone();
        left[0]--;
        List<Integer> batch = new ArrayList<>(List.of(0));
        int next = 1;
        while (!batch.isEmpty() || next < lengths.length) {
            while (batch.size() < 2 && next < lengths.length) {
                expectedFirst[next] = expectedRuns.size();
                batch.add(next++);
            }
            expectedRuns.add(batch.size());
            batch.removeIf(r -> --left[r] == 0);
        }
        assertEquals(expectedRuns, steps.runsPerStep, "the batch is full at every step while requests wait");
        assertEquals(
                java.util.Arrays.toString(expectedFirst),
                java.util.Arrays.toString(firstStep),
                "each request starts at the step after a place freed, in the order they came");
    }
}
