package dev.unmask.functions;

import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.SchedulerObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.util.concurrent.TimeUnit;

/**
 * The service's Prometheus metrics (at {@code /q/metrics}): requests by endpoint and status, generated tokens,
 * denoising steps, step latency, batch size, queue depth, refusals and cancellations.
 */
final class UnmaskMetrics implements SchedulerObserver {

    private final MeterRegistry registry;
    private final Counter tokens;
    private final Counter steps;
    private final Timer stepLatency;
    private final DistributionSummary batchSize;
    private final Counter rejected;
    private final Counter cancelled;

    UnmaskMetrics(MeterRegistry registry, String model) {
        this.registry = registry;
        tokens = Counter.builder("unmask.generated.tokens")
                .description("Tokens generated")
                .tag("model", model)
                .register(registry);
        steps = Counter.builder("unmask.request.steps")
                .description("Denoising steps taken, summed over requests")
                .tag("model", model)
                .register(registry);
        stepLatency = Timer.builder("unmask.step")
                .description("Wall time of one batched denoising step")
                .tag("model", model)
                .publishPercentileHistogram()
                .register(registry);
        batchSize = DistributionSummary.builder("unmask.batch.size")
                .description("Requests per forward pass")
                .tag("model", model)
                .publishPercentileHistogram()
                .maximumExpectedValue(256.0)
                .register(registry);
        rejected = Counter.builder("unmask.queue.rejected")
                .description("Requests refused with 429: queue full")
                .tag("model", model)
                .register(registry);
        cancelled = Counter.builder("unmask.requests.cancelled")
                .description("Requests dropped: the client went away")
                .tag("model", model)
                .register(registry);
    }

    /**
     * {@code unmask_queue_depth} and {@code unmask_batch_active}, read from the scheduler. Held by strong reference:
     * {@code MeterRegistry.gauge} keeps only a weak one, and a gauge over a method reference nobody else holds reads
     * NaN from the first garbage collection on.
     */
    void gauges(String model, BatchScheduler scheduler) {
        Gauge.builder("unmask.queue.depth", scheduler, BatchScheduler::queueDepth)
                .description("Requests waiting for a place in the batch")
                .tag("model", model)
                .strongReference(true)
                .register(registry);
        Gauge.builder("unmask.batch.active", scheduler, BatchScheduler::activeCount)
                .description("Requests being stepped now")
                .tag("model", model)
                .strongReference(true)
                .register(registry);
    }

    @Override
    public void onStep(int runs, long stepNanos) {
        stepLatency.record(stepNanos, TimeUnit.NANOSECONDS);
        batchSize.record(runs);
    }

    @Override
    public void onFinished(int tokens, int steps) {
        this.tokens.increment(tokens);
        this.steps.increment(steps);
    }

    @Override
    public void onRejected() {
        rejected.increment();
    }

    @Override
    public void onCancelled() {
        cancelled.increment();
    }
}
