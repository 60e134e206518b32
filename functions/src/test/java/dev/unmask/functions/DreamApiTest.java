package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.greaterThan;
import static org.hamcrest.Matchers.hasItems;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.engine.Engine;
import dev.unmask.engine.Generation;
import dev.unmask.engine.decode.DenoisingListener;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.engine.request.DreamAlg;
import dev.unmask.engine.request.GenerationRequest;
import dev.unmask.engine.text.ChatMessage;
import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The function serving the real tiny-dream package (family {@code dream}) beside tiny-llada, configured as any
 * package is ({@code unmask.models.<name>.path}): chat, completions and streams answer, Dream's {@code alg},
 * {@code alg_temp} and {@code eps} are taken and checked, and the text is the engine's own for the same seed.
 */
@QuarkusTest
@TestProfile(DreamApiTest.BothFamilies.class)
class DreamApiTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String MODEL = "tiny-dream";
    static volatile boolean ready;

    /** The one profile with a Dream package: tiny-dream and tiny-llada served by one function. */
    public static class BothFamilies implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of(
                    "unmask.models.tiny-dream.path",
                            ReferencePackages.tinyDream().toString(),
                    "unmask.models.tiny-llada.path",
                            ReferencePackages.tinyLlada().toString());
        }
    }

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

    static String q(String s) {
        return s.replace('\'', '"');
    }

    /** The chunks of an SSE body, [DONE] left out. */
    static List<JsonNode> events(String body) throws Exception {
        assertTrue(body.endsWith("data: [DONE]\n\n"), "the stream ends with [DONE]: " + body);
        List<JsonNode> out = new java.util.ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (!event.equals("data: [DONE]")) {
                out.add(JSON.readTree(event.substring("data: ".length())));
            }
        }
        return out;
    }

    static Generation engine(GenerationRequest request) {
        try (Engine engine = Engine.open(
                ReferencePackages.tinyDream(), RuntimeOptions.defaults().withIntraOpThreads(1))) {
            return engine.run(engine.plan(request), DenoisingListener.NONE);
        }
    }

    @Test
    void modelsListsBothFamilies() {
        api().get("/v1/models").then().statusCode(200).body("data.id", hasItems(MODEL, "tiny-llada"));
        api().get("/v1/models/" + MODEL).then().statusCode(200).body("id", equalTo(MODEL));
    }

    @Test
    void aChatIsTheEnginesChatMlAnswerPlainAndStreamed() throws Exception {
        String req = "{'model': '" + MODEL
                + "', 'messages': [{'role': 'user', 'content': 'Hello'}], 'max_tokens': 16, 'steps': 8";
        JsonNode plain = JSON.readTree(api().body(q(req + "}"))
                .post("/v1/chat/completions")
                .then()
                .statusCode(200)
                .body("object", equalTo("chat.completion"))
                .body("model", equalTo(MODEL))
                .body("choices[0].message.role", equalTo("assistant"))
                .body("usage.prompt_tokens", greaterThan(3))
                .extract()
                .asString());
        String content = plain.at("/choices/0/message/content").asText();
        assertFalse(content.contains("<|im_end|>"), "a turn ends at <|im_end|>: " + content);

        Generation direct =
                engine(GenerationRequest.builder(new GenerationRequest.Prompt.Chat(List.of(ChatMessage.user("Hello"))))
                        .length(16)
                        .steps(8)
                        .build());
        assertEquals(direct.text(), content, "the engine's own tokens");
        assertEquals(direct.promptTokens(), plain.at("/usage/prompt_tokens").asInt());

        StringBuilder streamed = new StringBuilder();
        for (JsonNode c : events(api().body(q(req + ", 'stream': true}"))
                .post("/v1/chat/completions")
                .asString())) {
            streamed.append(c.at("/choices/0/delta/content").asText(""));
        }
        assertEquals(content, streamed.toString(), "streamed = plain");
    }

    @Test
    void aCompletionWithDreamsFieldsIsTheEnginesForTheSameSeedPlainAndStreamed() throws Exception {
        String req = "{'model': '" + MODEL + "', 'prompt': 'def add(a, b):', 'max_tokens': 16, 'steps': 8, "
                + "'alg': 'entropy', 'alg_temp': 0.5, 'eps': 0.01, 'temperature': 0.8, 'seed': 3";
        JsonNode plain = JSON.readTree(api().body(q(req + "}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .body("object", equalTo("text_completion"))
                .extract()
                .asString());
        Generation direct =
                engine(GenerationRequest.builder(new GenerationRequest.Prompt.Continuation("def add(a, b):"))
                        .length(16)
                        .steps(8)
                        .alg(DreamAlg.parse("entropy"))
                        .algTemp(0.5)
                        .eps(0.01)
                        .temperature(0.8)
                        .seed(3L)
                        .build());
        assertEquals(direct.text(), plain.at("/choices/0/text").asText(), "the same seed, the engine's tokens");
        assertEquals(
                direct.tokens().length, plain.at("/usage/completion_tokens").asInt());

        StringBuilder streamed = new StringBuilder();
        for (JsonNode c : events(
                api().body(q(req + ", 'stream': true}")).post("/v1/completions").asString())) {
            streamed.append(c.at("/choices/0/text").asText(""));
        }
        assertEquals(plain.at("/choices/0/text").asText(), streamed.toString(), "streamed = plain");
    }

    @Test
    void anInfillKeepsToTheMiddle() {
        api().body(
                        q(
                                "{'model': '" + MODEL
                                        + "', 'prompt': 'def square(x):\\n    return ', 'suffix': '\\n\\ndef cube(x):\\n', 'max_tokens': 8, 'steps': 8}"))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .body("choices[0].text", notNullValue())
                .body("usage.completion_tokens", equalTo(8));
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{'alg': 'greedy'}                   | alg",
                "{'alg': 3}                          | alg",
                "{'alg_temp': -1}                    | alg_temp",
                "{'alg': 'origin', 'alg_temp': 0.5}  | alg_temp",
                "{'eps': 0}                          | eps",
                "{'eps': 1.5}                        | eps",
                "{'eps': 'small'}                    | eps",
            })
    void aBadDreamFieldIs400NamingIt(String fields, String param) {
        String body = "{'model': '" + MODEL + "', 'prompt': 'x', 'max_tokens': 8, "
                + fields.substring(1, fields.length() - 1) + "}";
        api().body(q(body))
                .post("/v1/completions")
                .then()
                .statusCode(400)
                .body("error.type", equalTo("invalid_request_error"))
                .body("error.param", equalTo(param))
                .body("error.message", containsString(param));
    }
}
