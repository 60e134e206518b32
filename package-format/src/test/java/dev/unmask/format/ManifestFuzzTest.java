package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code manifest.json} is outside bytes (a package someone sent, a pulled zip), fuzzed: whatever it holds,
 * {@link ModelPackage#open} of a folder with fixed content files either refuses it with a {@link PackageException}
 * that says what is wrong, or opens a package whose every listed file is inside the folder and matched its
 * entry; never another exception, and nothing written or removed but the folder's own verification record.
 *
 * <p>Regression mode (every build) runs the saved inputs under
 * {@code src/test/resources/dev/unmask/format/ManifestFuzzTestInputs/open/}; {@code JAZZER_FUZZ=1} fuzzes (see
 * {@code docs/benchmarks.md}, "Fuzzing"). The seeds list the content files below with their real sizes and digests,
 * so that the fuzzer starts from manifests that open.
 */
class ManifestFuzzTest {

    /** The package's content files: what the seeds' {@code "files"} entries describe. */
    static final Map<String, byte[]> CONTENT = Map.of(
            ModelPackage.MODEL_FILE, "not a real graph, but bytes with a digest".getBytes(),
            ModelPackage.MODEL_DATA_FILE, sixteenRamps(),
            ModelPackage.TOKENIZER_FILE, "{\"model\": {\"type\": \"BPE\"}}".getBytes());

    private static final Path SANDBOX = sandbox();
    private static final Path PACKAGE = SANDBOX.resolve("pkg");
    private static final Set<String> BEFORE = tree();

    @FuzzTest(maxDuration = "3m")
    void open(byte[] manifest) throws IOException {
        Files.write(PACKAGE.resolve(PackageManifest.FILE_NAME), manifest);
        try {
            ModelPackage opened = ModelPackage.open(PACKAGE, Verification.FULL);
            for (Map.Entry<String, PackageManifest.FileEntry> e :
                    opened.manifest().files().entrySet()) {
                Path file = opened.dir().resolve(e.getKey()).normalize();
                assertTrue(file.startsWith(PACKAGE) && !file.equals(PACKAGE), e.getKey() + " is outside");
                assertEquals(Files.size(file), e.getValue().bytes(), e.getKey());
            }
            assertTrue(opened.manifest().files().containsKey(ModelPackage.MODEL_FILE));
        } catch (PackageException e) {
            assertFalse(e.getMessage() == null || e.getMessage().isBlank(), "the refusal says why");
        } finally {
            Files.deleteIfExists(PACKAGE.resolve(VerificationRecord.FILE_NAME));
            assertEquals(BEFORE, tree(), "open wrote or removed files");
        }
    }

    /** Every path under the sandbox with its size: what an open must leave as it found it. */
    private static Set<String> tree() {
        try (Stream<Path> all = Files.walk(SANDBOX)) {
            Set<String> out = new TreeSet<>();
            for (Path p : all.toList()) {
                out.add(SANDBOX.relativize(p) + (Files.isRegularFile(p) ? " " + Files.size(p) : "/"));
            }
            out.removeIf(s -> s.startsWith("pkg/" + PackageManifest.FILE_NAME + " "));
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path sandbox() {
        try {
            Path root = Files.createTempDirectory("manifest-fuzz");
            Path pkg = Files.createDirectories(root.resolve("pkg"));
            for (Map.Entry<String, byte[]> e : CONTENT.entrySet()) {
                Files.write(pkg.resolve(e.getKey()), e.getValue());
            }
            Files.writeString(root.resolve("outside.txt"), "a file next to the package: never touched");
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static byte[] sixteenRamps() {
        byte[] b = new byte[4096];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) i;
        }
        return b;
    }
}
