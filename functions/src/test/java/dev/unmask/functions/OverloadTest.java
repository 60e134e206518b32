package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;

/**
 * Under overload a refusal costs the server next to nothing: with the batch and the queue full, a generation request
 * is answered 429 before its body is read, and a client that sends again before its {@code Retry-After} gets its
 * next 429 only when that time is up.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
@DisabledIfSystemProperty(
        named = "unmask.test.lambda",
        matches = "true",
        disabledReason = OpenAiApiTest.LAMBDA_IS_SERIAL)
class OverloadTest {

    /** Infills run every step (no early exit): each holds its place for 256 steps. */
    static final String SLOW = OpenAiApiTest.q("{'model': 'tiny-llada', 'prompt': 'a', 'suffix': 'b', "
            + "'max_tokens': 256, 'block_length': 256, 'steps': 256}");

    static final String HEAD = "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-key\r\n"
            + "Content-Type: application/json\r\n";

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        new OpenAiApiTest().waitUntilReady();
    }

    static Socket send(String request) throws IOException {
        Socket s = new Socket("127.0.0.1", RestAssured.port);
        s.setSoTimeout(20_000);
        write(s, request);
        return s;
    }

    static void write(Socket s, String bytes) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(bytes.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    static String withBody(String body) {
        return HEAD + "Content-Length: " + body.getBytes(StandardCharsets.UTF_8).length + "\r\n\r\n" + body;
    }

    /** One HTTP answer with a Content-Length body, read off the socket. */
    static String answer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        int headEnd = -1;
        int length = -1;
        while (true) {
            int b = in.read();
            if (b < 0) {
                break;
            }
            got.write(b);
            String text = got.toString(StandardCharsets.UTF_8);
            if (headEnd < 0 && text.endsWith("\r\n\r\n")) {
                headEnd = text.length();
                String lower = text.toLowerCase();
                int at = lower.indexOf("content-length: ");
                length = Integer.parseInt(
                        lower.substring(at + 16, lower.indexOf("\r\n", at)).trim());
            }
            if (headEnd >= 0 && got.size() >= headEnd + length) {
                break;
            }
        }
        return got.toString(StandardCharsets.UTF_8);
    }

    static double queueDepth() {
        return RestAssured.given()
                .get("/q/metrics")
                .then()
                .statusCode(200)
                .extract()
                .asString()
                .lines()
                .filter(l -> l.startsWith("unmask_queue_depth{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    static JsonNode error(String http) throws IOException {
        return new ObjectMapper()
                .readTree(http.substring(http.indexOf("\r\n\r\n") + 4))
                .get("error");
    }

    @Test
    void aFullServerRefusesBeforeTheBodyIsReadAndHoldsAnEarlyRetryUntilItsRetryAfter() throws Exception {
        List<Socket> fillers = new ArrayList<>();
        try {
            // batch 4 + queue 4 in the test config: eight slow requests fill every place, a ninth is refused
            for (int i = 0; i < 8; i++) {
                fillers.add(send(withBody(SLOW)));
            }
            for (int i = 0; i < 300 && queueDepth() < 4; i++) {
                Thread.sleep(100); // every place taken: four waiting (more while the batch still finishes others)
            }
            assertTrue(queueDepth() >= 4, "the queue is full");

            try (Socket client = send(HEAD + "Content-Length: 64\r\n\r\n")) { // the body is not sent yet
                String first = answer(client);
                assertTrue(first.startsWith("HTTP/1.1 429"), "refused before its body was sent: " + first);
                assertTrue(first.contains("Retry-After: 1\r\n"), first);
                assertEquals("queue_full", error(first).get("code").asText());
                assertEquals("rate_limit_error", error(first).get("type").asText());

                write(client, " ".repeat(64)); // the body, drained by the server: the connection takes the next one
                long sent = System.nanoTime();
                write(client, withBody(SLOW)); // at once, ignoring Retry-After
                String second = answer(client);
                long heldMillis = (System.nanoTime() - sent) / 1_000_000;
                assertTrue(second.startsWith("HTTP/1.1 429"), second);
                assertTrue(heldMillis >= 500, "the early retry is answered when its Retry-After is up: " + heldMillis);
            }
        } finally {
            for (Socket s : fillers) {
                s.close(); // their requests are cancelled
            }
            // cancelled asynchronously: the next test class shares this server and must find room
            for (int i = 0; i < 600 && queueDepth() > 0; i++) {
                Thread.sleep(100);
            }
        }
    }
}
