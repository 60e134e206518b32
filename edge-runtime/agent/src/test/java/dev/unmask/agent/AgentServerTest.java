package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent's HTTP server against hostile and careless clients, over real sockets on loopback, with the real tiny
 * package: abandoned requests, half-open connections, cross-site pages, oversize bodies and its own faults.
 */
class AgentServerTest {

    static final String LONG_COMPLETION =
            "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 256, \"steps\": 256}";

    /** The real engine and scheduler, one request at a time, counting what the scheduler drops and finishes. */
    static final AtomicInteger cancelled = new AtomicInteger();

    static final AtomicInteger finished = new AtomicInteger();
    static LocalModels models;
    static AgentServer server;
    static URI base;

    @BeforeAll
    static void serve() {
        Path tiny = ReferencePackages.tinyLlada();
        SchedulerObserver counting = new SchedulerObserver() {
            @Override
            public void onCancelled() {
                cancelled.incrementAndGet();
            }

            @Override
            public void onFinished(int tokens, int steps) {
                finished.incrementAndGet();
            }
        };
        models = new LocalModels(
                () -> Map.of("tiny", tiny),
                (id, dir) -> {
                    Engine engine = Engine.open(dir, RuntimeOptions.defaults().withIntraOpThreads(1));
                    return new ServedModel(
                            id, engine, new BatchScheduler(engine, 1, 16, counting), System.currentTimeMillis() / 1000);
                },
                Duration.ofMinutes(5),
                line -> {});
        server = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of(),
                CrossSite.of(false, List.of("https://app.example.com")));
        server.start();
        base = URI.create("http://127.0.0.1:" + server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
        models.close();
    }

