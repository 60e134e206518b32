package dev.unmask.agent;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.ApiKeys;
import dev.unmask.openai.ChatCompletionRequest;
import dev.unmask.openai.CompletionRequest;
import dev.unmask.openai.ErrorKind;
import dev.unmask.openai.Errors;
import dev.unmask.openai.Json;
import dev.unmask.openai.ModelList;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.OverloadRefusals;
import dev.unmask.openai.PendingGeneration;
import dev.unmask.openai.Playground;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import dev.unmask.openai.Sse;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.io.IOException;
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
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * {@code unmask serve}'s HTTP layer on Vert.x core: an event loop parses requests and reads bodies without holding a
 * thread, hands each body to {@code unmask-openai} (the same code the functions serve with) on a bounded worker pool,
 * and writes the answer, the SSE stream or the error.
 *
 * <pre>
 * GET  /                     the web playground (and /playground.js, /playground.css): {@link Playground}
 * GET  /health               {"status":"ok","models":[...],"loaded":[{"model","in_flight","idle_millis","keep_alive",
 *                             "steps","batched_requests"}],
 *                             "broken":[{"model","reason"}]}; 503 with "status":"degraded" and "problem" once a
 *                             background worker has stopped
 * GET  /v1/models            the models this agent can serve (installed, and the bundled one)
 * GET  /v1/models/{id}
 * POST /v1/chat/completions  OpenAI's, plus the diffusion extras and Ollama's "keep_alive"
 * POST /v1/completions       with "suffix" for fill-in-the-middle
 * /api/...                   Ollama's native API ({@link OllamaApi}, docs/ollama.md): generate, chat, tags, show, ps,
 *                            version, as NDJSON streams and {"error": "..."}; HEAD / answers 200 (its liveness probe)
 * </pre>
 *
 * <p>Threads: the event loop (one) runs every check that needs no I/O (Host, Origin, Content-Type, method, path, key,
 * the body limit) and every timer; Vert.x's small worker pool reads the store for {@code /health} and
 * {@code /v1/models}; the engine pool ({@link #MAX_THREADS}) parses bodies, loads models, plans and queues requests,
 * and streams. A whole (non-stream) answer holds no thread while it waits: it is written when the scheduler completes
 * it. No client can hold a thread by sending slowly: the event loop reads what comes, and {@link Connections} closes
 * a connection that owes the server a request head or body past its time.
 *
 * <p>A client that hangs up is noticed by the event loop at once (the connection's close), on every path: a request
 * whose body was still coming is dropped, a queued or running one is cancelled ({@link PendingGeneration#cancel()}),
 * so that nobody's abandoned request keeps a place in the batch.
 */
final class AgentServer implements AutoCloseable {

    /**
     * The largest request body while the limit cannot be derived from the packages ({@link Serving}): before a model
     * is loaded, or while one that can be served is not; a prompt of the longest canvas is far smaller.
     */
    static final int MAX_BODY_BYTES = 4 << 20;

    /** The overload refusal, serialized once: every 429 before a body is read writes this one buffer. */
    private static final Buffer OVERLOADED_BODY =
            Buffer.buffer(Json.write(OverloadRefusals.answer().body()));

    /**
     * The models in memory, as one {@link OpenAiService} that the event loop asks before it reads a completion's body
     * ({@link OpenAiService#refuseAsOverloaded}), and the body limit derived from them.
     *
     * @param maxBodyBytes {@link OpenAiService#maxBodyBytes} of these models, derived on an engine thread (it parses
     *                     their tokenizers) when every model the store can serve is among them; 0 until looked at,
     *                     {@link #NOT_DERIVABLE} when one is not loaded (a model not loaded may take a longer prompt):
     *                     {@link #MAX_BODY_BYTES} applies then
     */
    private record Serving(List<ServedModel> models, OpenAiService service, long maxBodyBytes) {
        /** The body limit in force: derived, and never above {@link #MAX_BODY_BYTES}. */
        int bodyLimit() {
            return maxBodyBytes <= 0 ? MAX_BODY_BYTES : (int) Math.min(MAX_BODY_BYTES, maxBodyBytes);
        }
    }

    /** {@link Serving#maxBodyBytes} when a servable model is not in memory: looked at, not derived. */
    private static final long NOT_DERIVABLE = -1;

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
     * How much of a refused body is read and dropped (never kept) so that the client, still sending, reads the error
     * instead of a connection reset; past this the connection is closed.
     */
    static final long MAX_DRAIN_BYTES = 64L << 20;

    /** Engine threads: requests being parsed, planned, loaded for or streamed; more wait in line. */
    static final int MAX_THREADS = 64;

    /** Open connections, idle ones included; more are closed as they arrive. */
    static final int MAX_CONNECTIONS = 4096;

    /**
     * Seconds a client has to send its request line and headers, and then again its body; then the connection is
     * closed (Slowloris).
     */
    static final int REQUEST_SECONDS = 10;

    /** Seconds a kept-alive connection may stay idle between an answer and the next request's head. */
    static final int IDLE_SECONDS = 30;

    /** The longest request line ({@code POST /v1/chat/completions HTTP/1.1} is 37 bytes); longer: 414. */
    static final int MAX_INITIAL_LINE_BYTES = 4096;

    /** All request headers together; more: 431. */
    static final int MAX_HEADER_BYTES = 16 << 10;

    /**
     * How a connection is bounded: how many may be open, how long one may take to send a request head (and then its
     * body), how long it may stay idle between requests. Tests shorten them; {@link #defaults()} is what
     * {@code unmask serve} runs with.
     *
     * @param maxConnections   open connections, idle ones included; more are closed as they arrive
     * @param requestMillis    from the connection's start (or a request's head) to the request's head (or its body's
     *                         end)
     * @param idleMillis       from an answer's end to the next request's head on the same connection
     * @param maxDrainBytes    how much of a refused body is read and dropped before the connection is closed
     */
    record ConnectionLimits(int maxConnections, long requestMillis, long idleMillis, long maxDrainBytes) {
        ConnectionLimits {
            if (maxConnections < 1 || requestMillis < 1 || idleMillis < 1 || maxDrainBytes < 0) {
                throw new IllegalArgumentException("connection limits must be positive, e.g. " + "new ConnectionLimits("
                        + MAX_CONNECTIONS + ", 10_000, 30_000, 64 << 20)");
            }
        }

        static ConnectionLimits defaults() {
            return new ConnectionLimits(
                    MAX_CONNECTIONS, REQUEST_SECONDS * 1000L, IDLE_SECONDS * 1000L, MAX_DRAIN_BYTES);
        }
    }

    private final Vertx vertx;
    private final HttpServer server;
    private final InetAddress address;
    private final LocalModels models;
    private final ServingLimits limits;
    private final ApiKeys apiKeys;
    private final CrossSite crossSite;
    private final ConnectionLimits connectionLimits;
    private final Connections connections = new Connections();
    private final OverloadRefusals overload;
    private final AtomicReference<Serving> serving;
    private final AtomicLong overloadRefusals = new AtomicLong();
    private final AtomicLong heldRefusals = new AtomicLong();
    private final ThreadPoolExecutor workers;
    /** Runs on the engine pool, or here once it is shut down: a lease is released even then. */
    private final Executor afterAnswer;

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
        this(address, models, limits, apiKeys, crossSite, ConnectionLimits.defaults());
    }

    AgentServer(
            InetSocketAddress address,
            LocalModels models,
            ServingLimits limits,
            List<String> apiKeys,
            CrossSite crossSite,
            ConnectionLimits connectionLimits) {
        this(address, models, limits, apiKeys, crossSite, connectionLimits, true);
    }

    /**
     * Listens on {@code address} at once (connections are answered from here on).
     *
     * @param holdEarlyRetries under overload, a retry on the same connection before its {@code Retry-After} is
     *                         answered when that time is up ({@link OverloadRefusals}; {@code --hold-early-retries})
     */
    AgentServer(
            InetSocketAddress address,
            LocalModels models,
            ServingLimits limits,
            List<String> apiKeys,
            CrossSite crossSite,
            ConnectionLimits connectionLimits,
            boolean holdEarlyRetries) {
        this.overload = new OverloadRefusals(holdEarlyRetries);
        this.serving = new AtomicReference<>(new Serving(List.of(), new OpenAiService(List.of(), limits, clock), 0));
        this.address = address.getAddress();
        this.models = models;
        this.limits = limits;
        this.apiKeys = ApiKeys.of(apiKeys);
        this.crossSite = crossSite;
        this.connectionLimits = connectionLimits;
        AtomicInteger n = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(
                // the queue is bounded by the connections: each has at most one request in the server at a time
                MAX_THREADS, MAX_THREADS, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "unmask-http-" + n.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        workers.allowCoreThreadTimeOut(true); // none while idle, at most MAX_THREADS under load
        this.afterAnswer = r -> {
            try {
                workers.execute(r);
            } catch (RejectedExecutionException shuttingDown) {
                r.run();
            }
        };
        this.vertx = Vertx.vertx(new VertxOptions()
                .setEventLoopPoolSize(1) // parsing and timers only: one thread is plenty, and is bounded
                .setWorkerPoolSize(4) // /health and /v1/models read the store here, never behind the engine
                .setFileSystemOptions(new FileSystemOptions()
                        .setFileCachingEnabled(false)
                        .setClassPathResolvingEnabled(false))); // no cache folder: the agent serves no files
        HttpServerOptions options = new HttpServerOptions()
                .setMaxInitialLineLength(MAX_INITIAL_LINE_BYTES)
                .setMaxHeaderSize(MAX_HEADER_BYTES)
                // HTTP/1.1 only, as before: no h2c upgrade (the JDK's client asks for one)
                .setHttp2ClearTextEnabled(false)
                .setAlpnVersions(List.of(HttpVersion.HTTP_1_1))
                // 100 Continue only for a body that will be taken: an oversize one is refused before it is sent
                .setHandle100ContinueAutomatically(false)
                // No read/write idle timeout: a whole answer or a stream's next block can take minutes with no byte
                // on the wire. The timers of Connections know whether the client or the server owes the next byte.
                .setIdleTimeout(0);
        HttpServer s = vertx.createHttpServer(options)
                .connectionHandler(connections::opened)
                .requestHandler(this::handle);
        try {
            this.server = s.listen(address.getPort(), address.getAddress().getHostAddress())
                    .toCompletionStage()
                    .toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof BindException
                    || String.valueOf(cause.getMessage()).contains("in use")) {
                throw new UncheckedIOException(
                        "Cannot listen on " + address.getHostString() + ":" + address.getPort() + " ("
                                + cause.getMessage()
                                + "): is another 'unmask serve' running? Choose another port with --port",
                        new IOException(cause));
            }
            throw new UncheckedIOException(
                    "Cannot listen on " + address + " (" + cause.getMessage() + ")", new IOException(cause));
        }
    }

    /** Kept for the callers' order (make, print, start): the server listens from its construction. */
    void start() {}

    int port() {
        return server.actualPort();
    }

    /**
     * {@code http://host:port/v1}: what an OpenAI client takes as base_url. Listening on every address (0.0.0.0,
     * ::), that is loopback's for this machine; an IPv6 address is bracketed.
     */
    URI baseUri() {
        String host = address.isAnyLocalAddress() ? "127.0.0.1" : address.getHostAddress();
        return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port() + "/v1");
    }

    /** Engine threads now alive (tests read it). */
    int threads() {
        return workers.getPoolSize();
    }

    /** Connections open now (tests read it). */
    int openConnections() {
        return connections.open.get();
    }

    /** Connections closed by the server because they owed a request head or body past its time (tests read it). */
    long timedOutConnections() {
        return connections.timedOut.get();
    }

    /** Completions refused with 429 before their body was read (tests read it). */
    long overloadRefusals() {
        return overloadRefusals.get();
    }

    /** Of those, the ones held until the connection's {@code Retry-After} was up (tests read it). */
    long heldRefusals() {
        return heldRefusals.get();
    }

    /** The request body limit in force now, in bytes (tests read it). */
    int bodyLimit() {
        return serving().bodyLimit();
    }

    /** Connections closed as they arrived because {@link ConnectionLimits#maxConnections} were open. */
    long refusedConnections() {
        return connections.refused.get();
    }

    /**
     * Stops listening and closes every connection (a request still waiting is cancelled by its connection's close),
     * stops the engine threads (a stream still writing is cancelled), then the event loop.
     */
    @Override
    public void close() {
        try {
            if (server != null) {
                server.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
            }
        } catch (Exception e) {
            // closing anyway
        }
        workers.shutdownNow();
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            // its threads are gone with the process
        }
    }

    /**
     * Every open connection and what it owes the server, by when: a request head from its start, the rest of a
     * request's body from its head, the next head from an answer's end. A connection past its time is closed. All
     * on the event loop.
     */
    private final class Connections {
        final AtomicInteger open = new AtomicInteger();
        final AtomicLong timedOut = new AtomicLong();
        final AtomicLong refused = new AtomicLong();
        private final Map<HttpConnection, Deadline> deadlines = new ConcurrentHashMap<>();

        void opened(HttpConnection c) {
            c.closeHandler(v -> {
                Deadline d = deadlines.remove(c);
                if (d != null) {
                    d.cancel();
                }
                open.decrementAndGet();
            });
            if (open.incrementAndGet() > connectionLimits.maxConnections()) {
                refused.incrementAndGet(); // a half-open flood cannot take the memory; it goes when they do
                c.close();
                return;
            }
            Deadline d = new Deadline(c);
            deadlines.put(c, d);
            d.expect(connectionLimits.requestMillis());
        }

        /** The connection's deadline; one of its own, unkept, for a request whose connection closed meanwhile. */
        Deadline of(HttpConnection c) {
            Deadline d = deadlines.get(c);
            return d != null ? d : new Deadline(c);
        }
    }

    /** One connection's timer: closes it unless the client delivers what it owes in time. */
    private final class Deadline {
        private final HttpConnection connection;
        private long timer = -1;

        Deadline(HttpConnection connection) {
            this.connection = connection;
        }

        void expect(long millis) {
            cancel();
            timer = vertx.setTimer(millis, id -> {
                timer = -1;
                connections.timedOut.incrementAndGet();
                connection.close();
            });
        }

        /** The server owes the next byte (an answer is being made): no timer. */
        void cancel() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }
    }

    /** What a request's body is for, as it arrives on the event loop. */
    private enum BodyUse {
        /** kept, up to {@link #MAX_BODY_BYTES} */
        KEEP,
        /** read and dropped: no route takes it, or it was refused */
        DROP
    }

    /**
     * One request, from its head to the end of its answer: its body as it arrives, the deadline of its connection,
     * and whether its client left. Every method may be called from any thread (Vert.x's response is synchronized).
     */
    private final class Exchange {
        final HttpServerRequest request;
        final HttpServerResponse response;
        final String requestId;
        private final Deadline deadline;
        private BodyUse use = BodyUse.DROP; // event loop only
        private Buffer body; // event loop only
        private long dropped; // event loop only
        private int maxBodyBytes; // event loop only
        private Consumer<Buffer> whenRead; // event loop only
        private boolean requestEnded; // event loop only
        private boolean responseEnded; // event loop only
        private volatile boolean gone;
        /** An Ollama route ({@code /api/...}): errors are Ollama's {@code {"error": "..."}}. */
        volatile boolean ollama;

        private PendingGeneration pending; // guarded by this
        private final Object room = new Object(); // a stream waits here for the client to read

        // the request's log line (RequestLog): when it came, the model it named, written once
        private final long startNanos = System.nanoTime();
        volatile String model;
        private final AtomicBoolean logged = new AtomicBoolean();

        Exchange(HttpServerRequest request, String requestId) {
            this.request = request;
            this.response = request.response();
            this.requestId = requestId;
            this.deadline = connections.of(request.connection());
            deadline.expect(connectionLimits.requestMillis()); // the head came: now the body
            request.handler(this::chunk);
            request.endHandler(v -> ended());
            request.exceptionHandler(e -> hangUp());
            response.closeHandler(v -> hangUp());
            response.exceptionHandler(e -> hangUp());
            response.drainHandler(v -> {
                synchronized (room) {
                    room.notifyAll();
                }
            });
            Context loop = Vertx.currentContext(); // the event loop: every deadline is kept there
            response.endHandler(v -> loop.runOnContext(
                    ignored -> { // may end on an engine thread
                        responseEnded = true;
                        logOnce();
                        if (requestEnded) {
                            deadline.expect(connectionLimits.idleMillis()); // the next request's head
                        }
                    }));
        }

        /**
         * Under overload, before the body is read: the 429 of {@link OverloadRefusals}, at once, or when this
         * connection's last {@code Retry-After} is up (a Vert.x timer holds it; no thread waits). The body, unread,
         * is dropped as it comes, so the connection takes the client's next request.
         */
        void refuseOverloaded() {
            overloadRefusals.incrementAndGet();
            HttpConnection connection = request.connection();
            long waitMillis = overload.holdMillis(connection, System.nanoTime());
            if (waitMillis == 0) {
                overloaded(connection);
            } else {
                heldRefusals.incrementAndGet();
                vertx.setTimer(waitMillis, id -> overloaded(connection));
            }
        }

        private void overloaded(HttpConnection connection) {
            overload.refused(connection, System.nanoTime());
            if (gone || response.ended() || response.closed()) {
                return; // the client left while held
            }
            ApiException e = OverloadRefusals.answer();
            try {
                response.setStatusCode(e.httpStatus()).putHeader("Content-Type", "application/json");
                e.headers().forEach(response::putHeader);
                // Vert.x writes a duplicate: the one buffer serves every refusal (an Ollama client's, in its shape)
                response.end(ollama ? Buffer.buffer(Json.write(OllamaApi.error(e))) : OVERLOADED_BODY);
            } catch (IllegalStateException closedMeanwhile) {
                // gone
            }
        }

        /** Keeps the body, up to {@code maxBytes}: past that, a 413 at once and the rest is dropped. */
        void readBody(int maxBytes, Consumer<Buffer> then) {
            String length = request.getHeader("Content-Length");
            if (length != null) {
                long declared;
                try {
                    declared = Long.parseLong(length.trim());
                } catch (NumberFormatException e) {
                    declared = -1; // Vert.x's parser refuses a malformed length before this runs
                }
                if (declared > maxBytes) {
                    throw Errors.payloadTooLarge(maxBytes); // refused before a byte of it is read
                }
            }
            use = BodyUse.KEEP;
            maxBodyBytes = maxBytes;
            body = Buffer.buffer();
            whenRead = then;
            if ("100-continue".equalsIgnoreCase(request.getHeader("Expect"))) {
                response.writeContinue();
            }
        }

        private void chunk(Buffer b) {
            if (use == BodyUse.KEEP) {
                if (body.length() + (long) b.length() <= maxBodyBytes) {
                    body.appendBuffer(b);
                    return;
                }
                use = BodyUse.DROP;
                body = null;
                dropped = 0;
                fail(Errors.payloadTooLarge(maxBodyBytes)); // found while reading: answered before the rest
            }
            dropped += b.length();
            if (dropped > connectionLimits.maxDrainBytes()) {
                request.connection().close();
            }
        }

        private void ended() {
            requestEnded = true;
            if (responseEnded) {
                deadline.expect(connectionLimits.idleMillis());
            } else {
                deadline.cancel(); // the server owes the answer now
            }
            if (use == BodyUse.KEEP) {
                Buffer whole = body;
                body = null;
                whenRead.accept(whole);
            }
        }

        boolean gone() {
            return gone;
        }

        /** The request's one log line: at the response's end, or when the client left before it. */
        private void logOnce() {
            if (!logged.compareAndSet(false, true)) {
                return;
            }
            PendingGeneration p;
            synchronized (this) {
                p = pending;
            }
            dev.unmask.engine.Generation g = null;
            if (p != null && p.generation().isDone() && !p.generation().isCompletedExceptionally()) {
                g = p.generation().getNow(null);
            }
            RequestLog.log(
                    request.method().name(),
                    request.path(),
                    model,
                    g,
                    (System.nanoTime() - startNanos) / 1_000_000,
                    responseEnded ? response.getStatusCode() : RequestLog.CLIENT_GONE);
        }

        /** The client closed its connection: nobody will read the answer, so the request is dropped. */
        void hangUp() {
            if (!response.ended()) {
                logOnce();
            }
            gone = true;
            PendingGeneration p;
            synchronized (this) {
                p = pending;
            }
            if (p != null) {
                p.cancel();
            }
            synchronized (room) {
                room.notifyAll();
            }
        }

        /** The request is queued; if its client already left, it is cancelled at once. */
        void attach(PendingGeneration p) {
            synchronized (this) {
                pending = p;
            }
            if (gone) {
                p.cancel();
            }
        }

        /** A file of the web playground, from memory on the event loop: 304 when the client has this version. */
        void page(Playground.Asset asset) {
            Playground.headers(asset).forEach(response::putHeader);
            if (Playground.notModified(asset, request.getHeader("If-None-Match"))) {
                response.setStatusCode(304).end();
            } else {
                response.setStatusCode(200).end(Buffer.buffer(asset.bytes()));
            }
        }

        void json(int status, Object value) {
            if (gone || response.ended() || response.closed()) {
                return;
            }
            byte[] bytes = Json.write(value).getBytes(StandardCharsets.UTF_8);
            try {
                response.putHeader("Content-Type", "application/json")
                        .setStatusCode(status)
                        .end(Buffer.buffer(bytes));
            } catch (IllegalStateException closedMeanwhile) {
                // the client went away; nothing left to tell it
            }
        }

        /** Writes an error; a 500 is logged first, with its stack and the request id its body names too. */
        void fail(ApiException e) {
            if (e.kind() == ErrorKind.SERVER && e.requestId() == null && !"cancelled".equals(e.code())) {
                e = Errors.logged(e, requestId);
            }
            if (response.headWritten()) { // a stream broke after its head: its own error event was the answer
                if (!response.ended()) {
                    request.connection().close();
                }
                return;
            }
            e.headers().forEach(response::putHeader);
            json(e.httpStatus(), ollama ? OllamaApi.error(e) : e.body());
        }

        /** Runs {@code work}, answering its failure. */
        void guarded(ThrowingRunnable work) {
            try {
                work.run();
            } catch (ApiException e) {
                fail(e);
            } catch (RuntimeException | Error e) {
                fail(Errors.toApi(e));
            } catch (IOException e) {
                hangUp(); // the client went away while we wrote
            }
        }

        /** The SSE stream: chunked, written as the engine goes, never faster than the client reads. */
        OutputStream stream() {
            return stream(Sse.CONTENT_TYPE);
        }

        /** A stream of {@code contentType} (SSE, or Ollama's NDJSON), as {@link #stream()}. */
        OutputStream stream(String contentType) {
            response.setStatusCode(200)
                    .setChunked(true)
                    .putHeader("Content-Type", contentType)
                    .putHeader("Cache-Control", "no-cache");
            response.writeHead(); // the client sees the answer begin before the first block is done
            return new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    write(new byte[] {(byte) b}, 0, 1);
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    awaitRoom();
                    try {
                        response.write(Buffer.buffer(Arrays.copyOfRange(b, off, off + len)));
                    } catch (IllegalStateException closed) {
                        hangUp();
                        throw new IOException("the client hung up", closed);
                    }
                }
            };
        }

        /**
         * Back-pressure: while the connection's write queue is full the stream waits for it to drain, at most
         * {@link ConnectionLimits#idleMillis()}; a client that reads nothing for that long is hung up on.
         */
        private void awaitRoom() throws IOException {
            long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(connectionLimits.idleMillis());
            synchronized (room) {
                while (!gone && response.writeQueueFull()) {
                    long left = end - System.nanoTime();
                    if (left <= 0) {
                        request.connection().close();
                        hangUp();
                        break;
                    }
                    try {
                        TimeUnit.NANOSECONDS.timedWait(room, Math.min(left, TimeUnit.MILLISECONDS.toNanos(200)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("the server is stopping", e);
                    }
                }
            }
            if (gone) {
                throw new IOException("the client hung up");
            }
        }

        void end() {
            if (!response.ended() && !response.closed()) {
                try {
                    response.end();
                } catch (IllegalStateException closedMeanwhile) {
                    // gone
                }
            }
        }
    }

    @FunctionalInterface
    private interface ThrowingRunnable {
        void run() throws IOException;
    }

    /** On the event loop, for every request head. */
    private void handle(HttpServerRequest request) {
        String requestId = Errors.newRequestId();
        request.response().putHeader("X-Request-Id", requestId);
        Exchange x = new Exchange(request, requestId);
        try {
            route(x);
        } catch (ApiException e) {
            x.fail(e);
        } catch (RuntimeException | Error e) {
            x.fail(Errors.toApi(e));
        }
    }

    /** The checks that need no I/O, on the event loop; then the store on a worker, or the body. */
    private void route(Exchange x) {
        HttpServerRequest request = x.request;
        String method = request.method().name();
        String path = path(request.uri());
        x.ollama = path.startsWith("/api/");
        crossSite.checkHost(request.getHeader("Host"));
        String origin = crossSite.allowOrigin(request.getHeader("Origin"), request.getHeader("Host"));
        if (origin != null) {
            x.response.putHeader("Access-Control-Allow-Origin", origin);
            x.response.putHeader("Vary", "Origin");
            x.response.putHeader("Access-Control-Expose-Headers", "Retry-After, X-Request-Id");
        }
        if (method.equals("OPTIONS")) {
            preflight(x, origin != null);
            return;
        }
        if (method.equals("POST") && !(x.ollama && notFromABrowser(request))) {
            requireJson(request.getHeader("Content-Type"));
        }
        if (path.equals("/") && method.equals("HEAD")) {
            x.response.setStatusCode(200).end(); // Ollama's liveness probe (its Go client's Heartbeat)
            return;
        }
        if (x.ollama) {
            apiKeys.check(request.getHeader("Authorization"));
            ollama(x, method, path);
            return;
        }
        Optional<Playground.Asset> page = Playground.asset(path);
        if (page.isPresent()) {
            requireMethod(method, "GET");
            x.page(page.get());
            return;
        }
        if (path.equals("/health")) {
            requireMethod(method, "GET");
            fromStore(x, () -> {
                LocalModels.Catalog catalog = models.catalog();
                String problem = models.workerProblem();
                return new Answer(
                        problem == null ? 200 : 503,
                        new Health(
                                problem == null ? "ok" : "degraded",
                                List.copyOf(catalog.models().keySet()),
                                models.loaded(),
                                catalog.broken().entrySet().stream()
                                        .map(b -> new BrokenModel(b.getKey(), b.getValue()))
                                        .toList(),
                                problem));
            });
            return;
        }
        if (!path.startsWith("/v1/")) {
            throw unknownPath();
        }
        apiKeys.check(request.getHeader("Authorization"));
        if (path.equals("/v1/models")) {
            requireMethod(method, "GET");
            fromStore(x, () -> new Answer(200, ModelList.of(cards())));
        } else if (path.startsWith("/v1/models/")) {
            requireMethod(method, "GET");
            String id = path.substring("/v1/models/".length());
            fromStore(
                    x,
                    () -> new Answer(
                            200,
                            cards().stream()
                                    .filter(c -> c.id().equals(id))
                                    .findFirst()
                                    .orElseThrow(() -> Errors.unknownModel(
                                            id, models.available().keySet()))));
        } else if (path.equals("/v1/chat/completions")) {
            requireMethod(method, "POST");
            Serving now = serving();
            if (now.service().refuseAsOverloaded()) {
                x.refuseOverloaded(); // before a byte of the body is read
                return;
            }
            x.readBody(
                    now.bodyLimit(),
                    bytes -> onEngine(x, () -> {
                        ObjectNode body = (ObjectNode) Json.readObject(bytes.getBytes(), ChatCompletionRequest.EXAMPLE);
                        Duration keepAlive = keepAlive(body);
                        ChatCompletionRequest r = ChatCompletionRequest.read(body);
                        answer(x, r.model(), keepAlive, service -> service.chat(r));
                    }));
        } else if (path.equals("/v1/completions")) {
            requireMethod(method, "POST");
            Serving now = serving();
            if (now.service().refuseAsOverloaded()) {
                x.refuseOverloaded();
                return;
            }
            x.readBody(
                    now.bodyLimit(),
                    bytes -> onEngine(x, () -> {
                        ObjectNode body = (ObjectNode) Json.readObject(bytes.getBytes(), CompletionRequest.EXAMPLE);
                        Duration keepAlive = keepAlive(body);
                        CompletionRequest r = CompletionRequest.read(body);
                        answer(x, r.model(), keepAlive, service -> service.completion(r));
                    }));
        } else {
            throw unknownPath();
        }
    }

    /**
     * Ollama's native API ({@link OllamaApi}, {@code docs/ollama.md}), on the event loop like the OpenAI routes: the
     * listings read the store on Vert.x's workers, a generation is admitted before its body is read and answered on
     * the engine pool through the same {@link OpenAiService}.
     */
    private void ollama(Exchange x, String method, String path) {
        long startNanos = System.nanoTime();
        switch (path) {
            case "/api/version" -> {
                ollamaMethod(method, "GET", path);
                x.json(200, Map.of("version", OllamaApi.VERSION));
            }
            case "/api/tags" -> {
                ollamaMethod(method, "GET", path);
                fromStore(x, () -> new Answer(200, OllamaApi.tags(models.available())));
            }
            case "/api/ps" -> {
                ollamaMethod(method, "GET", path);
                fromStore(x, () -> new Answer(200, OllamaApi.ps(models.resident())));
            }
            case "/api/show" -> {
                ollamaMethod(method, "POST", path);
                x.readBody(
                        MAX_BODY_BYTES,
                        bytes -> fromStore(x, () -> {
                            String name = OllamaApi.showModel(
                                    Json.readObject(bytes.getBytes(), "{\"model\": \"tiny-llada\"}"));
                            Path dir = models.available().get(OllamaApi.modelId(name));
                            if (dir == null) {
                                throw ollamaUnknownModel(name);
                            }
                            return new Answer(200, OllamaApi.show(OllamaApi.modelId(name), dir));
                        }));
            }
            case "/api/generate", "/api/chat" -> {
                ollamaMethod(method, "POST", path);
                boolean chat = path.equals("/api/chat");
                Serving now = serving();
                if (now.service().refuseAsOverloaded()) {
                    x.refuseOverloaded();
                    return;
                }
                x.readBody(
                        now.bodyLimit(),
                        bytes -> onEngine(x, () -> {
                            JsonNode body = Json.readObject(
                                    bytes.getBytes(), chat ? OllamaApi.CHAT_EXAMPLE : OllamaApi.GENERATE_EXAMPLE);
                            answerOllama(x, chat ? OllamaApi.chat(body) : OllamaApi.generate(body), startNanos);
                        }));
            }
            default ->
                throw new ApiException(
                        ErrorKind.NOT_FOUND,
                        "Unknown path " + path + ": the Ollama API here serves POST /api/generate, POST /api/chat, "
                                + "POST /api/show, GET /api/tags, GET /api/ps and GET /api/version (docs/ollama.md)",
                        null,
                        null,
                        0,
                        null);
        }
    }

    /**
     * On an engine thread: an Ollama generation, as {@link #answer} does an OpenAI one (the model held for the whole
     * answer, keep-alive applied once answered), written as Ollama's NDJSON stream or one object; or, without a
     * prompt, Ollama's load ({@code done_reason: "load"}) and unload ({@code keep_alive: 0}, {@code "unload"}).
     */
    private void answerOllama(Exchange x, OllamaApi.Request r, long startNanos) throws IOException {
        if (x.gone()) {
            return;
        }
        String id = r.model();
        x.model = id; // for the request's log line
        if (r.unload()) {
            if (!models.expire(id) && !models.available().containsKey(id)) {
                throw ollamaUnknownModel(r.name());
            }
            x.json(200, OllamaApi.loaded(r, "unload"));
            return;
        }
        LocalModels.Lease lease = ollamaLease(r);
        long loadNanos = System.nanoTime() - startNanos;
        if (r.loadOnly()) {
            lease.answered();
            lease.close();
            x.json(200, OllamaApi.loaded(r, "load"));
            return;
        }
        PendingGeneration pending;
        try {
            deriveBodyLimit();
            String template = lease.served().engine().manifest().chatTemplate();
            pending = new OpenAiService(List.of(lease.served()), limits, clock)
                    .generate(id, r.request(template != null && !template.isBlank()), r.params(), r.names());
            x.attach(pending);
        } catch (RuntimeException | Error e) {
            lease.close();
            throw e;
        }
        int promptTokens = pending.plan().promptTokens();
        if (r.stream()) {
            try (lease) {
                OllamaApi.Ndjson out = new OllamaApi.Ndjson(x.stream(OllamaApi.NDJSON), r);
                pending.streamTo(out, x::gone);
                java.util.concurrent.CompletableFuture<dev.unmask.engine.Generation> g = pending.generation();
                if (!out.failed() && !x.gone() && g.isDone() && !g.isCompletedExceptionally()) {
                    lease.answered();
                    out.send(OllamaApi.done(
                            r, "", g.join(), promptTokens, OllamaApi.Durations.of(startNanos, loadNanos, g.join())));
                }
            }
            x.end();
            return;
        }
        pending.generation()
                .whenCompleteAsync(
                        (g, failure) -> {
                            if (failure == null) {
                                lease.answered();
                            }
                            lease.close(); // with keep_alive 0 the model is gone when the client reads the answer
                            if (failure == null) {
                                x.json(
                                        200,
                                        OllamaApi.done(
                                                r,
                                                g.text(),
                                                g,
                                                promptTokens,
                                                OllamaApi.Durations.of(startNanos, loadNanos, g)));
                            } else {
                                x.fail(Errors.toApi(failure));
                            }
                        },
                        afterAnswer);
    }

    /** The model of an Ollama request, held; an unknown one is Ollama's 404 message. */
    private LocalModels.Lease ollamaLease(OllamaApi.Request r) {
        try {
            return models.acquire(r.model(), r.keepAlive());
        } catch (ApiException e) {
            if ("model_not_found".equals(e.code()) && !models.catalog().broken().containsKey(r.model())) {
                throw ollamaUnknownModel(r.name());
            }
            throw e;
        }
    }

    /** Ollama's 404 for a model it does not have, with the names this agent has. */
    private ApiException ollamaUnknownModel(String name) {
        return new ApiException(
                ErrorKind.NOT_FOUND,
                "model '" + name + "' not found: this agent serves "
                        + models.available().keySet().stream()
                                .map(m -> "\"" + m + "\"")
                                .toList()
                        + " (GET /api/tags lists them; 'unmask pull' installs more)",
                "model",
                "model_not_found",
                0,
                null);
    }

    private static void ollamaMethod(String method, String expected, String path) {
        if (!method.equals(expected)) {
            throw new ApiException(
                    ErrorKind.METHOD_NOT_ALLOWED,
                    "Wrong method " + method + " for " + path + ": use " + expected + " " + path,
                    null,
                    null,
                    0,
                    null);
        }
    }

    /**
     * The models in memory now, on the event loop: a new {@link Serving} when they changed (a model loaded or
     * unloaded), its body limit to be derived by the next request that loads on an engine thread. Every served model
     * full means a completion is refused, whichever model it names: its body is not read, so its model is not known,
     * and with the engine threads and cores taken by the full ones a load of another would not be served soon either
     * (the agent serves one person's models; the 429 says to come back in a second).
     */
    private Serving serving() {
        List<ServedModel> ready = models.ready();
        Serving s = serving.get();
        if (s.models().equals(ready)) {
            return s;
        }
        Serving fresh = new Serving(ready, new OpenAiService(ready, limits, clock), 0);
        serving.compareAndSet(s, fresh); // a racing change wins: the next request looks again
        return fresh;
    }

    /**
     * On an engine thread, once a request holds its model: derives the body limit from the models in memory
     * ({@link OpenAiService#maxBodyBytes}, a parse of each tokenizer, so never on the event loop), when every model
     * the store can serve is among them; a model not loaded may need a larger body, so until then
     * {@link #MAX_BODY_BYTES} stays. Done once per set of loaded models.
     */
    private void deriveBodyLimit() {
        Serving s = serving();
        if (s.maxBodyBytes() != 0) {
            return;
        }
        Set<String> loaded = new HashSet<>();
        s.models().forEach(m -> loaded.add(m.id()));
        long bound =
                loaded.containsAll(models.available().keySet()) ? s.service().maxBodyBytes() : NOT_DERIVABLE;
        serving.compareAndSet(s, new Serving(s.models(), s.service(), bound));
    }

    /** The request's path, percent-decoded as the JDK's server gave it. */
    private static String path(String uri) {
        try {
            String p = URI.create(uri).getPath();
            return p == null ? "" : p;
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid(null, "The request's path is not a URI path: use e.g. POST /v1/completions");
        }
    }

    /** A status and the body to write as JSON. */
    private record Answer(int status, Object body) {}

    /** Reads the store on Vert.x's worker pool (never behind engine work) and answers on the event loop. */
    private void fromStore(Exchange x, Supplier<Answer> read) {
        vertx.executeBlocking(read::get, false).onComplete(r -> {
            if (r.succeeded()) {
                x.json(r.result().status(), r.result().body());
            } else {
                x.fail(Errors.toApi(r.cause()));
            }
        });
    }

    /** Runs engine work on the engine pool: a full pool queues it; a stopped one answers 503. */
    private void onEngine(Exchange x, ThrowingRunnable work) {
        try {
            workers.execute(() -> x.guarded(work));
        } catch (RejectedExecutionException e) {
            x.fail(Errors.toApi(new UnmaskException(Failure.SHUTTING_DOWN, "The server is shutting down")));
        }
    }

    /**
     * On an engine thread: loads the model if needed and holds it for the whole answer; queues the request, then
     * streams it on this thread, or writes the whole answer when the scheduler completes it (no thread waits).
     */
    private void answer(Exchange x, String model, Duration keepAlive, Function<OpenAiService, PendingGeneration> submit)
            throws IOException {
        if (x.gone()) {
            return; // the client left while its body was parsed or queued: nothing to answer
        }
        x.model = model;
        LocalModels.Lease lease = models.acquire(model, keepAlive);
        PendingGeneration pending;
        try {
            deriveBodyLimit();
            pending = submit.apply(new OpenAiService(List.of(lease.served()), limits, clock));
            x.attach(pending);
        } catch (RuntimeException | Error e) {
            lease.close();
            throw e;
        }
        if (pending.streaming()) {
            try (lease) {
                // a failed write cancels the request; between writes (a block can take long) the close does
                pending.streamTo(x.stream(), x::gone);
                lease.answered();
            }
            x.end();
            return;
        }
        pending.answer()
                .whenCompleteAsync(
                        (whole, failure) -> {
                            if (failure == null) {
                                lease.answered();
                            }
                            // released before the answer is written: with keep_alive 0 the model is gone when the
                            // client
                            // reads it
                            lease.close();
                            if (failure == null) {
                                x.json(200, whole);
                            } else {
                                x.fail(Errors.toApi(failure));
                            }
                        },
                        afterAnswer);
    }

    /**
     * Answers {@code OPTIONS}: for an allowed browser origin, a CORS preflight answer that lets it send JSON with a
     * key (and whatever headers it asks for); otherwise the methods the server takes.
     */
    private static void preflight(Exchange x, boolean cors) {
        HttpServerResponse r = x.response;
        r.putHeader("Allow", CrossSite.ALLOWED_METHODS);
        if (cors) {
            r.putHeader("Access-Control-Allow-Methods", CrossSite.ALLOWED_METHODS);
            String asked = x.request.getHeader("Access-Control-Request-Headers");
            r.putHeader(
                    "Access-Control-Allow-Headers",
                    asked == null || asked.isBlank() ? "Authorization, Content-Type" : asked);
            r.putHeader("Access-Control-Max-Age", "600");
        }
        r.setStatusCode(204).end();
    }

    /**
     * Whether no browser sent it: every browser adds {@code Origin} to a POST (the Fetch standard, for every method
     * but GET and HEAD) and the {@code Sec-Fetch-*} headers to every request. Ollama's own examples post with
     * {@code curl -d '{...}'}, which declares the body form-encoded, and Ollama reads it as JSON all the same; on its
     * routes such a request is read as JSON too, while any browser's is held to {@link #requireJson}.
     */
    private static boolean notFromABrowser(HttpServerRequest request) {
        return request.getHeader("Origin") == null
                && request.getHeader("Sec-Fetch-Site") == null
                && request.getHeader("Sec-Fetch-Mode") == null;
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
                            + "for /v1/chat/completions and /v1/completions, GET for /v1/models, /health and /",
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
                        + "POST /v1/completions and GET /v1/models (and GET /health; the playground is at /)",
                null,
                null,
                0,
                null);
    }
}
