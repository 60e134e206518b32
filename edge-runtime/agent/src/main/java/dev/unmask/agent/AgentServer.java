package dev.unmask.agent;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.ApiKeys;
import dev.unmask.openai.ChatCompletionRequest;
import dev.unmask.openai.CompletionRequest;
import dev.unmask.openai.ErrorKind;
import dev.unmask.openai.Errors;
import dev.unmask.openai.Json;
import dev.unmask.openai.ModelList;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.PendingGeneration;
import dev.unmask.openai.ServingLimits;
import dev.unmask.openai.Sse;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * {@code unmask serve}'s HTTP layer on the JDK's own server: reads the raw body, hands it to {@code unmask-openai}
 * (the same code the functions serve with) and writes the answer, the SSE stream or the error.
 *
 * <pre>
 * GET  /health               {"status":"ok","models":[...],"loaded":[{"model","in_flight","idle_millis","keep_alive"}],
 *                             "broken":[{"model","reason"}]}; 503 with "status":"degraded" and "problem" once a
 *                             background worker has stopped
 * GET  /v1/models            the models this agent can serve (installed, and the bundled one)
 * GET  /v1/models/{id}
 * POST /v1/chat/completions  OpenAI's, plus the diffusion extras and Ollama's "keep_alive"
 * POST /v1/completions       with "suffix" for fill-in-the-middle
 * </pre>
 */
final class AgentServer implements AutoCloseable {

    /** The largest request body; a prompt of the longest canvas is far smaller. */
    static final int MAX_BODY_BYTES = 4 << 20;

    /**
     * What {@code GET /health} answers. A broken folder in the store is listed, not a failure of the server: the
     * other models are served.
     */
    record Health(
            String status,
            List<String> models,
            List<LocalModels.Status> loaded,
            List<BrokenModel> broken,
            @JsonInclude(JsonInclude.Include.NON_NULL) String problem) {}

    /** An installed model that is not served, and why. */
    record BrokenModel(String model, String reason) {}

    /**
     * How much of a refused body is read and dropped so that the client, still sending, reads the error instead of a
     * connection reset; past this the connection is closed.
     */
    static final long MAX_DRAIN_BYTES = 64L << 20;

    /** Handler threads: requests being read, waited for or streamed; more wait in line (the server bounds them). */
    static final int MAX_THREADS = 64;

    /** Open connections, idle ones included; more are closed at once. */
    static final int MAX_CONNECTIONS = 512;

    /** Seconds a client has to send its request line, headers and body; then the connection is closed. */
    static final int REQUEST_SECONDS = 10;

    /** Seconds a kept-alive connection may stay idle between requests. */
    static final int IDLE_SECONDS = 30;

    private static final System.Logger LOG = System.getLogger(AgentServer.class.getName());

    static {
        limitJdkHttpServer();
    }

    /**
     * The JDK server reads its limits from system properties, once, when its first instance is made: set them here
     * (unless the user set them with -D), before any is. Without them a connection that sends half a header holds a
     * thread forever, and any number of connections may stay open.
     */
    static void limitJdkHttpServer() {
        Map.of(
                        "sun.net.httpserver.maxReqTime", REQUEST_SECONDS, // request line, headers, body
                        "sun.net.httpserver.idleInterval", IDLE_SECONDS,
                        "sun.net.httpserver.clockTick", 1000, // ms between idle checks (default 10 s)
                        "jdk.httpserver.maxConnections", MAX_CONNECTIONS)
                .forEach((k, v) -> {
                    if (System.getProperty(k) == null) {
                        System.setProperty(k, Integer.toString(v));
                    }
                });
    }

    private final HttpServer server;
    private final LocalModels models;
    private final ServingLimits limits;
    private final ApiKeys apiKeys;
    private final CrossSite crossSite;
    private final ThreadPoolExecutor workers;
    private final Clock clock = Clock.systemUTC();

