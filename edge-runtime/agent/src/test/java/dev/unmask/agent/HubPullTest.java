package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.PackageManifest;
import dev.unmask.hub.HubSettings;
import dev.unmask.testing.FakeHub;
import dev.unmask.testing.ReferencePackages;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unmask pull hf:ORG/NAME}: a Hub repository that holds an Unmask package, from a loopback Hub. */
class HubPullTest {

    static final String REPO = "unmask/tiny-llada-onnx";

    @TempDir
    Path tmp;

    FakeHub hub;
    FakeHub.HubRepo published;
    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @BeforeEach
    void start() throws IOException {
        hub = FakeHub.start();
        Map<String, FakeHub.HubFile> files = new LinkedHashMap<>();
        Path pkg = ReferencePackages.tinyLlada();
        for (String name : listed(pkg)) {
            files.put(name, new FakeHub.HubFile(name, Files.readAllBytes(pkg.resolve(name)), FakeHub.isLfs(name)));
        }
        files.put("README.md", new FakeHub.HubFile("README.md", "# tiny-llada, packaged\n".getBytes(), false));
        published = hub.publish(REPO, files);
        ModelStore.hubSettings =
                () -> new HubSettings(hub.endpoint(), null, tmp.resolve("hf"), false, Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() {
        ModelStore.hubSettings = HubSettings::fromEnvironment;
        hub.close();
    }

    int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(Stream.concat(
                        Stream.of(args),
                        Stream.of("--store", tmp.resolve("store").toString()))
                .toArray(String[]::new));
    }

    @Test
    void aPackageRepositoryIsPulledVerifiedAndInstalledThroughTheHuggingFaceCache() throws IOException {
        assertEquals(ExitCodes.OK, unmask("pull", "hf:" + REPO, "--name", "tiny"), err.toString());
        assertEquals("tiny", out.toString().strip());
        assertTrue(err.toString().contains("100%"), "progress in bytes: " + err);
        Path installed = tmp.resolve("store/tiny");
        assertTrue(Files.isRegularFile(installed.resolve(PackageManifest.FILE_NAME)));
        assertFalse(Files.exists(installed.resolve("README.md")), "only the package's files are installed");
        assertTrue(hub.requests().stream().noneMatch(r -> r.contains("README.md")), "nor downloaded");
        assertTrue(Files.isSymbolicLink(tmp.resolve("hf/models--unmask--tiny-llada-onnx/snapshots")
                .resolve(published.commit())
                .resolve("model.onnx")));

        // the same repository again, under another name: the cache has it, so only the revision is asked for
        hub.clearRequests();
        assertEquals(ExitCodes.OK, unmask("pull", "hf:" + REPO, "--name", "tiny2"), err.toString());
        assertEquals(List.of("hub GET /api/models/" + REPO + "/revision/main"), hub.requests());
    }

    @Test
    void aCheckpointRepositoryIsNoPackageAndTheMessageSaysToConvertIt() {
        hub.publish(
                "unmask/just-a-checkpoint",
                Map.of("config.json", new FakeHub.HubFile("config.json", "{}".getBytes(), false)));
        assertEquals(
                dev.unmask.failure.ExitCode.BAD_INPUT.code(),
                unmask("pull", "hf:unmask/just-a-checkpoint"),
                err.toString());
        assertTrue(err.toString().contains("unmask-pack convert --from hf:unmask/just-a-checkpoint"), err.toString());
    }

    @Test
    void aMissingRepositoryInstallsNothing() throws IOException {
        assertEquals(2, unmask("pull", "hf:unmask/nothing-here"), err.toString());
        assertTrue(err.toString().contains("is not on"), err.toString());
        try (Stream<Path> s = Files.list(tmp.resolve("store"))) {
            assertEquals(
                    List.of(),
                    s.filter(p -> !p.getFileName().toString().startsWith(".")).toList());
        }
    }

    /** The manifest and the files it lists. */
    static List<String> listed(Path pkg) {
        return Stream.concat(
                        Stream.of(PackageManifest.FILE_NAME),
                        dev.unmask.format.Manifests.read(pkg).files().keySet().stream())
                .toList();
    }
}
