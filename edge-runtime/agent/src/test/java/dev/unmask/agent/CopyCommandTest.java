package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.format.ModelPackage;
import dev.unmask.format.Verification;
import dev.unmask.testing.ReferencePackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code unmask cp <source> <destination>}: a second name for an installed model, in a real store. */
class CopyCommandTest {

    @TempDir
    Path store;

    final StringWriter out = new StringWriter();
    final StringWriter err = new StringWriter();

    int unmask(String... args) {
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = Unmask.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(Stream.concat(Stream.of(args), Stream.of("--store", store.toString()))
                .toArray(String[]::new));
    }

    @Test
    void the_copy_is_a_whole_model_that_outlives_its_source() throws Exception {
        assertEquals(0, unmask("pull", ReferencePackages.tinyLlada().toString()), err.toString());
        assertEquals(0, unmask("cp", "tiny-llada", "my-llada"), err.toString());
        assertTrue(err.toString().contains("copied 'tiny-llada' to 'my-llada'"), err.toString());
        assertEquals(0, unmask("list"));
        assertTrue(out.toString().contains("tiny-llada") && out.toString().contains("my-llada"), out.toString());
        try (Stream<Path> entries = Files.list(store)) {
            assertEquals(
                    List.of("my-llada", "tiny-llada"),
                    entries.map(p -> p.getFileName().toString()).sorted().toList(),
                    "no staging folder left behind");
        }

        assertEquals(0, unmask("rm", "tiny-llada"));
        // every byte of the copy checks out against its manifest, and it runs under its new name
        ModelPackage.open(store.resolve("my-llada"), Verification.FULL);
        RunCommandTestSupport run = new RunCommandTestSupport();
        assertEquals(
                0,
                run.execute(
                        "my-llada", "def add(a, b):", "--store", store.toString(), "--gen-length", "8", "--steps", "8"),
                run.err.toString());
        assertTrue(run.err.toString().contains("8 tokens in 8 steps"), run.err.toString());
    }

    @Test
    void a_taken_name_needs_force_and_an_unknown_source_says_how_to_get_it() {
        assertEquals(0, unmask("pull", ReferencePackages.tinyLlada().toString()), err.toString());
        assertEquals(0, unmask("cp", "tiny-llada", "second"));
        assertEquals(ExitCodes.INVALID_INPUT, unmask("cp", "tiny-llada", "second"));
        assertTrue(err.toString().contains("--force"), err.toString());
        assertEquals(0, unmask("cp", "tiny-llada", "second", "--force"), err.toString());

        assertEquals(ExitCodes.BAD_PACKAGE, unmask("cp", "nothing", "other"));
        assertTrue(err.toString().contains("unmask pull"), err.toString());
        assertEquals(ExitCodes.INVALID_INPUT, unmask("cp", "tiny-llada", "Bad Name"));
        assertEquals(ExitCodes.INVALID_INPUT, unmask("cp", "tiny-llada", "tiny-llada"));
        assertTrue(err.toString().contains("e.g. unmask cp tiny-llada tiny-llada-copy"), err.toString());
    }

    /** {@code unmask run} with a prompt: the one-shot answer (no standard input is read). */
    static final class RunCommandTestSupport {
        final StringWriter out = new StringWriter();
        final StringWriter err = new StringWriter();

        int execute(String... args) {
            RunCommand run = new RunCommand();
            CommandLine cli = new CommandLine(run).setExecutionExceptionHandler(new ExitCodes());
            cli.setOut(new PrintWriter(out, true));
            cli.setErr(new PrintWriter(err, true));
            return cli.execute(args);
        }
    }
}