    /**
     * @param apiKeys when not empty, {@code /v1} takes only {@code Authorization: Bearer <one of them>}
     */
    AgentServer(InetSocketAddress address, LocalModels models, ServingLimits limits, List<String> apiKeys) {
        this(address, models, limits, apiKeys, CrossSite.loopbackOnly());
    }

    /**
     * @param apiKeys   when not empty, {@code /v1} takes only {@code Authorization: Bearer <one of them>}
     * @param crossSite which {@code Host}s and browser {@code Origin}s may use the server
     */
    AgentServer(
            InetSocketAddress address,
            LocalModels models,
            ServingLimits limits,
            List<String> apiKeys,
            CrossSite crossSite) {
        this.models = models;
        this.limits = limits;
        this.apiKeys = ApiKeys.of(apiKeys);
        this.crossSite = crossSite;
        try {
            this.server = HttpServer.create(address, 64);
        } catch (BindException e) {
            throw new UncheckedIOException(
                    "Cannot listen on " + address.getHostString() + ":" + address.getPort() + " (" + e.getMessage()
                            + "): is another 'unmask serve' running? Choose another port with --port",
                    e);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot listen on " + address + " (" + e.getMessage() + ")", e);
        }
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(
                MAX_THREADS, MAX_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "unmask-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        workers.allowCoreThreadTimeOut(true); // none while idle, at most MAX_THREADS under load
        server.setExecutor(workers);
        server.createContext("/", this::handle);
    }

    void start() {
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /**
     * {@code http://host:port/v1}: what an OpenAI client takes as base_url. Listening on every address (0.0.0.0,
     * ::), that is loopback's for this machine; an IPv6 address is bracketed.
     */
    URI baseUri() {
        InetAddress a = server.getAddress().getAddress();
        String host = a.isAnyLocalAddress() ? "127.0.0.1" : a.getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/v1");
    }

    /** Handler threads now alive (tests read it). */
    int threads() {
        return workers.getPoolSize();
    }

    @Override
    public void close() {
        server.stop(0);
        workers.shutdownNow();
    }

    private void handle(HttpExchange exchange) {
        String requestId = Errors.newRequestId();
        exchange.getResponseHeaders().set("X-Request-Id", requestId);
        try (exchange) {
            try {
                route(exchange);
            } catch (ApiException e) {
                writeError(exchange, e, requestId);
            } catch (RuntimeException | Error e) {
                writeError(exchange, Errors.toApi(e), requestId);
            }
        } catch (IOException e) {
            // the client went away while we wrote; nothing left to tell it
        }
    }

    private void route(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
        crossSite.checkHost(exchange.getRequestHeaders().getFirst("Host"));
        String origin = crossSite.allowOrigin(exchange.getRequestHeaders().getFirst("Origin"));
        if (origin != null) {
            exchange.getResponseHeaders().set("Access-Control-Allow-Origin", origin);
            exchange.getResponseHeaders().set("Vary", "Origin");
            exchange.getResponseHeaders().set("Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
        }
        if (method.equals("OPTIONS")) {
            preflight(exchange, origin != null);
            return;
        }
        if (method.equals("POST")) {
            requireJson(exchange.getRequestHeaders().getFirst("Content-Type"));
        }
        if (path.equals("/health") || path.equals("/")) {
            requireMethod(method, "GET");
            LocalModels.Catalog catalog = models.catalog();
            String problem = models.workerProblem();
            Health health = new Health(
                    problem == null ? "ok" : "degraded",
                    List.copyOf(catalog.models().keySet()),
                    models.loaded(),
                    catalog.broken().entrySet().stream()
                            .map(b -> new BrokenModel(b.getKey(), b.getValue()))
                            .toList(),
                    problem);
            writeJson(exchange, problem == null ? 200 : 503, health);
            return;
        }
        if (!path.startsWith("/v1/")) {
            throw unknownPath();
        }
        apiKeys.check(exchange.getRequestHeaders().getFirst("Authorization"));
        if (path.equals("/v1/models")) {
            requireMethod(method, "GET");
            writeJson(exchange, 200, ModelList.of(cards()));
        } else if (path.startsWith("/v1/models/")) {
            requireMethod(method, "GET");
            String id = path.substring("/v1/models/".length());
            ModelList.Model card = cards().stream()
                    .filter(c -> c.id().equals(id))
                    .findFirst()
                    .orElseThrow(
                            () -> Errors.unknownModel(id, models.available().keySet()));
            writeJson(exchange, 200, card);
        } else if (path.equals("/v1/chat/completions")) {
            requireMethod(method, "POST");
            ObjectNode body = body(exchange, ChatCompletionRequest.EXAMPLE);
            Duration keepAlive = keepAlive(body);
            ChatCompletionRequest request = ChatCompletionRequest.read(body);
            answer(exchange, request.model(), keepAlive, service -> service.chat(request));
        } else if (path.equals("/v1/completions")) {
            requireMethod(method, "POST");
            ObjectNode body = body(exchange, CompletionRequest.EXAMPLE);
            Duration keepAlive = keepAlive(body);
            CompletionRequest request = CompletionRequest.read(body);
            answer(exchange, request.model(), keepAlive, service -> service.completion(request));
        } else {
            throw unknownPath();
        }
    }

    /** Loads the model if needed, holds it for the whole answer, and writes the JSON or the SSE stream. */
    private void answer(
            HttpExchange exchange, String model, Duration keepAlive, Function<OpenAiService, PendingGeneration> submit)
            throws IOException {
        Object whole;
        try (LocalModels.Lease lease = models.acquire(model, keepAlive)) {
            OpenAiService service = new OpenAiService(List.of(lease.served()), limits, clock);
            PendingGeneration pending = submit.apply(service);
            if (!pending.streaming()) {
                whole = await(pending, ClientWatch.of(exchange));
                lease.answered();
            } else {
                stream(exchange, pending);
                lease.answered();
                return;
            }
        } // released before the answer is written: with keep_alive 0 the model is gone when the client reads it
        writeJson(exchange, 200, whole);
    }

    /**
     * Waits for a whole answer, and cancels the request, dropping it from the batch, as soon as its client hangs up:
     * nobody would read the answer.
     */
    private static Object await(PendingGeneration pending, BooleanSupplier clientGone) {
        Future<Object> answer = pending.answer();
        while (true) {
            try {
                return answer.get(ClientWatch.POLL_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                if (clientGone.getAsBoolean()) {
                    pending.cancel();
                    throw Errors.toApi(new java.util.concurrent.CancellationException("the client hung up"));
                }
            } catch (InterruptedException e) {
                pending.cancel();
                Thread.currentThread().interrupt();
                throw Errors.toApi(e);
            } catch (ExecutionException e) {
                throw Errors.toApi(e.getCause());
            }
        }
    }

    /**
     * Answers {@code OPTIONS}: for an allowed browser origin, a CORS preflight answer that lets it send JSON with a
     * key (and whatever headers it asks for); otherwise the methods the server takes.
     */
    private static void preflight(HttpExchange exchange, boolean cors) throws IOException {
        var h = exchange.getResponseHeaders();
        h.set("Allow", CrossSite.ALLOWED_METHODS);
        if (cors) {
            h.set("Access-Control-Allow-Methods", CrossSite.ALLOWED_METHODS);
            String asked = exchange.getRequestHeaders().getFirst("Access-Control-Request-Headers");
            h.set(
                    "Access-Control-Allow-Headers",
                    asked == null || asked.isBlank() ? "Authorization, Content-Type" : asked);
            h.set("Access-Control-Max-Age", "600");
        }
        exchange.sendResponseHeaders(204, -1);
    }

    /** A POST's body must be declared JSON: the types a web page may send cross-site without asking are not. */
    private static void requireJson(String contentType) {
        String type = contentType == null ? "" : contentType.split(";", 2)[0].trim();
        if (!type.equalsIgnoreCase("application/json")) {
            throw new ApiException(
                    ErrorKind.UNSUPPORTED_MEDIA_TYPE,
                    (contentType == null
                                    ? "The request has no Content-Type"
                                    : "The Content-Type is '" + contentType + "'")
                            + ": send the JSON body with 'Content-Type: application/json' (curl: -H 'Content-Type: "
                            + "application/json')",
                    null,
                    "unsupported_media_type",
                    0,
                    null);
        }
    }

    private static void stream(HttpExchange exchange, PendingGeneration pending) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", Sse.CONTENT_TYPE);
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0); // chunked
        // a failed write cancels the request; between writes (a block can take long) the watch does
        pending.streamTo(exchange.getResponseBody(), ClientWatch.of(exchange));
    }

    private List<ModelList.Model> cards() {
        List<ModelList.Model> cards = new ArrayList<>();
        for (Map.Entry<String, Path> e : models.available().entrySet()) {
            long created;
            try {
                created = Files.getLastModifiedTime(e.getValue().resolve("manifest.json"))
                                .toMillis()
                        / 1000;
            } catch (IOException ex) {
                created = 0;
            }
            cards.add(ModelList.Model.of(e.getKey(), created, "unmask"));
        }
        return cards;
    }

    private static ObjectNode body(HttpExchange exchange, String example) throws IOException {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null && Long.parseLong(length.trim()) > MAX_BODY_BYTES) { // the JDK server checked it is a long
            throw Errors.payloadTooLarge(MAX_BODY_BYTES); // refused before a byte of it is read
        }
        byte[] bytes = exchange.getRequestBody().readNBytes(MAX_BODY_BYTES + 1);
        if (bytes.length > MAX_BODY_BYTES) {
            throw Errors.payloadTooLarge(MAX_BODY_BYTES);
        }
        return (ObjectNode) Json.readObject(bytes, example);
    }

    /** Ollama's per-request {@code keep_alive}, taken out of the body; null when not sent. */
    private static Duration keepAlive(ObjectNode body) {
        JsonNode v = body.remove("keep_alive");
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual() && !v.isNumber()) {
            throw ApiException.invalid("keep_alive", "'keep_alive' must be a duration, e.g. " + KeepAlive.EXAMPLE);
        }
        try {
            return KeepAlive.parse(v.asText());
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("keep_alive", e.getMessage());
        }
    }

