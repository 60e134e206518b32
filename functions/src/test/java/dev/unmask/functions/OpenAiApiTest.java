package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.notNullValue;
import static org.hamcrest.Matchers.nullValue;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.Block;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DecodingPlan;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.RestAssured;
import io.restassured.response.Response;
import io.restassured.specification.RequestSpecification;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.DisabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every endpoint, option and error of the API, over HTTP, on the real tiny package. */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class OpenAiApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "tiny-llada";
    static final String LAMBDA_IS_SERIAL = "Lambda hands a function one event at a time and has no client connection";
    static volatile boolean ready;

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        for (int i = 0; !ready && i < 600; i++) {
            ready = given().get("/q/health/ready").statusCode() == 200;
            if (!ready) {
                Thread.sleep(100);
            }
        }
        assertTrue(ready, "the model loads within a minute");
    }

    static RequestSpecification api() {
        return given().header("Authorization", "Bearer test-key").contentType("application/json");
    }

    static String q(String s) {
        return s.replace('\'', '"');
    }

    /** Parses an SSE body as the OpenAI SDKs do: events split on blank lines, {@code data:} lines, stop at [DONE]. */
    static List<JsonNode> events(String body) throws Exception {
        assertTrue(body.endsWith("data: [DONE]\n\n"), "the stream ends with [DONE]: " + body);
        List<JsonNode> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            assertTrue(event.startsWith("data: "), event);
            String data = event.substring(6);
            if (data.equals("[DONE]")) {
                break;
            }
            out.add(JSON.readTree(data));
        }
        return out;
    }

    @Test
    void readinessIsUpWithTheLoadTime() {
        given().get("/q/health/ready")
                .then()
                .statusCode(200)
                .body("checks[0].name", equalTo("models"))
                .body("checks[0].data.loaded_and_warmed_ms", notNullValue());
    }

    @Test
    void modelsListsThePackageAndOneModelCanBeRead() {
        api().get("/v1/models")
                .then()
                .statusCode(200)
                .body("object", equalTo("list"))
                .body("data[0].id", equalTo(MODEL))
                .body("data[0].object", equalTo("model"))
                .body("data[0].owned_by", equalTo("unmask"));
        api().get("/v1/models/" + MODEL).then().statusCode(200).body("id", equalTo(MODEL));
        api().get("/v1/models/gpt-4")
                .then()
                .statusCode(404)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.code", equalTo("model_not_found"))
                .body("error.message", containsString("\"" + MODEL + "\""));
    }

    @Test
    void withoutTheKeyTheApiIs401InOpenAisShape() {
        given().get("/v1/models")
                .then()
                .statusCode(401)
                .header("WWW-Authenticate", "Bearer")
                .body("error.code", equalTo("invalid_api_key"))
                .body("error.message", containsString("Authorization: Bearer"))
                .body("error.param", nullValue());
        given().header("Authorization", "Bearer wrong")
                .get("/v1/models")
                .then()
                .statusCode(401)
                .body("error.message", startsWith("Incorrect API key"));
    }

    @Test
    void aChatCompletion() {
        api().body(
                        q(
                                "{'model': '" + MODEL
                                        + "', 'messages': [{'role': 'system', 'content': 'Be brief'}, {'role': 'user', 'content': 'Hello'}], 'max_tokens': 16}"))
                .post("/v1/chat/completions")
                .then()
                .statusCode(200)
                .body("id", startsWith("chatcmpl-"))
                .body("object", equalTo("chat.completion"))
                .body("model", equalTo(MODEL))
                .body("choices[0].index", equalTo(0))
                .body("choices[0].message.role", equalTo("assistant"))
                .body("choices[0].message.content", notNullValue())
                .body("choices[0].finish_reason", notNullValue())
                .body("usage.prompt_tokens", greaterThan(3))
                .body("usage.total_tokens", notNullValue());
    }

    @Test
    void aCompletionWithEveryDiffusionControlIsReproducibleWithItsSeed() {
        String body = q("{'model': '" + MODEL + "', 'prompt': 'def add(a, b):', 'max_tokens': 32, 'temperature': 0.8, "
                + "'top_p': 0.9, 'seed': 11, 'steps': 16, 'block_length': 16, 'remasking': 'low_confidence', "
                + "'confidence_threshold': 0.95, 'cfg_scale': 0, 'stop': ['\\n\\n\\n']}");
        String first = api().body(body)
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .body("object", equalTo("text_completion"))
                .body("choices[0].logprobs", nullValue())
                .extract()
                .path("choices[0].text");
        String again = api().body(body)
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .path("choices[0].text");
        assertEquals(first, again, "the same seed gives the same text");
        api().body(body.replace("low_confidence", "random"))
                .post("/v1/completions")
                .then()
                .statusCode(200);
    }

    @Test
    void suffixFillsInTheMiddle() {
        api().body(q("{'model': '" + MODEL
                        + "', 'prompt': 'def add(a, b):\\n    ', 'suffix': '\\n    return c', 'max_tokens': 8}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .body("choices[0].text", notNullValue())
                .body("usage.completion_tokens", notNullValue());
    }

    @Test
    void theSameFieldsGiveTheEnginesOwnPlanAndTokens() throws Exception {
        GenerationRequest request = GenerationRequest.builder(
                        new GenerationRequest.Prompt.Continuation("def add(a, b):"))
                .length(40)
                .temperature(0.8)
                .seed(7L)
                .stop(List.of("return"))
                .build();
        DecodingPlan plan;
        Generation direct;
        try (Engine engine = Engine.open(
                ReferencePackages.tinyLlada(), RuntimeOptions.defaults().withIntraOpThreads(1))) {
            plan = engine.plan(request);
            direct = engine.run(plan, DenoisingListener.NONE);
        }
        assertEquals(
                List.of(32, 8), plan.blocks().stream().map(Block::length).toList(), "40 tokens: blocks of 32 and 8");
        String body = "{'model': '" + MODEL
                + "', 'prompt': 'def add(a, b):', 'max_tokens': 40, 'temperature': 0.8, 'seed': 7, 'stop': 'return'";
        JsonNode plain = JSON.readTree(api().body(q(body + "}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .asString());
        assertEquals(direct.text(), plain.at("/choices/0/text").asText(), "the same tokens");
        assertEquals(
                direct.tokens().length, plain.at("/usage/completion_tokens").asInt());
        assertEquals(
                direct.reason().openAiName(),
                plain.at("/choices/0/finish_reason").asText());
        List<JsonNode> drafts = events(api().body(q(body + ", 'stream': true, 'diffusing': true}"))
                        .post("/v1/completions")
                        .asString())
                .stream()
                .filter(c -> c.has("draft"))
                .map(c -> c.get("draft"))
                .toList();
        assertEquals(direct.steps(), drafts.size(), "the same steps");
        assertEquals(plan.length() - 1, drafts.get(0).get("masked").asInt(), "the same 40-token region");
    }

    @Test
    void aChatStreamParsesAsAClientWouldAndMatchesTheWholeAnswer() throws Exception {
        String req = "{'model': '" + MODEL
                + "', 'messages': [{'role': 'user', 'content': 'Hi'}], 'max_tokens': 32, 'block_length': 8, 'steps': 32, 'stream': true, 'stream_options': {'include_usage': true}}";
        Response r = api().body(q(req)).post("/v1/chat/completions");
        assertEquals(200, r.statusCode());
        assertTrue(r.contentType().startsWith("text/event-stream"), r.contentType());
        List<JsonNode> chunks = events(r.asString());
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks) {
            assertEquals(chunks.get(0).get("id"), c.get("id"));
            assertEquals(chunks.get(0).get("created"), c.get("created"));
            text.append(c.at("/choices/0/delta/content").asText(""));
        }
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertFalse(finish.at("/choices/0/finish_reason").isNull());
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertEquals(0, usage.get("choices").size());
        String whole = api().body(
                        q(req.replace("'stream': true, 'stream_options': {'include_usage': true}", "'stream': false")))
                .post("/v1/chat/completions")
                .then()
                .statusCode(200)
                .extract()
                .path("choices[0].message.content");
        assertEquals(whole, text.toString());
        assertEquals(
                usage.at("/usage/completion_tokens").asInt(),
                usage.at("/usage/total_tokens").asInt()
                        - usage.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void diffusingStreamsADraftAfterEveryStep() throws Exception {
        Response r = api().body(
                        q(
                                "{'model': '" + MODEL
                                        + "', 'prompt': 'The', 'max_tokens': 8, 'steps': 4, 'block_length': 8, 'stream': true, 'diffusing': true}"))
                .post("/v1/completions");
        assertEquals(200, r.statusCode());
        List<JsonNode> drafts =
                events(r.asString()).stream().filter(c -> c.has("draft")).toList();
        assertFalse(drafts.isEmpty());
        assertTrue(drafts.get(0).at("/draft/masked").asInt() > 0);
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            quoteCharacter = '"',
            value = {
                "/v1/chat/completions | {'model': 'tiny-llada', 'messages': [                            | 400 | invalid_json               | ",
                "/v1/chat/completions | {'model': 'tiny-llada', 'messages': 'hi'}                        | 400 | invalid_type               | messages",
                "/v1/chat/completions | {'model': 'tiny-llada'}                                          | 400 | missing_required_parameter | messages",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'max_tokens': 'lots'}     | 400 | invalid_type               | max_tokens",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'max_tokens': 100000}     | 400 | invalid_value              | max_tokens",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'max_tokens': 64, 'steps': 1000} | 400 | invalid_value       | steps",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'max_tokens': 64, 'steps': 33} | 400 | invalid_value         | steps",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'max_tokens': 511}        | 400 | context_length_exceeded    | max_tokens",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'cfg_scale': 2}           | 400 | invalid_value              | cfg_scale",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'remasking': 'best'}      | 400 | invalid_value              | remasking",
                "/v1/completions      | {'model': 'tiny-llada', 'prompt': 'x', 'n': 9}                   | 400 | invalid_value              | n",
                "/v1/chat/completions | {'model': 'tiny-llada', 'messages': [{'role': 'user', 'content': 'x'}], 'tools': [{'type': 'function'}]} | 400 | unsupported_parameter | tools",
                "/v1/completions      | {'model': 'gpt-4', 'prompt': 'x'}                                | 404 | model_not_found            | model",
            })
    void errorsHaveOpenAisShapeAndStatus(String path, String body, int status, String code, String param) {
        api().body(q(body))
                .post(path)
                .then()
                .statusCode(status)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.code", equalTo(code))
                .body("error.param", equalTo(param))
                .body("error.message", notNullValue());
    }

    @Test
    void aLongPromptIsContextLengthExceeded() {
        api().body(q("{'model': '" + MODEL + "', 'prompt': '" + "word ".repeat(700) + "', 'max_tokens': 8}"))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.code", equalTo("context_length_exceeded"))
                .body("error.message", containsString("maximum context length is 512"));
    }

    @Test
    void unknownPathsAndMethodsAnswerInTheSameShape() {
        api().get("/v1/embeddings")
                .then()
                .statusCode(404)
                .body("error.message", containsString("/v1/chat/completions"));
        api().get("/v1/completions").then().statusCode(405).body("error.type", equalTo("invalid_request_error"));
    }

    @Test
    @DisabledIfSystemProperty(named = "unmask.test.lambda", matches = "true", disabledReason = LAMBDA_IS_SERIAL)
    void aFullQueueAnswers429WithRetryAfterAndTheRestSucceed() throws Exception {
        // infills run every step (no early exit): 8 places (batch 4 + queue 4 in the test config), 12 clients
        String slow = q("{'model': '" + MODEL
                + "', 'prompt': 'a', 'suffix': 'b', 'max_tokens': 96, 'block_length': 96, 'steps': 96}");
        int port = RestAssured.port;
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<Response>> calls = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                calls.add(pool.submit(() -> given().port(port)
                        .header("Authorization", "Bearer test-key")
                        .contentType("application/json")
                        .body(slow)
                        .post("/v1/completions")));
            }
            int ok = 0;
            int refused = 0;
            for (Future<Response> f : calls) {
                Response r = f.get();
                if (r.statusCode() == 429) {
                    refused++;
                    assertEquals("1", r.header("Retry-After"));
                    assertEquals("rate_limit_error", r.path("error.type"));
                } else {
                    assertEquals(200, r.statusCode(), r.asString());
                    ok++;
                }
            }
            assertTrue(refused >= 1, "some requests are refused: ok=" + ok + " refused=" + refused);
            assertTrue(ok >= 8, "the batch and the queue are served: ok=" + ok);
        } finally {
            pool.shutdownNow();
        }
    }

    @ParameterizedTest
    @CsvSource({"true", "false"})
    @DisabledIfSystemProperty(named = "unmask.test.lambda", matches = "true", disabledReason = LAMBDA_IS_SERIAL)
    void aClientThatDisconnectsStopsItsGeneration(boolean stream) throws Exception {
        double before = cancelledSoFar();
        String body = q("{'model': '" + MODEL
                + "', 'prompt': 'a', 'suffix': 'b', 'max_tokens': 96, 'block_length': 8, 'steps': 96, 'stream': "
                + stream + "}");
        try (Socket socket = new Socket("127.0.0.1", RestAssured.port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer test-key\r\n"
                            + "Content-Type: application/json\r\nContent-Length: "
                            + body.getBytes(StandardCharsets.UTF_8).length
                            + "\r\n\r\n" + body)
                    .getBytes(StandardCharsets.UTF_8));
            out.flush();
            if (stream) {
                InputStream in = socket.getInputStream();
                byte[] head = new byte[64];
                assertTrue(in.read(head) > 0, "the stream began");
            } else {
                Thread.sleep(300);
            }
        }
        for (int i = 0; i < 200 && cancelledSoFar() <= before; i++) {
            Thread.sleep(100);
        }
        assertTrue(cancelledSoFar() > before, "unmask_requests_cancelled_total went up");
    }

    static double cancelledSoFar() {
        String metrics =
                given().get("/q/metrics").then().statusCode(200).extract().asString();
        return metrics.lines()
                .filter(l -> l.startsWith("unmask_requests_cancelled_total{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    @Test
    void metricsExposeRequestsTokensStepsLatencyBatchAndQueue() {
        api().body(q("{'model': '" + MODEL + "', 'prompt': 'x', 'max_tokens': 8}"))
                .post("/v1/completions")
                .then()
                .statusCode(200);
        String metrics =
                given().get("/q/metrics").then().statusCode(200).extract().asString();
        for (String name : List.of(
                "unmask_generated_tokens_total",
                "unmask_request_steps_total",
                "unmask_step_seconds_count",
                "unmask_batch_size_count",
                "unmask_queue_depth",
                "unmask_batch_active",
                "unmask_requests_total{endpoint=\"completions\",status=\"200\"}")) {
            assertTrue(metrics.contains(name), name + " in /q/metrics");
        }
    }
}
