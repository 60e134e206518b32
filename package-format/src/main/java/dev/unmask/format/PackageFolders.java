package dev.unmask.format;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * How every package is put in place, so that no reader ever sees half of one: written (or downloaded) into a hidden
 * folder beside its destination, checked there, then renamed in one atomic move. The packager's convert and quantize,
 * the quality gate's temporary packages and the desktop agent's model store all go through here.
 */
public final class PackageFolders {

    /** Marks the hidden folder a replaced package waits in until the new one is in place. */
    public static final String ASIDE_MARKER = ".replaced-";

    private PackageFolders() {}

    /**
     * Whether the file {@code name} of a package folder is content, which the manifest's {@code files} lists: every
     * file but {@code manifest.json} itself and the verification record that {@link ModelPackage#open} keeps beside
     * it (listing the record would change the checksums each time it is rewritten). Writers that list a folder's
     * files into a manifest, or copy a package's files, ask here.
     */
    public static boolean isContentFile(String name) {
        return !name.equals(PackageManifest.FILE_NAME)
                && !name.equals(VerificationRecord.FILE_NAME)
                && !(name.startsWith(VerificationRecord.FILE_NAME + ".") && name.endsWith(".tmp"));
    }

    /** A new hidden folder next to {@code out}, on the same file system so the final rename is atomic. */
    public static Path createPartial(Path out) {
        Path parent = out.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
            Path partial = Files.createTempDirectory(parent, "." + out.getFileName() + ".partial-");
            try {
                // createTempDirectory makes it owner-only; a package is meant to be read by its users
                Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException e) {
                // not a POSIX file system: keep the default permissions
            }
            return partial;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a folder next to " + out + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renames {@code partial} to {@code out} atomically. With {@code replace}, an existing {@code out} is first moved
     * aside and deleted only once the new one is in place, and moved back if the rename fails, so a failed replace
     * never loses the package that was there.
     */
    public static void moveIntoPlace(Path partial, Path out, boolean replace) {
        Path old = null;
        try {
            if (replace && Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
                old = out.resolveSibling("." + out.getFileName() + ASIDE_MARKER + System.nanoTime());
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            throw new UncheckedIOException(
                    out + " appeared while the package was written; nothing was written there", e);
        } catch (AtomicMoveNotSupportedException e) {
            throw new UncheckedIOException(
                    "Cannot atomically rename " + partial + " to " + out + ": " + e.getMessage(), e);
        } catch (IOException e) {
            if (old != null && !Files.exists(out, LinkOption.NOFOLLOW_LINKS)) {
                try {
                    Files.move(old, out, StandardCopyOption.ATOMIC_MOVE);
                    old = null;
                } catch (IOException ignored) {
                    // report the original failure
                }
            }
            throw new UncheckedIOException("Cannot move the package into " + out + ": " + e.getMessage(), e);
        }
        deleteTree(old);
    }

    /**
     * Deletes a folder and everything in it, never following a symbolic link out of it; best effort: a leftover
     * hidden folder is never taken for a package.
     */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort, as documented
        }
    }
}
