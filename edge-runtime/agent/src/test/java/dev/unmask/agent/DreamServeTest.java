package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The tiny-dream package through the agent: {@code unmask pull} (folder and zip) into a store, {@code unmask list} with
 * its family, and {@code unmask serve} answering for it beside tiny-llada in one server, over real HTTP on loopback.
 * Only public behaviour: exit codes, printed output, HTTP.
 */
class DreamServeTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path tmp;

    static Path store;
    static ServeCommandTest.Serving server;
    static final StringWriter out = new StringWriter();
    static final StringWriter err = new StringWriter();

    static int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    /** A zip of the package folder, its files under {@code folder/}, as zipping a folder makes it. */
    static Path zipOf(Path packageDir, String folder) throws IOException {
        Path zip = tmp.resolve(folder + ".zip");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(zip));
                Stream<Path> files = Files.list(packageDir)) {
            z.setLevel(java.util.zip.Deflater.BEST_SPEED);
            for (Path f : files.sorted().toList()) {
                z.putNextEntry(new ZipEntry(folder + "/" + f.getFileName()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        return zip;
    }

    @BeforeAll
    static void pullBothAndServe() throws Exception {
        store = tmp.resolve("store");
        String s = store.toString();
        assertEquals(
                ExitCodes.OK,
                unmask("pull", ReferencePackages.tinyDream().toString(), "--name", "dream", "--store", s),
                err.toString());
        assertEquals(
                ExitCodes.OK,
                unmask("pull", ReferencePackages.tinyLlada().toString(), "--name", "llada", "--store", s),
                err.toString());
        server = new ServeCommandTest.Serving("--port", "0", "--store", s, "--keep-alive", "-1", "--threads", "1");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @Test
    void a_zip_pulls_too_and_list_shows_each_model_with_its_family() throws Exception {
        Path zipStore = tmp.resolve("zip-store");
        Path zip = zipOf(ReferencePackages.tinyDream(), "tiny-dream-package");
        assertEquals(ExitCodes.OK, unmask("pull", zip.toString(), "--store", zipStore.toString()), err.toString());
        assertEquals(ExitCodes.OK, unmask("list", "--store", zipStore.toString()), err.toString());
        assertTrue(
                out.toString().lines().anyMatch(l -> l.startsWith("tiny-dream") && l.contains(" dream ")),
                out.toString());

        assertEquals(ExitCodes.OK, unmask("list", "--store", store.toString()), err.toString());
        assertTrue(
                out.toString().lines().anyMatch(l -> l.startsWith("dream ") && l.contains(" dream ")), out.toString());
        assertTrue(
                out.toString().lines().anyMatch(l -> l.startsWith("llada ") && l.contains(" llada ")), out.toString());

        // a model from the store is a --model name for the command line as well
        assertEquals(
                ExitCodes.OK,
                unmask(
                        "generate",
                        "x =",
                        "--model",
                        "tiny-dream",
                        "--store",
                        zipStore.toString(),
                        "--gen-length",
                        "8",
                        "--steps",
                        "4",
                        "-q"),
                err.toString());
    }

    @Test
    void v1_models_lists_both_families_side_by_side() throws Exception {
        HttpResponse<String> models = get("/v1/models");
        assertEquals(200, models.statusCode(), models.body());
        List<String> ids = new ArrayList<>();
        JSON.readTree(models.body())
                .get("data")
                .forEach(m -> ids.add(m.get("id").asText()));
        assertTrue(ids.containsAll(List.of("dream", "llada")), ids.toString());
    }

    @Test
    void chat_completions_answer_for_dream_and_the_stream_is_the_plain_answer() throws Exception {
        String request = "{\"model\": \"dream\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}],"
                + " \"max_tokens\": 16, \"steps\": 8";
        HttpResponse<String> plain = post("/v1/chat/completions", request + "}");
        assertEquals(200, plain.statusCode(), plain.body());
        JsonNode body = JSON.readTree(plain.body());
        assertEquals("chat.completion", body.get("object").asText());
        assertEquals("dream", body.get("model").asText());
        String content = body.at("/choices/0/message/content").asText();
        assertFalse(content.contains("<|im_end|>"), "the turn ends at <|im_end|>, not in the text: " + content);

        StringBuilder streamed = new StringBuilder();
        for (JsonNode c : ServeCommandTest.events(
                post("/v1/chat/completions", request + ", \"stream\": true}").body())) {
            streamed.append(c.at("/choices/0/delta/content").asText(""));
        }
        assertEquals(content, streamed.toString(), "streamed = plain");

        // the same request through the command line: the same tokens
        JsonNode cli = generate("Hello", "--chat", "--gen-length", "16", "--steps", "8");
        assertEquals(cli.get("text").asText(), content);
        assertEquals(
                cli.get("prompt_tokens").asInt(),
                body.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void completions_with_dreams_fields_are_the_command_lines_tokens_plain_and_streamed() throws Exception {
        String request = "{\"model\": \"dream\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 16, \"steps\": 8,"
                + " \"alg\": \"entropy\", \"alg_temp\": 0.5, \"eps\": 0.01, \"temperature\": 0.8, \"seed\": 3";
        JsonNode cli = generate(
                "def add(a, b):",
                "--gen-length",
                "16",
                "--steps",
                "8",
                "--alg",
                "entropy",
                "--alg-temp",
                "0.5",
                "--eps",
                "0.01",
                "--temperature",
                "0.8",
                "--seed",
                "3");
        HttpResponse<String> plain = post("/v1/completions", request + "}");
        assertEquals(200, plain.statusCode(), plain.body());
        JsonNode body = JSON.readTree(plain.body());
        assertEquals(cli.get("text").asText(), body.at("/choices/0/text").asText(), "generate = serve");
        assertEquals(
                cli.get("completion_tokens").asInt(),
                body.at("/usage/completion_tokens").asInt());
        assertEquals(
                cli.get("finish_reason").asText(),
                body.at("/choices/0/finish_reason").asText());

        StringBuilder streamed = new StringBuilder();
        for (JsonNode c : ServeCommandTest.events(
                post("/v1/completions", request + ", \"stream\": true}").body())) {
            streamed.append(c.at("/choices/0/text").asText(""));
        }
        assertEquals(body.at("/choices/0/text").asText(), streamed.toString(), "streamed = plain");

        HttpResponse<String> bad = post("/v1/completions", request + ", \"eps\": 2}");
        assertEquals(400, bad.statusCode(), bad.body());
        assertEquals("eps", JSON.readTree(bad.body()).at("/error/param").asText(), bad.body());
    }

    @Test
    void infill_over_http_is_the_command_lines_middle() throws Exception {
        String prefix = "def square(x):\n    return ";
        String suffix = "\n\ndef cube(x):\n";
        assertEquals(
                ExitCodes.OK,
                unmask(
                        "infill",
                        "--prefix",
                        prefix,
                        "--suffix",
                        suffix,
                        "--length",
                        "8",
                        "--steps",
                        "8",
                        "--model",
                        ReferencePackages.tinyDream().toString(),
                        "-q",
                        "--threads",
                        "1"),
                err.toString());
        String middle = out.toString().stripTrailing();
        HttpResponse<String> r = post(
                "/v1/completions",
                JSON.createObjectNode()
                        .put("model", "dream")
                        .put("prompt", prefix)
                        .put("suffix", suffix)
                        .put("max_tokens", 8)
                        .put("steps", 8)
                        .toString());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(
                middle, JSON.readTree(r.body()).at("/choices/0/text").asText().stripTrailing());
    }

    @Test
    void llada_answers_beside_dream_in_the_same_server() throws Exception {
        HttpResponse<String> r =
                post("/v1/completions", "{\"model\": \"llada\", \"prompt\": \"x =\", \"max_tokens\": 8, \"steps\": 8}");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("llada", JSON.readTree(r.body()).get("model").asText());
    }

    static JsonNode generate(String... args) throws Exception {
        String[] all = Stream.concat(
                        Stream.of("generate"),
                        Stream.concat(
                                Stream.of(args),
                                Stream.of(
                                        "--model",
                                        ReferencePackages.tinyDream().toString(),
                                        "--json",
                                        "-q",
                                        "--threads",
                                        "1")))
                .toArray(String[]::new);
        assertEquals(ExitCodes.OK, unmask(all), err.toString());
        return JSON.readTree(out.toString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(server.base.resolve(path))
                        .timeout(Duration.ofSeconds(60))
                        .GET()
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(server.base.resolve(path))
                        .timeout(Duration.ofSeconds(60))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static URI base() {
        return server.base;
    }
}
