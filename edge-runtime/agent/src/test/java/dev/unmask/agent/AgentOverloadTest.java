package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.OpenAiService;
import dev.unmask.openai.OverloadRefusals;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Under overload the agent refuses as cheaply as the functions do ({@link OverloadRefusals}, issue 12): a completion
 * is refused before its body is read, a client that retries on the same connection before its {@code Retry-After}
 * is answered when that time is up, and the body limit is the one the served package can use. Real server on
 * loopback, the real tiny package, one place in the batch and two in the queue, filled by three long completions.
 */
class AgentOverloadTest {

    /** A completion that keeps the tiny model busy for seconds: 448 forward passes. */
    static final String LONG = "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 448, \"steps\": 448}";

    static final String SHORT = "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 4, \"steps\": 4}";

    static final ServingLimits LIMITS = new ServingLimits(512, 512, 0);

    static final AtomicReference<ServedModel> tiny = new AtomicReference<>();
    static LocalModels models;
    static AgentServer server;
    static URI base;

    /** The long completions that fill batch and queue; closing them cancels them. */
    final List<Socket> fillers = new ArrayList<>();

    @BeforeAll
    static void serve() throws Exception {
        Path dir = ReferencePackages.tinyLlada();
        models = new LocalModels(
                () -> Map.of("tiny", dir),
                (id, d) -> {
                    Engine engine = Engine.open(d, RuntimeOptions.defaults().withIntraOpThreads(1));
                    ServedModel m = new ServedModel(
                            id,
                            engine,
                            new BatchScheduler(engine, 1, 2, SchedulerObserver.NONE),
                            System.currentTimeMillis() / 1000);
                    tiny.set(m);
                    return m;
                },
                Duration.ofMinutes(5),
                line -> {});
        server = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                LIMITS,
                List.of(),
                CrossSite.loopbackOnly());
        base = URI.create("http://127.0.0.1:" + server.port());
        assertEquals(200, ServeCommandTest.post(base, "/v1/completions", SHORT).statusCode(), "loaded");
    }

    @AfterAll
    static void stop() {
        server.close();
        models.close();
    }

    @AfterEach
    void release() throws Exception {
        for (Socket s : fillers) {
            s.close(); // cancelled on the close
        }
        // idle, not merely with room: a cancelled filler still in the batch would take a place from the next fill
        assertTrue(AgentServerTest.eventually(60, AgentOverloadTest::idle), "the fillers are gone");
    }

    static boolean idle() {
        BatchScheduler scheduler = tiny.get().scheduler();
        return scheduler.activeCount() == 0 && scheduler.queueDepth() == 0;
    }

    /** Three long completions: one denoising, two queued; batch and queue are full. */
    void fill() throws Exception {
        BatchScheduler scheduler = tiny.get().scheduler();
        for (int i = 1; i <= 3; i++) {
            fillers.add(send(LONG));
            int admitted = i;
            // one at a time, so that each is admitted (not refused) before the next arrives
            assertTrue(
                    AgentServerTest.eventually(60, () -> scheduler.activeCount() + scheduler.queueDepth() == admitted),
                    "filler " + i + " admitted");
        }
        assertFalse(scheduler.hasRoom(), "batch and queue are full");
    }

    static Socket send(String body) throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port());
        sendOn(s, body);
        return s;
    }

    static void sendOn(Socket s, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        OutputStream out = s.getOutputStream();
        out.write(head(bytes.length).getBytes(StandardCharsets.ISO_8859_1));
        out.write(bytes);
        out.flush();
    }

    static String head(long contentLength) {
        return "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + contentLength + "\r\n\r\n";
    }

    @Test
    void a_full_server_refuses_a_completion_from_its_headers_without_waiting_for_the_body() throws Exception {
        fill();
        long refusedBefore = server.overloadRefusals();
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            // the head announces a body that never comes: a server that read it first would answer after 10 s
            s.getOutputStream().write(head(2000).getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String answer = AgentServerTest.answer(s);
            assertTrue(answer.startsWith("HTTP/1.1 429"), answer);
            assertTrue(answer.toLowerCase().contains("retry-after: " + OverloadRefusals.RETRY_AFTER_SECONDS), answer);
            assertTrue(answer.contains("\"code\":\"queue_full\""), answer);
        }
        assertEquals(refusedBefore + 1, server.overloadRefusals(), "refused before the body: no JSON was parsed");
        assertFalse(tiny.get().scheduler().hasRoom(), "still full: the refusal was for overload");
    }

    @Test
    void an_early_retry_on_the_same_connection_is_held_until_its_retry_after_and_a_fresh_connection_is_not()
            throws Exception {
        fill();
        long heldBefore = server.heldRefusals();
        try (Socket s = send(SHORT)) {
            String first = AgentServerTest.answer(s);
            long firstAt = System.nanoTime();
            assertTrue(first.startsWith("HTTP/1.1 429"), first);
            sendOn(s, SHORT); // at once, ignoring Retry-After: 1
            String second = AgentServerTest.answer(s);
            long heldMillis = (System.nanoTime() - firstAt) / 1_000_000;
            assertTrue(second.startsWith("HTTP/1.1 429"), second);
            assertEquals(heldBefore + 1, server.heldRefusals(), "the retry was held");
            // Retry-After is 1 s; the timer was set when the first answer was written, a little before it was read
            assertTrue(heldMillis >= 700, "answered only when Retry-After was up, not at once: " + heldMillis + " ms");
        }
        try (Socket fresh = send(SHORT)) {
            String answer = AgentServerTest.answer(fresh);
            assertTrue(answer.startsWith("HTTP/1.1 429"), answer);
        }
        assertEquals(heldBefore + 1, server.heldRefusals(), "a fresh connection is answered at once");
        assertFalse(tiny.get().scheduler().hasRoom(), "full all along");
    }

    @Test
    void without_holding_an_early_retry_is_answered_at_once() throws Exception {
        fill();
        try (AgentServer unheld = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        models,
                        LIMITS,
                        List.of(),
                        CrossSite.loopbackOnly(),
                        AgentServer.ConnectionLimits.defaults(),
                        false);
                Socket s = new Socket(InetAddress.getLoopbackAddress(), unheld.port())) {
            for (int i = 0; i < 3; i++) {
                sendOn(s, SHORT);
                String answer = AgentServerTest.answer(s);
                assertTrue(answer.startsWith("HTTP/1.1 429"), answer);
            }
            assertEquals(3, unheld.overloadRefusals());
            assertEquals(0, unheld.heldRefusals(), "--no-hold-early-retries: none held");
        }
    }

    @Test
    void the_body_limit_is_what_the_served_package_can_use() throws Exception {
        long expected = new OpenAiService(List.of(tiny.get()), LIMITS, Clock.systemUTC()).maxBodyBytes();
        assertTrue(expected < AgentServer.MAX_BODY_BYTES, "the tiny package needs far less than 4 MiB: " + expected);
        assertEquals(expected, server.bodyLimit(), "derived once the only servable model is loaded");
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.getOutputStream().write(head(expected + 1).getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            String answer = AgentServerTest.answer(s);
            assertTrue(answer.startsWith("HTTP/1.1 413"), "refused from its Content-Length: " + answer);
            assertTrue(answer.contains(Long.toString(expected)), "the message names the limit: " + answer);
        }
        // chunked, no length: refused while it arrives, once past the package's limit (it never ends here)
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                            + "Transfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            byte[] chunk = " ".repeat(16 << 10).getBytes(StandardCharsets.ISO_8859_1);
            for (long sent = 0; sent <= expected; sent += chunk.length) {
                out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
                out.write(chunk);
                out.write("\r\n".getBytes(StandardCharsets.ISO_8859_1));
            }
            out.flush();
            String answer = AgentServerTest.answer(s);
            assertTrue(answer.startsWith("HTTP/1.1 413"), "refused while reading: " + answer);
            assertTrue(answer.contains(Long.toString(expected)), "the package's limit, not 4 MiB: " + answer);
        }
        // a body of exactly the limit is read: its prompt is then judged (too long for the canvas)
        String prefix = "{\"model\": \"tiny\", \"max_tokens\": 4, \"prompt\": \"";
        String body = prefix + "a".repeat((int) expected - prefix.length() - 2) + "\"}";
        assertEquals(expected, body.getBytes(StandardCharsets.UTF_8).length);
        try (Socket s = send(body)) {
            String answer = AgentServerTest.answer(s);
            assertTrue(answer.startsWith("HTTP/1.1 400"), answer);
            assertTrue(answer.contains("context_length_exceeded"), answer);
        }
    }
}
