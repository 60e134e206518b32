package dev.unmask.openai;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;

/** The scheduler's queue is full; the HTTP layer answers 429 with {@code Retry-After: retryAfterSeconds}. */
public final class QueueFullException extends UnmaskException {

    private static final long serialVersionUID = 1L;

    private final int retryAfterSeconds;

    public QueueFullException(int queued, int retryAfterSeconds) {
        super(
                Failure.OVERLOADED,
                "The server is busy: " + queued + " requests are already waiting. Retry after " + retryAfterSeconds
                        + " s (Retry-After header), or send fewer concurrent requests");
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
