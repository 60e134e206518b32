package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/errors.md's table of failure kinds is what {@link Failure} and {@link Errors} do, kind by kind. */
class ErrorsTableTest {

    /** Surefire runs in edge-runtime/openai; the docs are two levels up. */
    private static final Path ERRORS_DOC = Path.of("..", "..", "docs", "errors.md");

    private static final Pattern ROW =
            Pattern.compile("^\\| `([A-Z_]+)` \\| (\\d+) \\| (\\d{3})[^|]* \\| `([a-z_]+)`.*\\|$");

    @Test
    void everyKindHasTheDocumentedExitCodeStatusAndCode() throws IOException {
        List<String> documented = new ArrayList<>();
        for (String line : Files.readAllLines(ERRORS_DOC)) {
            Matcher m = ROW.matcher(line);
            if (m.matches()) {
                documented.add(String.join(" ", m.group(1), m.group(2), m.group(3), m.group(4)));
            }
        }
        List<String> actual = new ArrayList<>();
        for (Failure f : Failure.values()) {
            ApiException api = Errors.toApi(new UnmaskException(f, "a " + f + " failure"));
            actual.add(String.join(
                    " ",
                    f.name(),
                    Integer.toString(f.exitCode().code()),
                    Integer.toString(api.httpStatus()),
                    api.code()));
        }
        assertEquals(actual, documented, "docs/errors.md's kinds table must match Failure and Errors");
    }
}
