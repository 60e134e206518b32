package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.openai.Errors;
import dev.unmask.openai.RequestBodies;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.ref.WeakReference;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;

/**
 * What a hostile or careless client gets, over HTTP on the real tiny package: a clean OpenAI-shaped error for a
 * prompt no canvas holds, a body too large or nested too deep, and for a fault of the server's own a 500 whose id
 * leads to its stack in the log; and the gauges it watches keep reading numbers.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class HostileRequestsTest {

    @Inject
    ModelHost host;

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        new OpenAiApiTest().waitUntilReady();
    }

    /** A POST with java.net.http: RestAssured keeps and pretty-prints request bodies, which hostile ones defeat. */
    static JsonNode post(String path, String body, int status) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + RestAssured.port + path))
                                .header("Authorization", "Bearer test-key")
                                .header("Content-Type", "application/json")
                                .timeout(Duration.ofSeconds(60))
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(status, r.statusCode(), r.body());
        return new ObjectMapper().readTree(r.body()).get("error");
    }

    @Test
    void aPromptNoCanvasHoldsIsContextLengthExceededOnTheFieldAsSent() throws Exception {
        // 40 000 characters: more than 511 tokens of at most 49 characters cover, fewer bytes than the body limit
        String huge = "word ".repeat(8_000);
        JsonNode completion = post(
                "/v1/completions",
                OpenAiApiTest.q("{'model': 'tiny-llada', 'prompt': '" + huge + "', 'max_tokens': 8}"),
                400);
        assertEquals("context_length_exceeded", completion.get("code").asText());
        assertEquals("prompt", completion.get("param").asText());
        assertTrue(completion.get("message").asText().contains("characters"), completion.toString());
        JsonNode chat = post(
                "/v1/chat/completions",
                OpenAiApiTest.q("{'model': 'tiny-llada', 'messages': [{'role': 'user', 'content': '" + huge + "'}]}"),
                400);
        assertEquals("context_length_exceeded", chat.get("code").asText());
        assertEquals("messages", chat.get("param").asText());
        JsonNode infill = post(
                "/v1/completions",
                OpenAiApiTest.q("{'model': 'tiny-llada', 'prompt': 'x', 'suffix': '" + "word ".repeat(700) + "'}"),
                400);
        assertEquals("context_length_exceeded", infill.get("code").asText());
        assertEquals("prompt", infill.get("param").asText());
    }

    @Test
    void jsonNestedDeeperThanAThousandLevelsIsA400() throws Exception {
        String deep = "[".repeat(1001) + "]".repeat(1001);
        for (String path : List.of("/v1/chat/completions", "/v1/completions")) {
            JsonNode error = post(
                    path, "{\"model\": \"tiny-llada\", \"messages\": " + deep + ", \"prompt\": " + deep + "}", 400);
            assertEquals("invalid_request_error", error.get("type").asText());
            assertEquals("invalid_json", error.get("code").asText());
            assertTrue(error.get("message").asText().contains("nests deeper"), error.toString());
        }
    }

    @Test
    @DisabledIfSystemProperty(
            named = "unmask.test.lambda",
            matches = "true",
            disabledReason = "API Gateway sizes bodies itself; the mock event server has no such limit")
    void aBodyLargerThanThePackageCanUseIsA413WithAnOpenAiErrorBeforeItIsRead() throws Exception {
        long limit = derivedBodyLimit();
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-key\r\n"
                            + "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"model\": ")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            ByteArrayOutputStream answer = new ByteArrayOutputStream();
            byte[] buffer = new byte[4096];
            for (int n; (n = in.read(buffer)) > 0; ) {
                answer.write(buffer, 0, n);
                if (answer.toString(StandardCharsets.UTF_8).endsWith("}}")) {
                    break;
                }
            }
            String http = answer.toString(StandardCharsets.UTF_8);
            assertTrue(http.startsWith("HTTP/1.1 413"), http);
            JsonNode error = new ObjectMapper()
                    .readTree(http.substring(http.indexOf("\r\n\r\n") + 4))
                    .get("error");
            assertEquals("invalid_request_error", error.get("type").asText());
            assertEquals("request_too_large", error.get("code").asText());
            assertTrue(error.get("message").asText().contains(limit + " bytes"), error.toString());
        }
    }

    /**
     * The limit the loaded package implies: its longest prompt (511 tokens of at most 49 characters) as JSON, 6 bytes
     * a character at most, plus room for the rest; far under the configured 10 MiB, far over any request that fits.
     */
    long derivedBodyLimit() throws InterruptedException {
        for (int i = 0; i < 300 && host.maxBodyBytes() == RequestBodies.UNBOUNDED; i++) {
            Thread.sleep(100); // derived just after the model serves
        }
        long limit = host.maxBodyBytes();
        assertTrue(limit >= 6L * 511 * 49 && limit < 1_000_000, "derived from the package: " + limit);
        return limit;
    }

    @Test
    @DisabledIfSystemProperty(
            named = "unmask.test.lambda",
            matches = "true",
            disabledReason = "API Gateway sizes bodies itself; the mock event server has no such limit")
    void aChunkedBodyLargerThanThePackageCanUseIsA413WithAnOpenAiError() throws Exception {
        long limit = derivedBodyLimit();
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            socket.setSoTimeout(30_000);
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-key\r\n"
                            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
                    .getBytes(StandardCharsets.US_ASCII));
            byte[] chunk = ("{\"model\": \"tiny-llada\", \"prompt\": \"" + "x".repeat(16_000))
                    .getBytes(StandardCharsets.US_ASCII);
            try {
                for (long sent = 0; sent <= limit; sent += chunk.length) {
                    out.write((Integer.toHexString(chunk.length) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                    out.write(chunk);
                    out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
                }
                out.flush();
            } catch (java.io.IOException closedEarly) {
                // the server answered and closed once the limit was passed: the answer is still there to read
            }
            String http = OverloadTest.answer(socket);
            assertTrue(http.startsWith("HTTP/1.1 413"), http);
            JsonNode error = new ObjectMapper()
                    .readTree(http.substring(http.indexOf("\r\n\r\n") + 4))
                    .get("error");
            assertEquals("request_too_large", error.get("code").asText());
            assertTrue(error.get("message").asText().contains(limit + " bytes"), error.toString());
        }
    }

    @Test
    void aServerFaultIsA500WhoseRequestIdLeadsToItsStackInTheLog() {
        List<LogRecord> logged = new CopyOnWriteArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger(Errors.class.getName());
        log.addHandler(capture);
        try {
            Response r = OpenAiApiTest.api().get("/v1/test/planted-fault");
            assertEquals(500, r.statusCode());
            assertEquals("server_error", r.path("error.type"));
            assertEquals("internal_error", r.path("error.code"));
            String id = r.header("X-Request-Id");
            assertNotNull(id, "the id is a header");
            assertTrue(r.<String>path("error.message").contains(id), "and in the message: " + r.asString());
            LogRecord record = logged.stream()
                    .filter(l -> l.getMessage().contains(id))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError("no log record names " + id + ": " + logged));
            assertNotNull(record.getThrown(), "the stack is logged");
            assertEquals(PlantedFaultResource.MESSAGE, record.getThrown().getMessage());
        } finally {
            log.removeHandler(capture);
        }
    }

    @Test
    void theQueueAndBatchGaugesReadNumbersAfterAGarbageCollection() throws InterruptedException {
        WeakReference<Object> canary = new WeakReference<>(new Object());
        for (int i = 0; i < 50 && canary.get() != null; i++) {
            System.gc(); // what clears a gauge's weak reference
            Thread.sleep(20);
        }
        assertSame(null, canary.get(), "a collection ran");
        String metrics =
                given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String gauge : List.of("unmask_queue_depth{", "unmask_batch_active{")) {
            String line = metrics.lines()
                    .filter(l -> l.startsWith(gauge) && l.contains("model=\"tiny-llada\""))
                    .findFirst()
                    .orElseThrow(() -> new AssertionError(gauge + " in /q/metrics"));
            double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            assertFalse(Double.isNaN(value), line);
            assertTrue(value >= 0, line);
        }
    }
}
