package dev.unmask.format;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * How every package is put in place, so that no reader ever sees half of one: written (or downloaded) into a hidden
 * folder beside its destination, checked there, then renamed in one atomic move. The packager's convert and quantize,
 * the quality gate's temporary packages and the desktop agent's model store all go through here.
 *
 * <p>Each such hidden folder is <em>owned</em>: beside it lies {@code <folder>}{@value #LOCK_SUFFIX}, on which the
 * process that writes the folder holds a file lock ({@link FileChannel#tryLock}) until the folder is moved into place
 * or deleted. The operating system drops the lock when the process dies, however it dies ({@code kill -9}, a crash,
 * a power cut), so the next start can tell a folder of a live process from a leftover and sweep only the leftovers
 * ({@link #sweepOrphans}): at once, not after an hour.
 */
public final class PackageFolders {

    /** Marks the hidden folder a replaced package waits in until the new one is in place. */
    public static final String ASIDE_MARKER = ".replaced-";

    /** Names the lock file beside an owned folder: {@code .<name>.partial-123} has {@code .<name>.partial-123.lock}. */
    public static final String LOCK_SUFFIX = ".lock";

    /** The hidden folders packages are written in: {@code .<destination>.partial-<digits>}. */
    private static final Pattern PARTIAL = Pattern.compile("\\..+\\.partial-[0-9]+");

    /**
     * A hidden folder without a lock file was made by a version before owner locks; it is swept only once it is this
     * old, since nothing else tells whether its writer still runs.
     */
    private static final Duration LOCKLESS_STALE = Duration.ofHours(1);

    /** The lock channels of the folders this process owns, by absolute folder path. */
    private static final Map<Path, FileChannel> OWNED = new ConcurrentHashMap<>();

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

    /**
     * A new hidden folder next to {@code out}, on the same file system so the final rename is atomic, owned by this
     * process until it is moved into place or deleted. Leftovers of killed writers in the same folder are swept first.
     */
    public static Path createPartial(Path out) {
        Path parent = out.toAbsolutePath().getParent();
        try {
            Files.createDirectories(parent);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create a folder next to " + out + ": " + e.getMessage(), e);
        }
        sweepOrphans(parent, PackageFolders::isPartialName);
        Path partial = createOwned(parent, "." + out.getFileName() + ".partial-");
        try {
            // a package is meant to be read by its users
            Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("rwxr-xr-x"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep the default permissions
        } catch (IOException e) {
            deleteTree(partial);
            throw new UncheckedIOException("Cannot create a folder next to " + out + ": " + e.getMessage(), e);
        }
        return partial;
    }

    /** Whether {@code name} is that of a folder {@link #createPartial} makes. */
    public static boolean isPartialName(String name) {
        return PARTIAL.matcher(name).matches();
    }

    /**
     * A new empty folder {@code parent/<prefix><digits>}, owned by this process: its lock file is created and locked
     * first, so the folder never exists without a held lock while its writer lives. {@link #moveIntoPlace} and
     * {@link #deleteTree} release it.
     */
    public static Path createOwned(Path parent, String prefix) {
        Path dir = parent.toAbsolutePath().normalize();
        for (int attempt = 0; ; attempt++) {
            Path lock = null;
            FileChannel channel = null;
            try {
                lock = Files.createTempFile(dir, prefix, LOCK_SUFFIX);
                channel = FileChannel.open(lock, StandardOpenOption.WRITE);
                FileLock held = channel.tryLock();
                if (held == null) {
                    throw new IOException("another process locked the new file " + lock);
                }
                channel.write(
                        ByteBuffer.wrap((ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.US_ASCII)));
                String name = lock.getFileName().toString();
                Path folder = dir.resolve(name.substring(0, name.length() - LOCK_SUFFIX.length()));
                Files.createDirectory(folder);
                OWNED.put(folder, channel);
                return folder;
            } catch (IOException e) {
                closeQuietly(channel);
                deleteQuietly(lock);
                if (!(e instanceof FileAlreadyExistsException) || attempt >= 8) {
                    throw new UncheckedIOException("Cannot create a folder in " + dir + ": " + e.getMessage(), e);
                }
            }
        }
    }

    /**
     * Deletes the folders in {@code parent} whose names {@code ours} accepts and whose writer is gone: their lock file
     * is not held by any process (then the lock file goes too), or, for folders without one (written before owner
     * locks), they are older than an hour. A folder whose lock is held, by this process or another, is left alone.
     * Best effort: what cannot be deleted now is tried again next time.
     */
    public static void sweepOrphans(Path parent, Predicate<String> ours) {
        Path dir = parent.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> children = Files.list(dir)) {
            long cutoff = System.currentTimeMillis() - LOCKLESS_STALE.toMillis();
            for (Path p : children.toList()) {
                String name = p.getFileName().toString();
                boolean lockFile = name.endsWith(LOCK_SUFFIX);
                String folderName = lockFile ? name.substring(0, name.length() - LOCK_SUFFIX.length()) : name;
                if (!ours.test(folderName) || OWNED.containsKey(dir.resolve(folderName))) {
                    continue;
                }
                Path folder = dir.resolve(folderName);
                Path lock = dir.resolve(folderName + LOCK_SUFFIX);
                if (lockFile && Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
                    continue; // handled with its folder
                }
                if (Files.exists(lock, LinkOption.NOFOLLOW_LINKS)) {
                    sweepIfUnheld(folder, lock);
                } else if (Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS)
                                .toMillis()
                        < cutoff) {
                    deleteTree(p);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // best effort, as documented: a leftover is hidden and never taken for a package
        }
    }

    /** Deletes {@code folder} and then {@code lock} if no process holds the lock; holds it meanwhile. */
    private static void sweepIfUnheld(Path folder, Path lock) {
        try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.WRITE)) {
            FileLock held;
            try {
                held = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                return; // this process holds it
            }
            if (held == null) {
                return; // a live process holds it
            }
            deleteTree(folder);
            if (!Files.exists(folder, LinkOption.NOFOLLOW_LINKS)) {
                Files.deleteIfExists(lock);
            }
        } catch (IOException e) {
            // best effort
        }
    }

    /** Whether this process owns {@code folder} ({@link #createOwned}) and has not yet released it. */
    public static boolean isOwned(Path folder) {
        return OWNED.containsKey(folder.toAbsolutePath().normalize());
    }

    /** Gives up ownership of {@code folder}: its lock is released and its lock file deleted. Idempotent. */
    static void release(Path folder) {
        Path key = folder.toAbsolutePath().normalize();
        FileChannel channel = OWNED.remove(key);
        if (channel != null) {
            closeQuietly(channel);
            deleteQuietly(key.resolveSibling(key.getFileName() + LOCK_SUFFIX));
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing releases the lock; nothing else to do
            }
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // an unheld lock file is swept with its folder
            }
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
        release(partial);
        deleteTree(old);
    }

    /**
     * Deletes a folder and everything in it, never following a symbolic link out of it, and releases it if this
     * process owned it; best effort: a leftover hidden folder is never taken for a package, and is swept later.
     */
    public static void deleteTree(Path root) {
        if (root == null) {
            return;
        }
        if (Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            } catch (IOException | UncheckedIOException e) {
                // best effort, as documented
            }
        }
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            release(root); // an owned folder that is gone: its lock goes too
        }
    }
}
