package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Start-up cost does not grow with the model: a package is hashed in full once, and later opens trust the record of
 * that verification while each file keeps its size and modification time.
 */
class VerificationRecordTest {

    static final Set<String> ALL =
            Set.of(ModelPackage.MODEL_FILE, ModelPackage.MODEL_DATA_FILE, ModelPackage.TOKENIZER_FILE);

    @TempDir
    Path tmp;

    @Test
    void the_first_open_hashes_every_file_and_records_it_the_next_hashes_none() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
        assertTrue(Files.isRegularFile(pkg.resolve(VerificationRecord.FILE_NAME)));
        assertEquals(
                "rw-r--r--",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(pkg.resolve(VerificationRecord.FILE_NAME))),
                "readable by every user of the package");
        assertEquals(ALL, VerificationRecord.read(pkg).keySet());

        assertEquals(Set.of(), ModelPackage.open(pkg).hashedAtOpen());
        assertEquals(ALL, ModelPackage.open(pkg, Verification.FULL).hashedAtOpen(), "FULL ignores the record");
    }

    @Test
    void open_trusts_the_record_verify_does_not_and_a_new_modification_time_forces_a_hash() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage.open(pkg, Verification.FULL); // as convert, pull and verify do
        Path data = pkg.resolve(ModelPackage.MODEL_DATA_FILE);
        SyntheticPackage.flipOneBitKeepingSizeAndTime(data, 4096);

        // The proof that open does not re-hash: a corruption that keeps size and time goes unseen...
        assertEquals(Set.of(), ModelPackage.open(pkg).hashedAtOpen());
        // ...while a full verification catches it,
        PackageException full = assertThrows(PackageException.class, () -> ModelPackage.open(pkg, Verification.FULL));
        assertTrue(full.getMessage().contains("does not match its checksum"), full.getMessage());
        // and so does the next open once the file's modification time has moved.
        SyntheticPackage.touch(data);
        PackageException touched = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(touched.getMessage().contains(data.toString()), touched.getMessage());
    }

    @Test
    void a_touched_file_that_is_intact_is_hashed_once_and_recorded_again() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage.open(pkg);
        SyntheticPackage.touch(pkg.resolve(ModelPackage.TOKENIZER_FILE));
        assertEquals(Set.of(ModelPackage.TOKENIZER_FILE), ModelPackage.open(pkg).hashedAtOpen());
        assertEquals(Set.of(), ModelPackage.open(pkg).hashedAtOpen());
    }

    @Test
    void a_changed_size_is_refused_although_the_record_vouched_for_the_file() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage.open(pkg);
        Path data = pkg.resolve(ModelPackage.MODEL_DATA_FILE);
        var modified = Files.getLastModifiedTime(data);
        try (var ch = java.nio.channels.FileChannel.open(data, java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(1000); // a copy cut short
        }
        Files.setLastModifiedTime(data, modified);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("has 1000 bytes") && e.getMessage().contains("truncated"), e.getMessage());
    }

    @Test
    void the_record_is_a_cache_not_an_authority_the_manifest_digest_still_decides() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage.open(pkg);
        // Another manifest over the same files (e.g. one edited by hand): the record's digest no longer matches it.
        Map<String, PackageManifest.FileEntry> files =
                new LinkedHashMap<>(Manifests.read(pkg).files());
        PackageManifest.FileEntry model = files.get(ModelPackage.MODEL_FILE);
        files.put(ModelPackage.MODEL_FILE, new PackageManifest.FileEntry(model.bytes(), "ab".repeat(32)));
        Manifests.write(SyntheticPackage.manifest(files), pkg);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("expected sha256 " + "ab".repeat(32)), e.getMessage());
    }

    @Test
    void a_damaged_record_costs_a_full_verification_and_is_replaced() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Files.writeString(pkg.resolve(VerificationRecord.FILE_NAME), "{ not json");
        assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
        assertEquals(ALL, VerificationRecord.read(pkg).keySet());
        assertEquals(Set.of(), ModelPackage.open(pkg).hashedAtOpen());
    }

    @Test
    void where_no_record_can_be_written_each_open_verifies_in_full_and_carries_on() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        // A folder where the record cannot be created, even for root: its name is taken by a non-empty folder.
        Files.createDirectories(pkg.resolve(VerificationRecord.FILE_NAME).resolve("taken"));
        assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
        assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
        try (Stream<Path> files = Files.list(pkg)) {
            assertEquals(
                    0,
                    files.filter(p -> p.getFileName().toString().endsWith(".tmp"))
                            .count(),
                    "no leftovers");
        }
    }

    @Test
    void a_read_only_package_folder_opens_verifying_in_full_each_time() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        Files.setPosixFilePermissions(pkg, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assumeFalse(
                    Files.isWritable(pkg),
                    "running as root: permissions do not make a folder read-only here "
                            + "(the test above covers a record that cannot be written)");
            assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
            assertFalse(Files.exists(pkg.resolve(VerificationRecord.FILE_NAME)));
            assertEquals(ALL, ModelPackage.open(pkg).hashedAtOpen());
        } finally {
            Files.setPosixFilePermissions(pkg, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void a_stale_record_on_a_read_only_folder_is_no_failure() throws IOException {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        ModelPackage.open(pkg);
        SyntheticPackage.touch(pkg.resolve(ModelPackage.MODEL_DATA_FILE)); // e.g. copied without keeping times
        Files.setPosixFilePermissions(pkg, PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            assertEquals(
                    Set.of(ModelPackage.MODEL_DATA_FILE), ModelPackage.open(pkg).hashedAtOpen());
        } finally {
            Files.setPosixFilePermissions(pkg, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void the_record_is_not_package_content_and_changes_no_checksum() {
        Path pkg = SyntheticPackage.write(tmp.resolve("pkg"));
        PackageManifest before = Manifests.read(pkg);
        ModelPackage.open(pkg);
        assertEquals(before, Manifests.read(pkg), "the manifest is not touched");
        assertFalse(PackageFolders.isContentFile(VerificationRecord.FILE_NAME));
        assertFalse(PackageFolders.isContentFile(PackageManifest.FILE_NAME));
        assertTrue(PackageFolders.isContentFile(ModelPackage.MODEL_DATA_FILE));

        // A manifest that lists the record (it would fail on every rewrite) is refused with what to do.
        Map<String, PackageManifest.FileEntry> files = new LinkedHashMap<>(before.files());
        Path record = pkg.resolve(VerificationRecord.FILE_NAME);
        files.put(
                VerificationRecord.FILE_NAME,
                new PackageManifest.FileEntry(record.toFile().length(), Sha256.ofFile(record)));
        Manifests.write(SyntheticPackage.manifest(files), pkg);
        PackageException e = assertThrows(PackageException.class, () -> ModelPackage.open(pkg));
        assertTrue(e.getMessage().contains("not content"), e.getMessage());
    }

    @Test
    void the_record_survives_a_rename_of_the_folder_as_convert_and_pull_do() throws IOException {
        Path partial = SyntheticPackage.write(tmp.resolve(".pkg.partial-1"));
        ModelPackage.open(partial, Verification.FULL);
        Path out = tmp.resolve("pkg");
        PackageFolders.moveIntoPlace(partial, out, false);
        assertEquals(Set.of(), ModelPackage.open(out).hashedAtOpen());
    }

    @Test
    void the_switch_is_full_or_recorded_and_anything_else_shows_both() {
        assertEquals(Verification.RECORDED, Verification.parse(null));
        assertEquals(Verification.RECORDED, Verification.parse(" "));
        assertEquals(Verification.RECORDED, Verification.parse("recorded"));
        assertEquals(Verification.FULL, Verification.parse("FULL"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Verification.parse("yes"));
        assertTrue(
                e.getMessage().contains("UNMASK_VERIFY='yes'")
                        && e.getMessage().contains("UNMASK_VERIFY=full")
                        && e.getMessage().contains("UNMASK_VERIFY=recorded"),
                e.getMessage());
    }
}
