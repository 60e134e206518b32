package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * One request cannot break a model for the others: a value out of range is a 400 that changes nothing, a request
 * that fails leaves the model's keep-alive as it was, and the keep-alive worker outlives a failure (or, stopped,
 * turns {@code /health} to 503). The real loader and the real tiny package, over HTTP on loopback.
 */
class SharedStateTest {

    static final String COMPLETION = "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 8, \"steps\": 8%s}";

    static final LocalModels.Loader REAL =
            LocalModels.engines(RuntimeOptions.defaults().withIntraOpThreads(1), 2, 4);

    static final class Served implements AutoCloseable {
        final LocalModels models;
        final AgentServer server;
        final URI base;

        Served(Map<String, Path> catalog, Duration keepAlive, Consumer<String> log) {
            models = new LocalModels(() -> catalog, REAL, keepAlive, log);
            server = new AgentServer(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                    models,
                    ServingLimits.defaults(),
                    List.of());
            server.start();
            base = URI.create("http://127.0.0.1:" + server.port());
        }

        HttpResponse<String> complete(String extra) throws Exception {
            return ServeCommandTest.post(base, "/v1/completions", COMPLETION.formatted(extra));
        }

        JsonNode health() throws Exception {
            return ServeCommandTest.json(ServeCommandTest.get(base, "/health"));
        }

        @Override
        public void close() {
            server.close();
            models.close();
        }
    }

    @Test
    void an_overflowing_keep_alive_is_a_400_and_the_model_serves_every_later_request() throws Exception {
        try (Served s = new Served(Map.of("tiny", ReferencePackages.tinyLlada()), Duration.ofMinutes(5), l -> {})) {
            HttpResponse<String> huge = s.complete(", \"keep_alive\": \"999999999999h\"");
            assertEquals(400, huge.statusCode(), huge.body());
            JsonNode error = ServeCommandTest.json(huge).get("error");
            assertEquals("keep_alive", error.get("param").asText());
            assertTrue(error.get("message").asText().contains("8760h"), error.toString());

            for (int i = 0; i < 2; i++) {
                HttpResponse<String> sane = s.complete("");
                assertEquals(200, sane.statusCode(), sane.body());
            }
            assertEquals("5m", s.health().get("loaded").get(0).get("keep_alive").asText());
        }
    }

    @Test
    void a_request_that_fails_leaves_the_keep_alive_as_it_was() throws Exception {
        try (Served s = new Served(Map.of("tiny", ReferencePackages.tinyLlada()), Duration.ofMinutes(5), l -> {})) {
            assertEquals(200, s.complete("").statusCode());
            // refused by the server's limits once the model is held: after the request took its lease
            HttpResponse<String> refused = s.complete(", \"keep_alive\": \"1h\", \"steps\": 100000");
            assertEquals(400, refused.statusCode(), refused.body());
            assertEquals("5m", s.health().get("loaded").get(0).get("keep_alive").asText());

            assertEquals(200, s.complete(", \"keep_alive\": \"1h\"").statusCode());
            assertEquals("1h", s.health().get("loaded").get(0).get("keep_alive").asText(), "an answer applies it");
        }
    }

    @Test
    void the_keep_alive_worker_outlives_a_failure_and_unloads_the_next_idle_model() throws Exception {
        Path tiny = ReferencePackages.tinyLlada();
        Consumer<String> failingOnce = new Consumer<>() {
            boolean failed;

            @Override
            public synchronized void accept(String line) {
                if (line.startsWith("unloaded") && !failed) {
                    failed = true;
                    throw new IllegalStateException("the log is gone, say");
                }
            }
        };
        try (Served s = new Served(Map.of("a", tiny, "b", tiny), Duration.ofMillis(200), failingOnce)) {
            for (String id : List.of("a", "b")) {
                try (LocalModels.Lease lease = s.models.acquire(id, null)) {
                    lease.answered();
                }
                assertTrue(
                        eventually(() -> s.models.loaded().isEmpty()),
                        "'" + id + "' was unloaded by the worker: " + s.models.loaded());
            }
            JsonNode health = s.health();
            assertEquals("ok", health.get("status").asText(), health.toString());
            assertNull(s.models.workerProblem());
        }
    }

    @Test
    void a_stopped_keep_alive_worker_turns_health_to_503_naming_it() throws Exception {
        Consumer<String> fatal = line -> {
            if (line.startsWith("unloaded")) {
                throw new AssertionError("a VM error, say");
            }
        };
        try (Served s = new Served(Map.of("tiny", ReferencePackages.tinyLlada()), Duration.ofMillis(200), fatal)) {
            try (LocalModels.Lease lease = s.models.acquire("tiny", null)) {
                lease.answered();
            } catch (AssertionError onTheRequestThread) {
                // the lease's own unload ran into it first; the worker meets it next time
            }
            assertTrue(eventually(() -> s.models.workerProblem() != null), "the worker is seen stopped");
            HttpResponse<String> health = ServeCommandTest.get(s.base, "/health");
            assertEquals(503, health.statusCode(), health.body());
            JsonNode body = ServeCommandTest.json(health);
            assertEquals("degraded", body.get("status").asText());
            assertTrue(body.get("problem").asText().contains("keep-alive worker"), body.toString());
        }
    }

    @Test
    void serve_refuses_a_count_or_duration_out_of_range_at_start_not_at_the_first_request() throws Exception {
        String[][] wrong = {
            {"--max-batch", "0", "--max-batch 0 is out of range: use 1 to 256, e.g. --max-batch 4"},
            {"--max-queue", "-1", "--max-queue -1 is out of range"},
            {"--threads", "100000", "--threads 100000 is out of range"},
            {"--keep-alive", "999999999999h", "--keep-alive: keep_alive '999999999999h' is longer than 365 days"},
        };
        for (String[] w : wrong) {
            java.io.StringWriter err = new java.io.StringWriter();
            picocli.CommandLine cli = Unmask.commandLine();
            cli.setErr(new java.io.PrintWriter(err, true));
            cli.setOut(new java.io.PrintWriter(new java.io.StringWriter(), true));
            java.util.concurrent.CompletableFuture<Integer> exit =
                    java.util.concurrent.CompletableFuture.supplyAsync(() -> cli.execute(
                            "serve",
                            "--port",
                            "0",
                            "--model",
                            ReferencePackages.tinyLlada().toString(),
                            w[0],
                            w[1]));
            int code;
            try {
                code = exit.get(60, TimeUnit.SECONDS);
            } catch (java.util.concurrent.TimeoutException started) {
                ServeCommand serve = cli.getSubcommands().get("serve").getCommand();
                serve.stop();
                throw new AssertionError(w[0] + " " + w[1] + " was taken: serve started");
            }
            assertEquals(ExitCodes.USAGE, code, err.toString());
            assertTrue(err.toString().contains(w[2]), err.toString());
        }
    }

    /** Polls for up to a minute: generous on a loaded machine, and a state, not a speed, is asserted. */
    static boolean eventually(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            if (condition.getAsBoolean()) {
                return true;
            }
            Thread.sleep(20);
        }
        return condition.getAsBoolean();
    }
}
