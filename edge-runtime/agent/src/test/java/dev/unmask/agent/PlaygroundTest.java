package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ApiException;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The web playground at {@code /} of the real agent on loopback, serving the real tiny package: its files and their
 * headers, the agent's cross-site rules unchanged beside it, the drafts' per-position view it draws, and the page
 * itself in a real browser (headless Chromium driven by playwright-core: {@code src/test/node/playground/drive.mjs}).
 */
class PlaygroundTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final Path NODE_PROJECT = Path.of("src/test/node/playground");
    static final Path CHROMIUM = Path.of(System.getenv().getOrDefault("CHROMIUM_PATH", "/usr/bin/chromium"));

    static LocalModels models;
    static AgentServer server;
    static URI base;

    @BeforeAll
    static void serve() {
        Path tiny = ReferencePackages.tinyLlada();
        models = new LocalModels(
                () -> Map.of("tiny", tiny),
                (id, dir) -> {
                    Engine engine = Engine.open(dir, RuntimeOptions.defaults().withIntraOpThreads(1));
                    return new ServedModel(
                            id, engine, new BatchScheduler(engine, 2, 16, null), System.currentTimeMillis() / 1000);
                },
                Duration.ofMinutes(5),
                line -> {});
        server = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of(),
                CrossSite.loopbackOnly());
        base = URI.create("http://127.0.0.1:" + server.port());
    }

    @AfterAll
    static void stop() {
        server.close();
        models.close();
    }

    @Test
    void thePageIsServedAtTheRootWithAStrictContentSecurityPolicyAndRevalidation() throws Exception {
        HttpResponse<String> page = ServeCommandTest.get(base, "/");
        assertEquals(200, page.statusCode(), page.body());
        assertEquals("text/html; charset=utf-8", header(page, "Content-Type"));
        String csp = header(page, "Content-Security-Policy");
        assertTrue(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"), csp);
        assertTrue(csp.contains("connect-src 'self'") && !csp.contains("unsafe-inline"), csp);
        assertEquals("nosniff", header(page, "X-Content-Type-Options"));
        assertEquals("no-cache", header(page, "Cache-Control"));
        assertTrue(page.body().contains("<script src=\"playground.js\" defer></script>"), page.body());
        assertFalse(page.body().contains("http://") || page.body().contains("https://"), "no resource off this origin");

        String etag = header(page, "ETag");
        HttpResponse<String> again = ServeCommandTest.get(base, "/", "If-None-Match", etag);
        assertEquals(304, again.statusCode());
        assertEquals("", again.body());

        HttpResponse<String> script = ServeCommandTest.get(base, "/playground.js");
        assertEquals(200, script.statusCode());
        assertEquals("text/javascript; charset=utf-8", header(script, "Content-Type"));
        assertFalse(script.body().contains("innerHTML"), "model text goes in with textContent only");
        assertEquals("text/css; charset=utf-8", header(ServeCommandTest.get(base, "/playground.css"), "Content-Type"));
        assertEquals("image/svg+xml", header(ServeCommandTest.get(base, "/favicon.svg"), "Content-Type"));
        assertEquals(404, ServeCommandTest.get(base, "/playground.map").statusCode());
    }

    @Test
    void thePageKeepsTheAgentsCrossSiteRules() throws Exception {
        assertTrue(raw("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startsWith("HTTP/1.1 200"));
        // DNS rebinding: a page on evil.example whose name now points at 127.0.0.1 gets neither the page nor the API
        String rebound = raw("GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n");
        assertTrue(rebound.startsWith("HTTP/1.1 403") && rebound.contains("forbidden_host"), rebound);
        String foreign = raw("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: https://evil.example\r\n\r\n");
        assertTrue(foreign.startsWith("HTTP/1.1 403") && foreign.contains("forbidden_origin"), foreign);
        // the page's own requests: same origin, loopback
        String own =
                raw("GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1:" + server.port() + "\r\nOrigin: " + base + "\r\n\r\n");
        assertTrue(own.startsWith("HTTP/1.1 200"), own);
        String posted = raw("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\n\r\n{}");
        assertTrue(posted.startsWith("HTTP/1.1 405"), posted);
    }

    /**
     * Beyond loopback (with a key) the page's origin is the agent's LAN address: its own requests are same-origin and
     * pass; another page's are still refused.
     */
    @Test
    void aPageServedBeyondLoopbackMayCallItsOwnServerOnly() {
        CrossSite lan = CrossSite.of(true, List.of());
        assertEquals("http://192.168.1.5:11435", lan.allowOrigin("http://192.168.1.5:11435", "192.168.1.5:11435"));
        ApiException other =
                assertThrows(ApiException.class, () -> lan.allowOrigin("http://192.168.1.9:8000", "192.168.1.5:11435"));
        assertEquals("forbidden_origin", other.code());
        assertThrows(ApiException.class, () -> lan.allowOrigin("https://192.168.1.5:11435", "192.168.1.5:11435"));
    }

    /**
     * What the canvas is drawn from: every draft has, per position of the region, its token ({@code tokens}, null
     * while masked) and the run's 1-based step that committed it ({@code committed_at_step}); each step's newly
     * committed positions carry that step's number, and a committed position never changes again (LLaDA's
     * low-confidence remasking commits for good).
     */
    @Test
    void everyDraftTellsEachPositionsTokenAndTheStepThatCommittedIt() throws Exception {
        String body = "{\"model\": \"tiny\", \"prompt\": \"def add(a, b):\", \"max_tokens\": 40, \"steps\": 20, "
                + "\"block_length\": 20, \"seed\": 1, \"stream\": true, \"diffusing\": true}";
        HttpResponse<String> r = ServeCommandTest.post(base, "/v1/completions", body);
        assertEquals(200, r.statusCode(), r.body());
        List<JsonNode> drafts = new ArrayList<>();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {") && line.contains("\"draft\"")) {
                drafts.add(JSON.readTree(line.substring("data: ".length())).get("draft"));
            }
        }
        assertEquals(20, drafts.size(), "one draft per step");
        Map<Integer, String> committed = new HashMap<>();
        Map<Integer, Integer> stepOf = new HashMap<>();
        for (int d = 0; d < drafts.size(); d++) {
            int step = d + 1;
            JsonNode tokens = drafts.get(d).get("tokens");
            JsonNode steps = drafts.get(d).get("committed_at_step");
            assertEquals(40, tokens.size(), "a token per position of the region");
            assertEquals(40, steps.size(), "a step per position of the region");
            int masked = 0;
            int fresh = 0;
            for (int i = 0; i < tokens.size(); i++) {
                if (tokens.get(i).isNull()) {
                    assertTrue(steps.get(i).isNull(), "a mask has no step: " + steps);
                    assertFalse(committed.containsKey(i), "position " + i + " was committed, then masked again");
                    masked++;
                    continue;
                }
                int at = steps.get(i).asInt();
                if (committed.containsKey(i)) {
                    assertEquals(committed.get(i), tokens.get(i).asText(), "position " + i + " changed");
                    assertEquals(stepOf.get(i), at, "position " + i + " changed its step");
                } else {
                    assertEquals(step, at, "a newly committed position carries the step that committed it");
                    committed.put(i, tokens.get(i).asText());
                    stepOf.put(i, at);
                    fresh++;
                }
            }
            assertEquals(drafts.get(d).get("masked").asInt(), masked);
            assertTrue(fresh > 0, "step " + step + " committed nothing");
        }
        assertEquals(40, committed.size(), "every position is committed by the last step");
        assertEquals(20, new HashSet<>(stepOf.values()).size(), "each of the 20 steps committed some of the 40");
    }

    /**
     * The page in a real browser: a chat turn and an infill typed into the form, at least three intermediate canvases
     * drawn as the masks turn into tokens, and the final text the API's own answer to the same request, sent whole.
     * Needs Node and Chromium ({@code .ci/run} installs them); playwright-core comes from the folder's package-lock.
     */
    @Test
    void aBrowserWatchesTheCanvasDenoiseAndEndsWithTheApisAnswer() throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM), "no Chromium at " + CHROMIUM + " (apt-get install chromium)");
        assumeTrue(run(Duration.ofSeconds(30), "node", "--version").exitCode == 0, "no node (apt-get install nodejs)");
        if (!Files.isDirectory(NODE_PROJECT.resolve("node_modules/playwright-core"))) {
            Outcome ci = run(Duration.ofMinutes(5), "npm", "ci", "--prefer-offline", "--no-audit", "--no-fund");
            // no registry and no node_modules: nothing to drive the browser with (the page itself is not at fault)
            assumeTrue(ci.exitCode == 0, "npm ci in " + NODE_PROJECT + " failed:\n" + ci.output);
        }
        Path out = Path.of("target/playground").toAbsolutePath();
        Outcome drive = run(Duration.ofMinutes(8), "node", "drive.mjs", base.toString(), out.toString());
        assertEquals(0, drive.exitCode, drive.output);
        String[] lines = drive.output.strip().split("\n");
        JsonNode seen = JSON.readTree(lines[lines.length - 1]);

        assertEquals(200, seen.get("status").asInt());
        assertEquals("[\"tiny\"]", seen.get("models").toString(), "the model list comes from /v1/models");
        assertEquals("[]", seen.get("consoleErrors").toString(), "no script error, no CSP violation");
        watchedDenoising(seen.get("chat"), 64);
        watchedDenoising(seen.get("infill"), 24);
        assertEquals(0, seen.get("chat").get("injected").asInt(), "markup in a message stays text");
        assertTrue(seen.get("chat").get("conversation").asText().contains("<img src=x> <b>fast</b>"));
        assertTrue(Files.size(out.resolve("chat.png")) > 0 && Files.size(out.resolve("infill.png")) > 0);
    }

    /** One run on the page: masks turning into tokens over at least three intermediate canvases, the API's text. */
    private static void watchedDenoising(JsonNode run, int length) {
        assertEquals("done", run.get("state").asText(), run.toString());
        List<Integer> masked = new ArrayList<>();
        for (JsonNode frame : run.get("frames")) {
            assertEquals(length, frame.get("cells").asInt(), "a cell per position: " + frame);
            assertEquals(frame.get("masked").asInt(), frame.get("maskCells").asInt(), frame.toString());
            masked.add(frame.get("masked").asInt());
        }
        long intermediate =
                masked.stream().filter(m -> m > 0 && m < length).distinct().count();
        assertTrue(intermediate >= 3, "at least three intermediate canvases, saw masks left " + masked);
        for (int i = 1; i < masked.size(); i++) {
            assertTrue(masked.get(i) <= masked.get(i - 1), "masks only ever turn into tokens: " + masked);
        }
        assertEquals(0, masked.get(masked.size() - 1), "the last canvas has no mask left");
        JsonNode last = run.get("frames").get(run.get("frames").size() - 1);
        assertTrue(last.get("steps").asInt() > 1, "the tokens are coloured by more than one step: " + last);
        assertFalse(last.get("perSecond").asText().equals("–"), "tokens per second shown: " + last);
        assertEquals(200, run.get("apiStatus").asInt());
        assertEquals(run.get("apiText").asText(), run.get("pageText").asText(), "the page shows the API's answer");
    }

    private static String header(HttpResponse<?> r, String name) {
        return r.headers().firstValue(name).orElse(null);
    }

    /** One raw HTTP/1.1 exchange (the JDK's client cannot send a Host of our choosing); the answer's head and body. */
    private static String raw(String request) throws IOException {
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), server.port())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write(request.getBytes(StandardCharsets.ISO_8859_1));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            byte[] buf = new byte[8192];
            while (true) {
                String text = got.toString(StandardCharsets.UTF_8);
                int end = text.indexOf("\r\n\r\n");
                if (end >= 0) {
                    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)")
                            .matcher(text.substring(0, end));
                    if (got.size() >= end + 4 + (m.find() ? Integer.parseInt(m.group(1)) : 0)) {
                        return text;
                    }
                }
                int n = in.read(buf);
                if (n < 0) {
                    return got.toString(StandardCharsets.UTF_8);
                }
                got.write(buf, 0, n);
            }
        }
    }

    private record Outcome(int exitCode, String output) {}

    /** Runs a command in the node project's folder, its output (stdout and stderr) kept; killed past {@code limit}. */
    private static Outcome run(Duration limit, String... command) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder(command)
                    .directory(NODE_PROJECT.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException notInstalled) {
            return new Outcome(-1, String.valueOf(notInstalled.getMessage()));
        }
        p.getOutputStream().close();
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        Thread reader = new Thread(() -> {
            try {
                p.getInputStream().transferTo(output);
            } catch (IOException e) {
                // the process went away
            }
        });
        reader.start();
        if (!p.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly();
            reader.join(5_000);
            return new Outcome(-1, "timed out after " + limit + ":\n" + output.toString(StandardCharsets.UTF_8));
        }
        reader.join(5_000);
        return new Outcome(p.exitValue(), output.toString(StandardCharsets.UTF_8));
    }
}
