package dev.unmask.packager;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.failure.ExitCode;
import dev.unmask.packager.cli.UnmaskPack;
import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code unmask-pack} lists the table it shares with {@code unmask}, and its own names are codes of that table. */
class ExitCodeTableTest {

    @Test
    void everyHelpListsEverySharedCode() {
        for (String[] args : new String[][] {{"--help"}, {"convert", "--help"}, {"verify", "--help"}}) {
            CommandLine cl = UnmaskPack.newCommandLine();
            StringWriter out = new StringWriter();
            cl.setOut(new PrintWriter(out, true));
            assertEquals(0, cl.execute(args));
            for (ExitCode c : ExitCode.values()) {
                String start = c.meaning().substring(0, Math.min(25, c.meaning().length()));
                assertTrue(out.toString().contains(start), String.join(" ", args) + " lists " + c + ":\n" + out);
            }
        }
    }

    @Test
    void thePackagersNamesAreTheSharedCodes() {
        assertEquals(3, dev.unmask.packager.ExitCode.BAD_CHECKPOINT.code());
        assertEquals(ExitCode.USAGE, new PackagerException(dev.unmask.packager.ExitCode.USAGE, "x").exitCode());
        assertEquals(
                ExitCode.QUALITY_GATE,
                new PackagerException(dev.unmask.packager.ExitCode.QUALITY_GATE, "x").exitCode());
    }
}
