package dev.unmask.format;

import java.util.Locale;

/**
 * How much {@link ModelPackage#open} re-reads. Every open checks that each listed file is present and of the listed
 * size (cheap, and it catches the common failure: a truncated copy or download). Hashing is what costs: about a
 * minute for an 8B package, which on a serverless function is cold-start time. So hashing is done in full where a
 * package arrives ({@code unmask-pack convert} and {@code verify}, {@code unmask pull}) and on request, and otherwise
 * trusted from the package's {@link VerificationRecord verification record}.
 */
public enum Verification {

    /** Hash every file the manifest lists, whatever the record says, then refresh the record. */
    FULL,

    /**
     * Trust the verification record for each file whose size and modification time it still matches; hash the others
     * (all of them when there is no record) and record them. The default.
     */
    RECORDED;

    /** The user-facing switch, for every surface at once: {@code UNMASK_VERIFY=full} hashes every file on every open. */
    public static final String ENVIRONMENT_VARIABLE = "UNMASK_VERIFY";

    /** The mode {@value #ENVIRONMENT_VARIABLE} asks for; {@link #RECORDED} when it is unset or blank. */
    public static Verification fromEnvironment() {
        return parse(System.getenv(ENVIRONMENT_VARIABLE));
    }

    /**
     * {@code full} or {@code recorded} (any case); null or blank is {@link #RECORDED}.
     *
     * @throws IllegalArgumentException for anything else, with the accepted values
     */
    public static Verification parse(String value) {
        if (value == null || value.isBlank()) {
            return RECORDED;
        }
        return switch (value.strip().toLowerCase(Locale.ROOT)) {
            case "full" -> FULL;
            case "recorded" -> RECORDED;
            default ->
                throw new IllegalArgumentException(ENVIRONMENT_VARIABLE + "='" + value + "' is not a "
                        + "verification mode: use " + ENVIRONMENT_VARIABLE
                        + "=full to hash every package file on every "
                        + "start, or " + ENVIRONMENT_VARIABLE + "=recorded (the default) to trust the package's "
                        + "verification record while the files' sizes and modification times are unchanged");
        };
    }
}
