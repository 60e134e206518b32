package dev.unmask.packager.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.Manifests;
import dev.unmask.format.PackageManifest;
import dev.unmask.hub.HubSettings;
import dev.unmask.testing.FakeHub;
import dev.unmask.testing.Repo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unmask-pack convert --from hf:ORG/NAME}: tiny-llada's checkpoint served by a loopback Hub, then converted. */
class HubConvertTest {

    @TempDir
    Path tmp;

    FakeHub hub;

    record Run(int exitCode, String out, String err) {}

    @BeforeEach
    void start() {
        hub = FakeHub.start();
        hub.publish("unmask/tiny-llada", Repo.checkpoint());
        HubCheckpoint.settings =
                () -> new HubSettings(hub.endpoint(), null, tmp.resolve("hf"), false, Duration.ofSeconds(30));
    }

    @AfterEach
    void stop() {
        HubCheckpoint.settings = HubSettings::fromEnvironment;
        hub.close();
    }

    Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = UnmaskPack.newCommandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        return new Run(cl.execute(args), out.toString(), err.toString());
    }

    @Test
    void aHubCheckpointIsDownloadedWithProgressThenConvertedAndNamedAfterTheRepository() {
        Path out = tmp.resolve("pkg");
        Run r = run("convert", "--from", "hf:unmask/tiny-llada", "--out", out.toString(), "--self-test=skip");
        assertEquals(0, r.exitCode(), r.err());
        assertTrue(r.err().contains("100%") && r.err().contains("/s"), "bytes and rate: " + r.err());
        PackageManifest manifest = Manifests.read(out);
        assertEquals("tiny-llada", manifest.name(), "the repository's name, not the snapshot's commit");
        assertEquals("llada", manifest.architecture().family());

        // converted again: the cache holds everything, so the Hub sees the revision request only
        hub.clearRequests();
        Run again = run(
                "convert",
                "--from",
                "hf:unmask/tiny-llada",
                "--out",
                tmp.resolve("pkg2").toString(),
                "--self-test=skip",
                "--no-progress");
        assertEquals(0, again.exitCode(), again.err());
        assertEquals(List.of("hub GET /api/models/unmask/tiny-llada/revision/main"), hub.requests());
        assertTrue(Files.isRegularFile(tmp.resolve("pkg2").resolve(PackageManifest.FILE_NAME)));
    }

    @Test
    void hubFailuresExitWithTheirCodeAndSayWhatToDo() {
        hub.gate("unmask/tiny-llada", "hf_granted");
        Run gated = run(
                "convert",
                "--from",
                "hf:unmask/tiny-llada",
                "--out",
                tmp.resolve("a").toString());
        assertEquals(2, gated.exitCode(), gated.err());
        assertTrue(gated.err().contains("HF_TOKEN"), gated.err());

        Run missing = run(
                "convert",
                "--from",
                "hf:unmask/nothing-here",
                "--out",
                tmp.resolve("b").toString());
        assertEquals(2, missing.exitCode(), missing.err());
        assertTrue(missing.err().contains("is not on"), missing.err());

        Run badName = run(
                "convert", "--from", "hf:just-a-name", "--out", tmp.resolve("c").toString());
        assertEquals(2, badName.exitCode(), badName.err());
        assertTrue(badName.err().contains("hf:GSAI-ML/LLaDA-8B-Instruct"), badName.err());
    }
}
