package dev.unmask.agent;

import static dev.unmask.agent.ServeCommandTest.json;
import static dev.unmask.agent.ServeCommandTest.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * The cache choice end to end on the desktop, on the real tiny-llada package (a format 3 graph with a key/value
 * cache): {@code unmask serve}'s OpenAI and Ollama routes and {@code unmask generate} answer a cached request,
 * {@code cache: none} is the answer of a request without the field, a refresh at every step is too (the cache's
 * exactness), and a bad value is a 400 naming the field.
 */
class CacheServeTest {

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

    static final String PROMPT = "\"model\": \"tiny\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 24, "
            + "\"steps\": 24, \"block_length\": 8";

    static String completion(String extra) throws Exception {
        HttpResponse<String> r = post(base, "/v1/completions", "{" + PROMPT + extra + "}");
        assertEquals(200, r.statusCode(), r.body());
        return json(r).path("choices").path(0).path("text").asText();
    }

    static JsonNode error(String extra) throws Exception {
        HttpResponse<String> r = post(base, "/v1/completions", "{" + PROMPT + extra + "}");
        assertEquals(400, r.statusCode(), r.body());
        return json(r).path("error");
    }

    @Test
    void the_openai_routes_answer_with_each_cache_and_none_is_the_old_answer() throws Exception {
        String uncached = completion("");
        assertFalse(uncached.isBlank(), "the tiny model writes code here");
        assertEquals(uncached, completion(", \"cache\": \"none\""));
        assertEquals(
                uncached,
                completion(", \"cache\": \"dual\", \"cache_refresh\": 1"),
                "a refresh at every step is the uncached answer, token for token");
        assertEquals(uncached, completion(", \"cache\": \"prefix\", \"cache_refresh\": 1"));
        assertFalse(completion(", \"cache\": \"dual\"").isEmpty());
        assertFalse(completion(", \"cache\": \"prefix\", \"cache_refresh\": 4").isEmpty());
    }

    @Test
    void a_bad_cache_value_is_a_400_naming_the_field() throws Exception {
        JsonNode name = error(", \"cache\": \"full\"");
        assertEquals("cache", name.path("param").asText());
        JsonNode refresh = error(", \"cache\": \"dual\", \"cache_refresh\": -1");
        assertEquals("cache_refresh", refresh.path("param").asText());
        assertTrue(refresh.path("message").asText().contains("e.g. \"cache_refresh\": 8"), refresh.toString());
        JsonNode without = error(", \"cache\": \"none\", \"cache_refresh\": 4");
        assertEquals("cache_refresh", without.path("param").asText());
    }

    @Test
    void ollamas_options_take_the_cache() throws Exception {
        String body = "{\"model\": \"tiny\", \"prompt\": \"def add(a, b):\", \"stream\": false, \"options\": "
                + "{\"num_predict\": 24, \"steps\": 24, \"block_length\": 8, \"temperature\": 0";
        HttpResponse<String> plain = post(base, "/api/generate", body + "}}");
        HttpResponse<String> refreshed =
                post(base, "/api/generate", body + ", \"cache\": \"dual\", \"cache_refresh\": 1}}");
        assertEquals(200, refreshed.statusCode(), refreshed.body());
        assertEquals(
                json(plain).path("response").asText(),
                json(refreshed).path("response").asText());
        HttpResponse<String> bad = post(base, "/api/generate", body + ", \"cache\": \"full\"}}");
        assertEquals(400, bad.statusCode(), bad.body());
        assertTrue(json(bad).path("error").asText().contains("cache"), bad.body());
    }

    @Test
    void unmask_generate_takes_the_cache_flags() {
        String plain = generate();
        assertEquals(plain, generate("--cache", "none"));
        assertEquals(plain, generate("--cache", "dual", "--cache-refresh", "1"));
        assertFalse(generate("--cache", "prefix").isBlank());
    }

    static String generate(String... cache) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        List<String> args = new java.util.ArrayList<>(List.of(
                "generate",
                "def add(a, b):",
                "--model",
                ReferencePackages.tinyLlada().toString(),
                "--gen-length",
                "24",
                "--steps",
                "24",
                "--block-length",
                "8",
                "--threads",
                "1",
                "-q"));
        args.addAll(List.of(cache));
        assertEquals(0, cli.execute(args.toArray(String[]::new)), err.toString());
        return out.toString();
    }
}
