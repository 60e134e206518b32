package dev.unmask.agent;

import static dev.unmask.agent.ServeCommandTest.JSON;
import static dev.unmask.agent.ServeCommandTest.get;
import static dev.unmask.agent.ServeCommandTest.json;
import static dev.unmask.agent.ServeCommandTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.ReferencePackages;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The agent's Ollama API over a real socket with the real tiny package: the NDJSON stream and the whole answers in
 * Ollama's shapes (field names, {@code done}, {@code done_reason}, counts and durations in nanoseconds), the
 * listings, load and unload by {@code keep_alive}, and errors as Ollama answers them ({@code {"error": "..."}}).
 */
class OllamaApiTest {

    static final List<String> FINAL_COUNTS = List.of(
            "total_duration",
            "load_duration",
            "prompt_eval_count",
            "prompt_eval_duration",
            "eval_count",
            "eval_duration");

    static ServedAgent agent;
    static URI base;

    @BeforeAll
    static void serve() {
        agent = ServedAgent.serving("tiny", ReferencePackages.tinyLlada());
        base = agent.base();
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    /** The body's lines, each one JSON object, as Ollama's clients split them. */
    static List<JsonNode> lines(String body) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (String line : body.split("\n")) {
            if (!line.isEmpty()) {
                out.add(JSON.readTree(line));
            }
        }
        return out;
    }

    static void assertFinal(JsonNode last) {
        assertTrue(last.get("done").asBoolean(), last.toString());
        assertTrue(Set.of("stop", "length").contains(last.get("done_reason").asText()), last.toString());
        for (String field : FINAL_COUNTS) {
            assertTrue(last.get(field).isIntegralNumber() && last.get(field).asLong() >= 0, field + ": " + last);
        }
        assertTrue(
                last.get("eval_count").asInt() > 0 && last.get("eval_duration").asLong() > 0, last.toString());
        assertTrue(
                last.get("total_duration").asLong()
                        >= last.get("load_duration").asLong()
                                + last.get("eval_duration").asLong(),
                "the parts fit in the total: " + last);
        Instant.parse(last.get("created_at").asText()); // RFC 3339, as Go writes time.Time
    }

    @Test
    void generate_streams_ndjson_whose_pieces_join_to_the_whole_answer() throws Exception {
        String body = "{\"model\": \"tiny\", \"prompt\": \"def fibonacci(n):\", \"raw\": true, "
                + "\"options\": {\"num_predict\": 32, \"steps\": 32, \"block_length\": 8, \"temperature\": 0}";
        HttpResponse<String> whole = post(base, "/api/generate", body + ", \"stream\": false}");
        assertEquals(200, whole.statusCode(), whole.body());
        JsonNode answer = json(whole);
        assertFinal(answer);
        assertEquals("tiny", answer.get("model").asText());
        assertTrue(answer.get("eval_count").asInt() <= 32, "num_predict bounds the answer: " + answer);

        HttpResponse<String> streamed = post(base, "/api/generate", body + "}"); // stream is Ollama's default
        assertEquals(200, streamed.statusCode(), streamed.body());
        assertEquals(
                "application/x-ndjson",
                streamed.headers().firstValue("Content-Type").orElse(""));
        List<JsonNode> records = lines(streamed.body());
        StringBuilder text = new StringBuilder();
        for (JsonNode r : records.subList(0, records.size() - 1)) {
            assertEquals(List.of("model", "created_at", "response", "done"), fieldNames(r), r.toString());
            assertFalse(r.get("done").asBoolean());
            text.append(r.get("response").asText());
        }
        JsonNode last = records.get(records.size() - 1);
        assertFinal(last);
        assertEquals("", last.get("response").asText(), "the text came in the pieces");
        assertEquals(answer.get("response").asText(), text.toString());
        assertEquals(answer.get("eval_count"), last.get("eval_count"));
        assertEquals(answer.get("prompt_eval_count"), last.get("prompt_eval_count"));
        assertTrue(records.size() >= 3, "four blocks of 8 arrive in more than one piece: " + records.size());
    }

