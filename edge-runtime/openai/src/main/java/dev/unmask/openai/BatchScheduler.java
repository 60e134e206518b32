package dev.unmask.openai;

import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.decode.DenoisingRun;
import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
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
 *
 * <p>Key/value caches are bounded by a {@link KvCacheBudget}: a request whose cache does not fit beside the running
 * ones waits in the queue (first in, first out: a later, smaller one does not overtake it) until enough running
 * requests finish; one whose cache could never fit the whole budget is refused at submit with
 * {@link Failure#BAD_REQUEST} (HTTP 400, with the sizes and the ways out). Every run the scheduler drops (finished,
 * cancelled, failed, shut down) gives its cache back.
 *
 * <p>{@link #close()} shuts down in order: it stops accepting (a new submit fails with
 * {@link Failure#SHUTTING_DOWN}, HTTP 503), lets the step in progress end, fails every queued and running request
 * with the same error (so no client waits for an answer that will not come), and returns once the stepping thread
 * and every submit in progress are done with the engine. Only then may the engine be closed: its native session
 * must never be closed under a forward pass.
 */
public final class BatchScheduler implements AutoCloseable {

    private final Engine engine;
    private final int maxBatch;
    private final int maxQueue;
    private final SchedulerObserver observer;
    private final KvCacheBudget cacheBudget;
    private final Thread worker;

    private final Object lock = new Object();
    private final ArrayDeque<Ticket> queue = new ArrayDeque<>(); // guarded by lock
    private int active; // guarded by lock
    private int starting; // submits in engine.start; guarded by lock
    private boolean closed; // guarded by lock
    // written by the worker only, read by anyone: the batch's fill over the scheduler's life, for a server's health
    private volatile long steps;
    private volatile long steppedRequests;

    /**
     * @param maxBatch requests per forward pass (1 = one at a time)
     * @param maxQueue requests that may wait for a place in the batch
     */
    public BatchScheduler(Engine engine, int maxBatch, int maxQueue, SchedulerObserver observer) {
        this(engine, maxBatch, maxQueue, observer, KvCacheBudget.UNLIMITED);
    }

    /**
     * @param maxBatch    requests per forward pass (1 = one at a time)
     * @param maxQueue    requests that may wait for a place in the batch
     * @param cacheBudget what the running requests' key/value caches may take together
     */
    public BatchScheduler(
            Engine engine, int maxBatch, int maxQueue, SchedulerObserver observer, KvCacheBudget cacheBudget) {
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
        this.cacheBudget = cacheBudget == null ? KvCacheBudget.UNLIMITED : cacheBudget;
        this.worker =
                new Thread(this::loop, "unmask-scheduler-" + engine.manifest().name());
        this.worker.setDaemon(true);
        this.worker.start();
    }

    /**
     * Queues a request. The run is started (and so checked against the model) on the caller's thread.
     *
     * @throws QueueFullException       when {@code maxQueue} requests already wait
     * @throws IllegalArgumentException when the engine refuses the request
     * @throws UnmaskException          {@link Failure#SHUTTING_DOWN} once {@link #close()} has begun
     */
    public Ticket submit(DecodingPlan plan, DenoisingListener listener) {
        return submitAll(List.of(plan), List.of(listener)).get(0);
    }

    /**
     * Queues the choices of one request ({@code n} of OpenAI's API) as consecutive rows: all or none. They take
     * {@code plans.size()} places, checked together before any run starts (a full server refuses before work); the
     * worker takes them into the batch in order, so with room for all they share every forward pass.
     *
     * @param listeners one per plan
     * @throws QueueFullException       when the places are not free
     * @throws IllegalArgumentException when the engine refuses a plan, or there are more plans than the batch holds
     * @throws UnmaskException          {@link Failure#SHUTTING_DOWN} once {@link #close()} has begun
     */
    public List<Ticket> submitAll(List<DecodingPlan> plans, List<DenoisingListener> listeners) {
        int places = plans.size();
        if (places < 1 || places > maxBatch || listeners.size() != places) {
            throw new IllegalArgumentException("A request's choices are rows of one batch: 1 to " + maxBatch
                    + " plans, one listener each; got " + places + " plans and " + listeners.size() + " listeners");
        }
        synchronized (lock) {
            if (closed) {
                throw shuttingDown();
            }
            refuseWhenFull(places); // before engine.start: a refusal costs no work
            starting += places; // holds their places, and close() waits: the engine is in use until the runs are queued
        }
        List<Ticket> tickets = new ArrayList<>(places);
        try {
            for (int i = 0; i < places; i++) {
                tickets.add(new Ticket(engine.start(plans.get(i), listeners.get(i))));
                cacheBudget.requireCouldFit(tickets.get(i).run.cacheBytes()); // never fits: a clear 400 now
            }
        } catch (RuntimeException | Error e) {
            synchronized (lock) {
                starting -= places;
                lock.notifyAll();
            }
            throw e;
        }
        synchronized (lock) {
            starting -= places;
            try {
                if (closed) {
                    throw shuttingDown();
                }
                queue.addAll(tickets); // their places were held since the check
            } finally {
                lock.notifyAll(); // the worker (new tickets) and close() (submits fewer)
            }
        }
        return tickets;
    }

    /**
     * Refuses at once when a request submitted now would find no place: call it before any work on the request
     * (reading the prompt, tokenizing, planning), so that an overloaded server refuses in microseconds and leaves
     * the CPU to the stepping thread. {@link #submit} checks again, exactly.
     *
     * @throws QueueFullException       when {@code maxQueue} requests already wait
     * @throws UnmaskException          {@link Failure#SHUTTING_DOWN} once {@link #close()} has begun
     */
    public void admit() {
        admit(1);
    }

    /** As {@link #admit()}, for a request that takes {@code places} rows (its {@code n} choices). */
    public void admit(int places) {
        synchronized (lock) {
            if (closed) {
                throw shuttingDown();
            }
            refuseWhenFull(places);
        }
    }

    /**
     * Whether a request submitted now would find a place (the check of {@link #admit}, without throwing or counting):
     * for a server that refuses before it reads a request, without an exception per refusal. False once closed.
     */
    public boolean hasRoom() {
        synchronized (lock) {
            return !closed && queue.size() + starting < maxQueue + (maxBatch - active);
        }
    }

    /** Counts a refusal that the server made itself after {@link #hasRoom} said no. */
    public void countRejected() {
        observer.onRejected();
    }

    /** Free places in the batch count as queue; submits between check and queue hold theirs. Holds the lock. */
    private void refuseWhenFull(int places) {
        int waiting = queue.size() + starting;
        if (waiting + places > maxQueue + (maxBatch - active)) {
            observer.onRejected();
            throw new QueueFullException(waiting, 1);
        }
    }

    /** What a request gets once shutdown has begun: the typed error the servers answer 503 with. */
    private static UnmaskException shuttingDown() {
        return new UnmaskException(Failure.SHUTTING_DOWN, "The server is shutting down");
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

    /** Batch steps taken so far; with {@link #steppedRequests()}, how full the batch ran (requests per step). */
    public long steps() {
        return steps;
    }

    /** Requests advanced so far, summed over the steps: one per request per step. */
    public long steppedRequests() {
        return steppedRequests;
    }

    private void loop() {
        List<Ticket> batch = new ArrayList<>();
        while (true) {
            synchronized (lock) {
                active = batch.size(); // finished and cancelled runs have left: their places are free while it waits
                while (batch.isEmpty() && queue.isEmpty() && !closed) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                }
                if (closed) { // checked between steps only: the step in progress has ended
                    failAll(batch, shuttingDown());
                    failAll(new ArrayList<>(queue), shuttingDown());
                    queue.clear();
                    active = 0;
                    return;
                }
                boolean waitingForCache = fill(batch);
                active = batch.size();
                if (batch.isEmpty() && waitingForCache) {
                    // the room is held by caches outside this scheduler (a budget shared between models)
                    try {
                        lock.wait(CACHE_POLL_MILLIS);
                    } catch (InterruptedException e) {
                        closed = true;
                    }
                    continue;
                }
            }
            for (Iterator<Ticket> it = batch.iterator(); it.hasNext(); ) {
                Ticket t = it.next();
                if (t.cancelled) {
                    it.remove();
                    t.run.close(); // its cache back to the budget
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
            steps++; // one writer: the worker
            steppedRequests += runs.size();
            for (Iterator<Ticket> it = batch.iterator(); it.hasNext(); ) {
                Ticket t = it.next();
                if (t.run.finished()) {
                    it.remove(); // a finished run has given its cache back
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

    /**
     * Takes queued tickets into the batch while there is a place and the head's cache fits the budget now; a
     * cancelled head leaves without taking any. Holds the lock.
     *
     * @return whether the head of the queue waits for cache memory
     */
    private boolean fill(List<Ticket> batch) {
        while (batch.size() < maxBatch && !queue.isEmpty()) {
            Ticket head = queue.peekFirst();
            if (head.cancelled) {
                queue.pollFirst();
                head.run.close();
                observer.onCancelled();
                head.future.completeExceptionally(new CancellationException("The client went away"));
                continue;
            }
            try {
                if (!head.run.reserveCache(cacheBudget)) {
                    return true;
                }
            } catch (RuntimeException e) { // checked at submit; a budget cannot shrink, so this is a bug
                queue.pollFirst();
                head.future.completeExceptionally(e);
                continue;
            }
            batch.add(queue.pollFirst());
        }
        return false;
    }

    /** How often a batch with nothing to step looks again for cache memory that others hold. */
    private static final long CACHE_POLL_MILLIS = 20;

    /** The budget the running requests' caches share. */
    public KvCacheBudget cacheBudget() {
        return cacheBudget;
    }

    private static void failAll(List<Ticket> tickets, Throwable e) {
        for (Ticket t : tickets) {
            t.run.close(); // its cache back to the budget
            t.future.completeExceptionally(e);
        }
    }

    /**
     * Shuts down in order (see the class comment) and returns when nothing of this scheduler uses the engine any
     * more: after at most the step in progress. Waits through interrupts (the interrupt is kept for the caller),
     * because returning early would let the caller close the engine under a forward pass. Idempotent.
     */
    @Override
    public void close() {
        boolean interrupted = false;
        synchronized (lock) {
            closed = true;
            lock.notifyAll();
            while (starting > 0) {
                try {
                    lock.wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        while (worker.isAlive() && Thread.currentThread() != worker) {
            try {
                worker.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
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
