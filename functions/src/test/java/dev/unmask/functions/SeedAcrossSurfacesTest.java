package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.unmask.agent.Unmask;
import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.common.TestResourceScope;
import io.quarkus.test.common.WithTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code seed} makes every surface reproducible: one sampled request (temperature above 0) with one seed gives the same
 * text on the command line ({@code unmask generate --seed}, run in-process through picocli), on the desktop agent
 * ({@code unmask serve}, over HTTP on loopback) and on these functions (over HTTP), all on the real tiny package.
 */
@QuarkusTest
@WithTestResource(value = TinyPackageResource.class, scope = TestResourceScope.GLOBAL)
class SeedAcrossSurfacesTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String PROMPT = "def fibonacci(n):";

    static String completionBody(long seed) {
        return "{\"model\": \"tiny-llada\", \"prompt\": \"" + PROMPT.replace("\"", "\\\"") + "\", \"max_tokens\": 32,"
                + " \"block_length\": 8, \"steps\": 32, \"temperature\": 0.9, \"seed\": " + seed + "}";
    }

    static int unmask(StringWriter out, StringWriter err, String... args) {
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    static String functions(long seed) throws Exception {
        waitUntilReady();
        String body = given().header("Authorization", "Bearer test-key")
                .contentType("application/json")
                .body(completionBody(seed))
                .post("/v1/completions")
                .then()
                .statusCode(200)
                .extract()
                .asString();
        return JSON.readTree(body).at("/choices/0/text").asText();
    }

    static void waitUntilReady() throws InterruptedException {
        for (int i = 0; i < 600 && given().get("/q/health/ready").statusCode() != 200; i++) {
            Thread.sleep(100);
        }
    }

    static String cli(long seed) throws Exception {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = unmask(
                out,
                err,
                "generate",
                PROMPT,
                "--model",
                ReferencePackages.tinyLlada().toString(),
                "--gen-length",
                "32",
                "--block-length",
                "8",
                "--steps",
                "32",
                "--temperature",
                "0.9",
                "--seed",
                Long.toString(seed),
                "--threads",
                "1",
                "--json");
        assertEquals(0, exit, err.toString());
        return JSON.readTree(out.toString()).get("text").asText();
    }

    @Test
    void theSameRequestAndSeedGiveTheSameTextOnTheCliTheAgentAndTheFunctions() throws Exception {
        Path store = Files.createTempDirectory("unmask-seed-store");
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        assertEquals(
                0,
                unmask(
                        out,
                        err,
                        "pull",
                        ReferencePackages.tinyLlada().toString(),
                        "--name",
                        "tiny-llada",
                        "--store",
                        store.toString()),
                err.toString());
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        StringWriter serveErr = new StringWriter();
        Thread serve = new Thread(
                () -> unmask(
                        new StringWriter(),
                        serveErr,
                        "serve",
                        "--port",
                        Integer.toString(port),
                        "--store",
                        store.toString(),
                        "--keep-alive",
                        "-1",
                        "--threads",
                        "1"),
                "test-unmask-serve");
        serve.setDaemon(true);
        serve.start();
        HttpClient http =
                HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
        URI base = URI.create("http://127.0.0.1:" + port);
        try {
            waitForAgent(http, base, serveErr);
            Map<Long, String> bySeed = new LinkedHashMap<>();
            for (long seed : new long[] {7, 8}) {
                String fromCli = cli(seed);
                String fromFunctions = functions(seed);
                HttpResponse<String> agent = http.send(
                        HttpRequest.newBuilder(base.resolve("/v1/completions"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(completionBody(seed)))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, agent.statusCode(), agent.body());
                String fromAgent =
                        JSON.readTree(agent.body()).at("/choices/0/text").asText();
                assertEquals(fromCli, fromAgent, "seed " + seed + ": the CLI and the agent");
                assertEquals(fromCli, fromFunctions, "seed " + seed + ": the CLI and the functions");
                assertEquals(fromFunctions, functions(seed), "seed " + seed + ": the functions again");
                bySeed.put(seed, fromCli);
            }
            assertNotEquals(bySeed.get(7L), bySeed.get(8L), "the seed matters: the request samples " + bySeed);
        } finally {
            serve.interrupt(); // serve waits for its stop signal; an interrupt ends it and closes the server
            serve.join(15_000);
        }
    }

    static void waitForAgent(HttpClient http, URI base, StringWriter err) throws InterruptedException {
        for (int i = 0; i < 300; i++) {
            try {
                HttpResponse<String> health = http.send(
                        HttpRequest.newBuilder(base.resolve("/health")).build(), HttpResponse.BodyHandlers.ofString());
                if (health.statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException notYet) {
                // not listening yet
            }
            Thread.sleep(100);
        }
        assertTrue(false, "unmask serve did not start: " + err);
    }
}