    @Test
    void chat_answers_a_message_whole_and_streamed() throws Exception {
        String body = "{\"model\": \"tiny:latest\", \"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, "
                + "{\"role\": \"user\", \"content\": \"Hello\"}], \"options\": {\"num_predict\": 16, \"steps\": 16, "
                + "\"temperature\": 0}";
        JsonNode whole = json(post(base, "/api/chat", body + ", \"stream\": false}"));
        assertFinal(whole);
        assertEquals("tiny:latest", whole.get("model").asText(), "the name is echoed as sent");
        assertEquals("assistant", whole.at("/message/role").asText());

        List<JsonNode> records =
                lines(post(base, "/api/chat", body + ", \"stream\": true}").body());
        StringBuilder text = new StringBuilder();
        for (JsonNode r : records) {
            assertEquals("assistant", r.at("/message/role").asText(), r.toString());
            text.append(r.at("/message/content").asText());
        }
        assertFinal(records.get(records.size() - 1));
        assertEquals(whole.at("/message/content").asText(), text.toString());
    }

    @Test
    void generate_with_a_suffix_fills_in_the_middle() throws Exception {
        JsonNode r = json(post(
                base,
                "/api/generate",
                "{\"model\": \"tiny\", \"prompt\": \"def square(x):\\n    return \", \"suffix\": \"\\n\\ndef cube(x):\\n\", "
                        + "\"stream\": false, \"keep_alive\": 0, \"options\": {\"num_predict\": 8, \"steps\": 8, "
                        + "\"temperature\": 0}}"));
        assertFinal(r);
        assertTrue(r.get("prompt_eval_count").asInt() > 5, "the suffix is part of the prompt the model read: " + r);
        assertEquals(0, json(get(base, "/api/ps")).get("models").size(), "keep_alive 0: unloaded once answered");
    }

    @Test
    void format_with_a_json_schema_answers_json_that_follows_it_and_json_mode_is_refused() throws Exception {
        String schema = "{\"type\": \"object\", \"properties\": {\"ok\": {\"type\": \"boolean\"}, \"n\": "
                + "{\"type\": \"integer\", \"minimum\": 0, \"maximum\": 9}}, \"required\": [\"ok\", \"n\"]}";
        for (long seed = 0; seed < 3; seed++) {
            JsonNode r = json(post(
                    base,
                    "/api/generate",
                    "{\"model\": \"tiny\", \"prompt\": \"def\", \"stream\": false, \"format\": " + schema
                            + ", \"options\": {\"seed\": " + seed + ", \"temperature\": 0.8}}"));
            assertFinal(r);
            JsonNode answer = JSON.readTree(r.get("response").asText()); // parses: the skeleton was fixed
            assertEquals(List.of("ok", "n"), fieldNames(answer), r.toString());
            assertTrue(answer.get("ok").isBoolean(), answer.toString());
            int n = answer.get("n").asInt(-1);
            assertTrue(answer.get("n").isIntegralNumber() && n >= 0 && n <= 9, answer.toString());
        }
        assertTrue(error(
                        post(base, "/api/generate", "{\"model\": \"tiny\", \"prompt\": \"x\", \"format\": \"json\"}"),
                        400)
                .contains("JSON schema"));
    }

    @Test
    void a_load_without_prompt_then_keep_alive_zero_unloads_as_ollama_stop_does() throws Exception {
        JsonNode loaded = json(post(base, "/api/generate", "{\"model\": \"tiny\", \"keep_alive\": \"1h\"}"));
        assertEquals("load", loaded.get("done_reason").asText(), loaded.toString());
        JsonNode ps = json(get(base, "/api/ps"));
        JsonNode tiny = ps.get("models").get(0);
        assertEquals("tiny:latest", tiny.get("name").asText(), ps.toString());
        Instant until = Instant.parse(tiny.get("expires_at").asText());
        assertTrue(until.isAfter(Instant.now().plus(Duration.ofMinutes(59))), "keep_alive 1h applies: " + until);
        assertTrue(tiny.get("size").asLong() > 1_000_000, tiny.toString());

        JsonNode unloaded = json(post(base, "/api/chat", "{\"model\": \"tiny\", \"messages\": [], \"keep_alive\": 0}"));
        assertEquals("unload", unloaded.get("done_reason").asText(), unloaded.toString());
        assertEquals("", unloaded.at("/message/content").asText());
        assertEquals(0, json(get(base, "/api/ps")).get("models").size(), "unloaded at once");
    }

