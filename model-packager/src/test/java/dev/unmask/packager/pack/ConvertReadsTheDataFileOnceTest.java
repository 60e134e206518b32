package dev.unmask.packager.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import dev.unmask.format.ModelPackage;
import dev.unmask.packager.Progress;
import dev.unmask.packager.TinyModel;
import dev.unmask.packager.arch.GraphOptions;
import dev.unmask.packager.onnx.WeightFormat;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A conversion digests {@code model.onnx.data} while writing it and reads it back once: one checksum pass over the
 * written package (every file against the manifest), whose opened package the self-test's one session reuses.
 */
class ConvertReadsTheDataFileOnceTest {

    @TempDir
    Path tmp;

    @ParameterizedTest(name = "self-test {0}")
    @ValueSource(booleans = {true, false})
    void theWrittenPackageIsVerifiedExactlyOnce(boolean selfTest) {
        List<Path> verified = new ArrayList<>();
        PackageWriter writer = new PackageWriter(s -> {}, Progress.NONE, PublishCheck.NONE, dir -> {
            verified.add(dir);
            return ModelPackage.open(dir); // hashes every file the manifest lists
        });
        PackageWriter.Written w = writer.convert(
                ConvertRequest.of(TinyModel.checkpoint(), tmp.resolve("pkg"), GraphOptions.of(WeightFormat.FP32))
                        .withSelfTest(selfTest));

        assertEquals(1, verified.size(), "checksum passes over the written package");
        assertEquals(selfTest, w.manifest().selfTest() != null);
        if (selfTest) {
            assertNotNull(w.manifest().selfTest().expectedTop1());
        }
        ModelPackage.open(w.dir()); // and what was published still verifies
    }
}
