package dev.unmask.functions;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.ReferencePackages;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A package that fails to load is not "still loading" forever: {@code /v1} says what failed, readiness and liveness
 * are down (so that an orchestrator restarts the service). The real tiny package, its graph overwritten.
 */
@QuarkusTest
@TestProfile(FailedLoadTest.CorruptPackage.class)
class FailedLoadTest {

    /** Where this test's service logs: one file per test JVM. */
    static final Path LOG = Path.of(
            System.getProperty("java.io.tmpdir"),
            "unmask-failed-load-" + ProcessHandle.current().pid() + ".log");

    /**
     * A copy of the tiny package whose {@code model.onnx} is garbage, served as model {@code corrupt}; the log also
     * goes to {@link #LOG}.
     */
    public static class CorruptPackage implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Path copy = Files.createTempDirectory("unmask-corrupt-package");
                try (Stream<Path> files = Files.list(ReferencePackages.tinyLlada())) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        Files.copy(f, copy.resolve(f.getFileName().toString()));
                    }
                }
                Files.writeString(copy.resolve("model.onnx"), "this is no ONNX graph");
                return Map.of(
                        "unmask.models.corrupt.path",
                        copy.toString(),
                        "quarkus.log.file.enabled",
                        "true",
                        "quarkus.log.file.path",
                        LOG.toString());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    @Test
    void after_a_failed_load_the_api_says_what_failed_and_readiness_and_liveness_are_down() throws Exception {
        Response ready = given().get("/q/health/ready");
        for (int i = 0; i < 600 && !ready.body().asString().contains("failed"); i++) {
            Thread.sleep(100);
            ready = given().get("/q/health/ready");
        }
        assertEquals(503, ready.statusCode(), ready.body().asString());
        assertTrue(ready.body().asString().contains("failed"), "the load failed within a minute: " + ready.asString());

        Response live = given().get("/q/health/live");
        assertEquals(503, live.statusCode(), live.body().asString());
        assertEquals("DOWN", live.jsonPath().getString("status"));
        assertTrue(live.body().asString().contains("failed"), live.body().asString());

        Response api = given().header("Authorization", "Bearer test-key").get("/v1/models");
        String body = api.body().asString();
        assertEquals(500, api.statusCode(), body);
        assertEquals("model_load_failed", api.jsonPath().getString("error.code"), body);
        assertFalse(api.headers().hasHeaderWithName("Retry-After"), "retrying does not help");
        assertFalse(body.contains("still loading"), body);
        assertTrue(body.contains("Could not load the configured packages"), body);

        String log = Files.readString(LOG);
        assertTrue(log.contains("Could not load the packages"), log);
        assertTrue(log.contains("\tat dev.unmask."), "with its stack: " + log);
    }
}
