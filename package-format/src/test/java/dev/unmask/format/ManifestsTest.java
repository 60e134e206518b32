package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** manifest.json: written and read back unchanged, fields a reader does not know ignored, bad files explained. */
class ManifestsTest {

    @TempDir
    Path tmp;

    @Test
    void a_written_manifest_reads_back_equal_with_the_graph_signature() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        PackageManifest m = Manifests.read(pkg);
        assertEquals(GraphSignature.inputs(), m.graph().inputs());
        assertEquals(
                java.util.List.of(
                        GraphSignature.TOPK_IDS,
                        GraphSignature.TOPK_LOGITS,
                        GraphSignature.LOGSUMEXP,
                        GraphSignature.ENTROPY),
                m.graph().outputs().stream()
                        .map(PackageManifest.TensorSpec::name)
                        .toList());
        Manifests.write(m, pkg);
        assertEquals(m, Manifests.read(pkg));
        assertTrue(Manifests.toJson(m).contains("\"format_version\" : " + PackageManifest.CURRENT_FORMAT_VERSION));
    }

    @Test
    void fields_this_reader_does_not_know_are_ignored_as_the_format_promises() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path file = pkg.resolve(PackageManifest.FILE_NAME);
        Files.writeString(file, Files.readString(file).replaceFirst("\\{", "{ \"added_later\": {\"x\": 1},"));
        assertEquals("synthetic", Manifests.read(pkg).name());
    }

    @Test
    void a_manifest_that_is_not_json_or_lacks_a_required_part_names_the_file() throws IOException {
        Path pkg = Files.createDirectories(tmp.resolve("pkg"));
        Files.writeString(
                pkg.resolve(PackageManifest.FILE_NAME), "{\"format\": \"unmask-package\", \"format_version\": 1}");
        PackageException e = assertThrows(PackageException.class, () -> Manifests.read(pkg));
        assertTrue(
                e.getMessage().contains("manifest.json is not a valid package manifest")
                        && e.getMessage().contains("architecture"),
                e.getMessage());

        Files.writeString(pkg.resolve(PackageManifest.FILE_NAME), "{\"format\": \"onnx-zoo\"");
        assertThrows(PackageException.class, () -> Manifests.read(pkg));
    }

    @Test
    void the_full_logits_output_is_listed_only_when_the_graph_has_it() {
        assertEquals(4, GraphSignature.outputs(8, 256, false).size());
        PackageManifest.TensorSpec logits = GraphSignature.outputs(8, 256, true).get(4);
        assertEquals(
                new PackageManifest.TensorSpec(
                        GraphSignature.LOGITS, "float32", java.util.List.of("batch", "positions", 256)),
                logits);
    }
}
