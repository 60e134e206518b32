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
