package dev.unmask.packager;

import dev.unmask.failure.ExitCode;
import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;

/**
 * A failure with a message for the user and the exit code the CLI returns for it (the packager's names for the codes
 * are {@link dev.unmask.packager.ExitCode}); its kind is the {@link Failure} reported with that code.
 */
public class PackagerException extends UnmaskException {

    private static final long serialVersionUID = 1L;

    public PackagerException(ExitCode exitCode, String message) {
        this(exitCode, message, null);
    }

    public PackagerException(ExitCode exitCode, String message, Throwable cause) {
        super(Failure.reportedAs(exitCode), message, cause);
    }

    /** The code the CLI exits with: the one {@link #failure()} maps to. */
    public ExitCode exitCode() {
        return failure().exitCode();
    }
}
