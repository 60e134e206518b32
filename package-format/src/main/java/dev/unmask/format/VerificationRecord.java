package dev.unmask.format;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * {@value #FILE_NAME}: what a full verification of a package folder found, so that the next {@link ModelPackage#open}
 * need not hash again. For each file it holds the SHA-256 that was computed and the size and modification time the
 * file had then; a file whose size or modification time has changed since is hashed again.
 *
 * <p>The record is a cache, never an authority: the digests it holds are still compared with the manifest's on every
 * open, and a record that is missing, unreadable or from another version means "hash everything". It is not package
 * content: the manifest does not list it ({@link PackageFolders#isContentFile}), so writing it changes no checksum.
 * Writing it is best effort: a read-only folder (AWS Lambda's {@code /var/task}, a container image) is simply
 * verified in full on each open.
 *
 * <p>Modification times are compared to the whole second, because that is what zip and tar (container image layers)
 * keep; a copy that keeps them (e.g. {@code cp -p}, {@code rsync -a}, Docker {@code COPY}) keeps the record valid.
 */
final class VerificationRecord {

    /** Hidden, so that listings of the package folder and of model stores pass it by. */
    static final String FILE_NAME = ".verification.json";

    static final String FORMAT = "unmask-verification";
    static final int CURRENT_FORMAT_VERSION = 1;

    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** The file's JSON shape. */
    record Contents(
            String format, @JsonProperty("format_version") int formatVersion, Map<String, Entry> files) {}

    /**
     * One file as it was when it was hashed.
     *
     * @param bytes    its size
     * @param modified its modification time, to the second (ISO-8601 UTC)
     * @param sha256   the digest computed from its bytes
     */
    record Entry(long bytes, String modified, String sha256) {

        static Entry of(BasicFileAttributes attributes, String sha256) {
            return new Entry(attributes.size(), modifiedToTheSecond(attributes.lastModifiedTime()), sha256);
        }

        /** Whether this entry vouches for a file that now has {@code attributes} and should have {@code sha256}. */
        boolean vouchesFor(BasicFileAttributes attributes, String expectedSha256) {
            return bytes == attributes.size()
                    && modifiedToTheSecond(attributes.lastModifiedTime()).equals(modified)
                    && expectedSha256 != null
                    && expectedSha256.equalsIgnoreCase(sha256);
        }
    }

    private VerificationRecord() {}

    /** The entries of {@code folder}'s record by file name; empty when there is none or it cannot be read. */
    static Map<String, Entry> read(Path folder) {
        Path file = folder.resolve(FILE_NAME);
        if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
            return Map.of();
        }
        try {
            Contents contents = JSON.readValue(file.toFile(), Contents.class);
            if (contents == null
                    || !FORMAT.equals(contents.format())
                    || contents.formatVersion() != CURRENT_FORMAT_VERSION
                    || contents.files() == null) {
                return Map.of();
            }
            return Map.copyOf(contents.files());
        } catch (IOException | RuntimeException e) {
            return Map.of(); // a damaged record only costs a full verification, which writes a new one
        }
    }

    /**
     * Replaces {@code folder}'s record with {@code entries}, atomically (a concurrent open reads the old record or the
     * new one, never half of one).
     *
     * @return false when the folder cannot be written (read-only): nothing is recorded and nothing fails
     */
    static boolean write(Path folder, Map<String, Entry> entries) {
        Path temp = null;
        try {
            temp = Files.createTempFile(folder, FILE_NAME + ".", ".tmp");
            try {
                // createTempFile makes it owner-only; every user who can read the package should trust the record
                Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep the default permissions
            }
            JSON.writeValue(temp.toFile(), new Contents(FORMAT, CURRENT_FORMAT_VERSION, new TreeMap<>(entries)));
            try {
                Files.move(
                        temp,
                        folder.resolve(FILE_NAME),
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(temp, folder.resolve(FILE_NAME), StandardCopyOption.REPLACE_EXISTING);
            }
            return true;
        } catch (IOException | RuntimeException e) {
            if (temp != null) {
                try {
                    Files.deleteIfExists(temp);
                } catch (IOException ignored) {
                    // a stray temporary file is not package content and is never read
                }
            }
            return false;
        }
    }

    private static String modifiedToTheSecond(FileTime time) {
        return Instant.ofEpochSecond(time.to(TimeUnit.SECONDS)).toString();
    }
}
