package dev.unmask.agent;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import dev.unmask.openai.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The commands that talk to a running {@code unmask serve} through its Ollama API, as {@code ollama ps} and
 * {@code ollama stop} talk to {@code ollama serve}: what is loaded ({@code GET /api/ps}), and unloading a model
 * ({@code POST /api/generate} with {@code keep_alive: 0} and no prompt).
 */
final class AgentCommands {

    private AgentCommands() {}

    /** Where the running agent listens, and its key (a picocli mixin). */
    static final class AgentOptions {
        @Option(
                names = "--host",
                defaultValue = "127.0.0.1",
                paramLabel = "<address>",
                description = "the address 'unmask serve' listens on (default: ${DEFAULT-VALUE})")
        String host;

        @Option(
                names = "--port",
                defaultValue = "" + ServeCommand.DEFAULT_PORT,
                paramLabel = "<port>",
                description = "its port (default: ${DEFAULT-VALUE})")
        int port;

        @Option(
                names = "--api-key",
                defaultValue = "${env:UNMASK_API_KEY}",
                paramLabel = "<key>",
                description = "its API key, if it has one (default: $UNMASK_API_KEY)")
        String apiKey;

        URI base() {
            return URI.create("http://" + (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
        }
    }

    /**
     * One request to the running agent: its JSON answer. No agent listening, or an error answer, is an
     * {@link UnmaskException} whose message says what to do.
     */
    static JsonNode ask(AgentOptions agent, String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(agent.base().resolve(path))
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .method(
                        method,
                        body == null
                                ? HttpRequest.BodyPublishers.noBody()
                                : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
        if (agent.apiKey != null && !agent.apiKey.isBlank()) {
            b.header("Authorization", "Bearer " + agent.apiKey);
        }
        HttpResponse<String> r;
        try {
            r = HttpClient.newBuilder()
                    .connectTimeout(Duration.ofSeconds(5))
                    .build()
                    .send(b.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        } catch (ConnectException | HttpTimeoutException e) {
            throw new UnmaskException(
                    Failure.IO,
                    "No unmask agent answers on " + agent.base() + ": start one with 'unmask serve' (or name the "
                            + "running one with --host and --port)");
        } catch (IOException e) {
            throw new UnmaskException(
                    Failure.IO, "Could not reach the unmask agent on " + agent.base() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UnmaskException(Failure.IO, "Interrupted while asking the unmask agent on " + agent.base());
        }
        JsonNode answer;
        try {
            answer = Json.mapper().readTree(r.body());
        } catch (IOException e) {
            answer = null;
        }
        if (r.statusCode() != 200 || answer == null) {
            String message =
                    answer != null && answer.has("error") ? answer.get("error").asText() : r.body();
            throw new UnmaskException(
                    r.statusCode() == 404 ? Failure.MODEL_NOT_FOUND : Failure.IO,
                    "The agent on " + agent.base() + " answered " + r.statusCode() + ": " + message);
        }
        return answer;
    }

    @Command(
            name = "ps",
            mixinStandardHelpOptions = true,
            description = {
                "List the models the running 'unmask serve' holds in memory: size, requests in flight, and until when.",
                "Example: unmask ps"
            })
    static final class Ps implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @CommandLine.Mixin
        AgentOptions agent;

        @Override
        public Integer call() {
            JsonNode ps = ask(agent, "GET", "/api/ps", null);
            PrintWriter out = spec.commandLine().getOut();
            out.printf("%-24s %10s  %-9s %s%n", "NAME", "SIZE", "PRECISION", "UNTIL");
            Instant now = Instant.now();
            for (JsonNode m : ps.path("models")) {
                out.printf(
                        "%-24s %10s  %-9s %s%n",
                        OllamaApi.modelId(m.path("name").asText()),
                        StoreCommands.megabytes(m.path("size").asLong()),
                        m.path("details").path("quantization_level").asText(),
                        until(Instant.parse(m.path("expires_at").asText()), now));
            }
            out.flush();
            return ExitCodes.OK;
        }
    }

    /** {@code 4 minutes from now}, as {@code ollama ps} writes it; {@code forever} for a model never unloaded. */
    static String until(Instant expires, Instant now) {
        if (!expires.isBefore(OllamaApi.FOREVER)) {
            return "forever";
        }
        long seconds = Math.max(0, Duration.between(now, expires).toSeconds());
        if (seconds < 1) {
            return "now";
        }
        long[] sizes = {86_400, 3_600, 60, 1};
        String[] units = {"day", "hour", "minute", "second"};
        for (int i = 0; i < sizes.length; i++) {
            if (seconds >= sizes[i]) {
                long n = seconds / sizes[i];
                return n + " " + units[i] + (n == 1 ? "" : "s") + " from now";
            }
        }
        return "now";
    }

    @Command(
            name = "stop",
            mixinStandardHelpOptions = true,
            description = {
                "Unload a model from the running 'unmask serve' now (as 'ollama stop': keep_alive 0); it loads again "
                        + "on its next request.",
                "Example: unmask stop tiny-llada"
            })
    static final class Stop implements Callable<Integer> {
        @CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Parameters(index = "0", paramLabel = "<model>", description = "a loaded model, as 'unmask ps' lists it")
        String model;

        @CommandLine.Mixin
        AgentOptions agent;

        @Override
        public Integer call() {
            boolean loaded = false;
            for (JsonNode m : ask(agent, "GET", "/api/ps", null).path("models")) {
                loaded |= OllamaApi.modelId(m.path("name").asText()).equals(OllamaApi.modelId(model));
            }
            ask(agent, "POST", "/api/generate", Json.write(Map.of("model", model, "keep_alive", 0)));
            PrintWriter err = spec.commandLine().getErr();
            err.println(
                    loaded
                            ? "unmask: unloaded '" + model + "'"
                            : "unmask: '" + model + "' was not loaded ('unmask ps' lists what is)");
            err.flush();
            return ExitCodes.OK;
        }
    }
}
