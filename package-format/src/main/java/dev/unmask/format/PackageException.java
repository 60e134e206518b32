package dev.unmask.format;

import dev.unmask.failure.Failure;
import dev.unmask.failure.UnmaskException;

/** A package that cannot be used as it is: missing or corrupt files, an unknown format version, a bad manifest. */
public class PackageException extends UnmaskException {
    public PackageException(String message) {
        super(Failure.BAD_PACKAGE, message);
    }

    public PackageException(String message, Throwable cause) {
        super(Failure.BAD_PACKAGE, message, cause);
    }
}