    private static void requireMethod(String method, String expected) {
        if (!method.equals(expected)) {
            throw new ApiException(
                    ErrorKind.METHOD_NOT_ALLOWED,
                    "Wrong method " + method + " for this path: use POST "
                            + "for /v1/chat/completions and /v1/completions, GET for /v1/models and /health",
                    null,
                    null,
                    0,
                    null);
        }
    }

    private static ApiException unknownPath() {
        return new ApiException(
                ErrorKind.NOT_FOUND,
                "Unknown path: the API serves POST /v1/chat/completions, "
                        + "POST /v1/completions and GET /v1/models (and GET /health)",
                null,
                null,
                0,
                null);
    }

    /**
     * Writes an error; a 500 is logged first, with its stack and the request id its body names too. What is left of
     * a refused body is read first (up to {@link #MAX_DRAIN_BYTES}), else the client, still sending it, would see
     * the connection reset instead of the answer.
     */
    private static void writeError(HttpExchange exchange, ApiException e, String requestId) throws IOException {
        if (e.kind() == ErrorKind.SERVER && e.requestId() == null && !"cancelled".equals(e.code())) {
            e = Errors.logged(e, requestId);
        }
        try (InputStream in = exchange.getRequestBody()) {
            long left = MAX_DRAIN_BYTES;
            byte[] scratch = new byte[64 << 10];
            for (int n; left > 0 && (n = in.read(scratch, 0, (int) Math.min(scratch.length, left))) > 0; ) {
                left -= n;
            }
        } catch (IOException ignored) {
            // the client is gone or too slow; the answer below may still reach it
        }
        e.headers().forEach(exchange.getResponseHeaders()::set);
        writeJson(exchange, e.httpStatus(), e.body());
    }

    private static void writeJson(HttpExchange exchange, int status, Object body) throws IOException {
        byte[] bytes = Json.write(body).getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }
}
