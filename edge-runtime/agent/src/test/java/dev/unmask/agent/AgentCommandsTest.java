package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code unmask ps} and {@code unmask stop} against a real agent on loopback, and with none running. */
class AgentCommandsTest {

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void ps_lists_the_loaded_model_until_when_and_stop_unloads_it() throws Exception {
        Path tiny = ReferencePackages.tinyLlada();
        try (LocalModels models = new LocalModels(
                        () -> Map.of("tiny", tiny),
                        RuntimeOptions.defaults().withIntraOpThreads(1),
                        Duration.ofMinutes(10),
                        1,
                        4,
                        line -> {});
                AgentServer server = new AgentServer(
                        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                        models,
                        ServingLimits.defaults(),
                        List.of())) {
            String port = Integer.toString(server.port());
            assertEquals(ExitCodes.OK, unmask("ps", "--port", port), err.toString());
            assertEquals(1, out.toString().strip().lines().count(), "only the header while nothing is loaded: " + out);

            ServeCommandTest.post(URI.create("http://127.0.0.1:" + port), "/api/generate", "{\"model\": \"tiny\"}");
            assertEquals(ExitCodes.OK, unmask("ps", "--port", port), err.toString());
            String row = out.toString().lines().skip(1).findFirst().orElse("");
            assertTrue(
                    row.startsWith("tiny ") && row.contains(" MB") && row.contains("minutes from now"), out.toString());

            assertEquals(ExitCodes.OK, unmask("stop", "tiny", "--port", port), err.toString());
            assertTrue(err.toString().contains("unloaded 'tiny'"), err.toString());
            assertEquals(0, models.loaded().size(), "gone from memory");
            assertEquals(ExitCodes.OK, unmask("stop", "tiny", "--port", port), err.toString());
            assertTrue(err.toString().contains("was not loaded"), err.toString());
            assertEquals(ExitCodes.INVALID_INPUT, unmask("stop", "nope", "--port", port));
            assertTrue(err.toString().contains("not found"), err.toString());
        }
    }

    @Test
    void with_no_agent_running_they_say_how_to_start_one() throws Exception {
        int closed;
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = s.getLocalPort(); // free once closed: nobody listens there
        }
        for (String[] command : new String[][] {{"ps"}, {"stop", "tiny"}}) {
            String[] args = java.util.stream.Stream.concat(
                            java.util.Arrays.stream(command), java.util.stream.Stream.of("--port", "" + closed))
                    .toArray(String[]::new);
            assertEquals(ExitCodes.IO, unmask(args), err.toString());
            assertTrue(
                    err.toString().contains("No unmask agent answers")
                            && err.toString().contains("unmask serve"),
                    err.toString());
        }
    }

    @Test
    void until_reads_as_ollama_ps_writes_it() {
        Instant now = Instant.parse("2026-01-01T00:00:00Z");
        assertEquals("4 minutes from now", AgentCommands.until(now.plusSeconds(299), now));
        assertEquals("1 hour from now", AgentCommands.until(now.plusSeconds(3600), now));
        assertEquals("forever", AgentCommands.until(OllamaApi.FOREVER, now));
    }
}
