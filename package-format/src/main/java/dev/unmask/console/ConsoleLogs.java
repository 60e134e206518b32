package dev.unmask.console;

import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * How the command-line tools ({@code unmask}, {@code unmask-pack}) print log records: one line each, led by the tool's
 * name as every other line they print is ({@code unmask: Loaded tiny-llada: ...}, {@code unmask-pack: warning: ...}),
 * instead of JUL's default of two lines (date and logger, then level and message). Records come from the engine's
 * {@link System.Logger}s, which log through JUL; SLF4J (DJL's tokenizers) is bound to slf4j-nop on the tools' class
 * path, so its "no providers" warning is not printed at all.
 *
 * <p>A status line that is redrawn in place (convert's progress bar) calls {@link #statusLine(boolean)}: while one is
 * open a record first clears it ({@code \r} and erase-line), so that no record lands in the middle of it; the status
 * line is drawn again at its next update.
 */
public final class ConsoleLogs {

    private static volatile boolean statusLineOpen;

    private ConsoleLogs() {}

    /** Call first thing in {@code main}: the root logger's console handler gets the one-line format. */
    public static void install(String tool) {
        Formatter oneLine = oneLine(tool);
        for (Handler h : Logger.getLogger("").getHandlers()) {
            if (h instanceof ConsoleHandler) {
                h.setFormatter(oneLine);
            }
        }
    }

    /** Whether a status line without its newline is on the terminal now. */
    public static void statusLine(boolean open) {
        statusLineOpen = open;
    }

    /**
     * {@code <tool>: <message>} for INFO and below, {@code <tool>: warning: <message>} (or error) above, with a
     * thrown exception as {@code (<class>: <message>)}, never a stack trace, and newlines in a message kept on the
     * line as spaces.
     */
    public static Formatter oneLine(String tool) {
        return new Formatter() {
            @Override
            public String format(LogRecord record) {
                StringBuilder line = new StringBuilder();
                if (statusLineOpen) {
                    line.append("\r\u001b[K");
                }
                line.append(tool).append(": ");
                int level = record.getLevel().intValue();
                if (level >= Level.SEVERE.intValue()) {
                    line.append("error: ");
                } else if (level >= Level.WARNING.intValue()) {
                    line.append("warning: ");
                }
                line.append(oneLineOf(formatMessage(record)));
                if (record.getThrown() != null) {
                    line.append(" (")
                            .append(oneLineOf(record.getThrown().toString()))
                            .append(')');
                }
                return line.append(System.lineSeparator()).toString();
            }
        };
    }

    private static String oneLineOf(String s) {
        return s == null ? "" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
