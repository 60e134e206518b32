package dev.unmask.packager.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.unmask.failure.Failure;
import dev.unmask.packager.PackagerException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A {@code .safetensors} file is outside bytes (a downloaded checkpoint), fuzzed: whatever the file holds,
 * {@link SafetensorsFile#open} either refuses it with a {@link PackagerException} of a typed kind (a bad checkpoint,
 * exit code 3) or returns tensors that lie inside the file and can all be read; never another exception, and never
 * a header buffer larger than the file.
 *
 * <p>Regression mode (every build) runs the saved inputs under
 * {@code src/test/resources/dev/unmask/packager/checkpoint/SafetensorsFuzzTestInputs/header/}; {@code JAZZER_FUZZ=1}
 * fuzzes (see {@code docs/benchmarks.md}, "Fuzzing").
 */
class SafetensorsFuzzTest {

    private static final Path DIR = scratch();

    @FuzzTest(maxDuration = "3m")
    void header(byte[] bytes) throws IOException {
        Path file = DIR.resolve("fuzzed.safetensors");
        Files.write(file, bytes);
        SafetensorsFile st;
        try {
            st = SafetensorsFile.open(file);
        } catch (PackagerException e) {
            assertNotEquals(Failure.INTERNAL, e.failure(), e::getMessage);
            assertTrue(e.getMessage().contains(file.toString()), () -> "the error names the file: " + e.getMessage());
            return;
        }
        try (st) {
            for (TensorEntry entry : st.tensors().values()) {
                assertTrue(
                        entry.dataOffset() >= 8 && entry.dataOffset() + entry.byteLength() <= bytes.length,
                        () -> entry.name() + " lies outside the file");
                assertEquals(entry.numel() * entry.dtype().bytes(), entry.byteLength(), entry.name());
                readEveryElement(st, entry);
            }
        }
    }

    private static void readEveryElement(SafetensorsFile st, TensorEntry entry) {
        if (entry.numel() == 0) {
            return;
        }
        float[] row = new float[(int) entry.cols()];
        try (TensorData data = st.map(entry)) {
            for (long r = 0; r < entry.rows(); r++) {
                data.readRow(r, 0, row.length, row, 0);
            }
        } catch (PackagerException e) {
            assertNotEquals(Failure.INTERNAL, e.failure(), e::getMessage);
        }
    }

    private static Path scratch() {
        try {
            Path dir = Files.createTempDirectory("safetensors-fuzz");
            dir.toFile().deleteOnExit();
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
