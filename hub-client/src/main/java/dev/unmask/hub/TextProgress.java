package dev.unmask.hub;

import java.io.PrintWriter;

/**
 * {@code [##########          ]  33%  1.2/3.6 GiB  48.1 MiB/s  model-00001-of-00004.safetensors} on a terminal,
 * redrawn at most 5 times a second; elsewhere (a log, CI) a line at every 10 % of the bytes. The rate is over the
 * bytes transferred by this run only, so a resumed download does not claim its earlier bytes as speed.
 */
public final class TextProgress implements DownloadProgress {

    private static final int WIDTH = 20;
    private static final long REDRAW_NANOS = 200_000_000L;

    private final PrintWriter err;
    private final boolean terminal;
    private final String prefix;
    private long totalBytes = 1;
    private long doneBytes;
    private long transferredBytes;
    private long startNanos;
    private long lastDrawNanos;
    private int lastDecile = -1;
    private String file = "";

    /**
     * @param prefix each line's start, e.g. {@code "unmask: "}
     */
    public TextProgress(PrintWriter err, boolean terminal, String prefix) {
        this.err = err;
        this.terminal = terminal;
        this.prefix = prefix;
    }

    @Override
    public synchronized void plan(int files, long bytes, long cachedBytes) {
        totalBytes = Math.max(1, bytes);
        doneBytes = cachedBytes;
        startNanos = System.nanoTime();
        line(files + " file(s), " + human(bytes)
                + (cachedBytes > 0 ? ", " + human(cachedBytes) + " already here" : ""));
    }

    @Override
    public synchronized void fileStarted(String file, long bytes, long resumedBytes) {
        this.file = file;
        doneBytes += resumedBytes;
        if (resumedBytes > 0) {
            line("resuming " + file + " at " + human(resumedBytes));
        }
    }

    @Override
    public synchronized void transferred(long bytes) {
        doneBytes += bytes;
        transferredBytes += bytes;
        draw(false);
    }

    @Override
    public synchronized void fileDone(String file) {
        draw(true);
    }

    @Override
    public synchronized void note(String line) {
        line(line);
    }

    /** The bar as it is now (for tests and the log line). */
    public synchronized String bar() {
        double f = Math.min(1.0, (double) doneBytes / totalBytes);
        int filled = (int) Math.round(f * WIDTH);
        double seconds = Math.max(1e-3, (System.nanoTime() - startNanos) / 1e9);
        return "[" + "#".repeat(filled) + " ".repeat(WIDTH - filled) + "] "
                + String.format(
                        "%3d%%  %s/%s  %s/s  %s",
                        Math.round(f * 100),
                        human(doneBytes),
                        human(totalBytes),
                        human((long) (transferredBytes / seconds)),
                        file);
    }

    private void draw(boolean fileEnd) {
        boolean complete = doneBytes >= totalBytes;
        if (terminal) {
            long now = System.nanoTime();
            if (fileEnd || complete || now - lastDrawNanos > REDRAW_NANOS) {
                lastDrawNanos = now;
                err.print("\r" + prefix + bar() + " ");
                if (complete && fileEnd) {
                    err.println();
                }
                err.flush();
            }
        } else {
            int decile = (int) Math.min(10, doneBytes * 10 / totalBytes);
            if (decile > lastDecile) {
                lastDecile = decile;
                err.println(prefix + bar());
                err.flush();
            }
        }
    }

    private void line(String text) {
        err.println(prefix + text);
        err.flush();
    }

    /** Bytes in binary units with one decimal, as the packager's progress bar writes them. */
    public static String human(long bytes) {
        if (bytes >= 1L << 30) {
            return String.format("%.1f GiB", bytes / (double) (1L << 30));
        }
        if (bytes >= 1L << 20) {
            return String.format("%.1f MiB", bytes / (double) (1L << 20));
        }
        return String.format("%.1f KiB", bytes / 1024.0);
    }
}
