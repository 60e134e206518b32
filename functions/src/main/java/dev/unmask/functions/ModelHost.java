package dev.unmask.functions;

import dev.unmask.engine.Engine;
import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.Errors;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.RequestBodies;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Loads the configured packages, warms them, and holds the {@link OpenAiService} over them. Until that is done
 * {@link #service()} answers 503 and {@code /q/health/ready} is down. A load that fails (a corrupt package, a value
 * out of range in the configuration) is final: the API answers 500 saying what failed, readiness and liveness turn
 * down (so that an orchestrator restarts the service), and the log has it with its stack.
 *
 * <p>Shutdown closes each model's scheduler (which returns once no step runs and every waiting request has its 503)
 * and then its engine. A model is handed to shutdown only once it is opened and warmed, so shutdown never closes an
 * engine under the warm-up; a model the loader finishes after shutdown began is closed by the loader.
 */
@ApplicationScoped
public class ModelHost {

    private static final Logger LOG = Logger.getLogger(ModelHost.class);

    @Inject
    UnmaskConfig config;

    @Inject
    MeterRegistry registry;

    private final List<ServedModel> opened = new ArrayList<>(); // guarded by this
    private boolean stopping; // guarded by this
    private volatile OpenAiService service;
    private volatile Throwable failure;
    private volatile long readyMillis;
    private volatile long maxBodyBytes = RequestBodies.UNBOUNDED; // derived from the packages once loaded

    void onStart(@Observes StartupEvent event) {
        if (loadInBackground()) {
            Thread loader = new Thread(this::load, "unmask-loader");
            loader.setDaemon(true);
            loader.start();
        } else {
            load();
        }
    }

    void onStop(@Observes ShutdownEvent event) {
        List<ServedModel> toClose;
        synchronized (this) {
            stopping = true;
            toClose = new ArrayList<>(opened);
            opened.clear();
        }
        toClose.forEach(ModelHost::close);
    }

    /** Scheduler first: it returns once no step runs, and only then may the engine's native session close. */
    private static void close(ServedModel m) {
        m.scheduler().close();
        m.engine().close();
    }

    /** Hands an opened, warmed model to shutdown; false once shutdown has begun (the caller closes it). */
    private synchronized boolean register(ServedModel m) {
        if (stopping) {
            return false;
        }
        opened.add(m);
        return true;
    }

