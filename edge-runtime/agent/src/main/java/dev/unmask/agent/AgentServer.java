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
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
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

    private final HttpServer server;
    private final LocalModels models;
    private final ServingLimits limits;
    private final ApiKeys apiKeys;
    private final ExecutorService workers;
    private final Clock clock = Clock.systemUTC();

    /**
     * @param apiKeys when not empty, {@code /v1} takes only {@code Authorization: Bearer <one of them>}
     */
    AgentServer(InetSocketAddress address, LocalModels models, ServingLimits limits, List<String> apiKeys) {
        this.models = models;
        this.limits = limits;
        this.apiKeys = ApiKeys.of(apiKeys);
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
        this.workers = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "unmask-http-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        server.setExecutor(workers);
        server.createContext("/", this::handle);
    }

    void start() {
        server.start();
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://host:port/v1}: what an OpenAI client takes as base_url. */
    URI baseUri() {
        return URI.create("http://" + server.getAddress().getHostString() + ":" + port() + "/v1");
    }

    @Override
    public void close() {
        server.stop(0);
        workers.shutdownNow();
    }

    private void handle(HttpExchange exchange) {
        try (exchange) {
            try {
                route(exchange);
            } catch (ApiException e) {
                writeError(exchange, e);
            } catch (RuntimeException | Error e) {
                writeError(exchange, Errors.toApi(e));
            }
        } catch (IOException e) {
            // the client went away while we wrote; nothing left to tell it
        }
    }

    private void route(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        String path = exchange.getRequestURI().getPath();
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
                whole = pending.await();
                lease.answered();
            } else {
                stream(exchange, pending);
                lease.answered();
                return;
            }
        } // released before the answer is written: with keep_alive 0 the model is gone when the client reads it
        writeJson(exchange, 200, whole);
    }

    private static void stream(HttpExchange exchange, PendingGeneration pending) throws IOException {
        exchange.getResponseHeaders().set("Content-Type", Sse.CONTENT_TYPE);
        exchange.getResponseHeaders().set("Cache-Control", "no-cache");
        exchange.sendResponseHeaders(200, 0); // chunked
        pending.streamTo(exchange.getResponseBody()); // a failed write cancels the request
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
        byte[] bytes;
        try (InputStream in = exchange.getRequestBody()) {
            bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (bytes.length > MAX_BODY_BYTES) {
            throw new ApiException(
                    ErrorKind.PAYLOAD_TOO_LARGE,
                    "The request body is over " + (MAX_BODY_BYTES >> 20) + " MiB: send a shorter prompt",
                    null,
                    null,
                    0,
                    null);
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

    private static void writeError(HttpExchange exchange, ApiException e) throws IOException {
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
