package dev.unmask.format;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Staging: no reader ever sees half a package, and a failed replace never loses the one that was there. */
class PackageFoldersTest {

    @TempDir
    Path tmp;

    @Test
    void a_partial_folder_is_a_hidden_sibling_of_its_destination_readable_by_all() throws IOException {
        Path out = tmp.resolve("models/tiny");
        Path partial = PackageFolders.createPartial(out);
        assertEquals(out.toAbsolutePath().getParent(), partial.getParent());
        assertTrue(partial.getFileName().toString().startsWith(".tiny.partial-"), partial.toString());
        assertEquals(
                "rwxr-xr-x",
                java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(partial)));
    }

    @Test
    void move_into_place_renames_and_never_overwrites_without_replace() throws IOException {
        Path out = tmp.resolve("pkg");
        Path first = PackageFolders.createPartial(out);
        Files.writeString(first.resolve("a"), "1");
        PackageFolders.moveIntoPlace(first, out, false);
        assertEquals("1", Files.readString(out.resolve("a")));

        Path second = PackageFolders.createPartial(out);
        Files.writeString(second.resolve("a"), "2");
        assertThrows(UncheckedIOException.class, () -> PackageFolders.moveIntoPlace(second, out, false));
        assertEquals("1", Files.readString(out.resolve("a")), "the installed package is untouched");

        PackageFolders.moveIntoPlace(second, out, true);
        assertEquals("2", Files.readString(out.resolve("a")));
        try (Stream<Path> left = Files.list(tmp)) {
            assertEquals(
                    java.util.List.of(out), left.toList(), "the replaced package is deleted, nothing is left aside");
        }
    }

    /** Starts {@link LockHolder} owning {@code folder}; returns once it holds the lock. */
    static Process ownedByAnotherProcess(Path folder) throws IOException {
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        LockHolder.class.getName(),
                        folder.toString())
                .redirectErrorStream(true)
                .start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("owned", line, "the owner process started and locked");
        return p;
    }

    @Test
    void a_partial_folder_of_a_writer_killed_with_sigkill_is_swept_by_the_next_write_a_live_ones_is_not()
            throws Exception {
        Path out = tmp.resolve("models/tiny");
        Files.createDirectories(out.getParent());
        Path killed = out.resolveSibling(".tiny.partial-111");
        Path alive = out.resolveSibling(".other.partial-222");
        Process killedOwner = ownedByAnotherProcess(killed);
        Process liveOwner = ownedByAnotherProcess(alive);
        try {
            killedOwner.destroyForcibly().waitFor(); // kill -9: no cleanup runs; the OS drops its lock
            assertTrue(Files.isDirectory(killed), "the leftover is there, hidden");

            Path mine = PackageFolders.createPartial(out); // the next convert into this folder
            assertFalse(Files.exists(killed), "the dead writer's partial folder is swept");
            assertFalse(Files.exists(killed.resolveSibling(".tiny.partial-111.lock")), "and its lock file");
            assertTrue(Files.isDirectory(alive.resolve("model.onnx.data.part")), "a live writer's is left alone");
            assertTrue(Files.isDirectory(mine));

            PackageFolders.createPartial(out); // another writer in this process: the first one is still owned
            assertTrue(Files.isDirectory(mine), "a partial this process owns is never swept");

            PackageFolders.moveIntoPlace(mine, out, false);
            assertFalse(
                    Files.exists(mine.resolveSibling(mine.getFileName() + PackageFolders.LOCK_SUFFIX)),
                    "moved into place, the folder's lock file is gone");
        } finally {
            killedOwner.destroyForcibly();
            liveOwner.destroyForcibly().waitFor();
        }
        PackageFolders.sweepOrphans(out.getParent(), PackageFolders::isPartialName);
        assertFalse(Files.exists(alive), "swept once its writer is gone");
    }

    @Test
    void a_lockless_partial_of_an_older_version_is_swept_only_once_an_hour_old() throws IOException {
        Path young = Files.createDirectories(tmp.resolve(".pkg.partial-1"));
        Path old = Files.createDirectories(tmp.resolve(".pkg.partial-2"));
        Path notOurs = Files.createDirectories(tmp.resolve(".pkg.partial-notdigits"));
        java.nio.file.attribute.FileTime twoHoursAgo =
                java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() - 7_200_000);
        Files.setLastModifiedTime(old, twoHoursAgo);
        Files.setLastModifiedTime(notOurs, twoHoursAgo);
        PackageFolders.sweepOrphans(tmp, PackageFolders::isPartialName);
        assertTrue(Files.exists(young));
        assertFalse(Files.exists(old));
        assertTrue(Files.exists(notOurs), "only names the writers make are swept");
    }

    @Test
    void delete_tree_never_follows_a_link_out_of_the_folder() throws IOException {
        Path keep = Files.createDirectories(tmp.resolve("keep"));
        Files.writeString(keep.resolve("precious"), "x");
        Path doomed = Files.createDirectories(tmp.resolve("doomed/inner"));
        Files.createSymbolicLink(doomed.resolve("link"), keep);
        PackageFolders.deleteTree(tmp.resolve("doomed"));
        assertFalse(Files.exists(tmp.resolve("doomed")));
        assertTrue(Files.exists(keep.resolve("precious")));
        PackageFolders.deleteTree(tmp.resolve("never-existed")); // nothing to do, no failure
        PackageFolders.deleteTree(null);
    }
}
