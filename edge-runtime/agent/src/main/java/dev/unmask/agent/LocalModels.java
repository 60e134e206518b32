package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.Errors;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The models {@code unmask serve} can answer with, loaded on their first request and unloaded once idle for their
 * keep-alive, as Ollama does: a desktop keeps memory for other work while no app talks to the model.
 *
 * <p>Loading and unloading take seconds to minutes for a large model, so they run outside the lock, which only
 * guards the bookkeeping: while one model loads, {@code /health} and every other model answer at once. Requests for
 * a model that is loading wait for that one load (a future per name); a failed load is reported to each of them and
 * the next request tries again. A model is unloaded only with no request in flight, and only once it is out of the
 * table, so no new request can get it while its engine closes.
 *
 * <p>No request changes what others get when it fails: a request's {@code keep_alive} applies only once it is
 * answered. The keep-alive worker outlives a failure of any one unload (it says so in the log and on
 * {@code /health}); only an {@link Error} stops it, and {@link #workerProblem()} then says so.
 */
final class LocalModels implements AutoCloseable {

    /** A model that is in memory now, as {@code GET /health} shows it. */
    /** A loaded model in {@code /health}; steps and batched requests over its life: how full its batch ran. */
    record Status(String model, int inFlight, long idleMillis, String keepAlive, long steps, long batchedRequests) {}

    /**
     * A model in memory as Ollama's {@code GET /api/ps} shows it.
     *
     * @param dir       its package folder (the size Ollama reports is its files')
     * @param inFlight  requests holding it now
     * @param expiresAt when it is unloaded if no request comes: its keep-alive after its last request, or after now
     *                  while requests hold it; null when it stays until the server stops
     */
    record Resident(String model, Path dir, int inFlight, Instant expiresAt) {}

    /**
     * What can be served: model ids and their package folders, and the ids installed whose folder cannot be read,
     * with why (listed on {@code /health}, answered with that reason, never loaded).
     */
    record Catalog(Map<String, Path> models, Map<String, String> broken) {
        static Catalog of(Map<String, Path> models) {
            return new Catalog(models, Map.of());
        }
    }

    /** Held while a request uses a model: the model is not unloaded under it. */
    interface Lease extends AutoCloseable {
        ServedModel served();

        /**
         * The request was answered: its {@code keep_alive} applies from now. A request that fails leaves the model's
         * keep-alive as it was.
         */
        void answered();

        @Override
        void close();
    }

    /** Opens one model, engine and scheduler; tests wrap the real one to hold a load. */
    @FunctionalInterface
    interface Loader {
        ServedModel load(String id, Path dir);
    }

    private static final long REAP_PERIOD_MILLIS = 100;

    private final Supplier<Catalog> catalog;
    private final Loader loader;
    private final Duration defaultKeepAlive;
    private final Consumer<String> log;
    private final Map<String, Entry> models = new LinkedHashMap<>(); // guarded by this
    private final Map<String, CompletableFuture<Void>> unloading = new HashMap<>(); // guarded by this
    private boolean closed; // guarded by this
    private final ScheduledExecutorService reaper;
    private final ScheduledFuture<?> reaping;

    /** One model, from the request that starts its load until it is unloaded. */
    private static final class Entry {
        final CompletableFuture<ServedModel> loaded = new CompletableFuture<>();
        int inFlight; // leases, and requests waiting for the load; guarded by LocalModels.this
        long lastUsedNanos = System.nanoTime(); // guarded by LocalModels.this
        Duration keepAlive; // guarded by LocalModels.this
        final Path dir;

        Entry(Duration keepAlive, Path dir) {
            this.keepAlive = keepAlive;
            this.dir = dir;
        }

        /** Loaded and usable (not loading, not failed). */
        boolean ready() {
            return loaded.isDone() && !loaded.isCompletedExceptionally();
        }
    }

    /**
     * @param catalog          the model ids that can be served and their package folders, asked at every lookup
     *                         (so a model pulled while serving is served)
     * @param defaultKeepAlive idle time before unloading when a request does not say; negative = never
     */
    LocalModels(
            Supplier<Map<String, Path>> catalog,
            RuntimeOptions runtime,
            Duration defaultKeepAlive,
            int maxBatch,
            int maxQueue,
            Consumer<String> log) {
        this(catalog, engines(runtime, maxBatch, maxQueue), defaultKeepAlive, log);
    }

    LocalModels(Supplier<Map<String, Path>> catalog, Loader loader, Duration defaultKeepAlive, Consumer<String> log) {
        this(() -> Catalog.of(catalog.get()), defaultKeepAlive, loader, log);
    }

    /** With the broken models of the store too, for {@code /health} and a clear answer to a request for one. */
    LocalModels(Supplier<Catalog> catalog, Duration defaultKeepAlive, Loader loader, Consumer<String> log) {
        this.catalog = catalog;
        this.loader = loader;
        this.defaultKeepAlive = defaultKeepAlive;
        this.log = log;
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "unmask-keep-alive");
            t.setDaemon(true);
            return t;
        });
        reaping = reaper.scheduleWithFixedDelay(
                this::reap, REAP_PERIOD_MILLIS, REAP_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The real loader: the package's engine and a scheduler over it, caches unbounded. */
    static Loader engines(RuntimeOptions runtime, int maxBatch, int maxQueue) {
        return engines(runtime, maxBatch, maxQueue, KvCacheBudget.UNLIMITED);
    }

    /** The real loader, every model's caches sharing {@code cacheBudget}. */
    static Loader engines(RuntimeOptions runtime, int maxBatch, int maxQueue, KvCacheBudget cacheBudget) {
        return (id, dir) -> {
            Engine engine = Engine.open(dir, runtime);
            BatchScheduler scheduler =
                    new BatchScheduler(engine, maxBatch, maxQueue, SchedulerObserver.NONE, cacheBudget);
            return new ServedModel(id, engine, scheduler, System.currentTimeMillis() / 1000);
        };
    }

    /** The ids that can be served and their package folders. */
    Map<String, Path> available() {
        return catalog.get().models();
    }

    /** What can be served now, and the installed models that cannot, with why: one reading of the store. */
    Catalog catalog() {
        return catalog.get();
    }

    /**
     * Null while every background worker runs; else what stopped one ({@code /health} then answers 503, so that a
     * supervisor restarts the server: idle models would never be unloaded).
     */
    String workerProblem() {
        if (!reaping.isDone() || closedNow()) {
            return null;
        }
        try {
            reaping.get();
            return "the keep-alive worker stopped";
        } catch (ExecutionException e) {
            return "the keep-alive worker stopped: " + e.getCause();
        } catch (CancellationException | InterruptedException e) {
            return "the keep-alive worker stopped";
        }
    }

    private synchronized boolean closedNow() {
        return closed;
    }

    /**
     * The model {@code id}, loaded now if it is not in memory (on this thread; a request that finds it loading
     * waits for that load).
     *
     * @param keepAlive this request's keep-alive; null = the server's
     * @throws ApiException 404 for an id no package is available under, 500 when the package does not load
     */
    Lease acquire(String id, Duration keepAlive) {
        Entry entry;
        Path loadFrom = null;
        CompletableFuture<Void> previous = null;
        Catalog available = null;
        synchronized (this) {
            entry = models.get(id);
        }
        if (entry == null) { // read outside the lock: listing the store reads every manifest
            available = catalog.get();
        }
        synchronized (this) {
            if (closed) {
                throw new UnmaskException(Failure.SHUTTING_DOWN, "The server is shutting down");
            }
            entry = models.get(id);
            if (entry == null) {
                if (available == null) { // unloaded since the first look
                    available = catalog.get();
                }
                loadFrom = available.models().get(id);
                if (loadFrom == null) {
                    String reason = available.broken().get(id);
                    throw reason != null
                            ? Errors.brokenModel(id, reason)
                            : Errors.unknownModel(id, available.models().keySet());
                }
                entry = new Entry(defaultKeepAlive, loadFrom);
                models.put(id, entry);
                previous = unloading.get(id);
            }
            entry.inFlight++;
        }
        if (loadFrom != null) {
            load(id, loadFrom, entry, previous);
        }
        ServedModel served;
        try {
            served = entry.loaded.join();
        } catch (CompletionException e) {
            release(entry);
            throw Errors.toApi(e);
        }
        return lease(entry, served, keepAlive);
    }

    private void load(String id, Path dir, Entry entry, CompletableFuture<Void> previous) {
        if (previous != null) {
            previous.join(); // the same model is still being unloaded: never hold two copies of it
        }
        long started = System.nanoTime();
        try {
            ServedModel served = loader.load(id, dir);
            say(String.format("loaded '%s' from %s in %d ms", id, dir, (System.nanoTime() - started) / 1_000_000));
            entry.loaded.complete(served);
        } catch (RuntimeException | Error e) {
            synchronized (this) {
                models.remove(id, entry); // the next request tries again
            }
            entry.loaded.completeExceptionally(Errors.loadFailed("model '" + id + "' from " + dir, e));
        }
    }

    private Lease lease(Entry entry, ServedModel served, Duration keepAlive) {
        return new Lease() {
            private boolean released;
            private boolean answered;

            @Override
            public ServedModel served() {
                return served;
            }

            @Override
            public void answered() {
                synchronized (LocalModels.this) {
                    answered = true;
                }
            }

            @Override
            public void close() {
                synchronized (LocalModels.this) {
                    if (released) {
                        return;
                    }
                    released = true;
                    if (answered && keepAlive != null) {
                        entry.keepAlive = keepAlive;
                    }
                }
                release(entry);
                reap(entry); // keep_alive 0: gone before the answer is written
            }
        };
    }

    private synchronized void release(Entry entry) {
        entry.inFlight--;
        entry.lastUsedNanos = System.nanoTime();
        notifyAll(); // close() waits for the last lease
    }

    /**
     * {@link #unloadIdle()}, surviving its failure: the keep-alive worker's task, and what a request runs as it lets go
     * of its model (its answer does not fail for it). An {@link Error} still stops the worker; /health then says so.
     */
    private void reap() {
        reap(null);
    }

    /** {@link #reap()} of {@code only}; all when null. */
    private void reap(Entry only) {
        try {
            unloadIdle(only);
        } catch (RuntimeException e) {
            say("could not unload an idle model: " + e);
        }
    }

    /** A line for the log; a log that fails is no reason to leave a model loaded. */
    private void say(String line) {
        try {
            log.accept(line);
        } catch (RuntimeException ignored) {
            // the unload or load it reports goes on
        }
    }

    /**
     * Unloads every model no request uses whose keep-alive has run out since its last request. Each one is unloaded
     * even if another's unload fails; the first failure is thrown once all are done.
     */
    void unloadIdle() {
        unloadIdle(null);
    }

    /**
     * {@link #unloadIdle()} of one model: what a request does as it lets go of its model, so that its answer never
     * waits for the unload of another (the worker unloads those).
     */
    private void unloadIdle(Entry only) {
        long now = System.nanoTime();
        Map<String, Entry> idle = new LinkedHashMap<>();
        Map<String, CompletableFuture<Void>> done = new HashMap<>();
        synchronized (this) {
            for (Map.Entry<String, Entry> e : models.entrySet()) {
                Entry m = e.getValue();
                if ((only == null || m == only)
                        && m.ready()
                        && m.inFlight == 0
                        && KeepAlive.expired(m.keepAlive, now - m.lastUsedNanos)) {
                    idle.put(e.getKey(), m);
                }
            }
            for (String id : idle.keySet()) {
                models.remove(id);
                CompletableFuture<Void> f = new CompletableFuture<>();
                unloading.put(id, f);
                done.put(id, f);
            }
        }
        RuntimeException failed = null;
        for (Map.Entry<String, Entry> e : idle.entrySet()) { // outside the lock: closing an engine takes time
            try {
                // said when it leaves the table, as /health then shows it gone; the native memory follows at once
                say("unloaded '" + e.getKey() + "' after " + KeepAlive.show(e.getValue().keepAlive) + " idle");
                unload(e.getValue());
            } catch (RuntimeException ex) {
                if (failed == null) {
                    failed = ex;
                } else {
                    failed.addSuppressed(ex);
                }
            } finally {
                synchronized (this) {
                    unloading.remove(e.getKey(), done.get(e.getKey()));
                }
                done.get(e.getKey()).complete(null);
            }
        }
        if (failed != null) {
            throw failed;
        }
    }

    /** Scheduler first (it returns once no step runs), then the engine. */
    private static void unload(Entry m) {
        ServedModel served = m.loaded.join();
        served.scheduler().close();
        served.engine().close();
    }

    /**
     * The models in memory and usable now, in load order: what the server asks before it reads a completion's body
     * (is every one full?) and sizes request bodies by. Cheap: no store read, no waiting on a load.
     */
    synchronized List<ServedModel> ready() {
        List<ServedModel> out = new ArrayList<>(models.size());
        for (Entry m : models.values()) {
            if (m.ready()) {
                out.add(m.loaded.join()); // done: join does not wait
            }
        }
        return out;
    }

    /** The models in memory now. */
    synchronized List<Status> loaded() {
        long now = System.nanoTime();
        List<Status> out = new ArrayList<>();
        for (Entry m : models.values()) {
            if (m.ready()) {
                ServedModel served = m.loaded.join(); // done: join does not wait
                out.add(new Status(
                        served.id(),
                        m.inFlight,
                        m.inFlight > 0 ? 0 : (now - m.lastUsedNanos) / 1_000_000,
                        KeepAlive.show(m.keepAlive),
                        served.scheduler().steps(),
                        served.scheduler().steppedRequests()));
            }
        }
        return out;
    }

    /** The models in memory now, with their folders and until when they stay ({@code GET /api/ps}). */
    synchronized List<Resident> resident() {
        long now = System.nanoTime();
        Instant wallNow = Instant.now();
        List<Resident> out = new ArrayList<>();
        for (Entry m : models.values()) {
            if (m.ready()) {
                long idleNanos = m.inFlight > 0 ? 0 : now - m.lastUsedNanos;
                Instant expires = KeepAlive.forever(m.keepAlive)
                        ? null
                        : wallNow.plus(m.keepAlive).minusNanos(Math.min(idleNanos, m.keepAlive.toNanos()));
                out.add(new Resident(m.loaded.join().id(), m.dir, m.inFlight, expires));
            }
        }
        return out;
    }

    /**
     * Ollama's {@code keep_alive: 0} without a generation ({@code ollama stop}, {@code unmask stop}): the model is
     * unloaded now, or, while requests hold it, as the last lets go. Nothing is loaded for it.
     *
     * @return false when the model is not in memory
     */
    boolean expire(String id) {
        Entry entry;
        synchronized (this) {
            entry = models.get(id);
            if (entry == null || !entry.ready()) {
                return false;
            }
            entry.keepAlive = Duration.ZERO;
        }
        reap(entry);
        return true;
    }

    /**
     * Refuses new requests, then unloads every model: each scheduler first (its queued and running requests end
     * with a 503 at once), then, once their requests have let go of them or after {@link #CLOSE_WAIT_MILLIS}, the
     * engines. A load in progress is waited for and unloaded too.
     */
    @Override
    public void close() {
        List<Entry> all;
        List<CompletableFuture<Void>> pending;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(models.values());
            models.clear();
            pending = new ArrayList<>(unloading.values());
        }
        reaper.shutdownNow(); // after closed is set: /health does not take the stop for a dead worker
        List<ServedModel> open = new ArrayList<>();
        for (Entry m : all) {
            try {
                ServedModel served = m.loaded.join();
                served.scheduler().close();
                open.add(served);
            } catch (CompletionException failedLoad) {
                // nothing was loaded
            }
        }
        awaitNoLeases(all);
        open.forEach(served -> served.engine().close());
        pending.forEach(CompletableFuture::join);
    }

    /** How long {@link #close()} lets requests let go of their models before it closes the engines anyway. */
    static final long CLOSE_WAIT_MILLIS = 5_000;

    private synchronized void awaitNoLeases(List<Entry> entries) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CLOSE_WAIT_MILLIS);
        boolean interrupted = false;
        while (entries.stream().anyMatch(e -> e.inFlight > 0)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            try {
                TimeUnit.NANOSECONDS.timedWait(this, left);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