    @Test
    void tags_show_and_version_describe_the_served_models() throws Exception {
        JsonNode tags = json(get(base, "/api/tags"));
        JsonNode card = tags.get("models").get(0);
        assertEquals("tiny:latest", card.get("name").asText());
        assertEquals(64, card.get("digest").asText().length());
        assertEquals("onnx", card.at("/details/format").asText());
        assertEquals("llada", card.at("/details/family").asText());

        JsonNode show = json(post(base, "/api/show", "{\"model\": \"tiny\"}"));
        assertEquals("llada", show.at("/model_info/general.architecture").asText(), show.toString());
        assertTrue(show.at("/model_info/llada.context_length").asInt() > 0, show.toString());
        assertEquals(List.of("completion", "insert"), JSON.convertValue(show.get("capabilities"), List.class));
        assertTrue(show.get("parameters").asText().contains("steps"), show.toString());

        assertTrue(json(get(base, "/api/version")).get("version").asText().matches("\\d+\\.\\d+\\.\\d+"));
        HttpResponse<Void> head = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(base.resolve("/"))
                                .method("HEAD", HttpRequest.BodyPublishers.noBody())
                                .build(),
                        HttpResponse.BodyHandlers.discarding());
        assertEquals(200, head.statusCode(), "Ollama's liveness probe");
    }

    /** Every error is {@code {"error": "..."}} alone, with its status, and the message says what to send. */
    static String error(HttpResponse<String> r, int status) throws Exception {
        assertEquals(status, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals(List.of("error"), fieldNames(body), r.body());
        return body.get("error").asText();
    }

    /** A POST of {@code body} to {@code path} declared {@code contentType}, with the extra header pairs given. */
    static HttpResponse<String> postAs(String path, String contentType, String body, String... headers)
            throws Exception {
        HttpRequest.Builder r = HttpRequest.newBuilder(base.resolve(path))
                .header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            r.header(headers[i], headers[i + 1]);
        }
        return HttpClient.newHttpClient().send(r.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void curl_as_in_ollamas_docs_posts_form_encoded_json_and_is_answered_but_a_browser_is_held_to_json()
            throws Exception {
        String generate =
                "{\"model\": \"tiny\", \"prompt\": \"def\", \"stream\": false, " + "\"options\": {\"num_predict\": 4}}";
        // curl -d '{...}' declares application/x-www-form-urlencoded and sends no Origin
        HttpResponse<String> curl = postAs("/api/generate", "application/x-www-form-urlencoded", generate);
        assertEquals(200, curl.statusCode(), curl.body());
        assertTrue(JSON.readTree(curl.body()).get("done").asBoolean(), curl.body());
        // a page (even a loopback one) sends Origin and Sec-Fetch-*: it must declare JSON, which needs a preflight
        HttpResponse<String> page = postAs(
                "/api/generate", "text/plain", generate, "Origin", "http://localhost:3000", "Sec-Fetch-Mode", "cors");
        assertEquals(415, page.statusCode(), page.body());
        assertTrue(page.body().contains("application/json"), page.body());
        assertEquals(
                415,
                postAs("/api/generate", "text/plain", generate, "Sec-Fetch-Site", "cross-site")
                        .statusCode(),
                "a browser's request without Origin is still a browser's");
        assertEquals(
                415,
                postAs("/v1/completions", "application/x-www-form-urlencoded", "{}")
                        .statusCode(),
                "the OpenAI routes keep OpenAI's rule: JSON declared");
    }

    @Test
    void errors_are_ollamas_shape_with_the_right_status() throws Exception {
        assertTrue(error(post(base, "/api/generate", "{\"model\": \"nope\", \"prompt\": \"x\"}"), 404)
                .contains("not found"));
        assertTrue(error(post(base, "/api/show", "{\"model\": \"nope\"}"), 404).contains("\"tiny\""));
        assertTrue(error(
                        post(base, "/api/generate", "{\"model\": \"tiny\", \"prompt\": \"x\", \"format\": \"json\"}"),
                        400)
                .contains("'format'"));
        assertTrue(error(
                        post(
                                base,
                                "/api/generate",
                                "{\"model\": \"tiny\", \"prompt\": \"x\", \"template\": \"{{ .Prompt }}\"}"),
                        400)
                .contains("\"raw\": true"));
        assertTrue(error(
                        post(
                                base,
                                "/api/chat",
                                "{\"model\": \"tiny\", \"messages\": [{\"role\": \"tool\", \"content\": \"4\"}]}"),
                        400)
                .contains("tool"));
        assertTrue(error(
                        post(
                                base,
                                "/api/generate",
                                "{\"model\": \"tiny\", \"prompt\": \"x\", \"options\": {\"steps\": \"many\"}}"),
                        400)
                .contains("'steps' must be an integer"));
        assertTrue(error(
                        post(
                                base,
                                "/api/generate",
                                "{\"model\": \"tiny\", \"prompt\": \"x\", \"keep_alive\": \"soon\"}"),
                        400)
                .contains("5m"));
        assertTrue(error(post(base, "/api/generate", "{\"model\": \"tiny\", \"prompt\": "), 400)
                .contains("JSON"));
        assertTrue(error(get(base, "/api/generate"), 405).contains("POST /api/generate"));
        String stops = "\"s\", ".repeat(16) + "\"s\"";
        assertTrue(error(
                        post(
                                base,
                                "/api/generate",
                                "{\"model\": \"tiny\", \"prompt\": \"x\", \"options\": {\"stop\": [" + stops + "]}}"),
                        400)
                .contains("at most 16"));
        assertTrue(error(
                        post(
                                base,
                                "/api/chat",
                                "{\"model\": \"tiny\", \"messages\": " + "[".repeat(100) + "]".repeat(100) + "}"),
                        400)
                .contains("deeper than"));
        assertTrue(error(get(base, "/api/pull"), 404).contains("/api/tags"));
    }

    @Test
    void the_planners_bounds_apply_and_name_the_options_as_sent() throws Exception {
        String tooMany = error(
                post(
                        base,
                        "/api/generate",
                        "{\"model\": \"tiny\", \"prompt\": \"x\", \"options\": {\"num_predict\": 16, \"steps\": 100000}}"),
                400);
        assertTrue(tooMany.contains("'options.steps'") && tooMany.contains("\"options\": {\"steps\":"), tooMany);
        String length = error(
                post(
                        base,
                        "/api/generate",
                        "{\"model\": \"tiny\", \"prompt\": \"x\", \"options\": {\"num_predict\": 100000}}"),
                400);
        assertTrue(length.contains("'options.num_predict'"), length);
    }

    @Test
    void the_openai_stream_is_reencoded_piece_by_piece_even_when_cut_inside_a_character() throws Exception {
        OllamaApi.Request chat = OllamaApi.chat(JSON.readTree(OllamaApi.CHAT_EXAMPLE));
        java.io.ByteArrayOutputStream wire = new java.io.ByteArrayOutputStream();
        OllamaApi.Ndjson out = new OllamaApi.Ndjson(wire, chat);
        byte[] sse = ("data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\n\n"
                        + "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\u00e9llo \u2603\"}}]}\n\n"
                        + "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
                        + "data: {\"error\":{\"message\":\"the model failed\",\"type\":\"server_error\"}}\n\n"
                        + "data: [DONE]\n\n")
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < sse.length; i += 7) { // cut every 7 bytes: through the é and the snowman
            out.write(sse, i, Math.min(7, sse.length - i));
        }
        List<JsonNode> records = lines(wire.toString(java.nio.charset.StandardCharsets.UTF_8));
        assertEquals(2, records.size(), records.toString());
        assertEquals("h\u00e9llo \u2603", records.get(0).at("/message/content").asText());
        assertFalse(records.get(0).get("done").asBoolean());
        assertEquals(List.of("error"), fieldNames(records.get(1)));
        assertEquals("the model failed", records.get(1).get("error").asText());
        assertTrue(out.failed());
    }

    static List<String> fieldNames(JsonNode n) {
        List<String> names = new ArrayList<>();
        n.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
