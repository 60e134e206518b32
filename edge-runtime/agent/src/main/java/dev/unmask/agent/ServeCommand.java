package dev.unmask.agent;

import dev.unmask.engine.decode.KvCacheBudget;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.openai.ServingLimits;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {
            "Serve the OpenAI-compatible API for any app that speaks OpenAI (base_url http://127.0.0.1:11435/v1).",
            "%nChat, completions with suffix, models, streaming and the diffusion extras, for every model in the "
                    + "store and the bundled one. A model loads on its first request and unloads after --keep-alive "
                    + "without requests; a request may send its own \"keep_alive\", as with Ollama. GET /health "
                    + "shows what is loaded. Listens on loopback only, unless an API key is set.%n",
            "Ollama's native API too, on the same port (/api/chat, /api/generate, /api/tags, /api/show, /api/ps): "
                    + "Ollama tools take http://127.0.0.1:11435 (docs/ollama.md).%n",
            "Example: unmask serve --keep-alive 10m"
        })
final class ServeCommand implements Callable<Integer> {

    static final int DEFAULT_PORT = 11435;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            paramLabel = "<address>",
            description =
                    "address to listen on; one beyond loopback (e.g. 0.0.0.0) needs --api-key (default: ${DEFAULT-VALUE})")
    String host;

    @Option(
            names = "--port",
            defaultValue = "" + DEFAULT_PORT,
            paramLabel = "<port>",
            description = "TCP port; 0 = any free one (default: ${DEFAULT-VALUE})")
    int port;

    @Option(
            names = "--keep-alive",
            defaultValue = "5m",
            paramLabel = "<duration>",
            description = "how long a model stays loaded after its last request: 30s, 5m, 1h; 0 = unload at once, "
                    + "-1 = never (default: ${DEFAULT-VALUE})")
    String keepAlive;

    @Option(
            names = "--api-key",
            defaultValue = "${env:UNMASK_API_KEY}",
            paramLabel = "<key>",
            description = "require 'Authorization: Bearer <key>' on /v1 (default: $UNMASK_API_KEY, else none)")
    String apiKey;

    @Option(
            names = "--allow-origin",
            split = ",",
            defaultValue = "${env:UNMASK_ALLOWED_ORIGINS}",
            paramLabel = "<origin>",
            description = "a web app that may call the API from the browser, e.g. https://app.example.com; repeat or "
                    + "separate with commas, * = any. Loopback pages (http://localhost:3000) always may "
                    + "(default: $UNMASK_ALLOWED_ORIGINS, else none)")
    List<String> allowedOrigins = new ArrayList<>();

    @Option(
            names = "--max-batch",
            defaultValue = "8", // as the functions' unmask.batch.max-size: docs/benchmarks.md "Batching throughput"
            paramLabel = "<n>",
            description = "requests denoised together in one forward pass (default: ${DEFAULT-VALUE})")
    int maxBatch;

    @Option(
            names = "--max-queue",
            defaultValue = "16",
            paramLabel = "<n>",
            description = "requests that may wait for a place; more get 429 (default: ${DEFAULT-VALUE})")
    int maxQueue;

    @Option(
            names = "--cache-budget",
            defaultValue = "1024",
            paramLabel = "<MiB>",
            description =
                    "what the running requests' key/value caches (cache prefix or dual) may take together, in "
                            + "MiB; a request that does not fit waits, one that never could gets 400 (default: ${DEFAULT-VALUE})")
    int cacheBudgetMib;

    @Option(
            names = "--hold-early-retries",
            negatable = true,
            defaultValue = "true",
            fallbackValue = "true",
            description = "under overload, answer a client that sends again on the same connection before its "
                    + "Retry-After when that time is up, not at once (default: on; --no-hold-early-retries: at once)")
    boolean holdEarlyRetries;

    @Mixin
    ModelOptions model;

    /** Completes with the running server once it listens (tests read its port). */
    final CompletableFuture<AgentServer> started = new CompletableFuture<>();

    private final CountDownLatch stop = new CountDownLatch(1);
    private final CountDownLatch closed = new CountDownLatch(1);

    @Override
    public Integer call() throws InterruptedException {
        Duration idle;
        try {
            idle = KeepAlive.parse(keepAlive);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--keep-alive: " + e.getMessage(), e);
        }
        checkRange("--max-batch", maxBatch, 1, MAX_BATCH, 4);
        checkRange("--max-queue", maxQueue, 0, MAX_QUEUE, 16);
        checkRange("--threads", model.threads, 0, MAX_THREADS, 4);
        checkRange("--cache-budget", cacheBudgetMib, 0, Integer.MAX_VALUE, 1024);
        InetSocketAddress address = listenAddress(host, port, apiKey);
        CrossSite crossSite = CrossSite.of(
                !address.getAddress().isLoopbackAddress(), allowedOrigins == null ? List.of() : allowedOrigins);
        PrintWriter err = spec.commandLine().getErr();
        ModelOptions.quietLogs(); // the load line is ours, below
        RequestLog.keepAtInfo(); // but one line per request
        Supplier<LocalModels.Catalog> catalog = catalog();
        KvCacheBudget cacheBudget = KvCacheBudget.ofMebibytes(cacheBudgetMib); // shared by every loaded model
        LocalModels.Loader loader = LocalModels.engines(model.runtime().forServing(), maxBatch, maxQueue, cacheBudget);
        try (LocalModels models = new LocalModels(catalog, idle, loader, line -> {
                    err.println("unmask: " + line);
                    err.flush();
                });
                AgentServer server = new AgentServer(
                        address,
                        models,
                        ServingLimits.defaults(),
                        apiKey == null || apiKey.isBlank() ? List.of() : List.of(apiKey),
                        crossSite,
                        AgentServer.ConnectionLimits.defaults(),
                        holdEarlyRetries)) {
            server.start();
            Thread hook = new Thread(
                    () -> { // Ctrl-C: stop, and let the models unload before the JVM halts
                        stop.countDown();
                        try {
                            closed.await(5, java.util.concurrent.TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    },
                    "unmask-serve-shutdown");
            Runtime.getRuntime().addShutdownHook(hook);
            LocalModels.Catalog now = catalog.get();
            for (Map.Entry<String, String> b : now.broken().entrySet()) {
                err.println("unmask: not serving the broken model '" + b.getKey() + "': " + b.getValue());
            }
            err.printf(
                    "unmask: serving %s on %s (OpenAI base_url; GET /health)%s, keep-alive %s%s%n",
                    now.models().keySet(),
                    server.baseUri(),
                    address.getAddress().isAnyLocalAddress() ? " and every address of this machine" : "",
                    KeepAlive.show(idle),
                    apiKey == null || apiKey.isBlank() ? "" : ", API key required");
            err.printf(
                    "unmask: batch %d, queue %d, key/value cache budget %s (--cache-budget), ONNX Runtime threads %s,"
                            + " %s between parallel sections (--spinning)%n",
                    maxBatch,
                    maxQueue,
                    KvCacheBudget.size(cacheBudget.capacityBytes()),
                    model.threads == 0 ? "auto" : String.valueOf(model.threads),
                    model.runtime().forServing().spinning() == RuntimeOptions.Spinning.SLEEP ? "sleeping" : "spinning");
            err.println("unmask: the playground (watch it denoise) is at "
                    + server.baseUri().resolve("/"));
            err.flush();
            started.complete(server);
            stop.await();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is what stopped us
            }
            return ExitCodes.OK;
        } catch (RuntimeException e) {
            started.completeExceptionally(e);
            throw e;
        } finally {
            closed.countDown();
        }
    }

    /** The most requests one forward pass takes: each holds a whole canvas of activations. */
    static final int MAX_BATCH = 256;
    /** The most requests that may wait: beyond, a client waits minutes; 429 tells it to come back. */
    static final int MAX_QUEUE = 100_000;
    /** More ONNX Runtime threads than any machine has cores only slows it down. */
    static final int MAX_THREADS = 1024;

    /** Refuses a count outside {@code [min, max]} at start, not at the first request. */
    static void checkRange(String flag, int value, int min, int max, int example) {
        if (value < min || value > max) {
            throw new IllegalArgumentException(flag + " " + value + " is out of range: use " + min + " to " + max
                    + ", e.g. " + flag + " " + example);
        }
    }

    /** Stops a running {@link #call()}: it closes the server and unloads the models. */
    void stop() {
        stop.countDown();
    }

    /**
     * Where to listen. Beyond loopback, anyone on the network could use the models, so an API key is required.
     *
     * @throws IllegalArgumentException for a non-loopback address without a key
     */
    static InetSocketAddress listenAddress(String host, int port, String apiKey) {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException(
                    "--port " + port + " is not a TCP port: use 0 to 65535, e.g. --port " + DEFAULT_PORT);
        }
        InetAddress address;
        try {
            address = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(
                    "--host " + host + " is not an address of this machine: use e.g. " + "--host 127.0.0.1", e);
        }
        if (!address.isLoopbackAddress() && (apiKey == null || apiKey.isBlank())) {
            throw new IllegalArgumentException("Refusing to listen on " + host + " without an API key: other machines "
                    + "could use the models. Set one with --api-key <key> (or UNMASK_API_KEY), or keep the default "
                    + "--host 127.0.0.1");
        }
        return new InetSocketAddress(address, port);
    }

    /**
     * With --model, that one; else every installed model, and the bundled package under its name unless one shadows
     * it. A broken folder in the store is listed apart, with why, and the rest are served.
     */
    private Supplier<LocalModels.Catalog> catalog() {
        if (model.model != null) {
            Path dir = model.packageDir();
            String id = ModelStore.isName(model.model) && !Files.isDirectory(Path.of(model.model))
                    ? model.model
                    : idOf(dir);
            LocalModels.Catalog one = LocalModels.Catalog.of(Map.of(id, dir));
            return () -> one;
        }
        ModelStore store = model.store.open();
        store.sweepLeftovers(); // staging folders of pulls that were killed
        Path bundled = ModelOptions.bundledPackage();
        String bundledId = null;
        String bundledBroken = null;
        if (Files.isRegularFile(bundled.resolve(PackageManifest.FILE_NAME))) {
            try {
                bundledId = idOf(bundled);
            } catch (RuntimeException e) {
                bundledBroken = e.getMessage();
            }
        }
        String finalBundledId = bundledId;
        Map<String, String> bundledProblem = bundledBroken == null ? Map.of() : Map.of("bundled", bundledBroken);
        return () -> {
            ModelStore.Listing listing = store.listing();
            Map<String, Path> all = new LinkedHashMap<>();
            for (ModelStore.Installed m : listing.models()) {
                all.put(m.name(), m.dir());
            }
            Map<String, String> broken = new LinkedHashMap<>(bundledProblem);
            for (ModelStore.Broken b : listing.broken()) {
                broken.put(b.name(), b.reason());
            }
            if (finalBundledId != null && !broken.containsKey(finalBundledId)) {
                all.putIfAbsent(finalBundledId, bundled);
            }
            return new LocalModels.Catalog(all, broken);
        };
    }

    /** A package folder's model id: its manifest's name, lower-cased. */
    private static String idOf(Path dir) {
        String name = Manifests.read(dir).name();
        return name == null ? dir.getFileName().toString() : name.toLowerCase(java.util.Locale.ROOT);
    }
}
