package dev.unmask.functions;

import dev.unmask.engine.Engine;
import dev.unmask.engine.RuntimePreload;
import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.model.ExecutionProvider;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.Limits;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.ChatCompletionRequest;
import dev.unmask.openai.CompletionRequest;
import dev.unmask.openai.Errors;
import dev.unmask.openai.Json;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.PendingGeneration;
import dev.unmask.openai.RequestBodies;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
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
        // where UnmaskMain did not start it already (Lambda, tests): the natives and the template engine load on a
        // second core while this thread reads the package
        RuntimePreload.startInBackground();
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
                long opening = System.nanoTime();
                Engine engine = Engine.open(e.getValue().path(), runtime);
                unregistered.add(engine);
                UnmaskMetrics metrics = new UnmaskMetrics(registry, id);
                BatchScheduler scheduler = new BatchScheduler(
                        engine, config.batch().maxSize(), config.batch().maxQueue(), metrics, cacheBudget);
                unregistered.add(0, scheduler); // closed before its engine
                metrics.gauges(id, scheduler);
                LOG.infof(
                        "Opened %s in %d ms (JVM up %d ms)",
                        id, (System.nanoTime() - opening) / 1_000_000, uptimeMillis());
                if (config.warmUp()) {
                    long t = System.nanoTime();
                    WarmUp w = warmUp(id, engine);
                    LOG.infof(
                            "Warmed %s in %d ms: one streamed %s through the API, %d tokens",
                            id,
                            (System.nanoTime() - t) / 1_000_000,
                            w.chat() ? "chat completion" : "completion",
                            w.completionTokens());
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
            OpenAiService ready = new OpenAiService(served, limits(config), Clock.systemUTC());
            // before ready: the first request would otherwise share the CPU with this (it reads each tokenizer.json)
            deriveBodyLimit(ready);
            service = ready;
            readyMillis = (System.nanoTime() - started) / 1_000_000;
            LOG.infof(
                    "Ready: %d model(s) loaded and warmed in %d ms (JVM up %d ms)",
                    served.size(), readyMillis, uptimeMillis());
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

    private static ServingLimits limits(UnmaskConfig config) {
        return new ServingLimits(
                config.limits().maxTokens(),
                config.limits().maxSteps(),
                config.limits().maxCanvasTokens());
    }

    private static long uptimeMillis() {
        return ManagementFactory.getRuntimeMXBean().getUptime();
    }

    /** What {@link #warmUp} ran: a streamed chat completion ({@code chat}) or a streamed completion. */
    record WarmUp(boolean chat, long completionTokens) {}

    /** Tokens the warm-up request asks for: the length of a short answer. */
    static final int WARM_UP_MAX_TOKENS = 16;

    /**
     * The warm-up's own limits, the engine's only ({@link Limits#NONE}), not the configured ones: a deployment that
     * allows fewer tokens or steps than the warm-up asks for (say {@code unmask.limits.max-tokens=8}) must not fail its
     * load on its own warm-up request; nor a package whose default block (SDAR's 32) is longer than the answer.
     */
    static final ServingLimits WARM_UP_LIMITS =
            new ServingLimits(Limits.NONE.maxLength(), Limits.NONE.maxSteps(), Limits.NONE.maxCanvasTokens());

    /**
     * Forward passes the warm-up takes (the package's default would be one per token): each runs the same code at
     * the same shapes, so more of them buy a later ready, not a warmer first request. A block-causal model (SDAR)
     * keeps its own steps.
     */
    static final int WARM_UP_STEPS = 4;

    /**
     * Runs one streamed request through the path the endpoints use (wire-format parse, plan with its prompt bound,
     * a batch scheduler's step loop, the SSE and JSON writers) on a scheduler of its own that reports to no metrics,
     * closed afterwards: the first real request then pays none of that path's first-use cost (class loading, the
     * template engine's first render, the JIT), which on the tiny package took longer than its generation (issue 17
     * §2, docs/benchmarks.md "Cold start"). A chat when the package has a chat template, a completion otherwise.
     *
     * @return what it ran: a chat or a completion, and the completion tokens it streamed (from its usage chunk)
     */
    static WarmUp warmUp(String id, Engine engine) {
        String template = engine.manifest().chatTemplate();
        boolean chat = template != null && !template.isBlank();
        String body = "{\"model\": " + Json.write(id) + ", "
                + (chat ? "\"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}]" : "\"prompt\": \"Hello\"")
                + ", \"max_tokens\": " + WARM_UP_MAX_TOKENS
                + (engine.traits().blockCausal() ? "" : ", \"steps\": " + WARM_UP_STEPS)
                + ", \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        try (BatchScheduler scheduler = new BatchScheduler(engine, 1, 0, SchedulerObserver.NONE, null)) {
            ServedModel model = new ServedModel(id, engine, scheduler, 0);
            OpenAiService s = new OpenAiService(List.of(model), WARM_UP_LIMITS, Clock.systemUTC());
            PendingGeneration stream =
                    chat ? s.chat(ChatCompletionRequest.parse(bytes)) : s.completion(CompletionRequest.parse(bytes));
            ByteArrayOutputStream sse = new ByteArrayOutputStream();
            stream.streamTo(sse);
            return new WarmUp(chat, SnapStartPriming.streamedCompletionTokens(sse.toString(StandardCharsets.UTF_8)));
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not throw
        }
    }

    /**
     * The largest body any served model can use (its longest prompt as JSON, {@link RequestBodies}), published just
     * before the models serve: reading the tokenizers' bounds parses each {@code tokenizer.json} once (the engine
     * keeps the result), and left for after ready it shared the CPU with the first request. Until then, and for a
     * tokenizer without a bound, only the configured body limit applies.
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
