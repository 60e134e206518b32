package dev.unmask.packager.pack;

import dev.unmask.packager.ExitCode;
import dev.unmask.packager.PackagerException;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * How every package is put in place, so that no reader ever sees half of one: written into a hidden sibling
 * folder ({@code .<out>.partial-<random>}), checked there, then renamed to {@code out} in one atomic move.
 * Converting, quantizing and the quality gate's temporary packages all go through here.
 */
public final class PackageFolders {
    private PackageFolders() {}

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
            throw new PackagerException(ExitCode.IO, "Cannot create a folder next to " + out + ": " + e.getMessage(), e);
        }
    }

    /**
     * Renames {@code partial} to {@code out} atomically. With {@code replace}, an existing {@code out} is first moved
     * aside and deleted only once the new one is in place (and moved back if the rename fails).
     */
    public static void moveIntoPlace(Path partial, Path out, boolean replace) {
        Path old = null;
        try {
            if (replace && Files.exists(out)) {
                old = out.resolveSibling("." + out.getFileName() + ".replaced-" + System.nanoTime());
                Files.move(out, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(partial, out, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException e) {
            throw new PackagerException(ExitCode.IO, out + " appeared while the package was written; nothing was written there", e);
        } catch (AtomicMoveNotSupportedException e) {
            throw new PackagerException(ExitCode.IO, "Cannot atomically rename " + partial + " to " + out + ": " + e.getMessage(), e);
        } catch (IOException e) {
            if (old != null && !Files.exists(out)) {
                try {
                    Files.move(old, out, StandardCopyOption.ATOMIC_MOVE);
                    old = null;
                } catch (IOException ignored) {
                    // report the original failure
                }
            }
            throw new PackagerException(ExitCode.IO, "Cannot move the package into " + out + ": " + e.getMessage(), e);
        }
        deleteTree(old);
    }

    /** Deletes a folder and everything in it, best effort: a leftover hidden folder is never taken for a package. */
    public static void deleteTree(Path root) {
        if (root == null || !Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // best effort, as documented
        }
    }
}
