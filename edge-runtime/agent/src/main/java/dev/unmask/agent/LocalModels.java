package dev.unmask.agent;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.ErrorKind;
import dev.unmask.openai.Errors;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The models {@code unmask serve} can answer with, loaded on their first request and unloaded once idle for their
 * keep-alive, as Ollama does: a desktop keeps memory for other work while no app talks to the model.
 */
final class LocalModels implements AutoCloseable {

    /** A model that is in memory now, as {@code GET /health} shows it. */
    record Status(String model, int inFlight, long idleMillis, String keepAlive) {}

    /** Held while a request uses a model: the model is not unloaded under it. */
    interface Lease extends AutoCloseable {
        ServedModel served();

        @Override
        void close();
    }

    private static final long REAP_PERIOD_MILLIS = 100;

    private final Supplier<Map<String, Path>> catalog;
    private final RuntimeOptions runtime;
    private final Duration defaultKeepAlive;
    private final int maxBatch;
    private final int maxQueue;
    private final Consumer<String> log;
    private final Map<String, Loaded> loaded = new LinkedHashMap<>(); // guarded by this
    private final ScheduledExecutorService reaper;

    private static final class Loaded {
        final ServedModel served;
        int inFlight;
        long lastUsedNanos = System.nanoTime();
        Duration keepAlive;

        Loaded(ServedModel served, Duration keepAlive) {
            this.served = served;
            this.keepAlive = keepAlive;
        }
    }

    /**
     * @param catalog          the model ids that can be served and their package folders, asked at every lookup
     *                         (so a model pulled while serving is served)
     * @param defaultKeepAlive idle time before unloading when a request does not say; negative = never
     */
    LocalModels(Supplier<Map<String, Path>> catalog, RuntimeOptions runtime, Duration defaultKeepAlive,
                int maxBatch, int maxQueue, Consumer<String> log) {
        this.catalog = catalog;
        this.runtime = runtime;
        this.defaultKeepAlive = defaultKeepAlive;
        this.maxBatch = maxBatch;
        this.maxQueue = maxQueue;
        this.log = log;
        this.reaper = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "unmask-keep-alive");
            t.setDaemon(true);
            return t;
        });
        reaper.scheduleWithFixedDelay(this::unloadIdle, REAP_PERIOD_MILLIS, REAP_PERIOD_MILLIS, TimeUnit.MILLISECONDS);
    }

    /** The ids that can be served and their package folders. */
    Map<String, Path> available() {
        return catalog.get();
    }

    /**
     * The model {@code id}, loaded now if it is not in memory.
     *
     * @param keepAlive this request's keep-alive; null = the server's
     * @throws ApiException 404 for an id no package is available under, 500 when the package does not load
     */
    synchronized Lease acquire(String id, Duration keepAlive) {
        Loaded m = loaded.get(id);
        if (m == null) {
            m = load(id);
            loaded.put(id, m);
        }
        if (keepAlive != null) {
            m.keepAlive = keepAlive;
        }
        m.inFlight++;
        Loaded held = m;
        return new Lease() {
            private boolean closed;

            @Override
            public ServedModel served() {
                return held.served;
            }

            @Override
            public void close() {
                synchronized (LocalModels.this) {
                    if (closed) {
                        return;
                    }
                    closed = true;
                    held.inFlight--;
                    held.lastUsedNanos = System.nanoTime();
                }
                unloadIdle();
            }
        };
    }

    private Loaded load(String id) {
        Map<String, Path> models = catalog.get();
        Path dir = models.get(id);
        if (dir == null) {
            throw Errors.unknownModel(id, models.keySet());
        }
        long started = System.nanoTime();
        Engine engine;
        try {
            engine = Engine.open(dir, runtime);
        } catch (RuntimeException e) {
            throw new ApiException(ErrorKind.SERVER, "Could not load model '" + id + "' from " + dir + ": "
                    + e.getMessage(), "model", "model_load_failed", 0, e);
        }
        BatchScheduler scheduler = new BatchScheduler(engine, maxBatch, maxQueue, SchedulerObserver.NONE);
        long created = System.currentTimeMillis() / 1000;
        log.accept(String.format("loaded '%s' from %s in %d ms", id, dir, (System.nanoTime() - started) / 1_000_000));
        return new Loaded(new ServedModel(id, engine, scheduler, created), defaultKeepAlive);
    }

    /** Unloads every model no request uses whose keep-alive has run out since its last request. */
    synchronized void unloadIdle() {
        long now = System.nanoTime();
        List<String> idle = new ArrayList<>();
        for (Map.Entry<String, Loaded> e : loaded.entrySet()) {
            Loaded m = e.getValue();
            if (m.inFlight == 0 && !KeepAlive.forever(m.keepAlive) && now - m.lastUsedNanos >= m.keepAlive.toNanos()) {
                idle.add(e.getKey());
            }
        }
        for (String id : idle) {
            Loaded m = loaded.remove(id);
            unload(m);
            log.accept("unloaded '" + id + "' after " + KeepAlive.show(m.keepAlive) + " idle");
        }
    }

    private static void unload(Loaded m) {
        m.served.scheduler().close();
        m.served.engine().close();
    }

    /** The models in memory now. */
    synchronized List<Status> loaded() {
        long now = System.nanoTime();
        List<Status> out = new ArrayList<>();
        for (Loaded m : loaded.values()) {
            out.add(new Status(m.served.id(), m.inFlight, m.inFlight > 0 ? 0 : (now - m.lastUsedNanos) / 1_000_000,
                    KeepAlive.show(m.keepAlive)));
        }
        return out;
    }

    @Override
    public void close() {
        reaper.shutdownNow();
        synchronized (this) {
            loaded.values().forEach(LocalModels::unload);
            loaded.clear();
        }
    }
}
