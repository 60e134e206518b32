package dev.unmask.packager;

/** A failure with a message for the user and the exit code the CLI returns for it (see {@link ExitCode}). */
public class PackagerException extends RuntimeException {
    private final ExitCode exitCode;

    public PackagerException(ExitCode exitCode, String message) {
        super(message);
        this.exitCode = exitCode;
    }

    public PackagerException(ExitCode exitCode, String message, Throwable cause) {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public ExitCode exitCode() {
        return exitCode;
    }
}
