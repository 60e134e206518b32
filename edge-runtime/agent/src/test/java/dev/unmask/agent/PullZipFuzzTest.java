package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unmask.failure.Failure;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * {@code unmask pull x.zip} unpacks outside bytes, fuzzed: whatever the zip holds, a pull into an empty store either
 * installs one model folder, or fails with a typed error ({@link Failure} other than {@code INTERNAL}: a bad package,
 * a file that could not be written) and leaves the store as it was. Either way nothing is written outside the store
 * (zip-slip, absolute names) and no staging folder is left behind.
 *
 * <p>Regression mode (every build) runs the saved zips under
 * {@code src/test/resources/dev/unmask/agent/PullZipFuzzTestInputs/pull/}; {@code JAZZER_FUZZ=1} fuzzes (see
 * {@code docs/benchmarks.md}, "Fuzzing"). The seeds are stored (uncompressed) zips of a small package whose
 * manifest matches its files, so that mutations reach the names and the contents.
 */
class PullZipFuzzTest {

    private static final Path SANDBOX = sandbox();
    private static final Path STORE = SANDBOX.resolve("store");
    private static final Path ZIP = SANDBOX.resolve("in/fuzzed.zip");
    private static final Set<String> BEFORE = tree(SANDBOX);

    @FuzzTest(maxDuration = "3m")
    void pull(byte[] zip) throws IOException {
        Files.write(ZIP, zip);
        ModelStore store = new ModelStore(STORE);
        try {
            ModelStore.Installed installed = store.pull(ZIP.toString(), "fuzzed", false, line -> {});
            assertEquals(STORE.resolve("fuzzed"), installed.dir());
            assertEquals(List.of("fuzzed"), children(STORE), "a pull installs one folder and leaves no staging");
            store.remove("fuzzed");
        } catch (RuntimeException e) {
            if (e instanceof InvalidPathException || Failure.of(e) == Failure.INTERNAL) {
                throw e; // an untyped failure: the CLI would report a bug (exit 1), the agent a 500
            }
        } finally {
            assertEquals(List.of(), children(STORE), "a failed pull leaves the store as it was");
            assertEquals(BEFORE, tree(SANDBOX), "the pull wrote outside the store");
        }
        if (Files.exists(Path.of("/tmp/unmask-fuzz-absolute"))) {
            fail("an absolute entry name was extracted to /tmp/unmask-fuzz-absolute");
        }
    }

    private static List<String> children(Path dir) {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> all = Files.list(dir)) {
            return all.map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Every path under the sandbox but the store and the input zip, with its size. */
    private static Set<String> tree(Path root) {
        try (Stream<Path> all = Files.walk(root)) {
            Set<String> out = new TreeSet<>();
            for (Path p : all.toList()) {
                if (!p.startsWith(root.resolve("store")) && !p.equals(root.resolve("in/fuzzed.zip"))) {
                    out.add(root.relativize(p) + (Files.isRegularFile(p) ? " " + Files.size(p) : "/"));
                }
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path sandbox() {
        try {
            Path root = Files.createTempDirectory("pull-fuzz");
            Files.createDirectories(root.resolve("in"));
            Files.writeString(root.resolve("outside.txt"), "a file next to the store: never touched");
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
