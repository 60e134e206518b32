package dev.unmask.agent;

import static dev.unmask.agent.ServeCommandTest.json;
import static dev.unmask.agent.ServeCommandTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The block-causal reference model (tiny-sdar: SDAR's layout, blocks of 4) on the desktop: {@code unmask serve}'s
 * OpenAI and Ollama routes and {@code unmask generate} answer in its own blocks with its exact prefix cache by
 * default, the same text as without a cache, and refuse what it cannot do with the field named.
 */
class SdarServeTest {

    static ServedAgent agent;
    static URI base;

    @BeforeAll
    static void serve() {
        agent = ServedAgent.serving("tiny-sdar", ReferencePackages.tinySdar());
        base = agent.base();
    }

    @AfterAll
    static void stop() {
        agent.close();
    }

    static JsonNode completion(String extra) throws Exception {
        HttpResponse<String> r = post(
                base,
                "/v1/completions",
                "{\"model\": \"tiny-sdar\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 10, \"temperature\": 0"
                        + extra + "}");
        assertEquals(200, r.statusCode(), r.body());
        return json(r);
    }

    @Test
    void serve_answers_with_the_exact_cache_by_default_and_the_same_text_without_it() throws Exception {
        JsonNode cached = completion("");
        JsonNode uncached = completion(", \"cache\": \"none\"");
        assertEquals(
                uncached.path("choices").path(0).path("text"),
                cached.path("choices").path(0).path("text"));
        assertTrue(cached.path("usage").path("completion_tokens").asInt() <= 10, cached.toString());
        HttpResponse<String> chat = post(
                base,
                "/api/chat",
                "{\"model\": \"tiny-sdar\", \"stream\": false, \"messages\": [{\"role\": \"user\", \"content\": "
                        + "\"Hi\"}], \"options\": {\"num_predict\": 12}}");
        assertEquals(200, chat.statusCode(), chat.body());
        assertTrue(json(chat).path("done").asBoolean(), chat.body());
    }

    @Test
    void what_a_block_causal_model_cannot_take_is_a_400_naming_the_field() throws Exception {
        HttpResponse<String> block =
                post(base, "/v1/completions", "{\"model\": \"tiny-sdar\", \"prompt\": \"x\", \"block_length\": 32}");
        assertEquals(400, block.statusCode(), block.body());
        assertEquals("block_length", json(block).path("error").path("param").asText());
        HttpResponse<String> infill = post(
                base,
                "/v1/completions",
                "{\"model\": \"tiny-sdar\", \"prompt\": \"def f(\", \"suffix\": \")\", \"max_tokens\": 8}");
        assertEquals(400, infill.statusCode(), infill.body());
        assertEquals("prompt", json(infill).path("error").path("param").asText());
    }

    @Test
    void unmask_generate_serves_it() {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(
                "generate",
                "def add(a, b):",
                "--model",
                ReferencePackages.tinySdar().toString(),
                "--gen-length",
                "10",
                "--threads",
                "1",
                "--json");
        assertEquals(0, code, err.toString());
        assertTrue(out.toString().contains("\"text\""), out.toString());
        StringWriter bad = new StringWriter();
        cli.setErr(new PrintWriter(bad, true));
        assertEquals(
                ExitCodes.INVALID_INPUT,
                cli.execute(
                        "generate", "x", "--model", ReferencePackages.tinySdar().toString(), "--block-length", "32"));
        assertTrue(bad.toString().contains("--block-length must be left out or 4"), bad.toString());
    }
}
