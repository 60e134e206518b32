package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
    void an_unknown_format_version_is_refused_saying_which_one_is_read() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Path manifest = pkg.resolve(PackageManifest.FILE_NAME);
        Files.writeString(
                manifest, Files.readString(manifest).replace("\"format_version\" : 1", "\"format_version\" : 2"));
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("format_version 2"), e.getMessage());
        assertTrue(e.getMessage().contains("reads format_version 1"), e.getMessage());
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
    void an_intact_package_opens_with_its_manifest_and_files() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage opened = ModelPackage.open(tmp.resolve("pkg/../pkg"));
        assertEquals(pkg.toAbsolutePath().normalize(), opened.dir());
        assertEquals("synthetic", opened.manifest().name());
        assertEquals(pkg.resolve("model.onnx").toAbsolutePath().normalize(), opened.modelFile());
        assertEquals(pkg.resolve("tokenizer.json").toAbsolutePath().normalize(), opened.tokenizerFile());
    }
}
