package dev.unmask.failure;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The exit-code table is one enum; the docs show exactly it, and every failure kind has a code. */
class ExitCodeDocTest {

    /** Surefire runs in the module folder; the docs are one level up. */
    private static final Path ERRORS_DOC = Path.of("..", "docs", "errors.md");

    private static final Pattern ROW = Pattern.compile("^\\| (\\d+) \\| `([A-Z_]+)` \\| (.+) \\|$");

    @Test
    void docsErrorsMdListsExactlyTheEnumsCodesNamesAndMeanings() throws IOException {
        List<String> documented = new ArrayList<>();
        for (String line : Files.readAllLines(ERRORS_DOC)) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                documented.add(m.group(1) + " " + m.group(2) + " " + m.group(3));
            }
        }
        List<String> expected = new ArrayList<>();
        for (ExitCode c : ExitCode.values()) {
            expected.add(c.code() + " " + c.name() + " " + c.meaning());
        }
        assertEquals(expected, documented, "docs/errors.md's exit-code table must be ExitCode's, row for row");
    }

    @Test
    void codesAreDistinctAndHelpListsThemAll() {
        Set<Integer> codes = new HashSet<>();
        for (ExitCode c : ExitCode.values()) {
            assertTrue(codes.add(c.code()), "two names for code " + c.code());
        }
        assertEquals(ExitCode.values().length, ExitCode.helpList().size());
        assertEquals(ExitCode.IO.meaning(), ExitCode.helpList().get("   5"));
    }

    @Test
    void kindsComeFromTypesNotMessages() {
        assertSame(Failure.SHUTTING_DOWN, Failure.of(new UnmaskException(Failure.SHUTTING_DOWN, "any words at all")));
        assertSame(Failure.BAD_REQUEST, Failure.of(new IllegalArgumentException("shutting down")));
        assertSame(Failure.IO, Failure.of(new CompletionException(new UncheckedIOException(new IOException("x")))));
        assertSame(Failure.INTERNAL, Failure.of(new IllegalStateException("a run used after it finished")));
        assertSame(Failure.INTERNAL, Failure.of(new NullPointerException()));
        assertSame(ExitCode.USAGE, Failure.BAD_REQUEST.exitCode());
    }

    @Test
    void anExitCodeIsReportedAsTheFirstKindThatMapsToIt() {
        for (Failure f : new Failure[] {
            Failure.BAD_REQUEST,
            Failure.BAD_INPUT,
            Failure.BAD_PACKAGE,
            Failure.IO,
            Failure.QUALITY_GATE,
            Failure.RUNTIME,
            Failure.INTERNAL
        }) {
            assertSame(f, Failure.reportedAs(f.exitCode()));
        }
    }
}
