package dev.unmask.packager;

/**
 * Every exit code of {@code unmask-pack}, in one place. Documented in {@code --help} and in docs/package-format.md.
 */
public enum ExitCode {
    OK(0, "success"),
    INTERNAL(1, "unexpected internal error (a bug: please report it with the log)"),
    USAGE(2, "bad command line (unknown option, missing argument)"),
    BAD_CHECKPOINT(3, "the checkpoint cannot be converted (unknown architecture, missing, mis-shaped or truncated tensor, bad header)"),
    BAD_PACKAGE(4, "the package is invalid: missing file, checksum mismatch, unknown format version, or failed self-test"),
    IO(5, "a file could not be read or written (permissions, disk full, output already exists)"),
    QUALITY_GATE(6, "the package's top-1 agreement with the --against reference is below --min-top1-agreement (nothing written)");

    private final int code;
    private final String meaning;

    ExitCode(int code, String meaning) {
        this.code = code;
        this.meaning = meaning;
    }

    public int code() {
        return code;
    }

    public String meaning() {
        return meaning;
    }

    /** The "Exit codes" section for picocli's {@code --help}: {@code code -> meaning}. */
    public static java.util.Map<String, String> helpSection() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        for (ExitCode c : values()) {
            m.put(String.format("%4d", c.code), c.meaning);
        }
        return m;
    }
}
