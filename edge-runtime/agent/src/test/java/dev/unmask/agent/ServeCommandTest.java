package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `unmask serve` on a free loopback port, driven over real HTTP with the real tiny-llada package from a store. */
class ServeCommandTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path tmp;

    static Path store;
    static Serving server;

    /** A running {@code unmask serve}, on its own thread, as a user starts it. */
    static final class Serving implements AutoCloseable {
        final ServeCommand command;
        final StringWriter err = new StringWriter();
        final Thread thread;
        final int[] exit = {-1};
        final URI base;

        Serving(String... args) throws Exception {
            CommandLine unmask = Unmask.commandLine();
            command = unmask.getSubcommands().get("serve").getCommand();
            unmask.setErr(new PrintWriter(err, true));
            unmask.setOut(new PrintWriter(new StringWriter(), true));
            String[] all = new String[args.length + 1];
            all[0] = "serve";
            System.arraycopy(args, 0, all, 1, args.length);
            thread = new Thread(() -> exit[0] = unmask.execute(all), "test-serve");
            thread.setDaemon(true);
            thread.start();
            AgentServer s = command.started.get(30, TimeUnit.SECONDS);
            base = URI.create("http://127.0.0.1:" + s.port());
        }

        @Override
        public void close() throws InterruptedException {
            command.stop();
            thread.join(15_000);
            assertEquals(ExitCodes.OK, exit[0], err.toString());
        }
    }

    @BeforeAll
    static void installAndServe() throws Exception {
        store = tmp.resolve("store");
        new ModelStore(store).pull(ReferencePackages.tinyLlada().toString(), "tiny", false, line -> {});
        server = new Serving("--port", "0", "--store", store.toString(), "--keep-alive", "-1", "--threads", "2");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    static HttpResponse<String> get(URI base, String path, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(60))
                .GET();
        if (headers.length > 0) {
            b.headers(headers);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(URI base, String path, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(base.resolve(path))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return JSON.readTree(r.body());
    }

    @Test
    void lists_the_installed_models_and_answers_health() throws Exception {
        HttpResponse<String> models = get(server.base, "/v1/models");
        assertEquals(200, models.statusCode(), models.body());
        List<String> ids = new ArrayList<>();
        json(models).get("data").forEach(m -> ids.add(m.get("id").asText()));
        assertTrue(ids.contains("tiny"), ids.toString());
        assertEquals(
                "model", json(get(server.base, "/v1/models/tiny")).get("object").asText());

        HttpResponse<String> health = get(server.base, "/health");
        assertEquals(200, health.statusCode());
        assertEquals("ok", json(health).get("status").asText());
        assertTrue(json(health).get("models").toString().contains("\"tiny\""), health.body());
    }

    @Test
    void chat_completion_loads_the_model_on_the_first_request() throws Exception {
        HttpResponse<String> r = post(
                server.base,
                "/v1/chat/completions",
                "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 8, \"steps\": 8}");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode body = json(r);
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals("assistant", body.at("/choices/0/message/role").asText());
        assertTrue(body.at("/usage/completion_tokens").asInt() <= 8);
        assertTrue(
                json(get(server.base, "/health")).get("loaded").toString().contains("\"tiny\""),
                "loaded now, kept (-1)");
    }

    @Test
    void completion_with_suffix_fills_the_middle() throws Exception {
        HttpResponse<String> r = post(
                server.base,
                "/v1/completions",
                "{\"model\": \"tiny\", \"prompt\": \"def square(x):\\n\", \"suffix\": \"\\n\\ndef cube(x):\\n\", \"max_tokens\": 8, \"steps\": 8}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("text_completion", json(r).get("object").asText());
        assertTrue(json(r).at("/choices/0/text").isTextual());
    }

    @Test
    void streaming_is_server_sent_events_with_drafts_ending_in_done() throws Exception {
        HttpResponse<java.util.stream.Stream<String>> r = HTTP.send(
                HttpRequest.newBuilder(server.base.resolve("/v1/chat/completions"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                                        + " \"max_tokens\": 16, \"steps\": 16, \"stream\": true, \"diffusing\": true,"
                                        + " \"stream_options\": {\"include_usage\": true}}"))
                        .build(),
                HttpResponse.BodyHandlers.ofLines());
        assertEquals(200, r.statusCode());
        assertEquals("text/event-stream", r.headers().firstValue("Content-Type").orElse(""));
        List<String> data = r.body().filter(l -> !l.isEmpty()).toList();
        assertTrue(data.stream().allMatch(l -> l.startsWith("data: ")), data.toString());
        assertEquals("data: [DONE]", data.get(data.size() - 1));
        List<JsonNode> chunks = new ArrayList<>();
        for (String l : data.subList(0, data.size() - 1)) {
            chunks.add(JSON.readTree(l.substring("data: ".length())));
        }
        assertTrue(chunks.stream().allMatch(c -> c.get("object").asText().equals("chat.completion.chunk")));
        assertEquals("assistant", chunks.get(0).at("/choices/0/delta/role").asText());
        assertTrue(chunks.stream().anyMatch(c -> c.has("draft")), "the diffusion extra: drafts while denoising");
        assertTrue(
                chunks.stream().anyMatch(c -> c.at("/choices/0/finish_reason").isTextual()));
        assertTrue(chunks.get(chunks.size() - 1).at("/usage/total_tokens").asInt() > 0, "usage last, as asked");
    }

    @Test
    void errors_are_openai_shaped_with_their_status() throws Exception {
        HttpResponse<String> unknown = post(
                server.base,
                "/v1/chat/completions",
                "{\"model\": \"nope\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        assertEquals(404, unknown.statusCode());
        assertEquals("model_not_found", json(unknown).at("/error/code").asText());
        assertTrue(json(unknown).at("/error/message").asText().contains("\"tiny\""), "names the models there are");

        HttpResponse<String> badJson = post(server.base, "/v1/completions", "{\"model\": ");
        assertEquals(400, badJson.statusCode());
        assertEquals("invalid_json", json(badJson).at("/error/code").asText());

        HttpResponse<String> badKeepAlive = post(
                server.base, "/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"x\", \"keep_alive\": \"soon\"}");
        assertEquals(400, badKeepAlive.statusCode());
        assertEquals("keep_alive", json(badKeepAlive).at("/error/param").asText());

        assertEquals(404, get(server.base, "/v2/nothing").statusCode());
        assertEquals(405, get(server.base, "/v1/chat/completions").statusCode());
    }

    @Test
    void with_an_api_key_v1_answers_401_without_it() throws Exception {
        try (Serving keyed = new Serving("--port", "0", "--store", store.toString(), "--api-key", "s3cret")) {
            HttpResponse<String> none = get(keyed.base, "/v1/models");
            assertEquals(401, none.statusCode());
            assertEquals("invalid_api_key", json(none).at("/error/code").asText());
            assertEquals("Bearer", none.headers().firstValue("WWW-Authenticate").orElse(""));
            assertEquals(
                    401,
                    get(keyed.base, "/v1/models", "Authorization", "Bearer wrong")
                            .statusCode());
            assertEquals(
                    200,
                    get(keyed.base, "/v1/models", "Authorization", "Bearer s3cret")
                            .statusCode());
            assertEquals(200, get(keyed.base, "/health").statusCode(), "health needs no key");
        }
    }

    @Test
    void refuses_to_listen_beyond_loopback_without_a_key() {
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setErr(new PrintWriter(err, true));
        assertEquals(
                ExitCodes.INVALID_INPUT,
                cli.execute("serve", "--host", "0.0.0.0", "--port", "0", "--store", store.toString(), "--api-key", ""));
        assertTrue(
                err.toString().contains("Refusing to listen on 0.0.0.0")
                        && err.toString().contains("--api-key"),
                err.toString());
        // with a key the address is accepted (not bound here)
        assertEquals(0, ServeCommand.listenAddress("0.0.0.0", 0, "k").getPort());
    }

    @Test
    void web_apps_are_allowed_by_origin_on_the_command_line_and_a_wrong_one_is_refused_with_an_example()
            throws Exception {
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setErr(new PrintWriter(err, true));
        assertEquals(
                ExitCodes.INVALID_INPUT,
                cli.execute("serve", "--port", "0", "--store", store.toString(), "--allow-origin", "app.example.com"));
        assertTrue(err.toString().contains("--allow-origin https://app.example.com"), err.toString());

        try (Serving allowing = new Serving(
                "--port", "0", "--store", store.toString(), "--allow-origin", "https://a.example, https://b.example")) {
            HttpResponse<String> preflight = HTTP.send(
                    HttpRequest.newBuilder(allowing.base.resolve("/v1/completions"))
                            .header("Origin", "https://b.example")
                            .header("Access-Control-Request-Method", "POST")
                            .method("OPTIONS", HttpRequest.BodyPublishers.noBody())
                            .build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(204, preflight.statusCode());
            assertEquals(
                    "https://b.example",
                    preflight
                            .headers()
                            .firstValue("Access-Control-Allow-Origin")
                            .orElse(""));
            assertEquals(
                    403,
                    get(allowing.base, "/v1/models", "Origin", "https://c.example")
                            .statusCode());
        }
    }

    @Test
    void listening_on_every_address_it_prints_a_base_url_that_works() throws Exception {
        try (Serving wide =
                new Serving("--host", "0.0.0.0", "--port", "0", "--store", store.toString(), "--api-key", "k")) {
            int port = wide.base.getPort();
            assertTrue(wide.err.toString().contains("on http://127.0.0.1:" + port + "/v1 "), wide.err.toString());
            assertEquals(
                    200,
                    get(
                                    URI.create(wide.err.toString().replaceAll("(?s).* on (http://\\S+/v1) .*", "$1")
                                            + "/"),
                                    "models",
                                    "Authorization",
                                    "Bearer k")
                            .statusCode());
        }
    }

    @Test
    void an_idle_model_is_unloaded_after_its_keep_alive() throws Exception {
        try (Serving quick =
                new Serving("--port", "0", "--store", store.toString(), "--keep-alive", "400ms", "--threads", "2")) {
            assertEquals(
                    "[]", json(get(quick.base, "/health")).get("loaded").toString(), "nothing loaded before a request");
            HttpResponse<String> r = post(
                    quick.base,
                    "/v1/completions",
                    "{\"model\": \"tiny\", \"prompt\": \"x =\", \"max_tokens\": 8, \"steps\": 8}");
            assertEquals(200, r.statusCode(), r.body());
            long answered = System.nanoTime();
            long unloadedAfterMillis = -1;
            while (System.nanoTime() - answered < 10_000_000_000L) {
                if (json(get(quick.base, "/health")).get("loaded").isEmpty()) {
                    unloadedAfterMillis = (System.nanoTime() - answered) / 1_000_000;
                    break;
                }
                Thread.sleep(50);
            }
            assertTrue(unloadedAfterMillis >= 0, "unloaded within 10 s: " + quick.err);
            assertTrue(unloadedAfterMillis >= 300, "not before its keep-alive: " + unloadedAfterMillis + " ms");
            assertTrue(quick.err.toString().contains("unloaded 'tiny' after 400ms idle"), quick.err.toString());

            // a request's own keep_alive: 0 unloads as soon as it is answered
            assertEquals(
                    200,
                    post(
                                    quick.base,
                                    "/v1/completions",
                                    "{\"model\": \"tiny\", \"prompt\": \"x =\", \"max_tokens\": 8, \"steps\": 8, \"keep_alive\": 0}")
                            .statusCode());
            assertEquals("[]", json(get(quick.base, "/health")).get("loaded").toString());
        }
    }

    /** The chunks of an SSE body, [DONE] left out. */
    static List<JsonNode> events(String body) throws Exception {
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        List<JsonNode> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (!event.equals("data: [DONE]")) {
                out.add(JSON.readTree(event.substring("data: ".length())));
            }
        }
        return out;
    }

    @Test
    void the_command_line_and_the_api_plan_and_generate_alike() throws Exception {
        // 40 tokens with the package's blocks of 32: one block of 32 and one of 8, one token per step
        StringWriter out = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(new StringWriter(), true));
        assertEquals(
                0,
                cli.execute(
                        "generate",
                        "def add(a, b):",
                        "--model",
                        ReferencePackages.tinyLlada().toString(),
                        "--gen-length",
                        "40",
                        "--temperature",
                        "0.8",
                        "--seed",
                        "7",
                        "--stop",
                        "return",
                        "--json",
                        "-q",
                        "--threads",
                        "2"));
        JsonNode generated = JSON.readTree(out.toString());

        String request =
                "{\"model\": \"tiny\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 40, \"temperature\": 0.8,"
                        + " \"seed\": 7, \"stop\": \"return\"";
        HttpResponse<String> plain = post(server.base, "/v1/completions", request + "}");
        assertEquals(200, plain.statusCode(), plain.body());
        JsonNode answer = json(plain);
        assertEquals(
                generated.get("text").asText(), answer.at("/choices/0/text").asText(), "the same tokens");
        assertEquals(
                generated.get("completion_tokens").asInt(),
                answer.at("/usage/completion_tokens").asInt());
        assertEquals(
                generated.get("finish_reason").asText(),
                answer.at("/choices/0/finish_reason").asText());

        HttpResponse<String> streamed =
                post(server.base, "/v1/completions", request + ", \"stream\": true, \"diffusing\": true}");
        List<JsonNode> drafts = events(streamed.body()).stream()
                .filter(c -> c.has("draft"))
                .map(c -> c.get("draft"))
                .toList();
        assertEquals(generated.get("steps").asInt(), drafts.size(), "the same number of steps");
        assertEquals(40, drafts.get(0).get("masked").asInt() + 1, "a 40-token region, one token committed per step");
        if (drafts.size() > 32) {
            assertEquals(1, drafts.get(32).get("block").asInt(), "the second block starts after 32 steps");
        }
    }

    @Test
    void over_http_a_streamed_answer_is_the_plain_answer_with_stops_and_infill() throws Exception {
        for (String request : List.of(
                "{\"model\": \"tiny\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 48, \"block_length\": 8,"
                        + " \"temperature\": 0.9, \"seed\": 1, \"stop\": [\"get\", \"return\"]",
                "{\"model\": \"tiny\", \"prompt\": \"x = \", \"suffix\": \"\\n\", \"max_tokens\": 24,"
                        + " \"block_length\": 4, \"temperature\": 1.0, \"seed\": 2, \"stop\": \"(\"")) {
            HttpResponse<String> plain = post(server.base, "/v1/completions", request + "}");
            assertEquals(200, plain.statusCode(), plain.body());
            StringBuilder text = new StringBuilder();
            for (JsonNode c : events(post(server.base, "/v1/completions", request + ", \"stream\": true}")
                    .body())) {
                text.append(c.at("/choices/0/text").asText(""));
            }
            assertEquals(json(plain).at("/choices/0/text").asText(), text.toString(), request);
        }
    }
}
