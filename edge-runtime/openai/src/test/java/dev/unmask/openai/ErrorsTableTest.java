package dev.unmask.openai;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
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

    @Test
    void aServerFaultIsLoggedWithItsStackUnderTheRequestIdItsAnswerCarries() {
        List<LogRecord> logged = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                logged.add(r);
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
        };
        Logger log = Logger.getLogger(Errors.class.getName());
        log.addHandler(capture);
        try {
            IllegalStateException bug = new IllegalStateException("a bug");
            ApiException e = Errors.toApi(bug);
            assertEquals(500, e.httpStatus());
            assertEquals("internal_error", e.code());
            assertTrue(e.requestId().matches("req_[0-9a-f]{32}"), e.requestId());
            assertTrue(e.getMessage().contains(e.requestId()), e.getMessage());
            assertEquals(e.requestId(), e.headers().get("X-Request-Id"));
            assertEquals(1, logged.size());
            assertEquals(Level.SEVERE, logged.get(0).getLevel());
            assertSame(bug, logged.get(0).getThrown(), "the stack is logged");
            assertTrue(
                    logged.get(0).getMessage().contains(e.requestId()),
                    logged.get(0).getMessage());

            ApiException agents = Errors.internal(bug, "req_given");
            assertEquals("req_given", agents.requestId());
            assertTrue(agents.body().error().message().contains("req_given"));
            assertEquals(2, logged.size());

            Errors.toApi(Errors.unknownModel("x", List.of()));
            assertEquals(2, logged.size(), "a client's error is not logged as a fault");
        } finally {
            log.removeHandler(capture);
        }
    }

    @Test
    void aBodyTooLargeIsA413InOpenAisShape() {
        ApiException e = Errors.payloadTooLarge(10_485_760);
        assertEquals(413, e.httpStatus());
        assertEquals("invalid_request_error", e.body().error().type());
        assertEquals("request_too_large", e.code());
        assertTrue(e.getMessage().contains("10485760 bytes"), e.getMessage());
        assertNull(e.requestId());
    }
}
