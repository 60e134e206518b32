package dev.unmask.console;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;

/** The tools' log records: one line each, led by the tool's name, whatever the record carries. */
class ConsoleLogsTest {

    final Formatter oneLine = ConsoleLogs.oneLine("unmask-pack");

    @Test
    void an_info_record_is_one_line_led_by_the_tool() {
        LogRecord r = new LogRecord(Level.INFO, "Loaded {0}: execution provider CPU");
        r.setParameters(new Object[] {"tiny-llada"});
        assertEquals(
                "unmask-pack: Loaded tiny-llada: execution provider CPU" + System.lineSeparator(), oneLine.format(r));
    }

    @Test
    void a_warning_with_a_multi_line_message_and_an_exception_stays_on_one_line() {
        LogRecord r = new LogRecord(Level.WARNING, "CUDA is not available:\n  falling back to CPU");
        r.setThrown(new IOException("libcudart.so.12:\ncannot open"));
        String line = oneLine.format(r);
        assertEquals(
                "unmask-pack: warning: CUDA is not available: falling back to CPU "
                        + "(java.io.IOException: libcudart.so.12: cannot open)" + System.lineSeparator(),
                line);
        assertEquals(1, line.lines().count(), "no stack trace, no second line");
    }

    @Test
    void a_record_clears_an_open_status_line_first() {
        ConsoleLogs.statusLine(true);
        try {
            assertTrue(oneLine.format(new LogRecord(Level.SEVERE, "boom"))
                    .startsWith("\r\u001b[Kunmask-pack: error: boom"));
        } finally {
            ConsoleLogs.statusLine(false);
        }
        assertTrue(oneLine.format(new LogRecord(Level.INFO, "ok")).startsWith("unmask-pack: ok"));
    }

    @Test
    void install_gives_the_root_console_handler_the_one_line_format() {
        Handler console = new ConsoleHandler();
        Logger root = Logger.getLogger("");
        root.addHandler(console);
        try {
            ConsoleLogs.install("unmask");
            LogRecord r = new LogRecord(Level.INFO, "hello");
            assertEquals(
                    "unmask: hello" + System.lineSeparator(),
                    console.getFormatter().format(r));
            for (Handler h : root.getHandlers()) {
                if (h instanceof ConsoleHandler) {
                    assertSame(
                            console.getFormatter().getClass(), h.getFormatter().getClass());
                }
            }
        } finally {
            root.removeHandler(console);
        }
    }
}
