package dev.unmask.agent;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * How long a loaded model stays in memory after its last request, written as Ollama writes it: {@code "5m"},
 * {@code "30s"}, {@code "1h"}, {@code "500ms"}, or a number of seconds; {@code 0} unloads right after the request,
 * a negative value keeps the model loaded until the server stops.
 */
final class KeepAlive {

    static final String EXAMPLE = "\"5m\", \"30s\", \"1h\", 0 (unload at once) or -1 (keep loaded)";
    private static final Pattern FORM = Pattern.compile("(-?\\d+(?:\\.\\d+)?)(ms|s|m|h)?");

    private KeepAlive() {}

    /** A negative duration means "forever". */
    static Duration parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("keep_alive '" + text + "' is not a duration: use e.g. " + EXAMPLE);
        }
        double value = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis = value
                * switch (unit) {
                    case "ms" -> 1;
                    case "s" -> 1_000;
                    case "m" -> 60_000;
                    default -> 3_600_000;
                };
        return Duration.ofMillis(Math.round(millis));
    }

    static boolean forever(Duration d) {
        return d.isNegative();
    }

    /** As the user wrote it, roughly: {@code 5m}, {@code 30s}, {@code forever}. */
    static String show(Duration d) {
        if (forever(d)) {
            return "forever";
        }
        long ms = d.toMillis();
        if (ms % 3_600_000 == 0 && ms > 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0 && ms > 0) {
            return ms / 60_000 + "m";
        }
        return ms % 1000 == 0 ? ms / 1000 + "s" : ms + "ms";
    }
}
