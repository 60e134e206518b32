package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The function's streams over real HTTP, for both families (the profile that serves tiny-llada and tiny-dream): the
 * text flows step by step, and what a client assembles from the chunks is exactly the plain answer of the same
 * request, with the same finish_reason and usage.
 */
@QuarkusTest
@TestProfile(DreamApiTest.BothFamilies.class)
class StreamingApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static volatile boolean ready;

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        for (int i = 0; !ready && i < 600; i++) {
            ready = given().get("/q/health/ready").statusCode() == 200;
            if (!ready) {
                Thread.sleep(100);
            }
        }
        assertTrue(ready, "both packages load within a minute");
    }

    static RequestSpecification api() {
        return given().header("Authorization", "Bearer test-key").contentType("application/json");
    }

    static Response post(String path, String body) {
        return api().body(body.replace('\'', '"')).post(path);
    }

    /** What a client makes of a stream: the content chunks, the finish_reason, the usage of the last chunk. */
    record Assembled(List<String> contents, String finishReason, JsonNode usage) {
        String text() {
            return String.join("", contents);
        }
    }

    static Assembled assemble(Response r) throws Exception {
        assertEquals(200, r.statusCode(), r.asString());
        assertTrue(r.contentType().startsWith("text/event-stream"), r.contentType());
        List<JsonNode> chunks = DreamApiTest.events(r.asString());
        List<String> contents = new ArrayList<>();
        String finish = null;
        for (JsonNode c : chunks) {
            JsonNode choice = c.at("/choices/0");
            if (choice.isMissingNode()) {
                continue;
            }
            assertFalse(c.has("usage") && !c.get("usage").isNull(), "usage only on the last chunk, without choices");
            String piece = choice.has("delta")
                    ? choice.at("/delta/content").asText("")
                    : choice.path("text").asText("");
            if (!piece.isEmpty()) {
                assertEquals(null, finish, "no content after the finish_reason");
                contents.add(piece);
            }
            if (choice.path("finish_reason").isTextual()) {
                finish = choice.get("finish_reason").asText();
            }
        }
        return new Assembled(contents, finish, chunks.get(chunks.size() - 1).get("usage"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llada", "tiny-dream"})
    void theChunksConcatenatedAreThePlainAnswerWithItsFinishReasonAndUsage(String model) throws Exception {
        List<String> requests = List.of(
                "{'model': '" + model + "', 'prompt': 'def add(a, b):', 'max_tokens': 32",
                "{'model': '" + model + "', 'prompt': 'x = ', 'suffix': '\\n', 'max_tokens': 16",
                "{'model': '" + model + "', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 32");
        int sent = 0;
        for (String base : requests) {
            String path = base.contains("messages") ? "/v1/chat/completions" : "/v1/completions";
            for (int block : new int[] {8, 32}) {
                for (int seed = 0; seed < 3; seed++) {
                    String request = base + ", 'block_length': " + block + ", 'steps': 16, 'seed': " + seed
                            + ", 'temperature': " + (seed == 0 ? 0 : 0.9)
                            + (seed == 2 ? ", 'stop': ['(', 'return', '\\n\\n']" : "");
                    Response plain = post(path, request + "}");
                    assertEquals(200, plain.statusCode(), plain.asString());
                    JsonNode answer = JSON.readTree(plain.asString());
                    String text = path.contains("chat")
                            ? answer.at("/choices/0/message/content").asText()
                            : answer.at("/choices/0/text").asText();
                    Assembled streamed = assemble(
                            post(path, request + ", 'stream': true, 'stream_options': {'include_usage': true}}"));
                    assertEquals(text, streamed.text(), request);
                    assertEquals(answer.at("/choices/0/finish_reason").asText(), streamed.finishReason(), request);
                    assertNotNull(streamed.usage(), "the last chunk carries the usage");
                    assertEquals(answer.get("usage"), streamed.usage(), request);
                    sent += streamed.contents().size();
                }
            }
        }
        assertTrue(sent > 18, "more than one content chunk per stream: " + sent + " in 18 streams");
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-llada", "tiny-dream"})
    void a64TokenAnswerInBlocksOf32And32StepsArrivesInManyContentChunks(String model) throws Exception {
        String request = "{'model': '" + model + "', 'prompt': 'def fibonacci(n):\\n', 'max_tokens': 64,"
                + " 'block_length': 32, 'steps': 32";
        JsonNode plain = JSON.readTree(post("/v1/completions", request + "}").asString());
        Assembled streamed = assemble(post("/v1/completions", request + ", 'stream': true}"));
        assertEquals(plain.at("/choices/0/text").asText(), streamed.text());
        assertEquals(64, plain.at("/usage/completion_tokens").asInt(), "the model fills the canvas: " + plain);
        assertTrue(
                streamed.contents().size() >= 6,
                "text every few steps, not a block at a time: "
                        + streamed.contents().size() + " chunks " + streamed.contents());
    }
}
