package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The official {@code ollama} npm client (ollama-js, pinned in {@code src/test/node/ollama/package-lock.json})
 * against the real agent on loopback with the tiny package: version, list, show, generate whole and streamed (the
 * pieces join to the whole answer), generate with a suffix, chat whole and streamed, ps, its errors, and the unload
 * of {@code ollama stop}. The asserts are in {@code client.mjs}; this test serves, runs it and reads its summary.
 */
class OllamaClientTest {

    static final Path CLIENT = Path.of("src/test/node/ollama");

    @Test
    void the_official_ollama_client_works_against_the_agent() throws Exception {
        assumeTrue(
                run(List.of("node", "--version"), Path.of("."), 30).exit() == 0,
                "node is not installed: apt-get install -y nodejs npm (.ci/run does)");
        installClient();
        Path tiny = ReferencePackages.tinyLlada();
        try (LocalModels models = new LocalModels(
                        () -> Map.of("tiny", tiny),
                        RuntimeOptions.defaults().withIntraOpThreads(1),
                        Duration.ofMinutes(5),
                        2,
                        16,
                        line -> {});
                AgentServer server = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        models,
                        ServingLimits.defaults(),
                        List.of())) {
            Run client = run(List.of("node", "client.mjs", "http://127.0.0.1:" + server.port(), "tiny"), CLIENT, 300);
            assertEquals(0, client.exit(), client.output());
            System.out.println("client.mjs: " + client.output().strip()); // the summary, in the surefire report
            String[] lines = client.output().strip().split("\n");
            JsonNode summary = ServeCommandTest.JSON.readTree(lines[lines.length - 1]);
            assertEquals(List.of("tiny:latest"), ServeCommandTest.JSON.convertValue(summary.get("list"), List.class));
            assertEquals("llada", summary.get("family").asText());
            assertTrue(summary.at("/generate/eval_count").asInt() > 0, summary.toString());
            assertTrue(summary.get("unloaded").asBoolean(), summary.toString());
        }
    }

    /**
     * {@code npm ci} from the lock file, unless {@code node_modules} already holds the pinned client (offline
     * machines reuse it).
     */
    static void installClient() throws Exception {
        if (Files.isRegularFile(CLIENT.resolve("node_modules/ollama/package.json"))) {
            return;
        }
        Run install = run(List.of("npm", "ci", "--no-audit", "--no-fund"), CLIENT, 300);
        assertEquals(0, install.exit(), "npm ci in " + CLIENT + " failed:\n" + install.output());
    }

    record Run(int exit, String output) {}

    /** Runs {@code command} in {@code dir}, stdout and stderr together, killed after {@code seconds}. */
    static Run run(List<String> command, Path dir, int seconds) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder(command)
                    .directory(dir.toFile())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException notInstalled) {
            return new Run(-1, notInstalled.getMessage());
        }
        p.getOutputStream().close();
        byte[][] out = new byte[1][];
        Thread reader = new Thread(() -> {
            try {
                out[0] = p.getInputStream().readAllBytes();
            } catch (IOException e) {
                out[0] = new byte[0];
            }
        });
        reader.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
        reader.join(10_000);
        String text = out[0] == null ? "" : new String(out[0], StandardCharsets.UTF_8);
        return new Run(p.isAlive() ? -1 : p.exitValue(), text);
    }
}
