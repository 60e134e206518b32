package dev.unmask.packager.cli;

import dev.unmask.console.ConsoleLogs;
import dev.unmask.packager.Progress;
import java.io.PrintWriter;

/**
 * {@code [#########           ]  45%  120/291 tensors  7.1/15.5 GiB} on stderr. On a terminal it redraws one line (at
 * most 5 times a second); otherwise it prints a line at every 10 % of bytes.
 */
final class ProgressBar implements Progress {
    private static final int WIDTH = 30;

    private final PrintWriter err;
    private final boolean terminal;
    private final long totalTensors;
    private final long totalBytes;
    private long tensors;
    private long bytes;
    private long lastDrawNanos;
    private int lastDecile = -1;

    ProgressBar(PrintWriter err, boolean terminal, long totalTensors, long totalBytes) {
        this.err = err;
        this.terminal = terminal;
        this.totalTensors = totalTensors;
        this.totalBytes = Math.max(1, totalBytes);
    }

    @Override
    public synchronized void tensorDone(String tensor, long sourceBytes) {
        tensors++;
        bytes += sourceBytes;
        boolean last = tensors >= totalTensors;
        if (terminal) {
            long now = System.nanoTime();
            if (last || now - lastDrawNanos > 200_000_000L) {
                lastDrawNanos = now;
                err.print("\r" + line());
                if (last) {
                    err.println();
                }
                err.flush();
                ConsoleLogs.statusLine(!last); // a log record meanwhile clears the bar's line first
            }
        } else {
            int decile = (int) (bytes * 10 / totalBytes);
            if (decile != lastDecile && (decile > lastDecile || last)) {
                lastDecile = decile;
                err.println(line());
                err.flush();
            }
        }
    }

    String line() {
        double f = Math.min(1.0, (double) bytes / totalBytes);
        int filled = (int) Math.round(f * WIDTH);
        return "[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] "
                + String.format(
                        "%3d%%  %d/%d tensors  %s/%s",
                        Math.round(f * 100), tensors, totalTensors, human(bytes), human(totalBytes));
    }

    static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format("%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format("%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format("%.1f KiB", bytes / 1024.0);
    }
}
