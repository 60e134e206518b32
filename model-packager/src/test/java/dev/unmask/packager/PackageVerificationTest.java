package dev.unmask.packager;

import static dev.unmask.packager.CliTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.Manifests;
import dev.unmask.format.ModelPackage;
import dev.unmask.format.PackageException;
import dev.unmask.format.Verification;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Convert and {@code verify} hash every file and leave the verification record behind, so that opening the package
 * afterwards (every start of the runtime) hashes nothing; {@code verify} never trusts the record.
 */
class PackageVerificationTest {

    static final Set<String> FILES = Set.of("model.onnx", "model.onnx.data", "tokenizer.json");

    @TempDir
    static Path tmp;

    static Path converted;

    @BeforeAll
    static void convert() {
        converted = tmp.resolve("converted");
        CliTest.Run r = run(
                "convert", "--from", TinyModel.checkpoint().toString(), "--out", converted.toString(), "--no-progress");
        assertEquals(0, r.exitCode(), r.err());
    }

    @Test
    void open_after_convert_hashes_nothing_and_the_manifest_lists_only_the_package_files() {
        assertEquals(Set.of(), ModelPackage.open(converted).hashedAtOpen());
        assertEquals(FILES, Manifests.read(converted).files().keySet());
    }

    @Test
    void verify_catches_a_same_size_same_time_corruption_that_open_trusts() throws IOException {
        Path pkg = tmp.resolve("corrupted");
        assertEquals(
                0,
                run(
                                "convert",
                                "--from",
                                TinyModel.checkpoint().toString(),
                                "--out",
                                pkg.toString(),
                                "--no-progress",
                                "--self-test=skip")
                        .exitCode());
        Path data = pkg.resolve("model.onnx.data");
        FileTime modified = Files.getLastModifiedTime(data);
        try (FileChannel ch = FileChannel.open(data, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(1);
            ch.read(b, 4096);
            b.put(0, (byte) (b.get(0) ^ 0x40));
            ch.write(b.rewind(), 4096);
        }
        Files.setLastModifiedTime(data, modified);

        assertEquals(Set.of(), ModelPackage.open(pkg).hashedAtOpen(), "open trusts the record: it did not re-hash");
        CliTest.Run verify = run("verify", pkg.toString());
        assertEquals(ExitCode.BAD_PACKAGE.code(), verify.exitCode(), verify.out() + verify.err());
        assertTrue(verify.err().contains("model.onnx.data") && verify.err().contains("checksum"), verify.err());

        Files.setLastModifiedTime(data, FileTime.fromMillis(modified.toMillis() + 60_000)); // touched
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("does not match its checksum"), e.getMessage());
    }

    @Test
    void verify_records_what_it_hashed_for_the_next_open() throws IOException {
        Path tokenizer = converted.resolve("tokenizer.json");
        Files.setLastModifiedTime(
                tokenizer,
                FileTime.fromMillis(Files.getLastModifiedTime(tokenizer).toMillis() + 60_000));
        CliTest.Run verify = run("verify", converted.toString());
        assertEquals(0, verify.exitCode(), verify.err());
        assertEquals(Set.of(), ModelPackage.open(converted).hashedAtOpen());
        assertEquals(FILES, ModelPackage.open(converted, Verification.FULL).hashedAtOpen());
    }

    @Test
    void a_package_quantized_from_a_recorded_one_neither_lists_nor_copies_the_record() {
        ModelPackage.open(converted); // the source has its record
        Path int8 = tmp.resolve("int8");
        CliTest.Run q = run("quantize", converted.toString(), "--out", int8.toString(), "--quant", "int8");
        assertEquals(0, q.exitCode(), q.err());
        assertEquals(FILES, Manifests.read(int8).files().keySet());
        assertEquals(Set.of(), ModelPackage.open(int8).hashedAtOpen(), "recorded when the quantizer verified it");
        assertEquals(FILES, ModelPackage.open(int8, Verification.FULL).hashedAtOpen());
    }
}
