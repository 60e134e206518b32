package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unmask.engine.Engine;
import dev.unmask.engine.model.RuntimeOptions;
import dev.unmask.openai.BatchScheduler;
import dev.unmask.openai.SchedulerObserver;
import dev.unmask.openai.ServedModel;
import dev.unmask.openai.ServingLimits;
import dev.unmask.testing.ReferencePackages;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code unmask serve}'s one log line per request, from the real server on loopback with the real tiny package. */
class RequestLogTest {

    static final List<String> lines = new CopyOnWriteArrayList<>();
    static final Logger requests = Logger.getLogger(RequestLog.LOGGER);
    static final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            lines.add(r.getMessage());
        }

        @Override
        public void flush() {}

        @Override
        public void close() {}
    };

    static LocalModels models;
    static AgentServer server;
    static URI base;
    static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @BeforeAll
    static void serve() {
        requests.addHandler(capture);
        // as 'unmask serve' sets it up: the root quieted to warnings, the request lines kept
        ModelOptions.quietLogs();
        RequestLog.keepAtInfo();
        Path tiny = ReferencePackages.tinyLlada();
        models = new LocalModels(
                () -> Map.of("tiny", tiny),
                (id, dir) -> {
                    Engine engine = Engine.open(dir, RuntimeOptions.defaults().withIntraOpThreads(1));
                    return new ServedModel(
                            id,
                            engine,
                            new BatchScheduler(engine, 1, 16, new SchedulerObserver() {}),
                            System.currentTimeMillis() / 1000);
                },
                Duration.ofMinutes(5),
                line -> {});
        server = new AgentServer(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), 0),
                models,
                ServingLimits.defaults(),
                List.of());
        server.start();
        base = URI.create("http://127.0.0.1:" + server.port());
    }

    @AfterAll
    static void stop() {
        requests.removeHandler(capture);
        server.close();
        models.close();
    }

    static int send(String method, String path, String json) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofMinutes(2));
        if (json != null) {
            b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(json));
        } else {
            b.method(method, HttpRequest.BodyPublishers.noBody());
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    /** The line that matches, once written (it is written when the response's last byte is). */
    static String awaitLine(Pattern p) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        while (System.nanoTime() < deadline) {
            for (String l : lines) {
                if (p.matcher(l).matches()) {
                    return l;
                }
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no log line matches " + p + "; lines: " + lines);
    }

    @Test
    void a_completion_logs_method_path_model_tokens_steps_ms_and_status() throws Exception {
        assertEquals(
                200,
                send(
                        "POST",
                        "/v1/completions",
                        "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 16, \"steps\": 8}"));
        awaitLine(Pattern.compile("POST /v1/completions model=tiny tokens=\\d+ steps=[1-8] \\d+ ms status=200"));
    }

    @Test
    void a_stream_is_logged_once_it_has_ended() throws Exception {
        assertEquals(
                200,
                send(
                        "POST",
                        "/v1/chat/completions",
                        "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], "
                                + "\"max_tokens\": 8, \"steps\": 8, \"stream\": true}"));
        awaitLine(Pattern.compile("POST /v1/chat/completions model=tiny tokens=\\d+ steps=[1-8] \\d+ ms status=200"));
    }

    @Test
    void requests_without_a_model_or_an_answer_are_logged_with_dashes() throws Exception {
        assertEquals(200, send("GET", "/v1/models", null));
        assertEquals(404, send("GET", "/v1/nothing-here", null));
        awaitLine(Pattern.compile("GET /v1/models model=- tokens=- steps=- \\d+ ms status=200"));
        awaitLine(Pattern.compile("GET /v1/nothing-here model=- tokens=- steps=- \\d+ ms status=404"));
        assertEquals(
                1,
                lines.stream().filter(l -> l.startsWith("GET /v1/models ")).count(),
                "one line per request: " + lines);
    }
}
