package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Structured output through the agent: {@code response_format} on {@code unmask serve}'s chat and completions over
 * real HTTP on loopback, streamed and not, and {@code unmask generate --json-schema}; every answer validates against
 * its schema (networknt's validator), and a schema the engine cannot honour is a 400 (an exit code 3 on the command
 * line) that names the keyword.
 */
class StructuredOutputServeTest {

    static final ObjectMapper JSON = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    static final String SCHEMA = "{\"type\": \"object\", \"additionalProperties\": false, \"properties\": {"
            + "\"name\": {\"type\": \"string\", \"maxLength\": 10}, "
            + "\"age\": {\"type\": \"integer\", \"minimum\": 0, \"maximum\": 120}, "
            + "\"pet\": {\"enum\": [\"cat\", \"dog\"]}, \"ok\": {\"type\": \"boolean\"}}, "
            + "\"required\": [\"name\", \"age\", \"pet\", \"ok\"]}";
    static final String FORMAT = "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": "
            + "{\"name\": \"person\", \"strict\": true, \"schema\": " + SCHEMA + "}}";

    @TempDir
    static Path tmp;

    static ServeCommandTest.Serving server;
    static JsonSchema validator;

    @BeforeAll
    static void serve() throws Exception {
        Path store = tmp.resolve("store");
        new ModelStore(store).pull(ReferencePackages.tinyLlada().toString(), "tiny", false, line -> {});
        server = new ServeCommandTest.Serving(
                "--port", "0", "--store", store.toString(), "--keep-alive", "-1", "--threads", "1");
        validator =
                JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012).getSchema(JSON.readTree(SCHEMA));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(server.base.resolve(path))
                        .timeout(Duration.ofSeconds(120))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static void assertValid(String answer) throws Exception {
        JsonNode json = JSON.readTree(answer);
        assertTrue(validator.validate(json).isEmpty(), answer + ": " + validator.validate(json));
    }

    @Test
    void chat_and_completions_answer_json_that_follows_the_schema() throws Exception {
        for (long seed = 1; seed <= 3; seed++) {
            HttpResponse<String> chat = post(
                    "/v1/chat/completions",
                    "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Describe a person.\"}], "
                            + "\"temperature\": 1, \"seed\": " + seed + ", " + FORMAT + "}");
            assertEquals(200, chat.statusCode(), chat.body());
            JsonNode body = JSON.readTree(chat.body());
            assertValid(body.at("/choices/0/message/content").asText());
            assertEquals("stop", body.at("/choices/0/finish_reason").asText());
        }
        HttpResponse<String> completion =
                post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"The person: \", " + FORMAT + "}");
        assertEquals(200, completion.statusCode(), completion.body());
        assertValid(JSON.readTree(completion.body()).at("/choices/0/text").asText());
    }

    @Test
    void a_streamed_answer_is_the_same_json_delivered_left_to_right() throws Exception {
        String request = "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                + "\"seed\": 5, \"temperature\": 1, " + FORMAT;
        HttpResponse<String> whole = post("/v1/chat/completions", request + "}");
        HttpResponse<String> streamed = post("/v1/chat/completions", request + ", \"stream\": true}");
        assertEquals(200, streamed.statusCode(), streamed.body());
        StringBuilder text = new StringBuilder();
        for (String line : streamed.body().lines().toList()) {
            if (line.startsWith("data: {")) {
                JsonNode delta = JSON.readTree(line.substring(6)).at("/choices/0/delta/content");
                text.append(delta.isTextual() ? delta.asText() : "");
            }
        }
        assertValid(text.toString());
        assertEquals(
                JSON.readTree(whole.body()).at("/choices/0/message/content").asText(), text.toString());
    }

    @Test
    void a_schema_the_engine_cannot_honour_and_json_mode_are_400s_that_say_what_to_send() throws Exception {
        HttpResponse<String> pattern = post(
                "/v1/chat/completions",
                "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], "
                        + "\"response_format\": {\"type\": \"json_schema\", \"json_schema\": {\"name\": \"zip\", "
                        + "\"schema\": {\"type\": \"object\", \"properties\": {\"zip\": {\"type\": \"string\", "
                        + "\"pattern\": \"^[0-9]{5}$\"}}}}}}");
        assertEquals(400, pattern.statusCode(), pattern.body());
        JsonNode error = JSON.readTree(pattern.body()).get("error");
        assertEquals("response_format", error.get("param").asText());
        String message = error.get("message").asText();
        assertTrue(message.contains("'pattern' at #/properties/zip"), message);
        assertTrue(
                message.contains("\"json_schema\": {\"name\": \"person\", \"schema\": {\"type\": \"object\""), message);

        HttpResponse<String> jsonMode = post(
                "/v1/completions",
                "{\"model\": \"tiny\", \"prompt\": \"x\", \"response_format\": {\"type\": \"json_object\"}}");
        assertEquals(400, jsonMode.statusCode(), jsonMode.body());
        JsonNode jsonModeError = JSON.readTree(jsonMode.body()).get("error");
        assertEquals("response_format", jsonModeError.get("param").asText());
        assertTrue(jsonModeError.get("message").asText().contains("json_schema"), jsonMode.body());

        HttpResponse<String> text = post(
                "/v1/completions",
                "{\"model\": \"tiny\", \"prompt\": \"x\", \"max_tokens\": 4, \"steps\": 4, "
                        + "\"response_format\": {\"type\": \"text\"}}");
        assertEquals(200, text.statusCode(), text.body());
    }

    @Test
    void generate_with_json_schema_prints_json_that_follows_it_and_refuses_what_it_cannot_honour() throws Exception {
        Path schema = Files.writeString(tmp.resolve("person.json"), SCHEMA);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exit = cli.execute(
                "generate",
                "The person: ",
                "--model",
                ReferencePackages.tinyLlada().toString(),
                "--json-schema",
                schema.toString(),
                "--temperature",
                "1",
                "--seed",
                "3",
                "--threads",
                "2");
        assertEquals(ExitCodes.OK, exit, err.toString());
        assertValid(out.toString().strip());

        Path refused = Files.writeString(tmp.resolve("any.json"), "{\"anyOf\": [{\"type\": \"string\"}]}");
        StringWriter err2 = new StringWriter();
        CommandLine cli2 = Unmask.commandLine();
        cli2.setOut(new PrintWriter(new StringWriter(), true));
        cli2.setErr(new PrintWriter(err2, true));
        int refusedExit = cli2.execute(
                "generate",
                "x",
                "--model",
                ReferencePackages.tinyLlada().toString(),
                "--json-schema",
                refused.toString());
        assertEquals(ExitCodes.INVALID_INPUT, refusedExit, err2.toString());
        assertTrue(err2.toString().contains("--json-schema must be a schema without 'anyOf'"), err2.toString());
        assertTrue(
                List.of(err2.toString().split("\n")).stream().anyMatch(l -> l.contains("--json-schema FILE")),
                err2.toString());
    }
}
