package dev.unmask.packager.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.Repo;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --against}'s held-out text when {@code --heldout} is not given: found from the reference package and the
 * repository, not from the working directory. The tests run in {@code model-packager/}, where the old default
 * ({@code models/tiny-llada/heldout}, relative to the working directory) does not exist.
 */
class QualityOptionsTest {

    @TempDir
    Path tmp;

    static QualityOptions against(Path reference, Path heldOut) {
        QualityOptions q = new QualityOptions();
        q.against = reference;
        q.heldOut = heldOut;
        return q;
    }

    @Test
    void the_working_directory_has_no_models_folder_here() {
        assertFalse(Files.exists(Path.of(QualityOptions.BUNDLED_HELDOUT)), "else these tests prove nothing");
    }

    @Test
    void without_heldout_the_repository_s_bundled_text_is_found_from_any_directory() {
        Path elsewhere = tmp.resolve("some-package");
        assertEquals(
                Repo.root()
                        .resolve(QualityOptions.BUNDLED_HELDOUT)
                        .toAbsolutePath()
                        .normalize(),
                against(elsewhere, null).heldOut().toAbsolutePath().normalize());
    }

    @Test
    void a_package_written_inside_its_checkpoint_uses_that_checkpoint_s_heldout() throws Exception {
        Path checkpoint = tmp.resolve("my-model");
        Files.createDirectories(checkpoint.resolve("heldout"));
        Files.createDirectories(checkpoint.resolve("package"));
        assertEquals(
                checkpoint.resolve("heldout"),
                against(checkpoint.resolve("package"), null).heldOut());
    }

    @Test
    void a_heldout_that_does_not_exist_is_refused_with_an_example() {
        IllegalArgumentException e = assertThrows(
                IllegalArgumentException.class,
                () -> against(tmp, Path.of("no/such/heldout")).heldOut());
        assertTrue(
                e.getMessage().contains("does not exist") && e.getMessage().contains("e.g. --heldout"), e.getMessage());
    }
}
