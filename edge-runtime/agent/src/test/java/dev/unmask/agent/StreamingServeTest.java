package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

/**
 * Streams of {@code unmask serve} over real HTTP on loopback, for both families (tiny-llada and tiny-dream in one
 * server), and of {@code unmask generate}: the text flows step by step, and what a client assembles from the chunks is
 * exactly the plain answer of the same request, with the same finish_reason and usage.
 */
class StreamingServeTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @TempDir
    static Path tmp;

    static Path store;
    static ServeCommandTest.Serving server;

    @BeforeAll
    static void pullBothAndServe() throws Exception {
        store = tmp.resolve("store");
        new ModelStore(store).pull(ReferencePackages.tinyLlada().toString(), "llada", false, line -> {});
        new ModelStore(store).pull(ReferencePackages.tinyDream().toString(), "dream", false, line -> {});
        server = new ServeCommandTest.Serving(
                "--port", "0", "--store", store.toString(), "--keep-alive", "-1", "--threads", "2");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(
                HttpRequest.newBuilder(URI.create(server.base + path))
                        .timeout(Duration.ofSeconds(120))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body.replace('\'', '"')))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** What a client makes of a stream: the content chunks, the finish_reason, the usage of the last chunk. */
    record Assembled(List<String> contents, String finishReason, JsonNode usage, List<JsonNode> drafts) {
        String text() {
            return String.join("", contents);
        }
    }

    static Assembled assemble(HttpResponse<String> r) throws Exception {
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> chunks = ServeCommandTest.events(r.body());
        List<String> contents = new ArrayList<>();
        List<JsonNode> drafts = new ArrayList<>();
        String finish = null;
        for (JsonNode c : chunks) {
            if (c.has("draft")) {
                drafts.add(c.get("draft"));
            }
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
        JsonNode last = chunks.get(chunks.size() - 1);
        return new Assembled(contents, finish, last.get("usage"), drafts);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llada", "dream"})
    void the_chunks_concatenated_are_the_plain_answer_with_its_finish_reason_and_usage(String model) throws Exception {
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
                    HttpResponse<String> plain = post(path, request + "}");
                    assertEquals(200, plain.statusCode(), plain.body());
                    JsonNode answer = JSON.readTree(plain.body());
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
    @ValueSource(strings = {"llada", "dream"})
    void a_64_token_answer_in_blocks_of_32_and_32_steps_arrives_in_many_content_chunks(String model) throws Exception {
        String request = "{'model': '" + model + "', 'prompt': 'def fibonacci(n):\\n', 'max_tokens': 64,"
                + " 'block_length': 32, 'steps': 32";
        JsonNode plain = JSON.readTree(post("/v1/completions", request + "}").body());
        Assembled streamed = assemble(post("/v1/completions", request + ", 'stream': true}"));
        assertEquals(plain.at("/choices/0/text").asText(), streamed.text());
        assertEquals(64, plain.at("/usage/completion_tokens").asInt(), "the model fills the canvas: " + plain);
        assertTrue(
                streamed.contents().size() >= 6,
                "text every few steps, not a block at a time: "
                        + streamed.contents().size() + " chunks " + streamed.contents());
    }

    @Test
    void each_draft_says_at_which_step_every_position_was_committed() throws Exception {
        Assembled streamed = assemble(post(
                "/v1/completions",
                "{'model': 'llada', 'prompt': 'The', 'max_tokens': 16, 'block_length': 8, 'steps': 8, 'stream': true,"
                        + " 'diffusing': true}"));
        assertEquals(8, streamed.drafts().size(), "one draft per step");
        JsonNode before = null;
        for (int n = 0; n < streamed.drafts().size(); n++) {
            JsonNode d = streamed.drafts().get(n);
            JsonNode at = d.get("committed_at_step");
            assertEquals(16, at.size(), "one entry per position of the region");
            int nulls = 0;
            for (int p = 0; p < at.size(); p++) {
                if (at.get(p).isNull()) {
                    nulls++;
                } else {
                    assertTrue(at.get(p).asInt() >= 1 && at.get(p).asInt() <= n + 1, at.toString());
                    if (before != null && !before.get(p).isNull()) {
                        assertEquals(before.get(p), at.get(p), "a committed position keeps its step");
                    }
                }
            }
            assertEquals(d.get("masked").asInt(), nulls, "null exactly where still masked");
            before = at;
        }
    }

    /** Records every write, so that a test sees the text arrive in pieces. */
    static final class Pieces extends Writer {
        final List<String> writes = new ArrayList<>();

        @Override
        public void write(char[] buf, int off, int len) {
            writes.add(new String(buf, off, len));
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}

        String all() {
            return String.join("", writes);
        }
    }

    @Test
    void generate_writes_the_text_as_it_becomes_final_and_ends_with_the_same_bytes() {
        String[] args = {
            "generate",
            "def fibonacci(n):\n",
            "--model",
            "llada",
            "--store",
            store.toString(),
            "--gen-length",
            "64",
            "--block-length",
            "32",
            "--steps",
            "32",
            "-q"
        };
        Pieces streamed = new Pieces();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(streamed));
        cli.setErr(new PrintWriter(new StringWriter()));
        assertEquals(ExitCodes.OK, cli.execute(args));

        StringWriter whole = new StringWriter();
        CommandLine once = Unmask.commandLine();
        once.setOut(new PrintWriter(whole));
        once.setErr(new PrintWriter(new StringWriter()));
        String[] noStream = java.util.Arrays.copyOf(args, args.length + 1);
        noStream[args.length] = "--no-stream";
        assertEquals(ExitCodes.OK, once.execute(noStream));

        assertEquals(whole.toString(), streamed.all(), "the same output, streamed or not");
        assertTrue(streamed.writes.size() > 4, "written in pieces as it became final: " + streamed.writes);
    }
}
