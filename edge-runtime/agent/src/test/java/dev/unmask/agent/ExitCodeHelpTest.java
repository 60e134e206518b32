package dev.unmask.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.failure.ExitCode;
import dev.unmask.format.PackageException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code unmask}'s exit codes are the shared table's, listed in every command's help from the enum. */
class ExitCodeHelpTest {

    @Test
    void everyHelpListsTheSharedTable() {
        for (String[] args :
                new String[][] {{"--help"}, {"generate", "--help"}, {"serve", "--help"}, {"pull", "--help"}}) {
            CommandLine cl = Unmask.commandLine();
            StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out, true));
            assertEquals(0, cl.execute(args));
            String help = out.toString();
            assertTrue(help.contains("Exit codes:"), help);
            for (ExitCode c : ExitCode.values()) {
                assertTrue(
                        help.contains(c.meaning()
                                .substring(0, Math.min(25, c.meaning().length()))),
                        String.join(" ", args) + " lists " + c + ":\n" + help);
            }
        }
    }

    @Test
    void failuresMapByTheirKind() {
        assertEquals(ExitCode.USAGE.code(), ExitCodes.codeOf(new IllegalArgumentException("--steps 1000")));
        assertEquals(ExitCode.BAD_PACKAGE.code(), ExitCodes.codeOf(new PackageException("checksum mismatch")));
        assertEquals(
                ExitCode.IO.code(), ExitCodes.codeOf(new UncheckedIOException(new java.io.IOException("disk full"))));
        assertEquals(ExitCode.INTERNAL.code(), ExitCodes.codeOf(new NullPointerException()));
    }
}