    private void load() {
        long started = System.nanoTime();
        List<AutoCloseable> unregistered = new ArrayList<>(); // opened, not yet handed to shutdown: closed on failure
        try {
            if (config.models().isEmpty()) {
                throw new IllegalStateException("No package configured: set unmask.models.<id>.path, e.g. "
                        + "unmask.models.tiny-llada.path=models/tiny-llada/package");
            }
            checkRanges(config);
            RuntimeOptions runtime = new RuntimeOptions(
                            ExecutionProvider.parse(config.executionProvider()),
                            config.threads(),
                            RuntimeOptions.Spinning.parse(config.spinning()))
                    .forServing();
            long created = Clock.systemUTC().instant().getEpochSecond();
            // one budget for every served model: it bounds the process's cache memory, not one model's
            KvCacheBudget cacheBudget = KvCacheBudget.ofMebibytes(config.cache().budgetMib());
            LOG.infof(
                    "Key/value cache budget %s for all models (unmask.cache.budget-mib)",
                    KvCacheBudget.size(cacheBudget.capacityBytes()));
            List<ServedModel> served = new ArrayList<>();
            for (Map.Entry<String, UnmaskConfig.ServedPackage> e :
                    config.models().entrySet()) {
                String id = e.getKey();
                Engine engine = Engine.open(e.getValue().path(), runtime);
                unregistered.add(engine);
                UnmaskMetrics metrics = new UnmaskMetrics(registry, id);
                BatchScheduler scheduler = new BatchScheduler(
                        engine, config.batch().maxSize(), config.batch().maxQueue(), metrics, cacheBudget);
                unregistered.add(0, scheduler); // closed before its engine
                metrics.gauges(id, scheduler);
                if (config.warmUp()) {
                    long t = System.nanoTime();
                    // a block-causal model (SDAR) decodes in its own blocks with its own steps: leave both to it
                    boolean own = engine.traits().blockCausal();
                    engine.generate(
                            GenerationRequest.builder(warmUpPrompt(engine))
                                    .length(8)
                                    .blockLength(own ? null : 8)
                                    .steps(own ? null : 8)
                                    .build(),
                            null);
                    LOG.infof("Warmed %s in %d ms", id, (System.nanoTime() - t) / 1_000_000);
                }
                ServedModel model = new ServedModel(id, engine, scheduler, created);
                unregistered.clear();
                if (!register(model)) {
                    close(model);
                    LOG.infof("Shutting down: closed model '%s' as soon as it had loaded", id);
                    return;
                }
                served.add(model);
                LOG.infof(
                        "Serving package %s as model '%s' on %s (batch %d, queue %d)",
                        e.getValue().path(),
                        id,
                        runtime.executionProvider(),
                        config.batch().maxSize(),
                        config.batch().maxQueue());
            }
            ServingLimits limits = new ServingLimits(
                    config.limits().maxTokens(),
                    config.limits().maxSteps(),
                    config.limits().maxCanvasTokens());
            service = new OpenAiService(served, limits, Clock.systemUTC());
            readyMillis = (System.nanoTime() - started) / 1_000_000;
            LOG.infof("Ready: %d model(s) loaded and warmed in %d ms", served.size(), readyMillis);
            deriveBodyLimit(service);
        } catch (RuntimeException | Error e) {
            for (AutoCloseable c : unregistered) {
                try {
                    c.close();
                } catch (Exception suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            failure = e;
            LOG.errorf(e, "Could not load the packages: %s", e.getMessage());
            if (!loadInBackground()) {
                throw e;
            }
        }
    }

    /**
     * A chat when the package has a chat template, so that the warm-up also renders it: the template engine's first
     * use (Jinjava's classes, the template's parse) otherwise lands on the first chat request after ready, which on
     * the tiny package took longer than the generation itself (issue 17 §2, docs/benchmarks.md "Cold start").
     */
    static GenerationRequest.Prompt warmUpPrompt(Engine engine) {
        String template = engine.manifest().chatTemplate();
        return template == null || template.isBlank()
                ? new GenerationRequest.Prompt.Continuation("Hello")
                : new GenerationRequest.Prompt.Chat(List.of(new ChatMessage("user", "Hello")));
    }

    /**
     * The largest body any served model can use (its longest prompt as JSON, {@link RequestBodies}), published once
     * the models serve: reading the tokenizers' bounds parses each {@code tokenizer.json}, which start-to-ready does
     * not wait for. Until then, and for a tokenizer without a bound, only the configured body limit applies.
     */
    private void deriveBodyLimit(OpenAiService s) {
        try {
            long t = System.nanoTime();
            maxBodyBytes = s.maxBodyBytes();
            LOG.infof(
                    "Request bodies: at most %s bytes, derived from the packages in %d ms",
                    maxBodyBytes == RequestBodies.UNBOUNDED ? "(unbounded)" : Long.toString(maxBodyBytes),
                    (System.nanoTime() - t) / 1_000_000);
        } catch (RuntimeException e) {
            LOG.warnf(e, "Could not derive a body limit from the packages; the configured one applies");
        }
    }

    /** The largest request body worth reading; {@link RequestBodies#UNBOUNDED} until derived, or when unknown. */
    public long maxBodyBytes() {
        return maxBodyBytes;
    }

    /** The most requests one forward pass takes: each holds a whole canvas of activations. */
    static final int MAX_BATCH = 256;
    /** The most requests that may wait; beyond, a client waits minutes: 429 tells it to come back. */
    static final int MAX_QUEUE = 100_000;
    /** More ONNX Runtime threads than any machine has cores only slows it down. */
    static final int MAX_THREADS = 1024;

    /** Every count in the configuration, checked before anything loads; the message shows a correct setting. */
    static void checkRanges(UnmaskConfig config) {
        checkRange("unmask.threads", config.threads(), 0, MAX_THREADS, 0);
        checkRange("unmask.batch.max-size", config.batch().maxSize(), 1, MAX_BATCH, 8);
        checkRange("unmask.batch.max-queue", config.batch().maxQueue(), 0, MAX_QUEUE, 64);
        checkRange("unmask.limits.max-tokens", config.limits().maxTokens(), 1, Integer.MAX_VALUE, 512);
        checkRange("unmask.limits.max-steps", config.limits().maxSteps(), 1, Integer.MAX_VALUE, 512);
        checkRange("unmask.limits.max-canvas-tokens", config.limits().maxCanvasTokens(), 0, Integer.MAX_VALUE, 0);
        checkRange("unmask.cache.budget-mib", config.cache().budgetMib(), 0, Integer.MAX_VALUE, 1024);
    }

    static void checkRange(String key, int value, int min, int max, int example) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(key + "=" + value + " is out of range: use " + min + " to "
                    + (max == Integer.MAX_VALUE ? "any larger number" : max) + ", e.g. " + key + "=" + example);
        }
    }

    private boolean loadInBackground() {
        return config.loadInBackground().orElse(System.getenv("AWS_LAMBDA_RUNTIME_API") == null);
    }

    /**
     * The API; 503 ({@code model_loading}) until the packages are loaded and warmed, 500 ({@code model_load_failed},
     * saying what failed) once their load has failed.
     */
    public OpenAiService service() {
        OpenAiService s = service;
        if (s == null) {
            Throwable failed = failure;
            throw failed != null ? Errors.loadFailed("the configured packages", failed) : Errors.notReady();
        }
        return s;
    }

    public boolean ready() {
        return service != null;
    }

    /** Why loading failed; null while loading or once loaded. */
    public Throwable failure() {
        return failure;
    }

    public long readyMillis() {
        return readyMillis;
    }
}
