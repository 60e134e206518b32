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

    /**
     * The longest finite keep-alive. Anything longer is "keep loaded" in all but name, and a bound keeps every sum
     * and conversion to nanoseconds (which overflows past 292 years) exact: {@code "999999999999h"} once broke the
     * model it was sent to for every later request.
     */
    static final Duration MAX = Duration.ofDays(365);

    /** What a negative keep-alive is stored as: one value for "forever", far from any overflow. */
    static final Duration FOREVER = Duration.ofMillis(-1);

    private static final Pattern FORM = Pattern.compile("(-?\\d{1,18}(?:\\.\\d{1,9})?)(ms|s|m|h)?");

    private KeepAlive() {}

    /**
     * A negative duration means "forever".
     *
     * @throws IllegalArgumentException for text that is no duration, or one over {@link #MAX}; the message shows
     *                                  a correct one
     */
    static Duration parse(String text) {
        Matcher m = FORM.matcher(text == null ? "" : text.strip().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw new IllegalArgumentException("keep_alive '" + text + "' is not a duration: use e.g. " + EXAMPLE);
        }
        double value = Double.parseDouble(m.group(1));
        if (value < 0) {
            return FOREVER;
        }
        String unit = m.group(2) == null ? "s" : m.group(2);
        double millis = value
                * switch (unit) {
                    case "ms" -> 1;
                    case "s" -> 1_000;
                    case "m" -> 60_000;
                    default -> 3_600_000;
                };
        if (millis > MAX.toMillis()) {
            throw new IllegalArgumentException("keep_alive '" + text + "' is longer than " + MAX.toDays()
                    + " days: use at most \"" + MAX.toHours() + "h\", or -1 to keep the model loaded");
        }
        return Duration.ofMillis(Math.round(millis));
    }

    static boolean forever(Duration d) {
        return d.isNegative();
    }

    /** Whether a model idle for {@code idleNanos} has outlived {@code keepAlive}; never for "forever". */
    static boolean expired(Duration keepAlive, long idleNanos) {
        return !forever(keepAlive) && Duration.ofNanos(idleNanos).compareTo(keepAlive) >= 0;
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
