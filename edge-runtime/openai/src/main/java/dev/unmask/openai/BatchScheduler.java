package dev.unmask.openai;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.request.DecodingPlan;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * Runs the requests of one engine step by step, several per forward pass: requests that arrive together share
 * every {@link Engine#step(List) step} (continuous batching: a request joins the batch at the next step and leaves
 * it when it finishes). One thread steps; callers wait on their {@link Ticket}.
 *
 * <p>At most {@code maxBatch} requests are stepped together and at most {@code maxQueue} wait behind them; a
 * request beyond that is refused at once with {@link QueueFullException} (HTTP 429). A cancelled ticket (its client
 * went away) leaves the batch before the next step.
 */
public final class BatchScheduler implements AutoCloseable {

    private final Engine engine;
    private final int maxBatch;
    private final int maxQueue;
    private final SchedulerObserver observer;
    private final Thread worker;

    private final Object lock = new Object();
    private final ArrayDeque<Ticket> queue = new ArrayDeque<>(); // guarded by lock
    private int active;                                           // guarded by lock
    private boolean closed;                                       // guarded by lock

    /**
     * @param maxBatch requests per forward pass (1 = one at a time)
     * @param maxQueue requests that may wait for a place in the batch
     */
    public BatchScheduler(Engine engine, int maxBatch, int maxQueue, SchedulerObserver observer) {
        if (maxBatch < 1) {
            throw new IllegalArgumentException("maxBatch must be at least 1, e.g. 8; got " + maxBatch);
        }
        if (maxQueue < 0) {
            throw new IllegalArgumentException("maxQueue must be 0 or more, e.g. 64; got " + maxQueue);
        }
        this.engine = engine;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.observer = observer == null ? SchedulerObserver.NONE : observer;
        this.worker = new Thread(this::loop, "unmask-scheduler-" + engine.manifest().name());
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /**
     * Queues a request. The run is started (and so checked against the model) on the caller's thread.
     *
     * @throws QueueFullException       when {@code maxQueue} requests already wait
     * @throws IllegalArgumentException when the engine refuses the request
     * @throws IllegalStateException    after {@link #close()}
     */
    public Ticket submit(DecodingPlan plan, DenoisingListener listener) {
        DenoisingRun run = engine.start(plan, listener);
        Ticket ticket = new Ticket(run);
        synchronized (lock) {
            if (closed) {
                throw new IllegalStateException("The scheduler is closed: the server is shutting down");
            }
            if (queue.size() >= maxQueue + (maxBatch - active)) { // free places in the batch count as queue
                observer.onRejected();
                throw new QueueFullException(queue.size(), 1);
            }
            queue.addLast(ticket);
            lock.notifyAll();
        }
        return ticket;
    }

    /** Requests waiting for a place in the batch. */
    public int queueDepth() {
        synchronized (lock) {
            return queue.size();
        }
    }

    /** Requests being stepped now. */
    public int activeCount() {
        synchronized (lock) {
            return active;
        }
    }

    public int maxBatch() {
        return maxBatch;
    }

    private void loop() {
        List<Ticket> batch = new ArrayList<>();
        while (true) {
            synchronized (lock) {
                while (batch.isEmpty() && queue.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                if (closed) {
                    failAll(batch, new IllegalStateException("The server is shutting down"));
                    failAll(new ArrayList<>(queue), new IllegalStateException("The server is shutting down"));
                    queue.clear();
                    active = 0;
                    return;
                }
                while (batch.size() < maxBatch && !queue.isEmpty()) {
                    batch.add(queue.pollFirst());
                }
                active = batch.size();
            }
            for (Iterator<Ticket> it = batch.iterator(); it.hasNext(); ) {
                Ticket t = it.next();
                if (t.cancelled) {
                    it.remove();
                    observer.onCancelled();
                    t.future.completeExceptionally(new CancellationException("The client went away"));
                }
            }
            if (batch.isEmpty()) {
                continue;
            }
            List<DenoisingRun> runs = new ArrayList<>(batch.size());
            for (Ticket t : batch) {
                runs.add(t.run);
            }
            long started = System.nanoTime();
            try {
                engine.step(runs);
            } catch (RuntimeException | Error e) {
                failAll(batch, e);
                batch.clear();
                continue;
            }
            observer.onStep(runs.size(), System.nanoTime() - started);
            for (Iterator<Ticket> it = batch.iterator(); it.hasNext(); ) {
                Ticket t = it.next();
                if (t.run.finished()) {
                    it.remove();
                    try {
                        Generation g = engine.finish(t.run);
                        observer.onFinished(g.tokens().length, g.steps());
                        t.future.complete(g);
                    } catch (RuntimeException e) {
                        t.future.completeExceptionally(e);
                    }
                }
            }
        }
    }

    private static void failAll(List<Ticket> tickets, Throwable e) {
        for (Ticket t : tickets) {
            t.future.completeExceptionally(e);
        }
    }

    /** Stops the worker; requests still queued or running fail. */
    @Override
    public void close() {
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
        }
        try {
            worker.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** One queued request: its answer, and a way to drop it. */
    public static final class Ticket {
        private final DenoisingRun run;
        private final CompletableFuture<Generation> future = new CompletableFuture<>();
        private volatile boolean cancelled;

        private Ticket(DenoisingRun run) {
            this.run = run;
        }

        /** Completes with the answer, or exceptionally when the request failed or was cancelled. */
        public CompletableFuture<Generation> result() {
            return future;
        }

        /** Drops the request before its next step (the client went away). */
        public void cancel() {
            cancelled = true;
        }

        public boolean cancelled() {
            return cancelled;
        }
    }
}
