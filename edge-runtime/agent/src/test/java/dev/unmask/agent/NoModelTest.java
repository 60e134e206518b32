package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * No model named, away from the repository (the app image moved elsewhere, {@code unmask.home} a folder without
 * models/): the message says how to get a model with {@code unmask pull}, never a repository command.
 */
class NoModelTest {

    @TempDir
    Path home;

    @TempDir
    Path store;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    @AfterEach
    void clearHome() {
        System.clearProperty(ModelOptions.HOME_PROPERTY);
    }

    int unmask(String... args) {
        err.getBuffer().setLength(0);
        System.setProperty(ModelOptions.HOME_PROPERTY, home.toString());
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void an_empty_store_tells_how_to_pull_a_model() {
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("generate", "def", "--store", store.toString()));
        assertTrue(err.toString().contains("unmask pull "), err.toString());
        assertFalse(err.toString().contains("unmask-pack") || err.toString().contains("repository"), err.toString());
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("run", "--store", store.toString()));
        assertTrue(err.toString().contains("unmask pull "), err.toString());
    }

    @Test
    void a_store_with_models_names_them() {
        assertEquals(0, unmask("pull", ReferencePackages.tinyLlada().toString(), "--store", store.toString()));
        assertEquals(ExitCodes.BAD_PACKAGE, unmask("generate", "def", "--store", store.toString()));
        assertTrue(err.toString().contains("e.g. unmask run tiny-llada"), err.toString());
    }
}
