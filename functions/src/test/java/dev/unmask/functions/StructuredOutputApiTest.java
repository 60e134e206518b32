package dev.unmask.functions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Structured output through the function over HTTP on the real tiny package: {@code response_format} json_schema
 * answers JSON that validates against the schema (networknt's validator) on chat and completions, and a schema the
 * engine cannot honour, or JSON mode, is a 400 naming what to send.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class StructuredOutputApiTest {

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final String SCHEMA = "{\"type\": \"object\", \"properties\": {"
            + "\"title\": {\"type\": \"string\", \"maxLength\": 16}, "
            + "\"year\": {\"type\": \"integer\", \"minimum\": 1900, \"maximum\": 2100}, "
            + "\"rating\": {\"type\": \"number\", \"minimum\": 0, \"maximum\": 5}, "
            + "\"genres\": {\"type\": \"array\", \"items\": {\"enum\": [\"drama\", \"comedy\"]}, \"maxItems\": 2}}, "
            + "\"required\": [\"title\", \"year\"]}";
    static final String FORMAT = "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": "
            + "{\"name\": \"film\", \"schema\": " + SCHEMA + "}}";

    @BeforeEach
    void waitUntilReady() throws InterruptedException {
        boolean ready = false;
        for (int i = 0; !ready && i < 600; i++) {
            ready = io.restassured.RestAssured.given().get("/q/health/ready").statusCode() == 200;
            if (!ready) {
                Thread.sleep(100);
            }
        }
        assertTrue(ready, "the model loads within a minute");
    }

    static Response post(String path, String body) {
        return OpenAiApiTest.api().body(body).post(path);
    }

    @Test
    void chat_and_completions_answer_json_that_validates_against_the_schema() throws Exception {
        JsonSchema validator =
                JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(SCHEMA));
        for (int seed = 1; seed <= 2; seed++) {
            Response chat = post(
                    "/v1/chat/completions",
                    "{\"model\": \"tiny-llada\", \"messages\": [{\"role\": \"user\", \"content\": \"A film?\"}], "
                            + "\"temperature\": 1, \"seed\": " + seed + ", " + FORMAT + "}");
            assertEquals(200, chat.statusCode(), chat.asString());
            JsonNode answer = JSON.readTree(JSON.readTree(chat.asString())
                    .at("/choices/0/message/content")
                    .asText());
            assertTrue(validator.validate(answer).isEmpty(), answer + ": " + validator.validate(answer));
        }
        Response completion =
                post("/v1/completions", "{\"model\": \"tiny-llada\", \"prompt\": \"Film: \", " + FORMAT + "}");
        assertEquals(200, completion.statusCode(), completion.asString());
        JsonNode answer = JSON.readTree(
                JSON.readTree(completion.asString()).at("/choices/0/text").asText());
        assertTrue(validator.validate(answer).isEmpty(), answer + ": " + validator.validate(answer));
    }

    @Test
    void an_unsupported_schema_and_json_mode_are_400s_naming_the_keyword() throws Exception {
        Response ref = post(
                "/v1/chat/completions",
                "{\"model\": \"tiny-llada\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                        + "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"list\", "
                        + "\"schema\": {\"type\": \"object\", \"properties\": {\"next\": {\"$ref\": \"#\"}}}}}}");
        assertEquals(400, ref.statusCode(), ref.asString());
        JsonNode error = JSON.readTree(ref.asString()).get("error");
        assertEquals("response_format", error.get("param").asText());
        assertTrue(error.get("message").asText().contains("'$ref' at #/properties/next"), ref.asString());

        Response jsonMode = post(
                "/v1/chat/completions",
                "{\"model\": \"tiny-llada\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                        + "\"response_format\": {\"type\": \"json_object\"}}");
        assertEquals(400, jsonMode.statusCode(), jsonMode.asString());
        assertEquals(
                "unsupported_parameter",
                JSON.readTree(jsonMode.asString()).at("/error/code").asText());
    }
}
