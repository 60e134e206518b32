package dev.unmask.engine.decode;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;
import java.util.Locale;

/**
 * The memory all running requests' key/value caches may take together, in bytes. A run with a cache takes a
 * {@link Lease} of its cache's size before its first cached step and gives it back when it finishes, is cancelled
 * or is closed; the scheduler takes a request into the batch only when its lease fits now, and refuses one whose
 * cache could never fit (docs/engine.md, "The memory budget").
 *
 * <p>Thread-safe.
 */
public final class KvCacheBudget {

    private static final long MIB = 1024L * 1024L;

    /** No bound: a run outside a server (the command line, a test) takes what its cache needs. */
    public static final KvCacheBudget UNLIMITED = new KvCacheBudget(Long.MAX_VALUE);

    private final long capacityBytes;
    private long usedBytes; // guarded by this

    private KvCacheBudget(long capacityBytes) {
        this.capacityBytes = capacityBytes;
    }

    /** @throws IllegalArgumentException below 0 bytes */
    public static KvCacheBudget ofBytes(long capacityBytes) {
        if (capacityBytes < 0) {
            throw new IllegalArgumentException(
                    "A cache budget is 0 or more bytes, e.g. 1 GiB = 1073741824; got " + capacityBytes);
        }
        return new KvCacheBudget(capacityBytes);
    }

    /** @throws IllegalArgumentException below 0 MiB */
    public static KvCacheBudget ofMebibytes(long mebibytes) {
        if (mebibytes < 0 || mebibytes > Long.MAX_VALUE / MIB) {
            throw new IllegalArgumentException("A cache budget is 0 or more MiB, e.g. 1024; got " + mebibytes);
        }
        return new KvCacheBudget(mebibytes * MIB);
    }

    public long capacityBytes() {
        return capacityBytes;
    }

    public synchronized long usedBytes() {
        return usedBytes;
    }

    public synchronized long availableBytes() {
        return capacityBytes - usedBytes;
    }

    /** Whether a cache of {@code bytes} could ever fit (the whole budget free). */
    public boolean couldFit(long bytes) {
        return bytes <= capacityBytes;
    }

    /**
     * Refuses a cache that could never fit, with the numbers and the ways out.
     *
     * @throws UnmaskException {@link Failure#BAD_REQUEST} (HTTP 400, exit code 2) when {@code bytes} exceeds the
     *                         whole budget
     */
    public void requireCouldFit(long bytes) {
        if (!couldFit(bytes)) {
            throw new UnmaskException(
                    Failure.BAD_REQUEST,
                    "The key/value cache of this request needs " + size(bytes) + ", the cache budget is "
                            + size(capacityBytes) + ": lower max_tokens (or the prompt), or use \"cache\": \"none\"");
        }
    }

    /** A lease of {@code bytes} if they are free now, else null (the caller waits and tries again). */
    public synchronized Lease tryAcquire(long bytes) {
        requireCouldFit(bytes);
        if (bytes > capacityBytes - usedBytes) {
            return null;
        }
        usedBytes += bytes;
        return new Lease(bytes);
    }

    private synchronized void release(long bytes) {
        usedBytes -= bytes;
    }

    /** "12.5 MiB", "2.8 KiB" below one MiB, "unlimited". */
    public static String size(long bytes) {
        if (bytes == Long.MAX_VALUE) {
            return "unlimited";
        }
        if (bytes < MIB) {
            return String.format(Locale.ROOT, "%.1f KiB", bytes / 1024.0);
        }
        return String.format(Locale.ROOT, "%.1f MiB", bytes / (double) MIB);
    }

    @Override
    public String toString() {
        return "KvCacheBudget[" + size(capacityBytes) + ", " + size(usedBytes()) + " used]";
    }

    /** Bytes held from the budget until {@link #close()} (idempotent). */
    public final class Lease implements AutoCloseable {
        private final long bytes;
        private boolean released; // guarded by KvCacheBudget.this

        private Lease(long bytes) {
            this.bytes = bytes;
        }

        public long bytes() {
            return bytes;
        }

        public KvCacheBudget budget() {
            return KvCacheBudget.this;
        }

        @Override
        public void close() {
            synchronized (KvCacheBudget.this) {
                if (released) {
                    return;
                }
                released = true;
                release(bytes);
            }
        }
    }
}
