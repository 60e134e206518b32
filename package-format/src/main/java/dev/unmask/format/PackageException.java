package dev.unmask.format;

/** A package that cannot be used as it is: missing or corrupt files, an unknown format version, a bad manifest. */
public class PackageException extends RuntimeException {
    public PackageException(String message) {
        super(message);
    }

    public PackageException(String message, Throwable cause) {
        super(message, cause);
    }
}
