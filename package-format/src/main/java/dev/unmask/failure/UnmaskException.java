package dev.unmask.failure;

import java.util.Objects;

/**
 * A failure whose kind is known where it is thrown: the one base of the project's exceptions, so that exit codes
 * and HTTP statuses map from {@link #failure()}, never from the message. The message is for the user and says what
 * to do instead.
 */
public class UnmaskException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final Failure failure;

    public UnmaskException(Failure failure, String message) {
        this(failure, message, null);
    }

    public UnmaskException(Failure failure, String message, Throwable cause) {
        super(message, cause);
        this.failure = Objects.requireNonNull(failure, "failure");
    }

    public Failure failure() {
        return failure;
    }
}
