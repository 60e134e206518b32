package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * A folder in the store whose manifest is {@code {}} (edited by hand, damaged) is listed as broken with the reason;
 * {@code unmask list} still lists the rest, and {@code unmask serve} starts, serves the rest and names it on
 * {@code /health}, also when it breaks while serving.
 */
class BrokenStoreFolderTest {

    @TempDir
    Path tmp;

    Path storeWithTinyAndABrokenFolder() throws IOException {
        Path store = tmp.resolve("store");
        new ModelStore(store).pull(ReferencePackages.tinyLlada().toString(), "tiny", false, line -> {});
        breakFolder(store.resolve("broken"));
        return store;
    }

    static void breakFolder(Path dir) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("manifest.json"), "{}");
    }

    @Test
    void list_shows_the_broken_folder_with_its_reason_and_every_other_model() throws IOException {
        Path store = storeWithTinyAndABrokenFolder();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));

        assertEquals(ExitCodes.OK, cli.execute("list", "--store", store.toString()), err.toString());
        String listed = out.toString();
        assertTrue(listed.lines().anyMatch(l -> l.startsWith("tiny ")), listed);
        assertTrue(
                listed.lines()
                        .anyMatch(l ->
                                l.startsWith("broken ") && l.contains("BROKEN") && l.contains("no 'architecture'")),
                listed);
        assertTrue(err.toString().contains("unmask rm"), err.toString());

        assertEquals(ExitCodes.BAD_PACKAGE, cli.execute("show", "broken", "--store", store.toString()));
        assertEquals(ExitCodes.OK, cli.execute("rm", "broken", "--store", store.toString()), err.toString());
        assertTrue(Files.notExists(store.resolve("broken")), "a broken folder can be removed as it is listed");
    }

    @Test
    void serve_starts_serves_the_rest_and_health_names_the_broken_ones() throws Exception {
        Path store = storeWithTinyAndABrokenFolder();
        try (ServeCommandTest.Serving serving = new ServeCommandTest.Serving(
                "--port", "0", "--store", store.toString(), "--keep-alive", "-1", "--threads", "1")) {
            assertTrue(
                    serving.err.toString().contains("not serving the broken model 'broken'"), serving.err.toString());

            HttpResponse<String> tiny = ServeCommandTest.post(
                    serving.base,
                    "/v1/completions",
                    "{\"model\": \"tiny\", \"prompt\": \"def\", \"max_tokens\": 8, \"steps\": 8}");
            assertEquals(200, tiny.statusCode(), tiny.body());

            HttpResponse<String> broken = ServeCommandTest.post(
                    serving.base, "/v1/completions", "{\"model\": \"broken\", \"prompt\": \"def\", \"max_tokens\": 8}");
            assertEquals(404, broken.statusCode(), broken.body());
            assertTrue(broken.body().contains("broken") && broken.body().contains("unmask pull"), broken.body());

            breakFolder(store.resolve("later")); // while serving
            HttpResponse<String> health = ServeCommandTest.get(serving.base, "/health");
            assertEquals(200, health.statusCode(), health.body());
            JsonNode body = ServeCommandTest.json(health);
            assertEquals("ok", body.get("status").asText());
            assertTrue(body.get("models").toString().contains("\"tiny\""), health.body());
            assertEquals(2, body.get("broken").size(), health.body());
            assertEquals("broken", body.get("broken").get(0).get("model").asText());
            assertTrue(body.get("broken").get(0).get("reason").asText().contains("no 'architecture'"), health.body());
            assertEquals("later", body.get("broken").get(1).get("model").asText());

            HttpResponse<String> models = ServeCommandTest.get(serving.base, "/v1/models");
            assertEquals(200, models.statusCode(), models.body());
        }
    }
}