    /** A raw HTTP/1.1 request on its own socket, left open: the test decides when the client hangs up. */
    static Socket send(String method, String path, String host, String contentType, String body) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: " + host + "\r\n"
                + (contentType == null ? "" : "Content-Type: " + contentType + "\r\n")
                + "Content-Length: " + bytes.length + "\r\n\r\n";
        OutputStream out = s.getOutputStream();
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.write(bytes);
        out.flush();
        return s;
    }

    /** The answer on {@code s}: status line, headers and the body its Content-Length announces. */
    static String answer(Socket s) throws IOException {
        s.setSoTimeout(30_000);
        InputStream in = s.getInputStream();
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        byte[] buf = new byte[16 << 10];
        while (true) {
            String text = got.toString(StandardCharsets.UTF_8);
            int end = text.indexOf("\r\n\r\n");
            if (end >= 0) {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                        .matcher(text.substring(0, end));
                int length = m.find() ? Integer.parseInt(m.group(1)) : 0;
                if (got.size() >= end + 4 + length) {
                    return text;
                }
            }
            int n = in.read(buf);
            if (n < 0) {
                return got.toString(StandardCharsets.UTF_8);
            }
            got.write(buf, 0, n);
        }
    }

    static int inFlight() throws Exception {
        int total = 0;
        for (JsonNode m :
                ServeCommandTest.json(ServeCommandTest.get(base, "/health")).get("loaded")) {
            total += m.get("in_flight").asInt();
        }
        return total;
    }

    /** Polls {@code condition} every 50 ms for up to {@code seconds}; true once it held. */
    static boolean eventually(int seconds, ThrowingCondition condition) throws Exception {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < end) {
            if (condition.holds()) {
                return true;
            }
            Thread.sleep(50);
        }
        return condition.holds();
    }

    interface ThrowingCondition {
        boolean holds() throws Exception;
    }

    @Test
    void a_whole_answer_whose_client_hung_up_is_dropped_from_the_batch() throws Exception {
        assertNoAddOpens();
        // warm: the model is loaded, so that the four below wait in the scheduler, not for the load
        assertEquals(
                200,
                ServeCommandTest.post(base, "/v1/completions", LocalModelsTest.COMPLETION.formatted("tiny"))
                        .statusCode());
        int cancelledBefore = cancelled.get();
        int finishedBefore = finished.get();
        List<Socket> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            clients.add(send("POST", "/v1/completions", "127.0.0.1", "application/json", LONG_COMPLETION));
        }
        assertTrue(eventually(60, () -> inFlight() == 4), "all four accepted and waiting, one generating");
        for (Socket c : clients) {
            c.close(); // the client hangs up without reading
        }
        assertTrue(eventually(60, () -> inFlight() == 0), "their leases are released: " + inFlight());
        assertTrue(
                eventually(60, () -> cancelled.get() - cancelledBefore + finished.get() - finishedBefore == 4),
                "the scheduler has dealt with all four");
        assertTrue(
                cancelled.get() - cancelledBefore >= 3,
                "at least the three waiting behind the first are dropped, not generated: cancelled "
                        + (cancelled.get() - cancelledBefore) + ", finished " + (finished.get() - finishedBefore));
    }

    /** The server finds out about hang-ups through its own connections: no JDK internals opened for it. */
    static void assertNoAddOpens() {
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        assertTrue(jvm.stream().noneMatch(a -> a.contains("add-opens")), "this JVM opens nothing: " + jvm);
    }

    @Test
    void a_stream_whose_client_hung_up_is_cancelled() throws Exception {
        assertNoAddOpens();
        assertEquals(
                200,
                ServeCommandTest.post(base, "/v1/completions", LocalModelsTest.COMPLETION.formatted("tiny"))
                        .statusCode());
        int cancelledBefore = cancelled.get();
        int finishedBefore = finished.get();
        List<Socket> clients = new ArrayList<>();
        String stream = LONG_COMPLETION.replace("}", ", \"stream\": true}");
        for (int i = 0; i < 4; i++) {
            clients.add(send("POST", "/v1/completions", "127.0.0.1", "application/json", stream));
        }
        for (Socket c : clients) { // each stream has begun: its head is on the wire, one generates, three wait
            c.setSoTimeout(30_000);
            byte[] status = c.getInputStream().readNBytes("HTTP/1.1 200".length());
            assertEquals("HTTP/1.1 200", new String(status, StandardCharsets.ISO_8859_1));
        }
        assertTrue(eventually(60, () -> inFlight() == 4), "all four accepted and streaming or waiting");
        for (Socket c : clients) {
            c.close(); // the client hangs up mid-stream
        }
        assertTrue(eventually(60, () -> inFlight() == 0), "their leases are released: " + inFlight());
        assertTrue(
                eventually(60, () -> cancelled.get() - cancelledBefore + finished.get() - finishedBefore == 4),
                "the scheduler has dealt with all four");
        assertTrue(
                cancelled.get() - cancelledBefore >= 3,
                "at least the three waiting behind the first are dropped, not generated: cancelled "
                        + (cancelled.get() - cancelledBefore) + ", finished " + (finished.get() - finishedBefore));
    }

    @Test
    void six_hundred_half_open_connections_leave_health_and_completions_answering_and_are_closed_in_time()
            throws Exception {
        long headMillis = 20_000; // longer than the answers below take on a loaded machine, so they come while held
        ThreadMXBean jvm = ManagementFactory.getThreadMXBean();
        int threadsBefore = jvm.getThreadCount();
        try (AgentServer guarded = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of(),
                CrossSite.loopbackOnly(),
                new AgentServer.ConnectionLimits(AgentServer.MAX_CONNECTIONS, headMillis, 30_000, 1 << 20))) {
            URI at = URI.create("http://127.0.0.1:" + guarded.port());
            List<Socket> halfOpen = new ArrayList<>();
            try {
                for (int i = 0; i < 600; i++) { // as the load script's idle scenario: a head that never ends
                    Socket s = new Socket(InetAddress.getLoopbackAddress(), guarded.port());
                    s.getOutputStream()
                            .write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n".getBytes(StandardCharsets.ISO_8859_1));
                    halfOpen.add(s);
                }
                assertTrue(eventually(30, () -> guarded.openConnections() >= 600), "all 600 held");

                assertEquals(200, ServeCommandTest.get(at, "/health").statusCode());
                HttpResponse<String> completion =
                        ServeCommandTest.post(at, "/v1/completions", LocalModelsTest.COMPLETION.formatted("tiny"));
                assertEquals(200, completion.statusCode(), completion.body());
                assertTrue(
                        guarded.openConnections() >= 600,
                        "answered while the 600 were held: " + guarded.openConnections() + " open");
                assertEquals(0, guarded.timedOutConnections(), "none cut off yet");
                assertTrue(
                        jvm.getThreadCount() - threadsBefore < 100,
                        (jvm.getThreadCount() - threadsBefore) + " more threads for 600 connections");

                for (Socket s : halfOpen) { // each is closed by the server once its head is overdue
                    s.setSoTimeout((int) headMillis + 30_000);
                    try {
                        int b = s.getInputStream().read();
                        assertTrue(b < 0, "closed without an answer, got " + (char) b);
                    } catch (SocketTimeoutException e) {
                        throw new AssertionError("a half-sent request was held past its time", e);
                    } catch (IOException reset) {
                        // closed under it: fine
                    }
                }
                assertTrue(guarded.timedOutConnections() >= 600, guarded.timedOutConnections() + " timed out");
                assertTrue(eventually(30, () -> guarded.openConnections() == 0), "none left open");
            } finally {
                for (Socket s : halfOpen) {
                    s.close();
                }
            }
        }
    }

    @Test
    void connections_beyond_the_cap_are_closed_at_once_and_the_server_recovers_when_they_go() throws Exception {
        try (AgentServer capped = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of(),
                CrossSite.loopbackOnly(),
                new AgentServer.ConnectionLimits(20, 60_000, 60_000, 1 << 20))) {
            URI at = URI.create("http://127.0.0.1:" + capped.port());
            List<Socket> full = new ArrayList<>();
            try {
                for (int i = 0; i < 20; i++) {
                    full.add(new Socket(InetAddress.getLoopbackAddress(), capped.port()));
                }
                assertTrue(eventually(30, () -> capped.openConnections() == 20), "the cap is reached");
                try (Socket over = new Socket(InetAddress.getLoopbackAddress(), capped.port())) {
                    over.getOutputStream()
                            .write("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                                    .getBytes(StandardCharsets.ISO_8859_1));
                    over.setSoTimeout(30_000);
                    try {
                        assertEquals(-1, over.getInputStream().read(), "closed, not answered nor held");
                    } catch (SocketTimeoutException e) {
                        throw new AssertionError("a connection beyond the cap was held", e);
                    } catch (IOException reset) {
                        // closed under it: fine
                    }
                }
                assertTrue(capped.refusedConnections() >= 1);
            } finally {
                for (Socket s : full) {
                    s.close();
                }
            }
            assertTrue(eventually(30, () -> capped.openConnections() == 0), "the closed ones are counted out");
            assertEquals(200, ServeCommandTest.get(at, "/health").statusCode(), "and new clients are served");
        }
    }

    @Test
    void an_oversize_body_is_refused_while_it_is_still_coming_declared_or_chunked() throws Exception {
        // declared: 1 GiB announced, 64 KiB sent; the 413 comes at once, not after the rest
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            + "Content-Length: " + (1L << 30) + "\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.write(new byte[64 << 10]);
            out.flush();
            String r = answer(s);
            assertTrue(r.startsWith("HTTP/1.1 413") && r.contains("\"code\":\"request_too_large\""), r);
        }
        // chunked: no length; refused once the limit is crossed, before the body ends (it never does here)
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            byte[] chunk = new byte[64 << 10];
            java.util.Arrays.fill(chunk, (byte) ' ');
            for (int sent = 0; sent <= AgentServer.MAX_BODY_BYTES; sent += chunk.length) {
                out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(chunk);
                out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
            String r = answer(s);
            assertTrue(r.startsWith("HTTP/1.1 413") && r.contains("\"code\":\"request_too_large\""), r);
        }
    }

    @Test
    void a_port_in_use_is_refused_with_a_hint_and_leaves_no_server_threads_behind() throws Exception {
        int before = Thread.activeCount();
        java.io.UncheckedIOException e = org.junit.jupiter.api.Assertions.assertThrows(
                java.io.UncheckedIOException.class,
                () -> new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), server.port()),
                        models,
                        ServingLimits.defaults(),
                        List.of()));
        assertTrue(
                e.getMessage().contains("is another 'unmask serve' running? Choose another port with --port"),
                e.getMessage());
        assertTrue(
                Thread.activeCount() <= before + 2,
                "its event loop is closed: " + Thread.activeCount() + " threads, were " + before);
    }

    @Test
    void a_request_line_or_headers_past_their_limits_are_refused_by_the_parser() throws Exception {
        try (Socket s =
                send("GET", "/health?" + "a".repeat(AgentServer.MAX_INITIAL_LINE_BYTES), "127.0.0.1", null, "")) {
            String r = answer(s);
            assertTrue(r.matches("(?s)HTTP/1\\.[01] 414 .*"), r); // the version is unknown when the line is cut
        }
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.getOutputStream()
                    .write(("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
                                    + "a".repeat(AgentServer.MAX_HEADER_BYTES) + "\r\n\r\n")
                            .getBytes(StandardCharsets.ISO_8859_1));
            String r = answer(s);
            assertTrue(r.matches("(?s)HTTP/1\\.[01] 431 .*"), r);
        }
        assertEquals(200, ServeCommandTest.get(base, "/health").statusCode(), "and the server goes on");
    }

    @Test
    void half_open_connections_cost_no_thread_and_slow_headers_are_cut_off() throws Exception {
        List<Socket> silent = new ArrayList<>();
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                silent.add(new Socket(InetAddress.getLoopbackAddress(), server.port()));
            }
            for (int i = 0; i < 100; i++) { // half a request: the line and one header, never the blank line
                Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
                s.getOutputStream()
                        .write("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                .getBytes(StandardCharsets.ISO_8859_1));
                s.getOutputStream().flush();
                slow.add(s);
            }
            Thread.sleep(500);
            assertTrue(
                    server.threads() <= AgentServer.MAX_THREADS,
                    server.threads() + " handler threads for 300 connections");

            HttpResponse<String> health = ServeCommandTest.get(base, "/health");
            assertEquals(200, health.statusCode(), "still answers, at worst once the slow headers are cut off");

            // every half-sent request is closed by the server after its REQUEST_SECONDS
            for (Socket s : slow) {
                s.setSoTimeout((AgentServer.REQUEST_SECONDS + 20) * 1000);
                try {
                    int b = s.getInputStream().read();
                    assertTrue(b < 0 || b == 'H', "closed, or answered (a 400 for the cut request)");
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("a half-sent request was held past its time", e);
                } catch (IOException reset) {
                    // closed under it: fine
                }
            }
            assertTrue(server.threads() <= AgentServer.MAX_THREADS);
        } finally {
            for (Socket s : silent) {
                s.close();
            }
            for (Socket s : slow) {
                s.close();
            }
        }
    }

    @Test
    void a_post_that_is_not_json_is_refused_with_415() throws Exception {
        for (String type : new String[] {"text/plain", "application/x-www-form-urlencoded", null}) {
            try (Socket s = send("POST", "/v1/completions", "127.0.0.1", type, LONG_COMPLETION)) {
                String r = answer(s);
                assertTrue(r.startsWith("HTTP/1.1 415"), type + ": " + r);
                assertTrue(r.contains("\"code\":\"unsupported_media_type\"") && r.contains("application/json"), r);
            }
        }
        try (Socket s = send(
                "POST",
                "/v1/completions",
                "127.0.0.1",
                "application/json; charset=utf-8",
                LocalModelsTest.COMPLETION.formatted("tiny"))) {
            assertTrue(answer(s).startsWith("HTTP/1.1 200"), "with a charset it is JSON still");
        }
    }

    @Test
    void a_foreign_host_is_refused_so_that_dns_rebinding_reaches_nothing() throws Exception {
        try (Socket s = send("GET", "/health", "evil.example:11435", null, "")) {
            String r = answer(s);
            assertTrue(r.startsWith("HTTP/1.1 403") && r.contains("\"code\":\"forbidden_host\""), r);
        }
        for (String host : new String[] {"localhost:" + server.port(), "127.0.0.1", "[::1]:1", "app.localhost"}) {
            try (Socket s = send("GET", "/health", host, null, "")) {
                assertTrue(answer(s).startsWith("HTTP/1.1 200"), host);
            }
        }
    }

    @Test
    void a_foreign_origin_is_refused_and_an_allowed_one_gets_cors() throws Exception {
        HttpResponse<String> foreign = ServeCommandTest.HTTP.send(
                HttpRequest.newBuilder(base.resolve("/v1/completions"))
                        .header("Content-Type", "application/json")
                        .header("Origin", "https://evil.example")
                        .POST(HttpRequest.BodyPublishers.ofString(LONG_COMPLETION))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(403, foreign.statusCode(), foreign.body());
        assertEquals(
                "forbidden_origin",
                ServeCommandTest.json(foreign).at("/error/code").asText());
        assertTrue(foreign.body().contains("--allow-origin https://evil.example"), "says how to allow it");
        assertFalse(foreign.headers().firstValue("Access-Control-Allow-Origin").isPresent());

        for (String origin : new String[] {"https://app.example.com", "http://localhost:3000"}) {
            HttpResponse<String> preflight = ServeCommandTest.HTTP.send(
                    HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                            .header("Origin", origin)
                            .header("Access-Control-Request-Method", "POST")
                            .header("Access-Control-Request-Headers", "authorization, content-type, x-stainless-os")
                            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(204, preflight.statusCode(), origin);
            assertEquals(
                    origin,
                    preflight
                            .headers()
                            .firstValue("Access-Control-Allow-Origin")
                            .orElse(""));
            assertTrue(preflight
                    .headers()
                    .firstValue("Access-Control-Allow-Methods")
                    .orElse("")
                    .contains("POST"));
            assertTrue(preflight
                    .headers()
                    .firstValue("Access-Control-Allow-Headers")
                    .orElse("")
                    .contains("x-stainless-os"));

            HttpResponse<String> models = ServeCommandTest.get(base, "/v1/models", "Origin", origin);
            assertEquals(200, models.statusCode());
            assertEquals(
                    origin,
                    models.headers().firstValue("Access-Control-Allow-Origin").orElse(""));
        }
        HttpResponse<String> foreignPreflight = ServeCommandTest.HTTP.send(
                HttpRequest.newBuilder(base.resolve("/v1/chat/completions"))
                        .header("Origin", "https://evil.example")
                        .header("Access-Control-Request-Method", "POST")
                        .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(403, foreignPreflight.statusCode());
    }

    @Test
    void an_oversize_body_gets_an_openai_413_not_a_reset() throws Exception {
        byte[] big = new byte[AgentServer.MAX_BODY_BYTES + (1 << 20)];
        java.util.Arrays.fill(big, (byte) ' ');
        HttpResponse<String> declared = ServeCommandTest.HTTP.send(
                HttpRequest.newBuilder(base.resolve("/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(big))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, declared.statusCode(), declared.body());
        assertEquals(
                "request_too_large",
                ServeCommandTest.json(declared).at("/error/code").asText());

        HttpResponse<String> chunked = ServeCommandTest.HTTP.send( // no Content-Length: found while reading
                HttpRequest.newBuilder(base.resolve("/v1/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big)))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(413, chunked.statusCode(), chunked.body());
        assertEquals(
                "request_too_large",
                ServeCommandTest.json(chunked).at("/error/code").asText());
    }

    @Test
    void a_500_is_logged_with_its_stack_and_the_request_id_its_body_names() throws Exception {
        List<LogRecord> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                synchronized (logged) {
                    logged.add(r);
                }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger("dev.unmask"); // the server's own log and the shared Errors' (unmask-openai)
        log.addHandler(capture);
        try (LocalModels broken = new LocalModels(
                        () -> {
                            throw new IllegalStateException("the catalog exploded");
                        },
                        (id, dir) -> {
                            throw new AssertionError("never loads");
                        },
                        Duration.ZERO,
                        line -> {});
                AgentServer faulty = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        broken,
                        ServingLimits.defaults(),
                        List.of())) {
            faulty.start();
            HttpResponse<String> r =
                    ServeCommandTest.get(URI.create("http://127.0.0.1:" + faulty.port()), "/v1/models");
            assertEquals(500, r.statusCode(), r.body());
            String id = r.headers().firstValue("X-Request-Id").orElseThrow();
            assertTrue(id.startsWith("req_"), id);
            assertTrue(ServeCommandTest.json(r).at("/error/message").asText().contains(id), r.body());
            synchronized (logged) {
                assertTrue(
                        logged.stream()
                                .anyMatch(l -> l.getMessage().contains(id)
                                        && l.getThrown() != null
                                        && l.getThrown().getMessage().contains("the catalog exploded")),
                        "logged with the id and the stack");
            }
        } finally {
            log.removeHandler(capture);
        }
    }

    @Test
    void listening_on_every_address_it_prints_a_base_url_that_works_and_skips_the_host_check() throws Exception {
        try (LocalModels none = new LocalModels(Map::of, (id, dir) -> null, Duration.ZERO, line -> {});
                AgentServer wide = new AgentServer(
                        new InetSocketAddress(InetAddress.getByName("0.0.0.0"), 0),
                        none,
                        ServingLimits.defaults(),
                        List.of("k"),
                        CrossSite.of(true, List.of()))) {
            wide.start();
            assertEquals(
                    "http://127.0.0.1:" + wide.port() + "/v1", wide.baseUri().toString());
            assertEquals(
                    200,
                    ServeCommandTest.get(
                                    URI.create("http://127.0.0.1:" + wide.port()),
                                    "/v1/models",
                                    "Authorization",
                                    "Bearer k")
                            .statusCode());
            try (Socket s = new Socket(InetAddress.getLoopbackAddress(), wide.port())) {
                s.getOutputStream()
                        .write("GET /health HTTP/1.1\r\nHost: my-box.lan:1\r\n\r\n"
                                .getBytes(StandardCharsets.ISO_8859_1));
                s.setSoTimeout(30_000);
                String r = answer(s);
                assertTrue(r.startsWith("HTTP/1.1 200"), "another machine names it by its own name: " + r);
            }
        }
    }
}
