package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What opening a package checks, whatever the verification record says: the loader's refusals and their messages. */
class ModelPackageTest {

    @TempDir
    Path tmp;

    @Test
    void a_checksum_mismatch_names_the_file_and_both_digests() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path data = pkg.resolve(ModelPackage.MODEL_DATA_FILE);
        String expected =
                Manifests.read(pkg).files().get(ModelPackage.MODEL_DATA_FILE).sha256();
        SyntheticPackage.flipOneBitKeepingSizeAndTime(data, 5000);

        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains(data.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("expected sha256 " + expected), e.getMessage());
        assertTrue(e.getMessage().contains("actual " + Sha256.ofFile(data)), e.getMessage());
    }

    @Test
    void a_missing_file_is_refused_naming_it() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Files.delete(pkg.resolve(ModelPackage.TOKENIZER_FILE));
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("tokenizer.json") && e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void a_file_of_another_size_is_refused_with_both_sizes() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path model = pkg.resolve(ModelPackage.MODEL_FILE);
        long bytes = Files.size(model);
        Files.writeString(model, "!", java.nio.file.StandardOpenOption.APPEND);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg, Verification.FULL));
        assertTrue(e.getMessage().contains((bytes + 1) + " bytes, the manifest expects " + bytes), e.getMessage());
    }

    @Test
    void an_unknown_format_version_is_refused_saying_which_ones_are_read() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path manifest = pkg.resolve(PackageManifest.FILE_NAME);
        String current = "\"format_version\" : " + PackageManifest.CURRENT_FORMAT_VERSION;
        int future = PackageManifest.CURRENT_FORMAT_VERSION + 1;
        Files.writeString(manifest, Files.readString(manifest).replace(current, "\"format_version\" : " + future));
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("format_version " + future), e.getMessage());
        assertTrue(e.getMessage().contains("reads format_version 1 to 3"), e.getMessage());
    }

    @Test
    void a_version_1_package_still_opens_and_reads_as_llada_decoding() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path manifest = pkg.resolve(PackageManifest.FILE_NAME);
        String current = "\"format_version\" : " + PackageManifest.CURRENT_FORMAT_VERSION;
        Files.writeString(manifest, Files.readString(manifest).replace(current, "\"format_version\" : 1"));
        PackageManifest.GenerationDefaults d = Manifests.read(pkg).generationDefaults();
        assertEquals("low_confidence", d.remasking());
        assertNull(d.schedule());
        assertNull(d.algTemp());
    }

    @Test
    void not_a_folder_and_no_manifest_say_what_to_point_at() throws IOException {
        PackageException none = assertThrows(PackageException.class, () -> ModelPackage.open(tmp.resolve("nothing")));
        assertTrue(
                none.getMessage().contains("nothing") && none.getMessage().contains("unmask-pack convert"),
                none.getMessage());
        Files.createDirectories(tmp.resolve("empty"));
        PackageException empty = assertThrows(PackageException.class, () -> ModelPackage.open(tmp.resolve("empty")));
        assertTrue(empty.getMessage().contains("No manifest.json"), empty.getMessage());
    }

    @Test
    void the_manifest_must_list_the_graph_and_the_tokenizer() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Map<String, PackageManifest.FileEntry> files =
                new LinkedHashMap<>(Manifests.read(pkg).files());
        files.remove(ModelPackage.TOKENIZER_FILE);
        Manifests.write(SyntheticPackage.manifest(files), pkg);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("does not list 'tokenizer.json'"), e.getMessage());
    }

    @Test
    void a_listed_name_that_climbs_out_of_the_folder_is_refused() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Files.writeString(tmp.resolve("outside.bin"), "x");
        Map<String, PackageManifest.FileEntry> files =
                new LinkedHashMap<>(Manifests.read(pkg).files());
        files.put("../outside.bin", new PackageManifest.FileEntry(1, Sha256.ofFile(tmp.resolve("outside.bin"))));
        Manifests.write(SyntheticPackage.manifest(files), pkg);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("outside the package folder"), e.getMessage());
    }

    @Test
    void a_manifest_that_leaves_out_the_graphs_external_data_is_refused_so_the_weights_are_never_unchecked()
            throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Map<String, PackageManifest.FileEntry> files =
                new LinkedHashMap<>(Manifests.read(pkg).files());
        files.remove(ModelPackage.MODEL_DATA_FILE);
        Manifests.write(SyntheticPackage.manifest(files), pkg);
        SyntheticPackage.flipOneBitKeepingSizeAndTime(pkg.resolve(ModelPackage.MODEL_DATA_FILE), 4096);

        for (Verification v : Verification.values()) {
            PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg, v));
            assertTrue(
                    e.getMessage().contains("keeps tensors in 'model.onnx.data', which manifest.json does not list"),
                    e.getMessage());
        }
    }

    @Test
    void an_empty_model_onnx_is_refused_even_when_the_manifest_lists_it_so() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Files.write(pkg.resolve(ModelPackage.MODEL_FILE), new byte[0]);
        SyntheticPackage.relist(pkg, ModelPackage.MODEL_FILE);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("holds no ONNX graph (0 bytes)"), e.getMessage());
    }

    @Test
    void a_graph_that_is_not_well_formed_protobuf_is_refused_without_reading_past_its_end() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        byte[] graph = Files.readAllBytes(pkg.resolve(ModelPackage.MODEL_FILE));
        // the graph field claims 120 bytes more than the file has
        byte[] cut = java.util.Arrays.copyOf(graph, graph.length);
        cut[3] = (byte) (cut[3] + 120);
        Files.write(pkg.resolve(ModelPackage.MODEL_FILE), cut);
        SyntheticPackage.relist(pkg, ModelPackage.MODEL_FILE);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("is not a well-formed ONNX model"), e.getMessage());
    }

    @Test
    void every_external_data_location_the_graph_names_is_found() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        OnnxExternalData.Scan scan = OnnxExternalData.scan(pkg.resolve(ModelPackage.MODEL_FILE));
        assertTrue(scan.hasGraph());
        assertEquals(java.util.Set.of(ModelPackage.MODEL_DATA_FILE), scan.locations());
    }

    @Test
    void any_damage_to_the_graph_is_at_worst_a_package_exception_never_a_crash() throws IOException {
        byte[] graph = SyntheticPackage.graphWithExternalData(ModelPackage.MODEL_DATA_FILE);
        Path file = tmp.resolve("model.onnx");
        java.util.Random random = new java.util.Random(7);
        for (int i = 0; i < 1000; i++) {
            byte[] damaged = java.util.Arrays.copyOf(graph, random.nextInt(graph.length + 8));
            for (int flips = random.nextInt(4); flips >= 0 && damaged.length > 0; flips--) {
                damaged[random.nextInt(damaged.length)] = (byte) random.nextInt(256);
            }
            Files.write(file, damaged);
            try {
                OnnxExternalData.scan(file);
            } catch (PackageException expected) {
                // refused with a message: fine
            }
        }
    }

    @Test
    void an_intact_package_opens_with_its_manifest_and_files() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage opened = ModelPackage.open(tmp.resolve("pkg/../pkg"));
        assertEquals(pkg.toAbsolutePath().normalize(), opened.dir());
        assertEquals("synthetic", opened.manifest().name());
        assertEquals(pkg.resolve("model.onnx").toAbsolutePath().normalize(), opened.modelFile());
        assertEquals(pkg.resolve("tokenizer.json").toAbsolutePath().normalize(), opened.tokenizerFile());
    }
}
